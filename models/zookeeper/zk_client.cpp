#include "models/zookeeper/zk_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "models/zookeeper/bodies.hpp"
#include "models/zookeeper/names.hpp"

namespace stampede::zk {

std::int64_t lock_name_hash(std::string_view name) {
  return static_cast<std::int64_t>(hash_bytes(name) >> 1);
}

ZkClient::ZkClient(int ensemble_size, DurationNs requested_timeout_ns) {
  cfg_.ensemble = ensemble_size;
  cfg_.requested_ns = requested_timeout_ns;
}

void ZkClient::crash() {
  held_stale_ = true;
  vol_ = Volatile{};
}

void ZkClient::start(Ctx& ctx) {
  held_stale_ = true;
  cfg_.servers.clear();
  for (int k = 1; k <= cfg_.ensemble; ++k)
    cfg_.servers.push_back(ctx.lookup(fmt::format("zookeeper-{}", k)));
  if (cfg_.requested_ns == 0) cfg_.requested_ns = ctx.timing(k_session_timeout);
  vol_.timeout_ns = cfg_.requested_ns;
  vol_.server_index = static_cast<int>(ctx.random(0, cfg_.ensemble - 1));
  connect(ctx);
}

void ZkClient::connect(Ctx& ctx) {
  ++vol_.gen;
  vol_.conn = ctx.random(1, INT32_MAX);
  vol_.server = cfg_.servers[vol_.server_index];
  vol_.state = SessionState::connecting;
  ctx.send(vol_.server, wire::encode(ClientConnect{vol_.conn, vol_.session, cfg_.requested_ns}));
  // ClientCnxn gives each server sessionTimeout / (number of servers) to answer.
  ctx.set_timer(std::max<DurationNs>(vol_.timeout_ns / cfg_.ensemble, k_ms),
                tag<ClientConnectTimer>());
}

void ZkClient::schedule_reconnect(Ctx& ctx) {
  ++vol_.gen;
  vol_.server_index = (vol_.server_index + 1) % cfg_.ensemble;
  vol_.server = k_no_node;
  ctx.set_timer(ctx.random(0, k_s - 1), tag<ClientReconnectTimer>());
}

void ZkClient::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  held_stale_ = true;
  if (peer != vol_.server || (vol_.state != SessionState::connecting &&
                              vol_.state != SessionState::connected))
    return;
  ctx.event(LogLevel::info,
            Event("zookeeper.client_socket_closed")
                .with("server", ctx.name_of(peer))
                .with("event", connection_event_name(event)),
            fmt::format("connection to {} {}; trying the next server", ctx.name_of(peer),
                        event == ConnectionEvent::closed ? "closed" : "refused"));
  connection_lost(ctx);
}

void ZkClient::connection_lost(Ctx& ctx) {
  bool was_connected = vol_.state == SessionState::connected;
  // The client closes the socket it gave up on (ClientCnxnSocketNIO.cleanup), so the server
  // reads EOF; after a connection event it is closed already, and this does nothing.
  if (vol_.server != k_no_node) ctx.close_connection(vol_.server);
  vol_.state = SessionState::disconnected;
  // What was in flight is lost with the connection. A create may have been applied or not: its
  // retry looks for its protected name first. A delete is guaranteed, so it is sent again.
  for (const auto& [xid, p] : vol_.pending) {
    if (p.op == Op::create) vol_.locks.mut()[p.lock].create_unknown = true;
    if (p.op == Op::remove) vol_.to_delete.insert(p.path);
  }
  vol_.pending.clear();
  std::vector<std::string> lost;
  for (auto& [name, l] : vol_.locks.mut()) {
    if (l.held) lost.push_back(name);
    l.held = false;
    l.busy = false;
    l.watching.clear();
  }
  schedule_reconnect(ctx);
  if (was_connected && cb_.session) cb_.session(ctx, SessionEvent::connection_lost);
  for (const auto& name : lost)
    if (cb_.lost) cb_.lost(ctx, name);
}

