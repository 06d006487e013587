// The lock recipe as Curator 2.10.0's InterProcessMutex has it (models/zookeeper/zk_client.hpp),
// request by request against a scripted server, and the server's per-session order on raw
// requests.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <utility>

#include "models/zookeeper/bodies.hpp"
#include "world.hpp"

using namespace zktest;

namespace {

// Stands in for zookeeper-1 of an ensemble of one. It keeps the lock directories, answers the
// client's requests and records each of them. `close_on` makes it close the connection instead
// of answering the next request of that kind (applied first when `apply_before_close`), and
// `expire_on` answers the next request of that kind with SESSION EXPIRED, unapplied.
class ScriptedServer final : public Node {
 public:
  struct Seen {
    ReqOp op;
    std::string path;
  };
  std::vector<Seen> seen;
  std::map<std::string, std::vector<std::string>> dirs;  // directory -> children, sorted
  std::optional<ReqOp> close_on;
  bool apply_before_close = true;
  std::optional<ReqOp> expire_on;
  std::int64_t next_sequence = 0;

  void on_start(Ctx&) override {}
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }

  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    wire::dispatch<ClientConnect, ClientPing, ClientRequest>(m, [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, ClientConnect>) on_connect(ctx, from, x);
      if constexpr (std::is_same_v<T, ClientPing>) ctx.send(from, wire::encode(ClientPong{x.conn}));
      if constexpr (std::is_same_v<T, ClientRequest>) on_request(ctx, from, x);
    });
  }

  // The requests seen since `from`, as "op path" lines.
  std::vector<std::string> ops(std::size_t from = 0) const {
    static const char* names[] = {"create", "delete", "getChildren", "exists"};
    std::vector<std::string> out;
    for (std::size_t i = from; i < seen.size(); ++i)
      out.push_back(std::string(names[static_cast<int>(seen[i].op)]) + " " + seen[i].path);
    return out;
  }

 private:
  void on_connect(Ctx& ctx, NodeId from, const ClientConnect& m) {
    if (m.session != 0 && m.session != session_) {
      ctx.send(from, wire::encode(ClientExpired{m.conn, m.session}));
      return;
    }
    if (m.session == 0) session_ = ++sessions_;
    ctx.send(from, wire::encode(ClientConnected{m.conn, session_, m.timeout_ns}));
  }

  void on_request(Ctx& ctx, NodeId from, const ClientRequest& m) {
    const RequestBody& req = *m.body;
    seen.push_back({req.op, req.path});
    if (expire_on == req.op) {
      expire_on.reset();
      ctx.send(from, wire::encode(ClientExpired{m.conn, session_}));
      std::string mine = fmt::format("lock-{:x}-", session_);  // its ephemerals go with it
      for (auto& [dir, children] : dirs)
        children.erase(std::remove_if(children.begin(), children.end(),
                                      [&](const std::string& c) { return c.rfind(mine, 0) == 0; }),
                       children.end());
      session_ = 0;
      return;
    }
    bool close = close_on == req.op;
    if (close) close_on.reset();
    auto body = std::make_shared<ResponseBody>();
    if (!close || apply_before_close) apply(req, *body);
    ctx.send(from, close ? wire::encode(ClientClosed{m.conn})
                         : wire::encode(ClientResponse{m.conn, m.xid, std::move(body)}));
  }

  void apply(const RequestBody& req, ResponseBody& r) {
    std::string dir = parent_of(req.path);
    std::string name = req.path.substr(dir.size() + 1);
    std::vector<std::string>& children = dirs[dir];
    if (req.op == ReqOp::create) {
      name += fmt::format("{:010}", next_sequence++);
      children.push_back(name);
      std::sort(children.begin(), children.end());
      r.path = dir + "/" + name;
    } else if (req.op == ReqOp::remove) {
      children.erase(std::remove(children.begin(), children.end(), name), children.end());
    } else if (req.op == ReqOp::get_children) {
      r.children = dirs[req.path];
    } else {
      r.exists = std::find(children.begin(), children.end(), name) != children.end();
    }
  }

  std::int64_t session_ = 0;
  std::int64_t sessions_ = 0;
};

// A node embedding a ZkClient that, at the times given, asks for the lock "demo" (lock or
// try_lock) or releases it, and counts what the client tells it.
class Scripted final : public Node {
 public:
  enum class Act { lock, try_lock, unlock };
  std::vector<std::pair<TimeNs, Act>> script;
  int acquired = 0;
  int refused = 0;

