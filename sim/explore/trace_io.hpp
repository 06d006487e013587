#pragma once
// Explorer traces: the foundation's trace format (sim/trace) with a compatible extension. The
// header says "engine": "explore" and carries an "explore" object with the bounds the options
// depend on (max_faults, inject_kinds, depth) and the violated property; every step line carries
// "c", the index of the option picked at that step. Replaying needs no seed search and no timing
// luck: re-run the embedded scenario on the exploration engine with the same seed and feed it the
// picks in order. Readers of the foundation format that ignore unknown fields read the steps as
// usual; sim/trace's read_trace reads engine "explore" only when asked to (read_explore_trace
// does), which is why cli/replay.cpp dispatches on the engine first (is_explore_trace).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/explore/explorer.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::explore {

struct ExploreTrace {
  Trace trace;  // header (engine "explore"), steps and end, as sim/trace describes them
  std::vector<std::uint32_t> picks;
  int max_faults = 0;
  std::uint32_t inject_kinds = k_all_inject_kinds;
  std::vector<std::string> fault_targets;  // absent: every node
  std::uint64_t depth = 0;
  DurationNs max_delay_ns = -1;  // the bounded-delay window; -1 (or absent) = unbounded
  DurationNs pause_ns = 60 * k_s;  // the length of an injected pause (absent: the default)
  DurationNs settle_ns = 0;        // liveness mode's settle window (absent: no liveness mode)
  DurationNs fault_phase_ns = 0;   // liveness mode's fault phase (absent: the default)
  std::string strategy;
  std::string property;  // the violated property, empty when the run passed
};

// True when the file's first line is a stampede trace header with "engine": "explore".
bool is_explore_trace(const std::string& path);

// Reads and validates an explorer trace; throws TraceError ("FILE:LINE:COL: message").
ExploreTrace read_explore_trace(const std::string& path, const std::string& expected_version);

// Writes a recorded run (Explorer::replay(..., record = true)) to PATH.tmp, then renames it.
void write_explore_trace(const std::string& path, const TraceHeader& header,
                         const Settings& settings, const std::string& strategy,
                         const RunResult& run);

// Settings for re-running a trace: the bounds it was recorded with and its seed.
Settings settings_for(const ExploreTrace& t);

}  // namespace stampede::explore