void ZkClient::session_expired(Ctx& ctx) {
  ++vol_.expirations;
  vol_.state = SessionState::expired;
  vol_.session = 0;  // never reused
  vol_.timeout_ns = cfg_.requested_ns;
  vol_.pending.clear();
  vol_.to_delete.clear();  // the ephemerals went with the session
  std::vector<std::string> lost;
  for (auto& [name, l] : vol_.locks.mut()) {
    if (l.held) lost.push_back(name);
    // The node went with the session; a wanted lock starts over, and a try stays a try: in
    // Curator the expiry is retried inside the same acquire(time) (apache-curator-2.10.0
    // curator-client/src/main/java/org/apache/curator/RetryLoop.java lines 150-156 retry
    // SESSIONEXPIRED; curator-recipes/.../locks/LockInternals.java lines 220-227 start the attempt
    // again on the NoNode of the vanished node, with the same millisToWait, so a try that is not
    // first gives up at lines 294-301).
    LockState fresh;
    fresh.wanted = l.wanted;
    fresh.try_only = l.try_only;
    l = std::move(fresh);
  }
  schedule_reconnect(ctx);
  if (cb_.session) cb_.session(ctx, SessionEvent::expired);
  for (const auto& name : lost)
    if (cb_.lost) cb_.lost(ctx, name);
}

void ZkClient::on_connected(Ctx& ctx) {
  vol_.state = SessionState::connected;
  ++vol_.gen;
  ctx.set_timer(vol_.timeout_ns / 3, tag<ClientPingTimer>());
  ctx.set_timer(vol_.timeout_ns * 2 / 3, tag<ClientReadTimer>());
  std::set<std::string> to_delete = std::move(vol_.to_delete);
  vol_.to_delete.clear();
  for (const auto& path : to_delete) send_remove(ctx, path, "");
  if (cb_.session) cb_.session(ctx, SessionEvent::connected);
  std::vector<std::string> names;
  for (const auto& [name, l] : *vol_.locks)
    if (l.wanted || l.create_unknown) names.push_back(name);
  for (const auto& name : names) step(ctx, name);
}

void ZkClient::on_timer(Ctx& ctx, std::uint64_t t) {
  held_stale_ = true;
  timer_tag::dispatch<ClientConnectTimer, ClientPingTimer, ClientReadTimer, ClientReconnectTimer>(
      t, [&](const auto& timer) {
        if (timer.gen == vol_.gen) on(ctx, timer);  // otherwise stale
      });
}

void ZkClient::on(Ctx& ctx, const ClientConnectTimer& t) {
  (void)t;
  if (vol_.state == SessionState::connecting) connection_lost(ctx);
}

void ZkClient::on(Ctx& ctx, const ClientReconnectTimer& t) {
  (void)t;
  connect(ctx);
}

void ZkClient::on(Ctx& ctx, const ClientPingTimer& t) {
  (void)t;
  if (vol_.state != SessionState::connected) return;
  ctx.send(vol_.server, wire::encode(ClientPing{vol_.conn, vol_.session}));
  ctx.set_timer(vol_.timeout_ns / 3, tag<ClientPingTimer>());
}

void ZkClient::on(Ctx& ctx, const ClientReadTimer& t) {
  (void)t;
  if (vol_.state != SessionState::connected) return;
  DurationNs read_timeout = vol_.timeout_ns * 2 / 3;
  DurationNs silent = ctx.now() - vol_.last_heard;
  if (silent >= read_timeout) {
    ctx.event(LogLevel::info,
              Event("zookeeper.client_session_timed_out")
                  .with("silent_ms", silent / k_ms)
                  .with("session", vol_.session),
              fmt::format("Client session timed out, have not heard from server in {}ms for "
                          "session id 0x{:x}",
                          silent / k_ms, vol_.session));
    return connection_lost(ctx);
  }
  ctx.set_timer(read_timeout - silent, tag<ClientReadTimer>());
}

void ZkClient::on_message(Ctx& ctx, NodeId from, const Message& m) {
  held_stale_ = true;
  wire::dispatch<ClientConnected, ClientExpired, ClientClosed, ClientPong, ClientResponse,
                 ClientWatch>(m, [&](const auto& x) {
    // Only the current connection to the current server counts.
    if (from != vol_.server || x.conn != vol_.conn || vol_.state == SessionState::disconnected ||
        vol_.state == SessionState::expired)
      return;
    vol_.last_heard = ctx.now();
    on(ctx, x);
  });
}

void ZkClient::on(Ctx& ctx, const ClientConnected& m) {
  if (vol_.state != SessionState::connecting) return;
  vol_.session = m.session;
  vol_.timeout_ns = m.timeout_ns;
  on_connected(ctx);
}

void ZkClient::on(Ctx& ctx, const ClientExpired& m) {
  if (m.session == vol_.session) session_expired(ctx);
}

void ZkClient::on(Ctx& ctx, const ClientClosed& m) {
  (void)m;
  connection_lost(ctx);
}

void ZkClient::on(Ctx& ctx, const ClientPong& m) {
  (void)ctx;
  (void)m;  // hearing from the server is all a pong is for
}

