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

ZkClient::ZkClient(int ensemble_size, DurationNs requested_timeout_ns)
    : ensemble_(ensemble_size), requested_ns_(requested_timeout_ns) {}

void ZkClient::crash() {
  Callbacks cb = std::move(cb_);
  *this = ZkClient(ensemble_, requested_ns_);
  cb_ = std::move(cb);
}

void ZkClient::start(Ctx& ctx) {
  servers_.clear();
  for (int k = 1; k <= ensemble_; ++k)
    servers_.push_back(ctx.lookup(fmt::format("zookeeper-{}", k)));
  if (requested_ns_ == 0) requested_ns_ = ctx.timing(k_session_timeout);
  timeout_ns_ = requested_ns_;
  server_index_ = static_cast<int>(ctx.random(0, ensemble_ - 1));
  connect(ctx);
}

std::string ZkClient::prefix() const {
  return fmt::format("lock-{:x}-", session_);
}

void ZkClient::connect(Ctx& ctx) {
  ++gen_;
  conn_ = ctx.random(1, INT32_MAX);
  server_ = servers_[server_index_];
  state_ = SessionState::connecting;
  ctx.send(server_, Message{client_connect, 64, conn_, session_, requested_ns_, nullptr});
  // ClientCnxn gives each server sessionTimeout / (number of servers) to answer.
  ctx.set_timer(std::max<DurationNs>(timeout_ns_ / ensemble_, k_ms), tag(t_connect));
}

void ZkClient::schedule_reconnect(Ctx& ctx) {
  ++gen_;
  server_index_ = (server_index_ + 1) % ensemble_;
  server_ = k_no_node;
  ctx.set_timer(ctx.random(0, k_s - 1), tag(t_reconnect));
}

