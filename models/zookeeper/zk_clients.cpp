// The client-facing side of a server: connections, session creation and revalidation, reads
// served from the local tree, writes submitted to the leader, watches, and answers once a write
// is applied here.
#include <algorithm>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

void ZkServer::reply_client(Ctx& ctx, NodeId client, std::uint32_t type, std::int64_t b,
                            std::int64_t c, std::shared_ptr<const Payload> body) {
  auto it = clients_.find(client);
  std::int64_t conn = it == clients_.end() ? 0 : it->second.conn;
  ctx.send(client, Message{type, 128, conn, b, c, std::move(body)});
}

void ZkServer::close_all_clients(Ctx& ctx) {
  // Like closing the sockets: each client hears of it at once and tries another server.
  for (const auto& [node, c] : clients_)
    ctx.send(node, Message{client_closed, 64, c.conn, 0, 0, nullptr});
  clients_.clear();
  data_watches_.clear();
  child_watches_.clear();
}

void ZkServer::touch_local(Ctx& ctx, std::int64_t session) {
  if (state_ == ServerState::leading) {
    touch(ctx, session);
  } else {
    follow_.touched.insert(session);
  }
}

void ZkServer::on_probe_write(Ctx& ctx, NodeId from, const Message& m) {
  // The probe writes to every server at once; only a leader that serves proposes it, so one
  // write per probe goes through Zab (a follower would forward it to that same leader).
  if (state_ != ServerState::leading || !lead_.ready) return;
  Txn t;
  t.op = TxnOp::create;
  t.path = "/zkprobe";  // persistent: created once, then node_exists (still a committed txn)
  t.origin_sid = sid_;
  t.client = from;
  t.client_conn = m.a;
  t.xid = m.a;
  t.probe = true;
  propose(ctx, std::move(t));
}

void ZkServer::on_client_message(Ctx& ctx, NodeId from, const Message& m) {
  if (m.type == probe_write) return on_probe_write(ctx, from, m);
  if (m.type == probe_committed) return;
  if (!serving()) {
    // "ZooKeeperServer not running": the connection is refused.
    ctx.send(from, Message{client_closed, 64, m.a, 0, 0, nullptr});
    return;
  }
  if (m.type == client_connect) {
    std::int64_t conn = m.a, session = m.b;
    if (session == 0) {
      DurationNs tick = tick_ns(ctx);
      std::int64_t timeout = std::clamp(m.c, ctx.timing(k_min_session_timeout) * tick,
                                        ctx.timing(k_max_session_timeout) * tick);
      std::int64_t id = ++next_session_;
      clients_[from] = ClientConn{conn, id, false};
      Txn t;
      t.op = TxnOp::create_session;
      t.session = id;
      t.timeout_ns = timeout;
      t.origin_sid = sid_;
      t.client = from;
      t.client_conn = conn;
      submit(ctx, std::move(t));
      return;
    }
    clients_[from] = ClientConn{conn, session, false};
    if (state_ == ServerState::leading) {
      if (tree_.session_live(session) && lead_.closing.count(session) == 0) {
        clients_[from].established = true;
        touch(ctx, session);
        reply_client(ctx, from, client_connected, session, tree_.session_timeout(session));
      } else {
        reply_client(ctx, from, client_expired, session, 0);
        clients_.erase(from);
      }
      return;
    }
    // A follower asks the leader, which alone knows whether the session is still alive.
    ctx.send(follow_.leader, Message{revalidate, 64, follow_.conn, session,
                                     static_cast<std::int64_t>(from), nullptr});
    return;
  }
  auto it = clients_.find(from);
  if (it == clients_.end() || it->second.conn != m.a || !it->second.established) {
    ctx.send(from, Message{client_closed, 64, m.a, 0, 0, nullptr});  // an unknown connection
    return;
  }
  std::int64_t session = it->second.session;
  touch_local(ctx, session);
  if (m.type == client_ping) {
    reply_client(ctx, from, client_pong, 0, 0);
    return;
  }
  if (m.type != client_request) return;
  const auto* req = dynamic_cast<const RequestBody*>(m.body.get());
  if (!req) return;
  std::int64_t xid = m.b;
  switch (req->op) {
    case ReqOp::get_children: {
      auto r = std::make_shared<ResponseBody>();
      if (!tree_.exists(req->path)) {
        r->code = Code::no_node;
      } else {
        r->children = tree_.children(req->path);
        if (req->watch) child_watches_[req->path].insert(from);
      }
      reply_client(ctx, from, client_response, xid, 0, std::move(r));
      return;
    }
    case ReqOp::exists: {
      auto r = std::make_shared<ResponseBody>();
      r->exists = tree_.exists(req->path);
      if (req->watch) data_watches_[req->path].insert(from);
      reply_client(ctx, from, client_response, xid, 0, std::move(r));
      return;
    }
    case ReqOp::create:
    case ReqOp::remove: {
      Txn t;
      t.op = req->op == ReqOp::create ? TxnOp::create : TxnOp::remove;
      t.path = req->path;
      t.session = session;
      t.flags = req->flags;
      t.origin_sid = sid_;
      t.client = from;
      t.client_conn = m.a;
      t.xid = xid;
      submit(ctx, std::move(t));
      return;
    }
  }
}

void ZkServer::answer_origin(Ctx& ctx, const Txn& t, const ApplyResult& r) {
  if (t.origin_sid != sid_) return;
  if (t.probe) {
    ctx.send(t.client, Message{probe_committed, 64, t.client_conn, 0, 0, nullptr});
    return;
  }
  auto it = clients_.find(t.client);
  if (it == clients_.end() || it->second.conn != t.client_conn) return;
  if (t.op == TxnOp::create_session) {
    if (it->second.session != t.session || it->second.established) return;
    it->second.established = true;
    reply_client(ctx, t.client, client_connected, t.session, t.timeout_ns);
    return;
  }
  if (t.op != TxnOp::create && t.op != TxnOp::remove) return;
  auto body = std::make_shared<ResponseBody>();
  body->code = r.code;
  body->path = r.path;
  reply_client(ctx, t.client, client_response, t.xid, 0, std::move(body));
}

void ZkServer::fire_watches(Ctx& ctx, const ApplyResult& r) {
  auto fire = [&](std::map<std::string, std::set<NodeId>>& watches, const std::string& path,
                  WatchEvent ev) {
    auto w = watches.find(path);
    if (w == watches.end()) return;
    std::set<NodeId> who = std::move(w->second);
    watches.erase(w);  // a watch fires once
    for (NodeId client : who) {
      if (clients_.count(client) == 0) continue;
      auto body = std::make_shared<WatchBody>();
      body->path = path;
      body->event = ev;
      reply_client(ctx, client, client_watch, 0, 0, std::move(body));
    }
  };
  for (const auto& p : r.created) {
    fire(data_watches_, p, WatchEvent::created);
    fire(child_watches_, parent_of(p), WatchEvent::children_changed);
  }
  for (const auto& p : r.deleted) {
    fire(data_watches_, p, WatchEvent::deleted);
    fire(child_watches_, parent_of(p), WatchEvent::children_changed);
  }
}

}  // namespace stampede::zk