void ZkClient::on(Ctx& ctx, const ClientWatch& m) {
  std::vector<std::string> names;
  for (auto& [name, l] : vol_.locks.mut()) {
    if (l.watching == m.body->path) {
      l.watching.clear();
      names.push_back(name);
    }
  }
  for (const auto& name : names) step(ctx, name);
}

std::int64_t ZkClient::send_request(Ctx& ctx, ReqOp op, const std::string& path,
                                    std::int64_t flags, bool watch, Pending p) {
  auto body = std::make_shared<RequestBody>();
  body->op = op;
  body->path = path;
  body->flags = flags;
  body->watch = watch;
  std::int64_t xid = ++vol_.next_xid;
  vol_.pending[xid] = std::move(p);
  ctx.send(vol_.server, wire::encode(ClientRequest{vol_.conn, xid, std::move(body)}));
  return xid;
}

void ZkClient::lock(Ctx& ctx, const std::string& name) {
  held_stale_ = true;
  LockState& l = vol_.locks.mut()[name];
  if (l.wanted) return;
  l.wanted = true;
  step(ctx, name);
}

void ZkClient::try_lock(Ctx& ctx, const std::string& name) {
  held_stale_ = true;
  LockState& l = vol_.locks.mut()[name];
  if (l.wanted) return;
  l.try_only = true;
  lock(ctx, name);
}

void ZkClient::unlock(Ctx& ctx, const std::string& name) {
  held_stale_ = true;
  if (vol_.locks->count(name) == 0) return;
  LockState& l = vol_.locks.mut().at(name);
  l.wanted = false;
  l.held = false;
  l.try_only = false;
  l.watching.clear();
  // A create in flight is undone when its answer comes, one of unknown outcome when its retry
  // finds the node.
  if (l.node.empty()) return;
  if (vol_.state == SessionState::connected) {
    send_remove(ctx, l.node, name);
  } else {
    vol_.to_delete.insert(l.node);
  }
  l.node.clear();
}

bool ZkClient::holds(std::string_view name) const {
  auto it = vol_.locks->find(std::string(name));
  return it != vol_.locks->end() && it->second.held && vol_.state == SessionState::connected;
}

std::vector<std::string> ZkClient::held() const {
  std::vector<std::string> out;
  if (vol_.state != SessionState::connected) return out;
  for (const auto& [name, l] : *vol_.locks)
    if (l.held) out.push_back(name);
  return out;
}

// The recipe's next request: the retry of a create of unknown outcome lists the directory for its
// protected name (whether or not the lock is still wanted: a node it finds is deleted then, as
// Curator's FindAndDeleteProtectedNodeInBackground does, CreateBuilderImpl.java lines 482-489);
// without a node, create; with one, list the children to see whether it is the lowest.
void ZkClient::step(Ctx& ctx, const std::string& name) {
  // A step that does nothing to a lock it has leaves the locks shared with the saved copies.
  if (auto it = vol_.locks->find(name); it != vol_.locks->end()) {
    const LockState& known = it->second;
    if (vol_.state != SessionState::connected || known.busy) return;
    if (!known.create_unknown && (!known.wanted || known.held)) return;
  }
  LockState& l = vol_.locks.mut()[name];
  if (vol_.state != SessionState::connected || l.busy) return;
  if (!l.create_unknown && (!l.wanted || l.held)) return;
  l.busy = true;
  if (l.node.empty() && !l.create_unknown) return send_create(ctx, name, l);
  send_request(ctx, ReqOp::get_children, dir_of(name), 0, false, Pending{Op::list, name, ""});
}

void ZkClient::send_create(Ctx& ctx, const std::string& name, LockState& l) {
  if (l.protect.empty()) l.protect = fmt::format("lock-{:x}-{:x}-", vol_.session, ++vol_.creates);
  send_request(ctx, ReqOp::create, dir_of(name) + "/" + l.protect,
               k_ephemeral | k_sequential | k_parents, false, Pending{Op::create, name, ""});
}

void ZkClient::send_remove(Ctx& ctx, const std::string& path, const std::string& lock) {
  send_request(ctx, ReqOp::remove, path, 0, false, Pending{Op::remove, lock, path});
}

// The sequence number is the last ten digits of a sequential node's name.
static std::string_view sequence_of(const std::string& child) {
  return std::string_view(child).substr(child.size() >= 10 ? child.size() - 10 : 0);
}

