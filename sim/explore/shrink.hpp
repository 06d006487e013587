#pragma once
// Shrinking a failing run: delta debugging (Zeller and Hildebrandt, TSE 2002) over the recorded
// picks. A candidate is a list of picks; it is re-run (a pick out of range, or past the end of
// the list, takes option 0: what time would do) and kept only when the same property still fails
// and the run is smaller: fewer injected faults first, then fewer steps, then fewer and smaller
// out-of-order picks. Passes, repeated until none helps: zero chunks of the non-zero picks
// (ddmin), delete single picks, lower single picks, and move each injected fault one step later.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/explore/explorer.hpp"

namespace stampede::explore {

struct ShrinkSize {
  int faults = 0;
  std::uint64_t steps = 0;
  std::uint64_t nonzero = 0;  // out-of-order picks and injected faults
  std::uint64_t sum = 0;      // sum of the picks
  bool operator<(const ShrinkSize& o) const;
};
ShrinkSize size_of(const RunResult& r);

struct ShrinkResult {
  RunResult best;        // recorded (steps and descriptions), ready to write as a trace
  ShrinkSize before;
  ShrinkSize after;
  std::uint64_t candidates = 0;  // runs tried
  std::uint64_t accepted = 0;
};

// `original` must violate `property`. Stops after max_candidates runs or when should_stop().
ShrinkResult shrink(const Explorer& explorer, const RunResult& original,
                    std::uint64_t max_candidates, const std::function<bool()>& should_stop);

}  // namespace stampede::explore