void ZkClient::connection_lost(Ctx& ctx) {
  bool was_connected = state_ == SessionState::connected;
  state_ = SessionState::disconnected;
  pending_.clear();
  std::vector<std::string> lost;
  for (auto& [name, l] : locks_) {
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
  ++expirations_;
  state_ = SessionState::expired;
  session_ = 0;  // never reused
  timeout_ns_ = requested_ns_;
  pending_.clear();
  to_delete_.clear();  // the ephemerals went with the session
  std::vector<std::string> lost;
  for (auto& [name, l] : locks_) {
    if (l.held) lost.push_back(name);
    l = LockState{l.wanted, false, false, "", ""};
  }
  schedule_reconnect(ctx);
  if (cb_.session) cb_.session(ctx, SessionEvent::expired);
  for (const auto& name : lost)
    if (cb_.lost) cb_.lost(ctx, name);
}

void ZkClient::on_connected(Ctx& ctx) {
  state_ = SessionState::connected;
  ++gen_;
  ctx.set_timer(timeout_ns_ / 3, tag(t_ping));
  ctx.set_timer(timeout_ns_ * 2 / 3, tag(t_read));
  for (const auto& path : to_delete_) {
    send_request(ctx, static_cast<std::uint8_t>(ReqOp::remove), path, 0, false,
                 Pending{Op::remove, ""});
  }
  to_delete_.clear();
  if (cb_.session) cb_.session(ctx, SessionEvent::connected);
  std::vector<std::string> names;
  for (const auto& [name, l] : locks_)
    if (l.wanted) names.push_back(name);
  for (const auto& name : names) step(ctx, name);
}

void ZkClient::on_timer(Ctx& ctx, std::uint64_t t) {
  if (!owns_timer(t) || tag_gen(t) != gen_) return;
  switch (tag_kind(t)) {
    case t_connect:
      if (state_ == SessionState::connecting) connection_lost(ctx);
      return;
    case t_reconnect:
      connect(ctx);
      return;
    case t_ping:
      if (state_ != SessionState::connected) return;
      ctx.send(server_, Message{client_ping, 64, conn_, session_, 0, nullptr});
      ctx.set_timer(timeout_ns_ / 3, tag(t_ping));
      return;
    case t_read: {
      if (state_ != SessionState::connected) return;
      DurationNs read_timeout = timeout_ns_ * 2 / 3;
      DurationNs silent = ctx.now() - last_heard_;
      if (silent >= read_timeout) {
        ctx.log(LogLevel::info,
                fmt::format("Client session timed out, have not heard from server in {}ms for "
                            "session id 0x{:x}",
                            silent / k_ms, session_));
        return connection_lost(ctx);
      }
      ctx.set_timer(read_timeout - silent, tag(t_read));
      return;
    }
    default:
      return;
  }
}

void ZkClient::on_message(Ctx& ctx, NodeId from, const Message& m) {
  if (from != server_ || m.a != conn_ || state_ == SessionState::disconnected ||
      state_ == SessionState::expired)
    return;
  last_heard_ = ctx.now();
  switch (m.type) {
    case client_connected:
      if (state_ != SessionState::connecting) return;
      session_ = m.b;
      timeout_ns_ = m.c;
      return on_connected(ctx);
    case client_expired:
      if (m.b == session_) session_expired(ctx);
      return;
    case client_closed:
      return connection_lost(ctx);
    case client_response:
      if (state_ == SessionState::connected) on_response(ctx, m.b, m);
      return;
    case client_watch: {
      const auto* w = dynamic_cast<const WatchBody*>(m.body.get());
      if (!w) return;
      std::vector<std::string> names;
      for (auto& [name, l] : locks_) {
        if (l.watching == w->path) {
          l.watching.clear();
          names.push_back(name);
        }
      }
      for (const auto& name : names) step(ctx, name);
      return;
    }
    default:
      return;
  }
}

std::int64_t ZkClient::send_request(Ctx& ctx, std::uint8_t op, const std::string& path,
                                    std::int64_t flags, bool watch, Pending p) {
  auto body = std::make_shared<RequestBody>();
  body->op = static_cast<ReqOp>(op);
  body->path = path;
  body->flags = flags;
  body->watch = watch;
  std::int64_t xid = ++next_xid_;
  pending_[xid] = std::move(p);
  ctx.send(server_, Message{client_request, 128, conn_, xid, 0, std::move(body)});
  return xid;
}

void ZkClient::lock(Ctx& ctx, const std::string& name) {
  LockState& l = locks_[name];
  if (l.wanted) return;
  l.wanted = true;
  step(ctx, name);
}

void ZkClient::unlock(Ctx& ctx, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  LockState& l = it->second;
  l.wanted = false;
  l.held = false;
  l.watching.clear();
  if (l.node.empty()) return;  // a create in flight is undone when its answer comes
  if (state_ == SessionState::connected) {
    send_request(ctx, static_cast<std::uint8_t>(ReqOp::remove), l.node, 0, false,
                 Pending{Op::remove, name});
  } else {
    to_delete_.insert(l.node);
  }
  l.node.clear();
}

bool ZkClient::holds(std::string_view name) const {
  auto it = locks_.find(std::string(name));
  return it != locks_.end() && it->second.held && state_ == SessionState::connected;
}

std::vector<std::string> ZkClient::held() const {
  std::vector<std::string> out;
  if (state_ != SessionState::connected) return out;
  for (const auto& [name, l] : locks_)
    if (l.held) out.push_back(name);
  return out;
}

void ZkClient::step(Ctx& ctx, const std::string& name) {
  LockState& l = locks_[name];
  if (state_ != SessionState::connected || l.busy || !l.wanted || l.held) return;
  l.busy = true;
  send_request(ctx, static_cast<std::uint8_t>(ReqOp::get_children), dir_of(name), 0, false,
               Pending{Op::list, name});
}

// The sequence number is the last ten digits of a sequential node's name.
static std::string_view sequence_of(const std::string& child) {
  return std::string_view(child).substr(child.size() >= 10 ? child.size() - 10 : 0);
}

void ZkClient::on_response(Ctx& ctx, std::int64_t xid, const Message& m) {
  auto p = pending_.find(xid);
  const auto* r = dynamic_cast<const ResponseBody*>(m.body.get());
  if (p == pending_.end() || !r) return;
  Pending pend = std::move(p->second);
  pending_.erase(p);
  if (pend.op == Op::remove) return;
  LockState& l = locks_[pend.lock];
  l.busy = false;
  std::string dir = dir_of(pend.lock);
  switch (pend.op) {
    case Op::create:
      if (r->code != Code::ok) return step(ctx, pend.lock);
      if (!l.wanted) {  // unlocked while the create was in flight
        send_request(ctx, static_cast<std::uint8_t>(ReqOp::remove), r->path, 0, false,
                     Pending{Op::remove, pend.lock});
        return;
      }
      l.node = r->path;
      return step(ctx, pend.lock);
    case Op::list: {
      if (!l.wanted) return;
      std::vector<std::string> children = r->children;
      std::string mine = prefix();
      if (l.node.empty()) {
        for (const auto& c : children)
          if (c.compare(0, mine.size(), mine) == 0) l.node = dir + "/" + c;
      }
      if (!l.node.empty() && std::find(children.begin(), children.end(),
                                       l.node.substr(dir.size() + 1)) == children.end()) {
        l.node.clear();  // gone (it cannot be, while our session lives; start over)
      }
      if (l.node.empty()) {
        l.busy = true;
        send_request(ctx, static_cast<std::uint8_t>(ReqOp::create), dir + "/" + mine,
                     k_ephemeral | k_sequential | k_parents, false, Pending{Op::create, pend.lock});
        return;
      }
      std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
        return std::make_pair(sequence_of(a), std::string_view(a)) <
               std::make_pair(sequence_of(b), std::string_view(b));
      });
      std::string my_name = l.node.substr(dir.size() + 1);
      auto it = std::find(children.begin(), children.end(), my_name);
      if (it == children.begin()) {
        l.held = true;
        if (cb_.acquired) cb_.acquired(ctx, pend.lock);
        return;
      }
      l.watching = dir + "/" + *std::prev(it);
      l.busy = true;
      send_request(ctx, static_cast<std::uint8_t>(ReqOp::exists), l.watching, 0, true,
                   Pending{Op::check, pend.lock});
      return;
    }
    case Op::check:
      // The watch may have fired (and been consumed) before this answer arrived.
      if (!r->exists || l.watching.empty()) {
        l.watching.clear();
        step(ctx, pend.lock);
      }
      return;  // otherwise the watch will fire
    case Op::remove:
      return;
  }
}