  Scripted() : client_(1) {}
  const ZkClient& client() const { return client_; }

  void on_start(Ctx& ctx) override {
    ZkClient::Callbacks cb;
    cb.acquired = [this](Ctx&, const std::string&) { ++acquired; };
    cb.refused = [this](Ctx&, const std::string&) { ++refused; };
    client_.set_callbacks(std::move(cb));
    client_.start(ctx);
    for (std::size_t i = 0; i < script.size(); ++i) ctx.set_timer(script[i].first, i + 1);
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    if (ZkClient::owns_message(m.type)) client_.on_message(ctx, from, m);
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    if (ZkClient::owns_timer(tag)) return client_.on_timer(ctx, tag);
    Act a = script[tag - 1].second;
    if (a == Act::lock) client_.lock(ctx, "demo");
    if (a == Act::try_lock) client_.try_lock(ctx, "demo");
    if (a == Act::unlock) client_.unlock(ctx, "demo");
  }
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override {
    client_.on_connection(ctx, peer, event);
  }
  void on_crash() override { client_.crash(); }
  std::uint64_t state_digest() const override { return client_.digest(); }

 private:
  ZkClient client_;
};

struct Rig {
  std::unique_ptr<Kernel> k = std::make_unique<Kernel>(options(1));
  ScriptedServer* server = nullptr;
  Scripted* client = nullptr;
  explicit Rig(std::vector<std::pair<TimeNs, Scripted::Act>> script) {
    auto s = std::make_unique<ScriptedServer>();
    server = s.get();
    k->add_node("zookeeper-1", std::move(s));
    auto c = std::make_unique<Scripted>();
    c->script = std::move(script);
    client = c.get();
    k->add_node("zkclient-1", std::move(c));
  }
};

const std::string k_dir = "/locks/demo";

}  // namespace

TEST_CASE("the recipe creates its node first and lists the directory only once the create is "
          "answered",
          "[lock][curator]") {
  Rig r({{1 * k_s, Scripted::Act::lock}});
  r.k->run_until(3 * k_s);
  std::vector<std::string> ops = r.server->ops();
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].rfind("create " + k_dir + "/lock-", 0) == 0);
  CHECK(ops[1] == "getChildren " + k_dir);
  CHECK(r.client->acquired == 1);
  CHECK(r.client->client().holds("demo"));
}

TEST_CASE("a create whose answer the connection loss took is retried by listing for its "
          "protected name: found, it is the lock's node and no second node is made",
          "[lock][curator]") {
  Rig r({{1 * k_s, Scripted::Act::lock}});
  r.server->close_on = ReqOp::create;  // applied, then the connection closes unanswered
  r.k->run_until(5 * k_s);
  std::vector<std::string> ops = r.server->ops();
  REQUIRE(ops.size() == 3);
  CHECK(ops[0].rfind("create " + k_dir + "/lock-", 0) == 0);
  CHECK(ops[1] == "getChildren " + k_dir);  // the retry looks first
  CHECK(ops[2] == "getChildren " + k_dir);  // the lock loop's list
  CHECK(r.server->dirs[k_dir].size() == 1);
  CHECK(r.client->acquired == 1);
  CHECK(r.client->client().holds("demo"));
}

TEST_CASE("a create the connection loss took unapplied is sent again under the same protected "
          "name once the retry's list does not show it",
          "[lock][curator]") {
  Rig r({{1 * k_s, Scripted::Act::lock}});
  r.server->close_on = ReqOp::create;
  r.server->apply_before_close = false;
  r.k->run_until(5 * k_s);
  std::vector<std::string> ops = r.server->ops();
  REQUIRE(ops.size() == 4);
  CHECK(ops[1] == "getChildren " + k_dir);
  CHECK(ops[2] == ops[0]);  // the same protected name
  CHECK(ops[3] == "getChildren " + k_dir);
  CHECK(r.server->dirs[k_dir].size() == 1);
  CHECK(r.client->client().holds("demo"));
}

