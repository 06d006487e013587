#pragma once
#include "sim/core/spec.hpp"
#include "sim/run/run.hpp"

namespace stampede::cli {

// Prints a run: header, timeline (notable events, at most a screenful), expectations with ✓/✗,
// metrics, digest and verdict.
void print_run(const ScenarioSpec& spec, std::uint64_t seed, std::string_view engine,
               const RunOutcome& out, double wall_s, bool quiet, bool full_timeline = false);

}  // namespace stampede::cli