void ZkClient::on(Ctx& ctx, const ClientResponse& m) {
  if (vol_.state != SessionState::connected) return;
  auto p = vol_.pending.find(m.xid);
  if (p == vol_.pending.end()) return;
  Pending pend = std::move(p->second);
  vol_.pending.erase(p);
  if (pend.op == Op::remove) return;
  const ResponseBody& r = *m.body;
  LockState& l = vol_.locks.mut()[pend.lock];
  l.busy = false;
  switch (pend.op) {
    case Op::create:
      return on_create(ctx, pend.lock, l, r);
    case Op::list:
      return on_list(ctx, pend.lock, l, r);
    case Op::check:
      // The watch may have fired (and been consumed) before this answer arrived.
      if (!r.exists || l.watching.empty()) {
        l.watching.clear();
        step(ctx, pend.lock);
      }
      return;  // otherwise the watch will fire
    case Op::remove:
      return;
  }
}

void ZkClient::on_create(Ctx& ctx, const std::string& name, LockState& l, const ResponseBody& r) {
  if (r.code != Code::ok) return step(ctx, name);
  l.protect.clear();
  if (!l.wanted) return send_remove(ctx, r.path, name);  // unlocked while it was in flight
  l.node = r.path;
  step(ctx, name);
}

// The retry of a create of unknown outcome: whether the directory holds our protected name. Found,
// it is our node (deleted if the lock is no longer wanted), and the recipe lists again, as
// internalLockLoop does after the create returns; not found, the create is sent again.
void ZkClient::found_own_create(Ctx& ctx, const std::string& name, LockState& l,
                                const std::vector<std::string>& children) {
  l.create_unknown = false;
  auto it = std::find_if(children.begin(), children.end(), [&](const std::string& c) {
    return c.compare(0, l.protect.size(), l.protect) == 0;
  });
  if (it == children.end()) {
    if (!l.wanted) l.protect.clear();
    return;
  }
  l.protect.clear();
  std::string path = dir_of(name) + "/" + *it;
  if (l.wanted) {
    l.node = path;
  } else {
    send_remove(ctx, path, name);
  }
}

// The lock directory's children: hold the lock, or watch our predecessor. Only the retry of a
// create of unknown outcome lists before its node is known.
void ZkClient::on_list(Ctx& ctx, const std::string& name, LockState& l, const ResponseBody& r) {
  if (l.create_unknown) {
    found_own_create(ctx, name, l, r.children);
    return step(ctx, name);
  }
  if (!l.wanted || l.node.empty()) return;
  std::string dir = dir_of(name);
  std::vector<std::string> children = r.children;
  std::string my_name = l.node.substr(dir.size() + 1);
  if (std::find(children.begin(), children.end(), my_name) == children.end()) {
    // Gone (it cannot be, while our session lives): start over, as LockInternals.attemptLock
    // does on StandardLockInternalsDriver's NoNodeException.
    l.node.clear();
    return step(ctx, name);
  }
  std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(sequence_of(a), std::string_view(a)) <
           std::make_pair(sequence_of(b), std::string_view(b));
  });
  auto it = std::find(children.begin(), children.end(), my_name);
  if (it == children.begin()) {
    l.held = true;
    l.name_hash = lock_name_hash(name);
    if (cb_.acquired) cb_.acquired(ctx, name);
    return;
  }
  if (l.try_only) {
    unlock(ctx, name);
    if (cb_.refused) cb_.refused(ctx, name);
    return;
  }
  l.watching = dir + "/" + *std::prev(it);
  l.busy = true;
  send_request(ctx, ReqOp::exists, l.watching, 0, true, Pending{Op::check, name, ""});
}

}  // namespace stampede::zk

namespace stampede::zk {

std::optional<std::int64_t> ZkClient::probe(std::string_view key, std::string_view arg) const {
  // zk.lock_mutual_exclusion asks these after many steps: they walk the locks in place, in the
  // order of held(), instead of copying the held names, and give the hash kept when the lock
  // was taken (a held lock has one; the name is hashed here only if it has not).
  if (key == "zk.held_lock_count") {
    if (vol_.state != SessionState::connected) return 0;
    std::int64_t n = 0;
    for (const auto& [name, l] : *vol_.locks) n += l.held ? 1 : 0;
    return n;
  }
  if (key == "zk.held_lock") {
    std::size_t i = 0;
    auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), i);
    if (ec != std::errc{} || p != arg.data() + arg.size() || vol_.state != SessionState::connected)
      return std::nullopt;
    for (const auto& [name, l] : *vol_.locks) {
      if (!l.held) continue;
      if (i == 0) return l.name_hash != 0 ? l.name_hash.value : lock_name_hash(name);
      --i;
    }
    return std::nullopt;
  }
  if (key == "zk.session_id") return vol_.session;
  if (key == "zk.session_state") return static_cast<std::int64_t>(vol_.state);
  if (key == "zk.expirations") return vol_.expirations;
  return std::nullopt;
}

}  // namespace stampede::zk
