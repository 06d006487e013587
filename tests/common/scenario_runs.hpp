#pragma once
// What the scenario tests share: running a scenario file by name with overrides, the expectations
// a run failed (for a test's INFO when a check on the verdict fails), and the pair "scenario, the
// override that switches its mechanism off" that each mechanism's on/off test walks.
#include <string>
#include <vector>

#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/common/registry.hpp"

namespace stampede::test {

// scenarios/NAME.yaml with `sets` applied, under its own seed (seed 0) or the one given.
inline RunOutcome run_named(const std::string& name, const std::vector<std::string>& sets = {},
                            std::uint64_t seed = 0, LogLevel level = LogLevel::notable) {
  const Registry& reg = models_registry();
  const std::string path = std::string(SCENARIOS_DIR) + "/" + name + ".yaml";
  ScenarioSpec base = load_scenario(path, reg);
  RunConfig c;
  c.seed = seed == 0 ? base.seed : seed;
  c.timeline_level = level;
  return run_scenario(parse_scenario_with_overrides(base.source_text, path, sets, reg), reg, c);
}

inline std::string failures(const RunOutcome& out) {
  std::string s;
  for (const auto& r : out.results)
    if (!r.passed) s += "  ✗ " + r.spec->text + " -- " + r.detail + "\n";
  return s;
}

struct MechanismCase {
  const char* scenario;
  const char* switch_off;  // a KEY=VALUE override
};

}  // namespace stampede::test
