// The agents' census (models/agent/census.hpp), the per-run cache behind service.scale_exceeded
// and the convergence predicate, never goes stale: after every step of kernel runs with agent
// crashes, restarts, a partition and killed containers, read at every step and read only now
// and then, and through the explorer's snapshots restored out of order, it equals a full recount
// of the world. The change log it reads is checked on its own too.
#include <catch2/catch.hpp>

#include "models/agent/census.hpp"
#include "models/register.hpp"
#include "sim/explore/engine.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/common/census_watch.hpp"
#include "tests/explore/explore_registry.hpp"

using namespace stampede;
using namespace stampede::explore;
using agent::Census;
using test::CensusWatch;
using test::ChangeLogWatch;
using test::describe;

namespace {

ScenarioSpec census_spec() {
  return parse_scenario(test::k_census_scenario, "census", test::explore_registry());
}

// Random picks (a fixed LCG) among the explorer's options, injected faults included; saves a
// snapshot now and then, ends each leg after `leg` steps, and the leaf callback puts a random
// earlier snapshot back, for `restores` times. The census is compared before every step.
class SnapshotScheduler final : public Scheduler {
 public:
  SnapshotScheduler(std::uint64_t seed, CensusWatch& watch) : x_(seed * 2654435761u + 1), watch_(watch) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    watch_.compare(engine, Census::of(engine).counts());
    if (next() % 50 == 0) snaps.push_back(engine.save());
    if (++taken_ % leg == 0) return k_stop;
    return static_cast<std::size_t>(next() % options.size());
  }
  bool leaf(ExploreEngine& engine) {
    if (restores_left == 0 || snaps.empty()) return false;
    --restores_left;
    const std::string before = describe(Census::of(engine).counts());
    REQUIRE(engine.restore(*snaps[next() % snaps.size()]));
    watch_.compare(engine, Census::of(engine).counts());
    changed_by_restore += describe(Census::recount(engine)) != before;
    return true;
  }
  std::uint64_t next() {
    x_ = x_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return x_ >> 33;
  }
  std::vector<std::shared_ptr<ExploreEngine::Snapshot>> snaps;
  std::uint64_t leg = 400;
  int restores_left = 30;
  int changed_by_restore = 0;

 private:
  std::uint64_t x_;
  std::uint64_t taken_ = 0;
  CensusWatch& watch_;
};

}  // namespace

TEST_CASE("the change log names every node recorded since a reader's look, or asks for a full read") {
  ChangeLog log;
  ChangeLog::Cursor c;
  std::vector<NodeId> got;
  auto collect = [&](NodeId id) { got.push_back(id); };
  CHECK_FALSE(log.read(c, collect));  // not enabled: always a full read
  log.enable();
  CHECK_FALSE(log.read(c, collect));  // a first look reads everything
  log.node(3);
  log.node(3);  // a repeat of the last entry is not logged again
  log.node(5);
  CHECK(log.read(c, collect));
  CHECK(got == std::vector<NodeId>{3, 5});
  got.clear();
  CHECK(log.read(c, collect));
  CHECK(got.empty());
  log.node(5);  // the same node again, after a reader read its last entry: logged again
  CHECK(log.read(c, collect));
  CHECK(got == std::vector<NodeId>{5});
  got.clear();
  log.step(7, false);
  log.step(2, true);  // a fault step: anything may have changed
  CHECK_FALSE(log.read(c, collect));
  CHECK(got.empty());
  // A reader that falls far behind is told to read everything rather than walk a long log.
  for (NodeId i = 0; i < 70000; ++i) log.node(i % 2);
  CHECK_FALSE(log.read(c, collect));
  log.node(9);
  CHECK(log.read(c, collect));
  CHECK(got == std::vector<NodeId>{9});
}

