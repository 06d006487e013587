// The answers the lock checks keep between steps never go stale: lock.no_stale_holder_action's
// (models/register.cpp, StaleHolders) and the ZooKeeper lock check's among the nodes that embed a
// client (models/zookeeper/invariants.cpp, HeldLocks), both of which read the change log's
// stamps of a few nodes (ChangeLog::read_nodes). After every step of a run where a server acts
// after its session expired (known bug b) and of one where a server crashes and restarts, each
// equals its answer found afresh.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "models/register.hpp"
#include "models/zookeeper/invariants.hpp"
#include "sim/core/records.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/common/registry.hpp"

using namespace stampede;

namespace {

// Asks the registry's check (the kept answer) and the fresh one after each step: after every
// step, or only after steps at a server or ZooKeeper node as the checker does (the change log
// then holds the other nodes' steps too).
class StaleHolderWatch final : public StepObserver {
 public:
  explicit StaleHolderWatch(bool every_step) : every_step_(every_step) {}
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override {
    if (!every_step_ && step.node != k_no_node) {
      const std::string_view name = world_->node_name(step.node);
      if (!name.starts_with("server-") && !name.starts_with("zookeeper-")) return;
    }
    static const InvariantDef* check =
        test::models_registry().find_invariant("lock.no_stale_holder_action");
    const std::optional<std::string> kept = check->check(*world_);
    const std::optional<std::string> fresh = stale_holder_action_full(*world_);
    ++checked;
    violated += fresh.has_value();
    compare(step, kept, fresh);
    // The lock check among the embedded clients (the registry's calls it with its own way to a
    // client; the dynamic_cast finds the same ones).
    compare(step, zk::check_lock_mutual_exclusion_among_clients(*world_, nullptr),
            zk::check_lock_mutual_exclusion_full(*world_));
  }
  void compare(const StepInfo& step, const std::optional<std::string>& kept,
               const std::optional<std::string>& fresh) {
    if (kept != fresh && stale++ == 0)
      first_stale = "step " + std::to_string(step.index) + ": kept '" + kept.value_or("none") +
                    "', afresh '" + fresh.value_or("none") + "'";
  }
  int checked = 0;
  int violated = 0;  // steps after which the fresh answer named a violation
  int stale = 0;
  std::string first_stale;

 private:
  bool every_step_;
  const WorldView* world_ = nullptr;
};

ScenarioSpec load(const std::string& name) {
  return load_scenario(std::string(SCENARIOS_DIR) + "/" + name + ".yaml", test::models_registry());
}

}  // namespace

TEST_CASE("the lock checks' kept answers equal the ones found afresh after each step") {
  for (const char* name : {"known-bugs/ha-stale-lock-holder", "ha-server-crash"}) {
    for (bool every_step : {true, false}) {
      StaleHolderWatch watch(every_step);
      RunConfig cfg;
      cfg.observers.push_back(&watch);
      run_scenario(load(name), test::models_registry(), cfg);
      INFO(name << (every_step ? " every step: " : " server and zookeeper steps: ")
                << watch.first_stale);
      CHECK(watch.stale == 0);
      CHECK(watch.checked > 1000);
      // Known bug (b) acts after its session's expiry: the check must see it, and go on seeing it.
      if (std::string(name).starts_with("known-bugs")) CHECK(watch.violated > 50);
    }
  }
}
