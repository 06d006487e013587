#pragma once
// The explorer: runs a scenario on the exploration engine under a Scheduler, watches the
// scenario's invariants after every step (stopping at the first violation), and drives the
// strategies (random walks with an optional swarm of fault kinds, PCT, bounded DFS with state
// hashing, sleep sets and source-set dynamic partial-order reduction). Wall-clock budgets stay
// outside sim/: callers pass a `should_stop` callback. The library's dfs defaults to sleep sets
// alone (Settings::dpor = false); the CLI turns DPOR on unless --reduction says otherwise.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"
#include "sim/explore/engine.hpp"
#include "sim/run/run.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::explore {

struct Violation {
  std::string property;  // the expectation as written ("{never: lease_lock.stale_write}")
  std::string detail;    // what was observed
  std::uint64_t step = 0;
  TimeNs time_ns = 0;
};

struct RunResult {
  bool passed = true;
  std::optional<Violation> violation;
  std::vector<std::uint32_t> picks;
  std::vector<std::uint64_t> pick_peers;  // per step: ExploreEngine::pick_peers
  std::vector<bool> injected;     // per step: an injected fault
  std::vector<bool> out_of_order; // per step: not the timed choice (pick > 0 among events)
  std::vector<TraceStep> steps;   // only when recording
  std::vector<PickIdentity> identities;   // per step, only when recording or following them
  std::vector<std::string> descriptions;  // per step, only when recording
  std::uint64_t final_state = 0;  // state_hash() at the end
  std::uint64_t digest = 0;
  bool ended_naturally = false;   // nothing left to happen within the duration
  int faults_used = 0;
  // The length of an injected pause in this run (Settings::pause_ns of the search that ran it:
  // dfs's placements try several, Settings::placement_pauses). A replay needs it.
  DurationNs pause_ns = 60 * k_s;
  // The explorer's faults still in force at the end (ExploreEngine::faults_outstanding).
  int faults_outstanding = 0;
  // The fault kinds this run could inject: Settings::inject_kinds, or a swarm run's subset. A
  // replay needs them (they decide the options), so traces record these.
  std::uint32_t inject_kinds = k_all_inject_kinds;
  RunOutcome outcome;
  // replay_by_identity: where the recorded schedule stopped matching (empty when every recorded
  // pick was found), at which step (1-based) and time, and how many picks were found only up to
  // their sequence number (PickIdentity::same_but_seq).
  std::string unmatched;
  std::uint64_t unmatched_step = 0;
  TimeNs unmatched_ns = 0;
  std::uint64_t loose_matches = 0;
};

