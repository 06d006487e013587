#pragma once
// Shrinking a failing run: delta debugging (Zeller and Hildebrandt, TSE 2002) over the recorded
// picks, and over the cluster's node counts when the scenario is given. A candidate is re-run and
// kept only when the same property still fails and the run is smaller: fewer injected faults
// first, then fewer nodes, then fewer steps, then fewer and smaller out-of-order picks. (Nodes
// before steps: a node less removes all of its steps and every interleaving with them, and the
// reader has one thing less to keep in mind; faults stay first because each one is a separate
// cause the reader must understand.)
//
// Candidates follow the best run by identity or by index, in alternating rounds. By identity
// (as DEMi does, Scott et al., NSDI 2016): every step of the best remembers the event or fault it
// took, and a candidate takes that same event (or, on a smaller cluster, one of the same kind
// between the same nodes) when it is among the options, and time's choice (option 0) when it is
// not, so zeroing one early pick leaves the later ones meaning what they meant. By index (the
// replay's meaning): the later picks point at whatever is there, which keeps a run as disordered
// as the search made it (some bugs need that). The written trace records the indices actually
// taken, so `replay` needs none of this.
//
// Passes: first, on runs of more than 4,000 steps only, the scenario re-run under canonical
// schedules (time's order until shortly after one of its scripted faults, the latest event first
// from then on), whose failing runs are often far shorter than a random walk's and out of reach
// of the passes that follow the walk; then smaller clusters (each node count lowered one member at
// a time, each member tried as the one dropped: its steps go and the later members are renamed
// down; with the picks as they are, with every step left to time and each injected fault right
// after the event it followed or right after the last step of the node it hits, and with every
// reordering left to time); then, repeated until none helps: binary-search cuts of the out-of-order
// picks before a step and after a step (injected faults kept), by index then by identity; ddmin
// chunks of the non-zero picks, deletion of single out-of-order steps, lowering single picks and
// moving each injected fault one step later, by identity then by index; smaller clusters again;
// then shorter injected pauses (halving, then bisection); last, on runs of up to 4,000 steps, the
// deletion of any single step, every step matched by identity (the event it took is left pending,
// so this is the one pass that adds reorderings: it removes the steps time would take that the bug
// does not need), and the passes again if one went. A candidate stops as soon as it has more steps
// than the best at no fewer faults on the same cluster (it cannot be kept); only the final run is
// recorded.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/explore/explorer.hpp"

namespace stampede::explore {

struct ShrinkSize {
  int faults = 0;
  int nodes = 0;              // nodes in the world (0 when not measured)
  std::uint64_t steps = 0;
  std::uint64_t nonzero = 0;  // out-of-order picks and injected faults
  std::uint64_t sum = 0;      // sum of the picks
  bool operator<(const ShrinkSize& o) const;
};
ShrinkSize size_of(const RunResult& r, int nodes = 0);

// How to rebuild the scenario with more overrides: with it the shrinker may also try smaller
// clusters, by appending overrides (`cluster.agents=1`) to the trace's own. `build` parses the
// scenario with the trace's overrides followed by `extra` (cli/shrink.cpp uses
// parse_scenario_with_overrides) and throws when they make it invalid (a fault naming a node the
// smaller cluster does not have).
struct ShrinkScenario {
  std::function<ScenarioSpec(const std::vector<std::string>& extra)> build;
  const Registry* registry = nullptr;
};

struct ShrinkOptions {
  std::uint64_t max_candidates = 20000;
  std::function<bool()> should_stop;      // checked between candidates (wall-clock budgets)
  std::optional<ShrinkScenario> scenario;  // absent: the cluster stays as it is
};

struct ShrinkResult {
  RunResult best;        // recorded (steps and descriptions), ready to write as a trace
  ShrinkSize before;
  ShrinkSize after;
  std::uint64_t candidates = 0;  // runs tried
  std::uint64_t accepted = 0;
  // Overrides to append to the scenario's for the smaller cluster (empty: the same cluster);
  // `best` is a run of the scenario with them.
  std::vector<std::string> overrides;
  // The smaller cluster's scenario, which `best` (its outcome's expectations) points into; null
  // when the cluster is the explorer's.
  std::shared_ptr<const ScenarioSpec> spec;
  // A shorter injected pause (Settings::pause_ns) under which `best` still fails; unset: the
  // trace's own. The written trace must record it (`explore.pause_ns`).
  std::optional<DurationNs> pause_ns;
};

// `original` must violate a property. Stops after options.max_candidates runs or when
// options.should_stop().
ShrinkResult shrink(const Explorer& explorer, const RunResult& original,
                    const ShrinkOptions& options);
// The same without node reduction.
ShrinkResult shrink(const Explorer& explorer, const RunResult& original,
                    std::uint64_t max_candidates, const std::function<bool()>& should_stop);

}  // namespace stampede::explore
