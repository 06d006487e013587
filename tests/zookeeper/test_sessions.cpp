// Writes, sessions, ephemeral nodes and the lock recipe on the kernel.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace zktest;

namespace {
int live_leader(const Ensemble& e) {
  auto l = e.serving_leaders();
  return l.size() == 1 ? l[0] : -1;
}
}  // namespace

TEST_CASE("writes commit on a quorum and survive a leader crash", "[zab]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Ensemble e(3, options(seed));
    ZkLockClient* c = e.add_client("demo", /*hold_forever=*/true);
    e.run(10 * k_s);
    int leader = live_leader(e);
    REQUIRE(leader >= 0);
    REQUIRE(c->client().holds("demo"));
    // Session creation, /locks, /locks/demo and the lock node: committed everywhere.
    std::int64_t committed = e.servers[leader]->disk().committed;
    CHECK(committed >= 2);
    for (auto* s : e.servers) {
      CHECK(s->disk().committed == committed);
      CHECK(s->tree().children("/locks/demo").size() == 1);
    }
    std::int64_t session = c->client().session_id();
    e.crash(leader);
    e.run(60 * k_s);
    int next = live_leader(e);
    REQUIRE(next >= 0);
    // Every committed txn is still there, and the session survived the failover.
    CHECK(e.servers[next]->disk().committed >= committed);
    CHECK(e.servers[next]->tree().session_live(session));
    CHECK(c->client().session_id() == session);
    CHECK(c->client().expirations() == 0);
    CHECK(c->client().holds("demo"));
    CHECK(e.servers[next]->tree().children("/locks/demo").size() == 1);
    CHECK(e.watch.violations.empty());
  }
}

TEST_CASE("the lock recipe hands the lock to the next waiter", "[lock]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Ensemble e(3, options(seed));
    ZkLockClient* a = e.add_client();
    ZkLockClient* b = e.add_client();
    ZkLockClient* c = e.add_client();
    e.run(60 * k_s);
    // Each holds for 1 s and waits 1 s: in a minute all three took turns many times.
    CHECK(a->acquisitions() >= 5);
    CHECK(b->acquisitions() >= 5);
    CHECK(c->acquisitions() >= 5);
    CHECK(e.k->counter("zk_lock_acquisitions") ==
          a->acquisitions() + b->acquisitions() + c->acquisitions());
    CHECK(e.watch.violations.empty());
  }
}

TEST_CASE("a cut-off client's session expires and its lock node goes away", "[session]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Ensemble e(3, options(seed));
    ZkLockClient* a = e.add_client("demo", /*hold_forever=*/true);
    ZkLockClient* b = e.add_client("demo", /*hold_forever=*/true);
    e.run(15 * k_s);
    REQUIRE(a->client().holds("demo") != b->client().holds("demo"));
    bool a_holds = a->client().holds("demo");
    ZkLockClient* holder = a_holds ? a : b;
    ZkLockClient* waiter = a_holds ? b : a;
    NodeId holder_id = e.client_ids[a_holds ? 0 : 1];
    NodeId waiter_id = e.client_ids[a_holds ? 1 : 0];
    REQUIRE(waiter->client().state() == SessionState::connected);
    std::int64_t session = holder->client().session_id();
    DurationNs timeout = holder->client().negotiated_timeout();
    CHECK(timeout == 30 * k_s);  // Cattle asks 30 s (zookeeper.session.timeout.millis), in [4 s, 40 s]

    // Cut the holder off from every server at 20 s.
    std::vector<NodeId> rest(e.server_ids.begin(), e.server_ids.end());
    rest.push_back(waiter_id);
    e.k->at(20 * k_s, StepKind::fault, [&] { e.k->network().partition({{holder_id}, rest}); });
    // The client gives up the lock after 2/3 of its timeout without a word (CONNECTION LOSS).
    e.run(20 * k_s + timeout * 2 / 3 + k_s);
    CHECK_FALSE(holder->client().holds("demo"));
    CHECK(holder->client().state() != SessionState::connected);
    CHECK(e.signals("zk.session_expired") == 0);
    CHECK_FALSE(waiter->client().holds("demo"));
    // The leader expires the session after its timeout (bucketed by ticks).
    e.run(20 * k_s + timeout + 3 * 2 * k_s);
    CHECK(e.signals("zk.session_expired") == 1);
    for (auto* s : e.servers) {
      CHECK_FALSE(s->tree().session_live(session));
      for (const auto& child : s->tree().children("/locks/demo"))
        CHECK(s->tree().ephemeral_owner("/locks/demo/" + child) != session);
    }
    CHECK(waiter->client().holds("demo"));
    // Heal: the holder hears SESSION EXPIRED, and starts a new session, never the old one.
    e.k->at(80 * k_s, StepKind::fault, [&] { e.k->network().heal_all(); });
    e.run(100 * k_s);
    CHECK(holder->client().expirations() == 1);
    CHECK(holder->client().state() == SessionState::connected);
    CHECK(holder->client().session_id() != session);
    CHECK_FALSE(holder->client().holds("demo"));  // the waiter has it now
    CHECK(e.watch.violations.empty());
  }
}

