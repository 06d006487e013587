// The same scenario on both engines in one process, kernel first, then SimGrid (which runs once
// per process): events per second of wall time and simulated-to-wall ratio for each.
//
//   engines_bench [SCENARIO.yaml] [--platform FILE.xml]
//
// Not a test (timings are never asserted): bench/ runs it and keeps the numbers.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "models/register.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simgrid/factory.hpp"

using namespace stampede;

namespace {

struct Measure {
  double wall_s = 0;
  std::uint64_t steps = 0;
  double simulated_s = 0;
  bool passed = false;
};

Measure measure(const ScenarioSpec& spec, const Registry& registry, EngineFactory factory) {
  RunConfig config;
  config.seed = spec.seed;
  config.make_engine = std::move(factory);
  auto start = std::chrono::steady_clock::now();
  RunOutcome out = run_scenario(spec, registry, config);
  Measure m;
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.steps = out.steps;
  m.simulated_s = static_cast<double>(out.simulated_ns) / 1e9;
  m.passed = out.passed;
  return m;
}

void print(const char* engine, const Measure& m) {
  std::printf("%-8s %10llu %10.3f %14.0f %14.0f %s\n", engine,
              static_cast<unsigned long long>(m.steps), m.wall_s,
              static_cast<double>(m.steps) / m.wall_s, m.simulated_s / m.wall_s,
              m.passed ? "pass" : "FAIL");
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = std::string(SCENARIOS_DIR) + "/agent-partition.yaml";
  std::optional<std::string> platform;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--platform" && i + 1 < argc) platform = argv[++i];
    else path = a;
  }
  Registry registry;
  register_models(registry);
  try {
    ScenarioSpec spec = load_scenario(path, registry);
    std::printf("scenario %s (%s simulated)%s\n", spec.name.c_str(),
                format_duration(spec.duration_ns).c_str(),
                platform ? (" platform " + *platform).c_str() : "");
    std::printf("%-8s %10s %10s %14s %14s %s\n", "engine", "events", "wall_s", "events/s",
                "sim/wall", "verdict");
    Measure kernel = measure(spec, registry, make_kernel);
    print("kernel", kernel);
    Measure simgrid = measure(spec, registry, make_simgrid_factory(platform));
    print("simgrid", simgrid);
    std::printf("kernel/simgrid events/s ratio: %.1fx\n",
                (static_cast<double>(kernel.steps) / kernel.wall_s) /
                    (static_cast<double>(simgrid.steps) / simgrid.wall_s));
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