TEST_CASE("a release's delete lost with the connection is sent again on the next one, and the "
          "next lock is not queued behind the old node",
          "[lock][curator]") {
  Rig r({{1 * k_s, Scripted::Act::lock},
         {2 * k_s, Scripted::Act::unlock},
         {4 * k_s, Scripted::Act::lock}});
  r.k->run_until(2 * k_s - 1);
  REQUIRE(r.client->acquired == 1);
  r.server->close_on = ReqOp::remove;
  r.server->apply_before_close = false;
  r.k->run_until(6 * k_s);
  std::vector<std::string> ops = r.server->ops(2);
  REQUIRE(ops.size() == 4);
  CHECK(ops[0].rfind("delete " + k_dir + "/lock-", 0) == 0);
  CHECK(ops[1] == ops[0]);  // guaranteed: sent again after the reconnect
  CHECK(ops[2].rfind("create ", 0) == 0);
  CHECK(r.server->dirs[k_dir].size() == 1);
  CHECK(r.client->acquired == 2);
}

TEST_CASE("a try_lock whose session expires stays a try: it gives up on another holder instead "
          "of waiting",
          "[lock][curator][session]") {
  Rig r({{1 * k_s, Scripted::Act::try_lock}});
  r.server->expire_on = ReqOp::create;
  r.k->run_until(500 * k_ms);
  r.server->dirs[k_dir] = {"lock-other-0000000000"};  // another client's node, first in line
  r.server->next_sequence = 1;
  r.k->run_until(5 * k_s);
  CHECK(r.client->client().expirations() == 1);
  CHECK(r.client->refused == 1);
  CHECK(r.client->acquired == 0);
  for (const std::string& op : r.server->ops()) CHECK(op.rfind("exists ", 0) != 0);  // no wait
}

namespace {

// A bare ZooKeeper client: once the test names its server, it connects, creates /x, and when that
// is answered sends, in one step on its one connection, a delete of /x and a getChildren of /.
class RawClient final : public Node {
 public:
  NodeId target = k_no_node;
  std::optional<std::vector<std::string>> listed;

  void on_start(Ctx& ctx) override { ctx.set_timer(6 * k_s, 1); }
  void on_timer(Ctx& ctx, std::uint64_t) override {
    ctx.send(target, wire::encode(ClientConnect{k_conn, 0, 30 * k_s}));
  }
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    wire::dispatch<ClientConnected, ClientResponse>(m, [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, ClientConnected>) request(ctx, from, 1, ReqOp::create);
      if constexpr (std::is_same_v<T, ClientResponse>) on_response(ctx, from, x);
    });
  }

 private:
  static constexpr std::int64_t k_conn = 7;
  void request(Ctx& ctx, NodeId to, std::int64_t xid, ReqOp op) {
    auto body = std::make_shared<RequestBody>();
    body->op = op;
    body->path = op == ReqOp::get_children ? "/" : "/x";
    ctx.send(to, wire::encode(ClientRequest{k_conn, xid, std::move(body)}));
  }
  void on_response(Ctx& ctx, NodeId from, const ClientResponse& m) {
    if (m.xid == 1) {
      request(ctx, from, 2, ReqOp::remove);
      request(ctx, from, 3, ReqOp::get_children);
    }
    if (m.xid == 3) listed = m.body->children;
  }
};

}  // namespace

TEST_CASE("zk_session_order: a follower answers a session's getChildren only after the delete the "
          "session sent before it",
          "[session][zk_session_order]") {
  // The delete goes through the leader and comes back to the follower as a commit; the list is a
  // local read. In order, the list no longer shows /x; with the mechanism off the follower reads
  // its tree at once and still shows it.
  auto listed = [](bool ordered) {
    Ensemble e(3, options(1, {}, {{"zk_session_order", ordered}}));
    auto raw = std::make_unique<RawClient>();
    RawClient* c = raw.get();
    e.k->add_node("rawclient", std::move(raw));
    e.run(5 * k_s);
    int follower = -1;
    for (int i = 0; i < 3; ++i)
      if (e.servers[i]->serving() && e.servers[i]->state() == ServerState::following) follower = i;
    REQUIRE(follower >= 0);
    c->target = e.server_ids[follower];
    e.run(8 * k_s);
    REQUIRE(c->listed.has_value());
    return *c->listed;
  };
  std::vector<std::string> in_order = listed(true);
  CHECK(std::find(in_order.begin(), in_order.end(), "x") == in_order.end());
  std::vector<std::string> unordered = listed(false);
  CHECK(std::find(unordered.begin(), unordered.end(), "x") != unordered.end());
}