TEST_CASE("a paused holder loses its lock to expiry, and the invariant still holds",
          "[session][pause]") {
  Ensemble e(3, options(11));
  ZkLockClient* holder = e.add_client("demo", true);
  ZkLockClient* waiter = e.add_client("demo", true);
  e.run(10 * k_s);
  ZkLockClient* first = holder->client().holds("demo") ? holder : waiter;
  ZkLockClient* second = first == holder ? waiter : holder;
  NodeId first_id = first == holder ? e.client_ids[0] : e.client_ids[1];
  REQUIRE(first->client().holds("demo"));
  // A stop-the-world pause longer than the session timeout.
  e.k->at(12 * k_s, StepKind::fault, [&] { e.k->pause(first_id, 60 * k_s); });
  e.run(70 * k_s);
  // While paused the old holder still believes it holds, but its session is dead: ZooKeeper
  // gave the lock to the other client (which is why locks need fencing).
  CHECK(first->client().holds("demo"));
  CHECK(second->client().holds("demo"));
  e.run(90 * k_s);
  CHECK_FALSE(first->client().holds("demo"));
  CHECK(first->client().expirations() == 1);
  CHECK(e.watch.violations.empty());
}

TEST_CASE("zk.committed_never_lost fires when a synced server lacks a committed txn",
          "[invariant]") {
  // A disk that claims a committed txn no quorum ever logged (a corrupted or foreign data dir):
  // the leader of a later epoch does not have it, so the invariant must report it.
  std::vector<Disk> disks(3);
  disks[0].accepted_epoch = disks[0].current_epoch = 2;
  auto t = std::make_shared<Txn>();
  t->op = TxnOp::create_session;
  t->session = 42;
  t->timeout_ns = 40 * k_s;
  disks[2].append(LoggedTxn{make_zxid(1, 1), t}, 0, PageCache{});  // synced
  disks[2].committed = 1;
  disks[2].accepted_epoch = disks[2].current_epoch = 1;
  // Without the learners' processing times the leader is synced (serving) before zookeeper-3
  // takes its NEWLEADER, while zookeeper-3 still holds the txn; with them zookeeper-3 may sync
  // first and drop it (logged as zookeeper.sync_truncated_committed), which no invariant over
  // the live servers' logs can see afterwards.
  Ensemble e(3, options(1, {{"zk_leader_bind_time", 0},
                            {"zk_learner_sync_time", 0},
                            {"zk_leader_startup_time", 0}}),
             disks);
  e.run(5 * k_s);
  REQUIRE_FALSE(e.watch.violations.empty());
  CHECK(e.watch.violations[0].find("lacks zxid 0x100000001") != std::string::npos);
}

TEST_CASE("clients that release and ask again at once never hold the lock together, with or "
          "without zk_session_order",
          "[lock][session]") {
  // Each client releases and asks again at once (idle 0): its delete goes to the leader and its
  // next create follows on the same connection. The recipe lists the directory only once that
  // create is answered, and a server answers a write only once it has applied it, after the
  // delete before it, so the list never shows the client's deleted node, whether or not reads
  // wait behind the session's writes. Before the recipe created first (Curator 2.10.0,
  // models/zookeeper/zk_client.hpp) it listed first, a follower answered that list before the
  // delete came back from the leader, and the recipe took its deleted node (then found by the
  // session in its name) for its own: the sizing study's seed 1 at 60:08 (docs/sizing.md).
  // With the mechanism off some of seeds 1-5 then broke the invariant; now none does. The mechanism
  // itself is tested on raw requests (test_lock_recipe.cpp).
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    for (bool ordered : {true, false}) {
      CAPTURE(seed, ordered);
      Ensemble e(3, options(seed, {{"zk_lock_client_idle", 0}}, {{"zk_session_order", ordered}}));
      for (int i = 0; i < 3; ++i) e.add_client();
      e.run(60 * k_s);
      CHECK(e.k->counter("zk_lock_acquisitions") >= 30);  // the lock changed hands throughout
      CHECK(e.watch.violations.empty());
    }
  }
}
