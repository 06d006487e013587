// `stampede replay`: re-execute a trace's embedded scenario and stop at the first step whose
// rolling hash differs from the recorded one.
#include <cstdio>
#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/print.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::cli {

LogLevel log_level_from_name(const std::string& name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  return LogLevel::notable;
}

void print_replay_timeline(const std::vector<TimelineEntry>& timeline) {
  std::printf("\ntimeline (the re-run's; it stops where the replay stops)\n");
  for (const TimelineEntry& e : timeline) print_timeline_entry(e);
  std::printf("\n");
}

int cmd_replay(const ReplayArgs& args) {
  if (explore::is_explore_trace(args.trace)) return cmd_replay_explore(args);
  Trace trace = read_trace(args.trace, STAMPEDE_VERSION);
  ScenarioSpec spec = parse_trace_scenario(args.trace, trace.header);
  ReplayComparer comparer(trace, args.verbose);
  RunConfig config;
  config.seed = trace.header.seed;
  if (trace.header.engine == "simgrid")
    config.make_engine = simgrid_engine_factory(
        trace.header.platform.empty() ? std::nullopt
                                      : std::optional<std::string>(trace.header.platform));
  config.observers.push_back(&comparer);
  if (!args.log_level.empty()) {
    config.timeline_level = log_level_from_name(args.log_level);
    config.keep_debug_logs = config.timeline_level == LogLevel::debug;
  }
  RunOutcome out = run_scenario(spec, registry(), config);

  std::printf("stampede replay %s  (scenario %s, engine %s, seed %llu, %zu recorded steps)\n",
              args.trace.c_str(), spec.name.c_str(), trace.header.engine.c_str(),
              static_cast<unsigned long long>(trace.header.seed), trace.steps.size());
  if (!args.log_level.empty()) print_replay_timeline(out.timeline);
  if (comparer.diverged()) {
    std::printf("✗ %s\n", comparer.divergence().c_str());
    return k_exit_failed;
  }
  if (out.steps < trace.steps.size()) {
    std::printf("✗ the replay ended after %llu steps; the trace goes on to %s\n",
                static_cast<unsigned long long>(out.steps),
                describe_step(trace.steps[out.steps]).c_str());
    return k_exit_failed;
  }
  if (out.digest != trace.end.digest) {
    std::printf("✗ every step matched but the final digest differs: recorded %s, replay %s\n",
                hex64(trace.end.digest).c_str(), hex64(out.digest).c_str());
    return k_exit_failed;
  }
  std::printf("✓ reproduced all %llu steps; digest %s matches; verdict %s as recorded\n",
              static_cast<unsigned long long>(comparer.steps_compared()),
              hex64(out.digest).c_str(), out.passed ? "PASS" : "FAIL");
  return k_exit_ok;
}

}  // namespace stampede::cli
