#pragma once
// The scenario's `expect:` assertions and named invariants, evaluated as a run goes: invariants
// after every step, timed states at their instant, windows at every step inside them, events and
// availability from what the run recorded. Engine-neutral: it sees the world through WorldView
// and RunRecord and asks its engine to call it back at given instants.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"

namespace stampede {

struct ExpectResult {
  const ExpectSpec* spec = nullptr;
  bool passed = false;
  std::string detail;                   // what was observed
  std::optional<TimeNs> holds_since_ns;  // `by:` on a state: since when it held up to T
  std::optional<TimeNs> violated_at_ns;  // when it first failed, where that is an instant
  std::uint64_t violated_step = 0;
};

// Registry::inert_message, remembered per message type: it is asked after every delivery (by
// the checker and by the convergence tracker), and the registry keeps the types in a std::set.
class InertTypes {
 public:
  explicit InertTypes(const Registry& registry) : registry_(registry) {}
  bool inert(std::uint32_t type) {
    // Models number their message types from small bases ("ZK" is 0x5A00): a flat table covers
    // them; any larger type is asked of the registry each time.
    if (type >= k_table_size) return registry_.inert_message(type);
    if (type >= known_.size()) known_.resize(type + 1, k_unknown);
    if (known_[type] == k_unknown) known_[type] = registry_.inert_message(type) ? 1 : 0;
    return known_[type] == 1;
  }

 private:
  static constexpr std::uint32_t k_table_size = 1u << 16;
  static constexpr std::int8_t k_unknown = -1;
  const Registry& registry_;
  std::vector<std::int8_t> known_;
};

class Checker final : public StepObserver {
 public:
  using ScheduleFn = std::function<void(TimeNs, std::function<void()>)>;
  Checker(const ScenarioSpec& spec, const Registry& registry, const WorldView& world,
          const RunRecord& record);
  // Registers the timed checks with the engine.
  void arm(const ScheduleFn& schedule);
  void on_step(const StepInfo& step) override;
  bool may_stop() const override { return false; }
  // The nodes a step at which may change what an expectation reads (slots_for), and the
  // messages that are not inert (the `running` counts follow the engine's ChangeLog instead).
  bool watches(const WorldView& world, NodeId node) override;
  bool watches_message(std::uint32_t type) override;
  // Evaluates what can only be judged at the end (events, availability). Call once.
  void finish();
  const std::vector<ExpectResult>& results() const { return results_; }
  // dfs's snapshots (StepObserver::save_state): what the run has decided so far (each
  // expectation's verdict, its `by:` streak) and the last step; the caches of `running` counts
  // are read again after a restore.
  std::shared_ptr<const void> save_state() const override;
  void restore_state(const void* state) override;
  bool all_passed() const;
  // The first failure's instant, for timelines (nullopt when all passed or none has an instant).
  std::optional<TimeNs> first_failure_ns() const;

 private:
  struct Slot {
    const ExpectSpec* spec = nullptr;
    const InvariantDef* invariant = nullptr;
    std::optional<AffectCache> affects;  // which nodes' steps can change what this judges
    bool decided = false;
    bool window_failed = false;
    std::optional<TimeNs> streak_start_ns;  // `by` states: when the current run of `true` began
  };
  bool state_holds(const ExpectSpec& e, std::string* observed) const;
  // The slots a step at `node` may affect, in slot order (computed on first use: names never
  // change during a run, and this is asked after every step).
  const std::vector<std::uint32_t>& slots_for(NodeId node);
  // The nodes whose names match `pattern` (agents for `running`, servers for `host_state`).
  const std::vector<NodeId>& nodes_matching(std::string_view pattern) const;
  // The sum of probe("running", service) over the live agents, from counts kept per agent.
  std::int64_t running_total(const std::string& service) const;
  // A step at `node` may have changed what its probes answer: its `running` counts are read
  // again.
  void mark_stale(NodeId node) const;
  void check_at(std::size_t i);
  void fail(std::size_t i, std::string detail, std::uint64_t step);
  double availability(const std::string& target, TimeNs from_ns, TimeNs to_ns, int* n) const;
  // finish(): the verdict, at the end of the run, of an expectation no step decided.
  void judge_at_end(const ExpectSpec& e, ExpectResult& r, TimeNs end) const;
  void judge_availability(const ExpectSpec& e, ExpectResult& r, TimeNs end) const;
  void judge_log(const ExpectSpec& e, ExpectResult& r, TimeNs end) const;
  void judge_event(const ExpectSpec& e, ExpectResult& r, TimeNs end) const;
  void judge_eventually(const ExpectSpec& e, ExpectResult& r, TimeNs end) const;

  const ScenarioSpec& spec_;
  const Registry& registry_;
  const WorldView& world_;
  const RunRecord& record_;
  InertTypes inert_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> all_slots_;  // the slots a step can touch: invariants and states
  std::vector<std::vector<std::uint32_t>> slots_by_node_;
  std::vector<bool> slots_known_;  // by node id: slots_by_node_ computed
  // Name matches, by pattern, for the node count they were computed at.
  mutable std::vector<std::pair<std::string, std::vector<NodeId>>> matching_;
  mutable std::size_t matching_nodes_ = 0;
  std::vector<ExpectResult> results_;
  std::uint64_t last_step_ = 0;
  // The engine skips steps at some nodes (watches): last_step_ may then be older than the step
  // before a check step, so a timed check that fails there is given that step's number when the
  // check step itself comes (on_step), as the index before it.
  bool misses_steps_ = false;
  std::vector<std::uint32_t> failed_at_check_;
  // `running` counts per service and agent, read again only for the agents that stepped since
  // (WorldView::changes): a node's probes change only at its own steps, and at fault and check
  // steps (which may crash or restart any node), after which every count is read again. The
  // same sum as asking every agent after every step, for the cost of the agents that moved.
  struct RunningCounts {
    std::string service;
    std::vector<std::int64_t> by_agent;  // in the order of nodes_matching("agent-*")
    std::int64_t total = 0;
    bool all_stale = true;
    std::vector<std::uint8_t> stale;        // by agent index
    std::vector<std::uint32_t> stale_list;  // the agent indexes marked in `stale`
  };
  void refresh_agents() const;  // after the node count changed
  mutable std::vector<RunningCounts> running_;
  mutable std::size_t running_nodes_ = 0;          // the node count agent_index_ was built for
  mutable std::vector<std::int32_t> agent_index_;  // by node id: index among the agents, or -1
  mutable ChangeLog::Cursor changes_read_;
};

// The name of a host state code ("active", ...), or "unknown".
std::string_view host_state_name(std::int64_t code);

}  // namespace stampede
