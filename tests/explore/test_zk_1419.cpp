// Known bug (d), ZOOKEEPER-1419, found by the explorer: with the pre-fix vote order the election
// after a full restart of a 5-server ensemble with skewed epochs does not settle within the
// bound; with the correct order no run misses it within the same budget. The search uses a
// bounded delay (5 ms, the spread of the scenario's latencies): with unbounded delays a random
// walk fires far timers first and any deadline is missed whatever the vote order.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "tests/explore/explore_registry.hpp"
#include "models/lease_lock/register.hpp"
#include "models/register.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/explore/shrink.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;
using namespace stampede::explore;

namespace {

const Registry& registry() { return test::explore_registry(); }

ScenarioSpec zk_spec(bool correct) {
  std::string path = std::string(SCENARIOS_DIR) + "/known-bugs/zk-1419.yaml";
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_scenario_with_overrides(
      ss.str(), path,
      {std::string("cluster.mechanisms.zk_correct_vote_order=") + (correct ? "true" : "false")},
      registry());
}

Settings bounded(std::uint64_t runs) {
  Settings s;
  s.max_delay_ns = 5 * k_ms;
  s.max_runs = runs;
  return s;
}

const std::function<bool()> k_never_stop = [] { return false; };
const std::string k_property = "{log: {node: zookeeper-*, contains: leads epoch 3}, by: 16s}";
// The budget both orders get, in runs per strategy.
constexpr std::uint64_t k_budget_runs = 200;

}  // namespace

TEST_CASE("ZOOKEEPER-1419: random and pct find the unsettled election with the buggy order") {
  ScenarioSpec spec = zk_spec(false);
  for (Strategy st : {Strategy::random, Strategy::pct}) {
    INFO(strategy_name(st));
    Explorer ex(spec, registry(), bounded(k_budget_runs));
    Report rep = ex.search(st, k_never_stop);
    REQUIRE(rep.first_violation.has_value());
    CHECK(rep.first_violation->violation->property == k_property);
    // Measured: pct's first run, random's third (the election cycles in most schedules).
    // Random's was the first too until followers gave up after five refused connects
    // (zk_learner_connect_tries, models/zookeeper/zk_follower.cpp), and its third before the
    // explorer kept connections FIFO.
    CHECK(rep.first_violation_run == (st == Strategy::random ? 3u : 1u));
  }
}

TEST_CASE("ZOOKEEPER-1419: with the correct order no run misses the deadline in the same budget") {
  ScenarioSpec spec = zk_spec(true);
  for (Strategy st : {Strategy::random, Strategy::pct}) {
    INFO(strategy_name(st));
    Explorer ex(spec, registry(), bounded(k_budget_runs));
    Report rep = ex.search(st, k_never_stop);
    CHECK_FALSE(rep.first_violation.has_value());
    CHECK(rep.runs == k_budget_runs);
  }
}

TEST_CASE(
    "ZOOKEEPER-1419: the shrunk counterexample is no longer and still fails for the right "
    "reason") {
  ScenarioSpec spec = zk_spec(false);
  Explorer ex(spec, registry(), bounded(k_budget_runs));
  Report rep = ex.search(Strategy::random, k_never_stop);
  REQUIRE(rep.first_violation.has_value());
  ShrinkResult sh = shrink(ex, *rep.first_violation, 200, k_never_stop);
  REQUIRE(sh.best.violation.has_value());
  CHECK(sh.best.violation->property == k_property);
  CHECK_FALSE(sh.before < sh.after);
  // Measured: 101,505 steps before (random's third run), shrunk to 1,635 in the 200 tries. The
  // first pass re-runs the scenario under canonical schedules (time's order until shortly after a
  // scripted fault, the latest event first from then on; Shrinker::canonical_schedules in
  // sim/explore/shrink.cpp): 5,033 steps after 30 tries, and the step-by-step passes cut that to
  // 1,635, under the 3,605 of the hand-minimal run (test_hand_minimal.cpp), so within its 1.5x.
  // Before that pass the 30 tries only cut the walk's own storm, to 98,836 (35,931 from 103,561
  // before zk_learner_connect_tries; 18,241 from 34,725 before the ZooKeeper exit teardown went
  // from 3 to 7 ms; 83,189 from 83,371 before the processing times; 18,535 from 34,187 before the
  // explorer kept connections FIFO).
  CHECK(sh.before.steps == 101505);
  CHECK(sh.after.steps == 1635);
  CHECK(sh.after.steps * 2 <= 3605 * 3);  // within 1.5x of the hand-minimal run
  // The right reason: after the restart at 11 s the buggy order elects a server that is behind
  // (zookeeper-5, epoch 1), which steps down when a follower is ahead of it ("follower 3 is ahead
  // of the leader", a debug line): epoch 3 is burnt by that failed leader, so either no server
  // leads before the deadline or the first to lead leads a later epoch. The correct order leads
  // epoch 3 at once.
  std::string leaders;  // the LEADING lines after the restart, shown when a check fails
  for (const TimelineEntry& e : sh.best.outcome.timeline)
    if (e.time_ns >= 11 * k_s && e.text.find("LEADING") != std::string::npos)
      leaders += fmt::format("{} {}\n", e.time_ns, e.text);
  INFO(leaders);
  CHECK(leaders.find("leads epoch 3") == std::string::npos);
  CHECK((leaders.empty() || leaders.find("leads epoch 4") != std::string::npos));
}
