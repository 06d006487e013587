// `stampede run`: one seeded run of a scenario, printed as a timeline, the expectations, the
// metrics and the digest.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

#include "cli/app.hpp"
#include "cli/print.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::cli {

namespace {

// The trace being written: SIGINT or SIGTERM removes it (the run is lost, and a half-written
// FILE.tmp of tens of MB would otherwise stay), then ends the process as the signal would.
char g_tmp_path[4096];

extern "C" void remove_tmp_and_die(int sig) {
  if (g_tmp_path[0] != '\0') unlink(g_tmp_path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void remove_on_signal(const std::string& tmp) {
  if (tmp.size() >= sizeof g_tmp_path) return;
  std::memcpy(g_tmp_path, tmp.c_str(), tmp.size() + 1);
  std::signal(SIGINT, remove_tmp_and_die);
  std::signal(SIGTERM, remove_tmp_and_die);
}

}  // namespace

int cmd_run(const RunArgs& args) {
  if (!args.platform.empty() && args.engine != "simgrid") {
    std::fprintf(stderr, "stampede: --platform: needs --engine simgrid\n");
    return k_exit_bad_input;
  }
  std::string path = resolve_scenario_path(args.scenario);
  std::string text = read_file(path);
  ScenarioSpec spec = parse_scenario_with_overrides(text, path, args.sets, registry());
  std::uint64_t seed = args.seed.value_or(spec.seed);

  RunConfig config;
  config.seed = seed;
  if (args.log_level == "info") config.timeline_level = LogLevel::info;
  if (args.log_level == "debug") {
    config.timeline_level = LogLevel::debug;
    config.keep_debug_logs = true;
  }
  if (args.engine == "simgrid")
    config.make_engine = simgrid_engine_factory(
        args.platform.empty() ? std::nullopt : std::optional<std::string>(args.platform));
  std::unique_ptr<TraceWriter> trace;
  if (!args.trace.empty()) {
    TraceHeader h;
    h.version = STAMPEDE_VERSION;
    h.scenario_file = path;
    h.scenario_text = text;
    h.overrides = args.sets;
    h.seed = seed;
    h.engine = args.engine;
    h.platform = args.platform;
    trace = std::make_unique<TraceWriter>(args.trace, h);
    remove_on_signal(args.trace + ".tmp");
    config.observers.push_back(trace.get());
  }

  auto wall_start = std::chrono::steady_clock::now();
  RunOutcome out = run_scenario(spec, registry(), config);
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  if (trace) trace->commit(TraceEnd{out.steps, out.digest, out.passed});
  print_run(spec, seed, args.engine, out, wall_s, args.quiet, args.log_level != "notable");
  if (trace) std::printf("trace     %s (%llu steps)\n", args.trace.c_str(),
                         static_cast<unsigned long long>(out.steps));
  return out.passed ? k_exit_ok : k_exit_failed;
}

}  // namespace stampede::cli
