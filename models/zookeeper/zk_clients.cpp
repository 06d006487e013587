// The client-facing side of a server: connections, session creation and revalidation, reads
// served from the local tree, writes submitted to the leader, watches, and answers once a write
// is applied here.
#include <algorithm>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

void ZkServer::close_all_clients(Ctx& ctx) {
  // Like closing the sockets: each client hears of it at once and tries another server.
  for (const auto& [node, c] : vol_.clients) ctx.send(node, wire::encode(ClientClosed{c.conn}));
  vol_.clients.clear();
  vol_.data_watches.clear();
  vol_.child_watches.clear();
}

void ZkServer::touch_local(Ctx& ctx, std::int64_t session) {
  if (vol_.state == ServerState::leading) {
    touch(ctx, session);
  } else {
    vol_.follow.touched.insert(session);
  }
}

void ZkServer::on_client_message(Ctx& ctx, NodeId from, const Message& m) {
  wire::dispatch<ProbeWrite, ProbeCommitted, ClientConnect, ClientPing, ClientRequest>(
      m, [&](const auto& x) { on(ctx, from, x); });
}

void ZkServer::on(Ctx& ctx, NodeId from, const ProbeWrite& m) {
  // The probe writes to every server at once; only a leader that serves proposes it, so one
  // write per probe goes through Zab (a follower would forward it to that same leader).
  if (vol_.state != ServerState::leading || !vol_.lead.ready) return;
  Txn t;
  t.op = TxnOp::create;
  t.path = "/zkprobe";  // persistent: created once, then node_exists (still a committed txn)
  t.origin_sid = sid_;
  t.client = from;
  t.client_conn = m.id;
  t.xid = m.id;
  t.probe = true;
  propose(ctx, std::move(t));
}

void ZkServer::on(Ctx& ctx, NodeId from, const ProbeCommitted& m) {
  (void)ctx;
  (void)from;
  (void)m;  // the leader's answer to a probe: nothing for a server
}

// "ZooKeeperServer not running": a server that does not serve refuses the connection.
bool ZkServer::refuse_unless_serving(Ctx& ctx, NodeId from, std::int64_t conn) {
  if (serving()) return false;
  ctx.send(from, wire::encode(ClientClosed{conn}));
  return true;
}

void ZkServer::on(Ctx& ctx, NodeId from, const ClientConnect& m) {
  if (refuse_unless_serving(ctx, from, m.conn)) return;
  std::int64_t session = m.session;
  if (session == 0) return create_session(ctx, from, m);
  vol_.clients[from] = ClientConn{m.conn, session, false, {}};
  if (vol_.state == ServerState::leading) {
    if (vol_.tree->session_live(session) && vol_.lead.closing.count(session) == 0) {
      vol_.clients[from].established = true;
      touch(ctx, session);
      reply_client(ctx, from, ClientConnected{0, session, vol_.tree->session_timeout(session)});
    } else {
      reply_client(ctx, from, ClientExpired{0, session});
      vol_.clients.erase(from);
    }
    return;
  }
  // A follower asks the leader, which alone knows whether the session is still alive.
  ctx.send(vol_.follow.leader, wire::encode(Revalidate{vol_.follow.conn, session, from}));
}

void ZkServer::create_session(Ctx& ctx, NodeId from, const ClientConnect& m) {
  DurationNs tick = cfg_.tick_ns;
  std::int64_t timeout = std::clamp(m.timeout_ns, cfg_.min_session_timeout * tick,
                                    cfg_.max_session_timeout * tick);
  std::int64_t id = ++vol_.next_session;
  vol_.clients[from] = ClientConn{m.conn, id, false, {}};
  Txn t;
  t.op = TxnOp::create_session;
  t.session = id;
  t.timeout_ns = timeout;
  t.origin_sid = sid_;
  t.client = from;
  t.client_conn = m.conn;
  submit(ctx, std::move(t));
}

// The client's connection here, once its session is established; an unknown connection is
// closed.
ZkServer::ClientConn* ZkServer::established_conn(Ctx& ctx, NodeId from, std::int64_t conn) {
  auto it = vol_.clients.find(from);
  if (it == vol_.clients.end() || it->second.conn != conn || !it->second.established) {
    ctx.send(from, wire::encode(ClientClosed{conn}));
    return nullptr;
  }
  return &it->second;
}

void ZkServer::on(Ctx& ctx, NodeId from, const ClientPing& m) {
  if (refuse_unless_serving(ctx, from, m.conn)) return;
  ClientConn* c = established_conn(ctx, from, m.conn);
  if (c == nullptr) return;
  touch_local(ctx, c->session);
  reply_client(ctx, from, ClientPong{});
}