struct Settings {
  std::uint64_t seed = 1;
  int max_faults = 0;
  std::uint32_t inject_kinds = k_all_inject_kinds;
  std::uint64_t depth = 0;     // step bound per run; 0 = none beyond the scenario's duration
  int delay_bound = -1;        // dfs: out-of-order picks allowed per run; -1 = unbounded
  bool reduction = true;       // dfs: sleep sets
  // dfs: source-set dynamic partial-order reduction on top of the sleep sets (needs
  // `reduction`; not with a delay bound, which reordering does not preserve). See
  // DfsScheduler in explorer.cpp for how it stays sound with state hashing.
  bool dpor = false;
  // dfs: the clock and the pending events' due times are part of a state. The canonical state
  // leaves them out, which merges states that differ only in when things happened; a property
  // that reads the clock (a session that expired some seconds ago, a leader by a deadline) needs
  // them kept apart, or runs are cut at a "repeated" heartbeat before the property can fail.
  bool state_clock = false;
  // dfs: restore a saved state to backtrack instead of re-running the scenario from the start.
  // Used when the scenario's expectations are all invariants and it has no random faults (the
  // rest of the run's state, the checker's and the nemesis's, is not saved); a node that cannot
  // clone itself makes the engine fall back to a re-run whenever it has changed. Verdicts, state
  // counts and reductions are the same either way.
  bool snapshots = true;
  // dfs with snapshots: frames from this depth on keep a snapshot only every `snapshot_every`
  // frames, and a backtrack to a frame between two restores the one above it and re-executes
  // the frames in between (the same steps, so the same search). A snapshot at every frame made
  // memory grow with the depth times the state: dfs on known bug (d), whose first run is some
  // 100,000 steps of votes, took 23 GB in 10 s and was killed (bench/RESULTS.md, session 28).
  // The defaults leave every search up to depth 4,096 as it was.
  std::size_t snapshot_all_depth = 4096;
  std::size_t snapshot_every = 64;
  bool stop_at_first = true;   // stop the search at the first violation
  std::uint64_t max_runs = 0;  // 0 = unbounded
  int pct_depth = 3;           // pct: the bug depth d (d-1 priority change points)
  // pct: where the change points fall. `deliveries` (the default): among the deliveries of a
  // message from one node to another, the only steps that order two nodes' actions in a
  // message-passing system (timers, boots and connection events of a node are its own); `steps`:
  // among every event step, as in the shared-memory original.
  bool pct_at_deliveries = true;
  bool swarm = false;          // random: randomise the enabled fault kinds per run
  // Bounded delay: an event may be taken out of time order only while it is due within this of
  // the earliest pending event (ExploreOptions::max_delay_ns); negative = unbounded.
  DurationNs max_delay_ns = -1;
  DurationNs pause_ns = 60 * k_s;  // the length of an injected pause (--faults pause)
  // Faults over simulated time (random and pct): instead of a fault with probability 0.02 at
  // every step (which puts nearly every fault in a run's first seconds, the steps being densest
  // there), faults come at instants drawn over the run's simulated time: a Poisson process of
  // `fault_rate_per_min` faults per simulated minute, or `fault_instants` instants drawn
  // uniformly. At an instant the walk injects one of the fault options (a repair among them);
  // an instant with none is skipped. 0 and 0: the per-step probability.
  double fault_rate_per_min = 0;
  int fault_instants = 0;
  // The nodes an injected fault may target, as patterns (ExploreOptions::fault_targets).
  std::vector<std::string> fault_targets;
  // Liveness mode (TigerBeetle's VOPR has one): when settle_ns > 0 a run has a fault phase that
  // ends at fault_phase_ns (0: the scenario's duration less settle_ns) or at the step bound
  // (`depth`), whichever comes first; there every fault the explorer injected is undone and none
  // is offered any more; a run ended by the step bound goes on in time order to the scenario's
  // end. The scenario's expectations other than invariants are then judged only where they
  // speak of the time after the settle window (at or by an instant, or during a window starting,
  // no earlier than the phase's end plus settle_ns; events with no deadline anywhere), so a
  // verdict never rests on a fault still in force or on a system given no time to recover.
  DurationNs settle_ns = 0;
  DurationNs fault_phase_ns = 0;
  // The lowest log level of a run's timeline (RunOutcome::timeline); `replay --log` widens it.
  // Debug lines are kept only when it is debug. It changes what a run reports, never its steps.
  LogLevel timeline_level = LogLevel::notable;
  // dfs in liveness mode with faults (Explorer::dfs_placements): the runs of dfs below each
  // fault placement before the next placement is tried.
  std::uint64_t placement_runs = 1;
  // dfs with injected faults outside liveness mode: try the fault placements first, as liveness
  // mode always does (Explorer::dfs_placements; `explore --placements`). Plain dfs backtracks at
  // the deepest steps first, so within any budget its faults all sit at the deep end of the step
  // bound, and a fault that must come early in the run (known bug (b)'s pause) is never tried.
  bool placements = false;
  // dfs placements: the lengths of an injected pause tried at every placement of a pause (each
  // a variant of the placement, like another fault option; empty: pause_ns alone). How long a
  // pause lasts decides what it breaks (a session expires, a lease runs out), and the rest of
  // the search has one pause_ns.
  std::vector<DurationNs> placement_pauses;
};

// Liveness mode: the instant the fault phase ends (Settings::fault_phase_ns, or the duration
// less the settle window), and whether an expectation is judged (explorer.cpp).
TimeNs fault_phase_end(const Settings& s, const ScenarioSpec& spec);
bool judged_in_liveness(const ExpectSpec& e, TimeNs settled_ns);

enum class Strategy { random, pct, dfs };
std::optional<Strategy> strategy_from_name(std::string_view name);
std::string_view strategy_name(Strategy s);
// "crash,drop" -> bit mask; nullopt on an unknown name.
std::optional<std::uint32_t> inject_kinds_from_names(const std::vector<std::string>& names);
std::vector<std::string> inject_kind_names(std::uint32_t mask);