TEST_CASE("the change log's node stamps name each watched node recorded since a look, once") {
  ChangeLog log;
  ChangeLog::Cursor c;
  ChangeLog::Cursor walker;  // a reader that walks the log between the stamp reader's looks
  const std::vector<NodeId> watched = {2, 5, 9};
  std::vector<NodeId> got;
  auto collect = [&](NodeId id) { got.push_back(id); };
  CHECK_FALSE(log.read_nodes(c, watched, collect));  // not enabled: always a full read
  log.enable();
  CHECK_FALSE(log.read_nodes(c, watched, collect));  // a first look reads everything
  CHECK_FALSE(log.read(walker, [](NodeId) {}));
  log.node(9);
  log.node(3);  // not watched
  log.node(2);
  log.node(9);
  CHECK(log.read(walker, [](NodeId) {}));  // another reader's walk changes nothing here
  CHECK(log.read_nodes(c, watched, collect));
  CHECK(got == std::vector<NodeId>{2, 9});  // once each, in the list's order
  got.clear();
  CHECK(log.read_nodes(c, watched, collect));
  CHECK(got.empty());
  log.node(9);
  log.node(9);  // a repeat the log itself skips: the stamp still moves
  CHECK(log.read_nodes(c, watched, collect));
  CHECK(got == std::vector<NodeId>{9});
  got.clear();
  log.node(5);
  CHECK(log.read(c, collect));  // the two reads share the cursor
  CHECK(got == std::vector<NodeId>{5});
  got.clear();
  CHECK(log.read_nodes(c, watched, collect));
  CHECK(got.empty());
  log.step(5, true);  // a fault step: anything may have changed
  CHECK_FALSE(log.read_nodes(c, watched, collect));
  CHECK(got.empty());
  log.node(40);  // a node beyond every stamp so far
  CHECK(log.read_nodes(c, watched, collect));
  CHECK(got.empty());
}

TEST_CASE("the agent census equals a full recount after kernel steps with crashes and kills") {
  ScenarioSpec spec = census_spec();
  // Read after every step, and read only every 97th step (the log then holds many entries, as
  // when the checks skip inert deliveries and steps at other nodes).
  for (std::uint64_t every : {1, 97}) {
    CensusWatch watch(every);
    RunConfig cfg;
    cfg.observers.push_back(&watch);
    RunOutcome out = run_scenario(spec, test::explore_registry(), cfg);
    INFO("every " << every << ": " << watch.first_stale);
    CHECK(watch.stale == 0);
    CHECK(watch.checked > (every == 1 ? 500 : 5));
    // Agents went down and came back, and containers with them: the counts moved.
    CHECK(watch.seen.size() >= 4);
    CHECK(out.steps > 500);
  }
}

TEST_CASE("the kernel's change log names each step's node and asks for a full read after faults") {
  ChangeLogWatch watch;
  RunConfig cfg;
  cfg.observers.push_back(&watch);
  run_scenario(census_spec(), test::explore_registry(), cfg);
  INFO(watch.first_broken);
  CHECK(watch.broken == 0);
  CHECK(watch.node_steps > 500);
  CHECK(watch.engine_steps >= 7);  // the scenario's seven faults at least
}

TEST_CASE("the agent census equals a full recount under the explorer's snapshots and faults") {
  ScenarioSpec spec = census_spec();
  CensusWatch watch(1);
  SnapshotScheduler sch(7, watch);
  RunConfig cfg;
  cfg.make_engine = [&](const ScenarioSpec& sp, const Registry& reg, const RunConfig& c,
                        Chooser& chooser) -> std::unique_ptr<Engine> {
    ExploreOptions o;
    static_cast<EngineOptions&>(o) = engine_options(sp, reg, c);
    o.max_faults = 6;
    o.inject_kinds = k_all_inject_kinds | inject_bit(InjectKind::kill_container);
    o.fault_targets = {"agent-*"};
    o.kill_containers = {"s/web/1", "s/web/2", "s/db/1"};
    o.on_leaf = [&sch](ExploreEngine& e) { return sch.leaf(e); };
    return std::make_unique<ExploreEngine>(std::move(o), chooser, sch);
  };
  run_scenario(spec, test::explore_registry(), cfg);
  INFO(watch.first_stale);
  CHECK(watch.stale == 0);
  CHECK(sch.restores_left == 0);    // every restore happened
  CHECK(sch.changed_by_restore > 0);  // and some put other counts back
  CHECK(watch.seen.size() >= 3);
  CHECK(watch.checked > 1000);
}
