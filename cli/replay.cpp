// `stampede replay`: re-execute a trace's embedded scenario and stop at the first step whose
// rolling hash differs from the recorded one.
#include <cstdio>
#include <fmt/format.h>

#include "cli/app.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::cli {

int cmd_replay(const ReplayArgs& args) {
  if (explore::is_explore_trace(args.trace)) return cmd_replay_explore(args);
  Trace trace = read_trace(args.trace, STAMPEDE_VERSION);
  ScenarioSpec spec = parse_scenario_with_overrides(trace.header.scenario_text,
                                                    trace.header.scenario_file,
                                                    trace.header.overrides, registry());
  ReplayComparer comparer(trace, args.verbose);
  RunConfig config;
  config.seed = trace.header.seed;
  if (trace.header.engine == "simgrid")
    config.make_engine = simgrid_engine_factory(
        trace.header.platform.empty() ? std::nullopt
                                      : std::optional<std::string>(trace.header.platform));
  config.observers.push_back(&comparer);
  RunOutcome out = run_scenario(spec, registry(), config);

  std::printf("stampede replay %s  (scenario %s, engine %s, seed %llu, %zu recorded steps)\n",
              args.trace.c_str(), spec.name.c_str(), trace.header.engine.c_str(),
              static_cast<unsigned long long>(trace.header.seed), trace.steps.size());
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
