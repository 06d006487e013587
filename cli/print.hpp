#pragma once
#include "sim/core/spec.hpp"
#include "sim/run/run.hpp"

namespace stampede::cli {

// One line of a timeline, as `run` prints it: clock, node (or * for faults), text. `replay --log`
// prints its lines the same way.
void print_timeline_entry(const TimelineEntry& e);
// `replay --log`: a heading and every line of the re-run's timeline.
void print_replay_timeline(const std::vector<TimelineEntry>& timeline);

// Prints a run: header, timeline (notable events, at most a screenful), expectations with ✓/✗,
// metrics, digest and verdict.
void print_run(const ScenarioSpec& spec, std::uint64_t seed, std::string_view engine,
               const RunOutcome& out, double wall_s, bool quiet, bool full_timeline = false);

}  // namespace stampede::cli
