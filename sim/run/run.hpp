#pragma once
// One run of a scenario on the kernel: builds the world from the scenario through the registry
// the models filled in, arms the faults and the checks, runs to the scenario's duration and
// gathers the verdict, the timeline, the metrics and the digest. The CLI prints what this returns;
// sweeps and the explorer call it too.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/check/checker.hpp"
#include "sim/core/chooser.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"

namespace stampede {

class Engine;
struct RunConfig;
// Builds the engine a run uses (the kernel unless RunConfig::make_engine says otherwise).
using EngineFactory = std::function<std::unique_ptr<Engine>(
    const ScenarioSpec&, const Registry&, const RunConfig&, Chooser&)>;
// The engine options a scenario and a run's configuration give: seed, network, resolved timings
// and mechanisms. Every engine factory starts from it.
EngineOptions engine_options(const ScenarioSpec& spec, const Registry& registry,
                             const RunConfig& config);
std::unique_ptr<Engine> make_kernel(const ScenarioSpec& spec, const Registry& registry,
                                    const RunConfig& config, Chooser& chooser);

struct RunConfig {
  std::uint64_t seed = 1;
  Chooser* chooser = nullptr;               // null: a SeededChooser on `seed`
  std::vector<StepObserver*> observers;     // called after every step (traces, replay)
  bool keep_debug_logs = false;
  // The log lines the timeline shows: notable ones by default; `run --log info|debug` widens it.
  LogLevel timeline_level = LogLevel::notable;
  EngineFactory make_engine;  // empty: the kernel
  // Called once the run's checker is armed, before the first step: the explorer's dfs judges
  // the expectations at each run's end inside one engine (Explorer::run_with).
  std::function<void(Checker&)> on_checker;
};

struct TimelineEntry {
  TimeNs time_ns = 0;
  std::string node;  // empty for faults
  std::string text;
};

struct MetricValue {
  std::string name;
  double value = 0.0;
  std::string unit;  // "", "s", "ratio"
};

struct RunOutcome {
  bool passed = false;
  std::vector<ExpectResult> results;  // spec pointers point into the ScenarioSpec given
  std::vector<TimelineEntry> timeline;
  std::vector<MetricValue> metrics;
  std::uint64_t digest = 0;
  std::uint64_t steps = 0;
  std::uint64_t messages = 0;
  TimeNs simulated_ns = 0;
  bool stopped_early = false;  // an observer ended the run before its duration
};

// Every registered timing, with the scenario's overrides applied.
TimingMap resolve_timings(const ScenarioSpec& spec, const Registry& reg);
MechanismMap resolve_mechanisms(const ScenarioSpec& spec, const Registry& reg);

RunOutcome run_scenario(const ScenarioSpec& spec, const Registry& registry, const RunConfig& config);

}  // namespace stampede