struct Report {
  std::uint64_t runs = 0;
  std::uint64_t transitions = 0;      // steps executed (dfs: new edges explored)
  std::uint64_t distinct_states = 0;
  std::uint64_t max_depth = 0;
  std::uint64_t reductions = 0;       // dfs: options slept on plus revisits covered by a sleep set
  std::uint64_t pruned_visited = 0;   // dfs: runs cut at an already explored state
  std::uint64_t restores = 0;         // dfs: backtracks done by restoring a saved state
  // dfs with snapshots: backtracks that could not restore a saved state and re-ran the scenario
  // from the start instead (a node that can neither clone nor save itself had changed).
  std::uint64_t restore_failures = 0;
  std::uint64_t snapshots_saved = 0;  // dfs with snapshots: engine states saved at frames
  // dfs with snapshots: steps re-executed after a restore, from the frame whose snapshot was
  // restored down to the one dfs backtracked to (Settings::snapshot_every).
  std::uint64_t replayed_steps = 0;
  std::uint64_t races = 0;            // dfs with dpor: races found and reversed
  std::uint64_t dpor_skipped = 0;     // dfs with dpor: options no race asked for, not explored
  bool exhausted = false;             // dfs: the bounded space was searched completely
  bool depth_cut = false;             // dfs: some runs were cut by the depth bound
  std::optional<RunResult> first_violation;
  std::uint64_t first_violation_run = 0;  // 1-based
  // Every leaf verdict ("pass", or the violated property) and every terminal state hash, for
  // the reduction test.
  std::vector<std::string> verdicts;
  std::vector<std::uint64_t> terminal_states;
};

class Explorer {
 public:
  Explorer(const ScenarioSpec& spec, const Registry& registry, Settings settings);
  // One run under `scheduler`. With `record`, keeps every step and its description.
  RunResult run(Scheduler& scheduler, bool record = false,
                std::vector<StepObserver*> observers = {}) const;
  // Re-runs a list of picks (missing picks and out-of-range ones take option 0).
  RunResult replay(const std::vector<std::uint32_t>& picks, bool record = false,
                   std::vector<StepObserver*> observers = {}) const;
  // Follows a trace's picks by identity (docs/exploration.md, "Picks by identity"): at step k
  // the option with identity ids[k] (the one at picks[k] when it has it; else any with it; else
  // the first, in time order, equal but for its sequence number). When none is enabled the run
  // stops there and RunResult::unmatched says what was recorded and what was enabled. Past the
  // recorded picks, time's choice (option 0), as replay() does.
  RunResult replay_by_identity(const std::vector<PickIdentity>& ids,
                               const std::vector<std::uint32_t>& picks, bool record = false,
                               std::vector<StepObserver*> observers = {}) const;
  // Searches with a strategy until a violation (with stop_at_first), the run limit,
  // exhaustion (dfs) or should_stop() (checked between runs and every 4096 dfs runs' steps).
  Report search(Strategy strategy, const std::function<bool()>& should_stop) const;
  // Bounded DFS whose every run starts with `prefix` (explore --from TRACE --at STEP).
  Report dfs_from(const std::vector<std::uint32_t>& prefix,
                  const std::function<bool()>& should_stop) const;
  // dfs with injected faults in liveness mode or with Settings::placements (search() takes it):
  // fault placements first, then the plain dfs with what is left of the budget. For every step
  // of the fault phase (within `depth`; outside liveness mode, of the run within `depth`) where
  // faults are offered, taken in the order 0, P/2, P/4, 3P/4, ... so that a budget
  // spreads them over the whole bound, and every fault option there (one option per position
  // in each sweep, rotating; a pause once per length of Settings::placement_pauses), one run: the
  // timed schedule up to the step, the fault, then dfs's first run below it
  // (Settings::placement_runs runs of dfs below it; one run is replayed, not searched, since a
  // dfs of one run never backtracks). Each placement is a dfs of its own below its
  // prefix (its own visited states and DPOR stack), so each is as sound as dfs_from; only the
  // final plain dfs can report the space exhausted. Plain dfs reaches a
  // fault at an early step only after exhausting everything below it, so within any budget its
  // faults all sat at the deep end of the bound (issue 17).
  Report dfs_placements(const std::function<bool()>& should_stop) const;
  const Settings& settings() const { return settings_; }
  const ScenarioSpec& spec() const { return spec_; }

 private:
  Report random_search(bool pct, const std::function<bool()>& should_stop) const;
  // `leaf`, when set, is called where a run would end, with the invariant watch's violation
  // (which it may clear); returning true means it restored a saved state and the run goes on.
  using LeafFn = std::function<bool(ExploreEngine&, std::optional<Violation>&)>;
  RunResult run_with(Scheduler& scheduler, const Settings& s, bool record,
                     std::vector<StepObserver*> observers, const LeafFn* leaf = nullptr,
                     Chooser* chooser = nullptr, bool identities = false) const;
  // Whether dfs may backtrack by restoring saved states (Settings::snapshots).
  bool snapshots_apply() const;
  // The verdict of a run that reached its end at end_ns on the expectations other than the
  // invariants (run_with, and dfs's leaves inside one engine).
  std::optional<Violation> judge_end(const std::vector<ExpectResult>& results, const Settings& s,
                                     TimeNs end_ns) const;

  const ScenarioSpec& spec_;
  const Registry& registry_;
  Settings settings_;
};

}  // namespace stampede::explore