std::uint64_t ZkClient::digest() const {
  Digest d;
  d.add(static_cast<std::uint64_t>(state_)).add_signed(session_).add_signed(conn_);
  d.add_signed(server_index_).add_signed(next_xid_);
  for (const auto& [name, l] : locks_) {
    d.add(name).add(l.wanted ? 1 : 0).add(l.held ? 1 : 0).add(l.node).add(l.watching);
  }
  for (const auto& p : to_delete_) d.add(p);
  return d.value();
}

}  // namespace stampede::zk

namespace stampede::zk {

std::optional<std::int64_t> ZkClient::probe(std::string_view key, std::string_view arg) const {
  // zk.lock_mutual_exclusion asks these after many steps: they walk the locks in place, in the
  // order of held(), instead of copying the held names.
  if (key == "zk.held_lock_count") {
    if (state_ != SessionState::connected) return 0;
    std::int64_t n = 0;
    for (const auto& [name, l] : locks_) n += l.held ? 1 : 0;
    return n;
  }
  if (key == "zk.held_lock") {
    std::size_t i = 0;
    auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), i);
    if (ec != std::errc{} || p != arg.data() + arg.size() || state_ != SessionState::connected)
      return std::nullopt;
    for (const auto& [name, l] : locks_) {
      if (!l.held) continue;
      if (i == 0) return lock_name_hash(name);
      --i;
    }
    return std::nullopt;
  }
  if (key == "zk.session_id") return session_;
  if (key == "zk.session_state") return static_cast<std::int64_t>(state_);
  if (key == "zk.expirations") return expirations_;
  return std::nullopt;
}

}  // namespace stampede::zk
