#pragma once
// The scenario's `expect:` assertions and named invariants, evaluated as a run goes: invariants
// after every step, timed states at their instant, windows at every step inside them, events and
// availability from what the run recorded. Engine-neutral: it sees the world through WorldView
// and RunRecord and asks its engine to call it back at given instants.
#include <functional>
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

class Checker final : public StepObserver {
 public:
  using ScheduleFn = std::function<void(TimeNs, std::function<void()>)>;
  Checker(const ScenarioSpec& spec, const Registry& registry, const WorldView& world,
          const RunRecord& record);
  // Registers the timed checks with the engine.
  void arm(const ScheduleFn& schedule);
  void on_step(const StepInfo& step) override;
  // Evaluates what can only be judged at the end (events, availability). Call once.
  void finish();
  const std::vector<ExpectResult>& results() const { return results_; }
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
  void check_at(std::size_t i);
  void fail(std::size_t i, std::string detail, std::uint64_t step);
  double availability(const std::string& target, TimeNs from_ns, TimeNs to_ns, int* n) const;

  const ScenarioSpec& spec_;
  const Registry& registry_;
  const WorldView& world_;
  const RunRecord& record_;
  std::vector<Slot> slots_;
  std::vector<ExpectResult> results_;
  std::uint64_t last_step_ = 0;
};

// The name of a host state code ("active", ...), or "unknown".
std::string_view host_state_name(std::int64_t code);

}  // namespace stampede
