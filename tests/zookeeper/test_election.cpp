// Leader election and Zab on the kernel: one leader per ensemble, failover with a higher epoch,
// minority partitions, and even-sized ensembles.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace zktest;

TEST_CASE("3 and 5 servers elect exactly one leader that the others follow", "[election]") {
  for (int n : {3, 5}) {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      CAPTURE(n, seed);
      Ensemble e(n, options(seed));
      e.run(5 * k_s);
      auto leaders = e.serving_leaders();
      REQUIRE(leaders.size() == 1);
      int leader = leaders[0] + 1;
      CHECK(e.serving_count() == n);
      for (auto* s : e.servers) {
        CHECK(s->leader_sid() == leader);
        CHECK(s->disk().current_epoch == 1);
      }
      // FastLeaderElection picks the highest id among equal (empty) logs.
      CHECK(leader == n);
      CHECK(e.signals("zk.leader_elected") == 1);
      CHECK(e.watch.violations.empty());
    }
  }
}

TEST_CASE("after the leader crashes a new one is elected with a higher epoch", "[election]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Ensemble e(5, options(seed));
    e.run(5 * k_s);
    REQUIRE(e.serving_leaders().size() == 1);
    int old = e.serving_leaders()[0];
    std::int64_t old_epoch = e.servers[old]->disk().current_epoch;
    e.crash(old);
    // Followers notice after syncLimit ticks (10 s) and elect again.
    e.run(30 * k_s);
    auto leaders = e.serving_leaders();
    REQUIRE(leaders.size() == 1);
    CHECK(leaders[0] != old);
    CHECK(e.servers[leaders[0]]->disk().current_epoch > old_epoch);
    CHECK(e.serving_count() == 4);
    // The old leader rejoins as a follower of the new epoch.
    e.restart(old);
    e.run(40 * k_s);
    CHECK(e.serving_count() == 5);
    CHECK(e.servers[old]->state() == ServerState::following);
    CHECK(e.watch.violations.empty());
  }
}

TEST_CASE("a minority partition can neither elect nor commit", "[election][partition]") {
  Ensemble e(5, options(7));
  e.add_client();
  e.run(5 * k_s);
  REQUIRE(e.serving_leaders().size() == 1);
  int old = e.serving_leaders()[0];
  int buddy = (old + 1) % 5;
  std::vector<NodeId> minority{e.server_ids[old], e.server_ids[buddy]};
  std::vector<NodeId> majority;
  for (int i = 0; i < 5; ++i)
    if (i != old && i != buddy) majority.push_back(e.server_ids[i]);
  majority.push_back(e.client_ids[0]);
  e.k->at(10 * k_s, StepKind::fault, [&] { e.k->network().partition({minority, majority}); });
  e.run(12 * k_s);
  std::int64_t minority_committed = e.servers[old]->disk().committed;
  e.run(60 * k_s);
  // The old leader lost its quorum and steps down; the minority never leads again.
  CHECK(e.servers[old]->state() != ServerState::leading);
  CHECK_FALSE(e.servers[old]->serving());
  CHECK_FALSE(e.servers[buddy]->serving());
  CHECK(e.servers[old]->disk().committed == minority_committed);
  CHECK(e.servers[old]->probe("zk.leading_epoch", "") == std::nullopt);
  // The majority elects a leader of a later epoch and keeps committing the client's work.
  auto leaders = e.serving_leaders();
  REQUIRE(leaders.size() == 1);
  CHECK(leaders[0] != old);
  CHECK(leaders[0] != buddy);
  CHECK(e.servers[leaders[0]]->disk().current_epoch == 2);
  CHECK(e.servers[leaders[0]]->disk().committed > minority_committed);
  // Heal: the minority catches up with the majority's log.
  e.k->at(61 * k_s, StepKind::fault, [&] { e.k->network().heal_all(); });
  e.run(120 * k_s);
  CHECK(e.serving_count() == 5);
  CHECK(e.watch.violations.empty());
}

namespace {
// Crashes `down` servers (the leader first) of an n-server ensemble; whether it serves again.
bool serves_after_crashes(int n, int down, std::uint64_t seed) {
  Ensemble e(n, options(seed));
  e.run(5 * k_s);
  REQUIRE(e.serving_leaders().size() == 1);
  int leader = e.serving_leaders()[0];
  e.crash(leader);
  for (int i = 0, crashed = 1; crashed < down; ++i)
    if (i != leader) e.crash(i), ++crashed;
  e.run(60 * k_s);
  CHECK(e.watch.violations.empty());
  return e.serving_leaders().size() == 1;
}
}  // namespace

TEST_CASE("4 servers tolerate one failure and not two, like 3", "[election][quorum]") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    CHECK(serves_after_crashes(3, 1, seed));
    CHECK_FALSE(serves_after_crashes(3, 2, seed));
    CHECK(serves_after_crashes(4, 1, seed));
    CHECK_FALSE(serves_after_crashes(4, 2, seed));
    CHECK(serves_after_crashes(5, 2, seed));
  }
}

TEST_CASE("a run is deterministic: same seed, same digest", "[election][determinism]") {
  auto digest = [](std::uint64_t seed) {
    Ensemble e(5, options(seed));
    e.add_client();
    e.add_client();
    e.k->at(20 * k_s, StepKind::fault, [&] { e.crash(4); });
    e.run(60 * k_s);
    return e.k->digest();
  };
  CHECK(digest(3) == digest(3));
  CHECK(digest(3) != digest(4));
}
