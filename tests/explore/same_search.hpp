#pragma once
// The check the snapshot tests share: a search with snapshots and the same search re-running
// every run from the start must explore exactly the same runs, transitions and states.
#include <catch2/catch.hpp>

#include "sim/explore/explorer.hpp"

namespace stampede::test {

inline void check_same_search(const explore::Report& snap, const explore::Report& full) {
  CHECK(snap.runs == full.runs);
  CHECK(snap.transitions == full.transitions);
  CHECK(snap.distinct_states == full.distinct_states);
  CHECK(snap.reductions == full.reductions);
  CHECK(snap.verdicts == full.verdicts);
  CHECK(snap.terminal_states == full.terminal_states);
}

}  // namespace stampede::test
