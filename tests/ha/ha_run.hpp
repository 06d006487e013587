#pragma once
// What the HA tests share: the registry, loading a scenario with overrides, running it while
// keeping its spec alive, and reading the outcome (failed expectations, timeline, metrics).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "models/register.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::test {

inline const Registry& registry() { return test::models_registry(); }

inline ScenarioSpec load(const std::string& name, const std::vector<std::string>& sets = {}) {
  std::string path = std::string(SCENARIOS_DIR) + "/" + name + ".yaml";
  ScenarioSpec base = load_scenario(path, registry());
  return parse_scenario_with_overrides(base.source_text, path, sets, registry());
}

// The outcome's results point into the spec: it is kept alive as long as the outcome is.
struct Run {
  std::unique_ptr<ScenarioSpec> spec;
  RunOutcome out;
};

// `timeline`: the lowest level of the log lines the timeline keeps (notable, as `stampede run`).
inline RunOutcome run_outcome(const ScenarioSpec& spec, std::uint64_t seed,
                              LogLevel timeline = LogLevel::notable) {
  RunConfig c;
  c.seed = seed;
  c.timeline_level = timeline;
  return run_scenario(spec, registry(), c);
}

inline Run run(ScenarioSpec spec, std::uint64_t seed, LogLevel timeline = LogLevel::notable) {
  auto owned = std::make_unique<ScenarioSpec>(std::move(spec));
  RunOutcome out = run_outcome(*owned, seed, timeline);
  return Run{std::move(owned), std::move(out)};
}

// The scenario run with its debug lines kept in the timeline (the lock waits, the
// registrations and the replays log at debug level, which `run` drops).
inline Run run_debug(ScenarioSpec spec, std::uint64_t seed) {
  auto owned = std::make_unique<ScenarioSpec>(std::move(spec));
  RunConfig c;
  c.seed = seed;
  c.keep_debug_logs = true;
  c.timeline_level = LogLevel::debug;
  RunOutcome out = run_scenario(*owned, registry(), c);
  return Run{std::move(owned), std::move(out)};
}

inline std::string failures(const RunOutcome& out) {
  std::string s;
  for (const auto& r : out.results)
    if (!r.passed) s += "  x " + r.spec->text + " -- " + r.detail + "\n";
  return s;
}

// The expectations that failed, by their text.
inline std::vector<std::string> failed(const RunOutcome& out) {
  std::vector<std::string> v;
  for (const auto& r : out.results)
    if (!r.passed) v.push_back(r.spec->text);
  return v;
}

inline bool any_failed_containing(const RunOutcome& out, const std::string& needle) {
  for (const std::string& t : failed(out))
    if (t.find(needle) != std::string::npos) return true;
  return false;
}

// Timeline lines (notable logs and faults) of `node` containing `needle`.
inline std::size_t timeline_count(const RunOutcome& out, const std::string& node,
                           const std::string& needle) {
  std::size_t n = 0;
  for (const TimelineEntry& e : out.timeline)
    n += e.node == node && e.text.find(needle) != std::string::npos;
  return n;
}

inline double metric(const RunOutcome& out, const std::string& name) {
  for (const MetricValue& m : out.metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return 0;
}

}  // namespace stampede::test