void ZkServer::on(Ctx& ctx, NodeId from, const ClientRequest& m) {
  if (refuse_unless_serving(ctx, from, m.conn)) return;
  ClientConn* c = established_conn(ctx, from, m.conn);
  if (c == nullptr) return;
  touch_local(ctx, c->session);
  bool write = m.body->op == ReqOp::create || m.body->op == ReqOp::remove;
  // A session's requests are answered in the order it sent them: a read that comes while one
  // of the session's writes is on its way through the leader waits until that write is applied
  // here (release-3.8.0-1 zookeeper-server/src/main/java/org/apache/zookeeper/server/quorum/
  // CommitProcessor.java lines 68-72, "Each session's requests must be processed in order", and
  // lines 252-256: a request whose session has requests pending is queued behind them, reads
  // included; lines 393-407 release the queued reads once the write before them commits).
  // Without it (mechanism zk_session_order off) a getChildren sent right after the session's
  // own delete is shown the deleted node. Curator's lock recipe (models/zookeeper/zk_client.hpp)
  // no longer depends on it, since it lists only after its create is answered, but the old
  // list-first recipe took that node for its new one and held the lock with another client.
  if (cfg_.session_order && (write || !c->in_order.empty())) c->in_order.push_back(m);
  if (write) return submit_write(ctx, from, m, c->session);
  if (!cfg_.session_order || c->in_order.empty()) serve_read(ctx, from, m);
}

void ZkServer::serve_read(Ctx& ctx, NodeId from, const ClientRequest& m) {
  const RequestBody& req = *m.body;
  auto r = std::make_shared<ResponseBody>();
  if (req.op == ReqOp::get_children) {
    if (!vol_.tree->exists(req.path)) {
      r->code = Code::no_node;
    } else {
      r->children = vol_.tree->children(req.path);
      if (req.watch) vol_.child_watches[req.path].insert(from);
    }
  } else {
    r->exists = vol_.tree->exists(req.path);
    if (req.watch) vol_.data_watches[req.path].insert(from);
  }
  reply_client(ctx, from, ClientResponse{0, m.xid, std::move(r)});
}

void ZkServer::submit_write(Ctx& ctx, NodeId from, const ClientRequest& m, std::int64_t session) {
  const RequestBody& req = *m.body;
  Txn t;
  t.op = req.op == ReqOp::create ? TxnOp::create : TxnOp::remove;
  t.path = req.path;
  t.session = session;
  t.flags = req.flags;
  t.origin_sid = sid_;
  t.client = from;
  t.client_conn = m.conn;
  t.xid = m.xid;
  submit(ctx, std::move(t));
}

// The write `xid` of the connection is applied here: the reads queued behind it are answered,
// up to the connection's next write still on its way.
void ZkServer::release_reads(Ctx& ctx, NodeId from, ClientConn& c, std::int64_t xid) {
  auto it = std::find_if(c.in_order.begin(), c.in_order.end(),
                         [xid](const ClientRequest& q) { return q.xid == xid; });
  if (it == c.in_order.end()) return;
  c.in_order.erase(it);
  while (!c.in_order.empty()) {
    const ClientRequest& next = c.in_order.front();
    if (next.body->op == ReqOp::create || next.body->op == ReqOp::remove) return;
    ClientRequest read = std::move(c.in_order.front());
    c.in_order.pop_front();
    serve_read(ctx, from, read);
  }
}

void ZkServer::answer_origin(Ctx& ctx, const Txn& t, const ApplyResult& r) {
  if (t.origin_sid != sid_) return;
  if (t.probe) {
    ctx.send(t.client, wire::encode(ProbeCommitted{t.client_conn}));
    return;
  }
  auto it = vol_.clients.find(t.client);
  if (it == vol_.clients.end() || it->second.conn != t.client_conn) return;
  if (t.op == TxnOp::create_session) {
    if (it->second.session != t.session || it->second.established) return;
    it->second.established = true;
    reply_client(ctx, t.client, ClientConnected{0, t.session, t.timeout_ns});
    return;
  }
  if (t.op != TxnOp::create && t.op != TxnOp::remove) return;
  auto body = std::make_shared<ResponseBody>();
  body->code = r.code;
  body->path = r.path;
  reply_client(ctx, t.client, ClientResponse{0, t.xid, std::move(body)});
  release_reads(ctx, t.client, it->second, t.xid);
}

void ZkServer::fire_watches(Ctx& ctx, const ApplyResult& r) {
  auto fire = [&](std::map<std::string, std::set<NodeId>>& watches, const std::string& path,
                  WatchEvent ev) {
    auto w = watches.find(path);
    if (w == watches.end()) return;
    std::set<NodeId> who = std::move(w->second);
    watches.erase(w);  // a watch fires once
    for (NodeId client : who) {
      if (vol_.clients.count(client) == 0) continue;
      auto body = std::make_shared<WatchBody>();
      body->path = path;
      body->event = ev;
      reply_client(ctx, client, ClientWatch{0, std::move(body)});
    }
  };
  for (const auto& p : r.created) {
    fire(vol_.data_watches, p, WatchEvent::created);
    fire(vol_.child_watches, parent_of(p), WatchEvent::children_changed);
  }
  for (const auto& p : r.deleted) {
    fire(vol_.data_watches, p, WatchEvent::deleted);
    fire(vol_.child_watches, parent_of(p), WatchEvent::children_changed);
  }
}

}  // namespace stampede::zk
