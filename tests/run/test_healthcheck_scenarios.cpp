// The health-check scenarios (scenarios/hc-*.yaml): each passes, and fails with the mechanism
// it shows switched off.
#include <catch2/catch.hpp>

#include "models/register.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;

namespace {

const Registry& registry() { return test::models_registry(); }

RunOutcome run_hc(const std::string& name, const std::vector<std::string>& sets = {}) {
  std::string path = std::string(SCENARIOS_DIR) + "/" + name + ".yaml";
  ScenarioSpec base = load_scenario(path, registry());
  RunConfig c;
  c.seed = base.seed;
  return run_scenario(parse_scenario_with_overrides(base.source_text, path, sets, registry()),
                      registry(), c);
}

std::string failures(const RunOutcome& out) {
  std::string s;
  for (const auto& r : out.results)
    if (!r.passed) s += "  ✗ " + r.spec->text + " -- " + r.detail + "\n";
  return s;
}

struct Case {
  const char* scenario;
  const char* switch_off;
};

const Case k_cases[] = {
    {"hc-host-isolated", "cluster.mechanisms.cattle_health_checks=false"},
    {"hc-strategy-none", "stacks.shop.services.web.health_check.strategy=recreate"},
    {"hc-quorum-minority", "stacks.shop.services.web.health_check.strategy=recreate"},
};

}  // namespace

TEST_CASE("each health-check scenario passes, and fails with its mechanism off",
          "[healthcheck]") {
  for (const Case& c : k_cases) {
    SECTION(c.scenario) {
      RunOutcome on = run_hc(c.scenario);
      INFO(c.scenario << "\n" << failures(on));
      CHECK(on.passed);
      RunOutcome off = run_hc(c.scenario, {c.switch_off});
      INFO(c.scenario << " with " << c.switch_off);
      CHECK_FALSE(off.passed);
    }
  }
}

TEST_CASE("the isolated host's scenario holds for other seeds, and its digest is pinned",
          "[healthcheck][pinned]") {
  for (const char* seed : {"2", "3"}) {
    std::string path = std::string(SCENARIOS_DIR) + "/hc-host-isolated.yaml";
    ScenarioSpec spec = load_scenario(path, registry());
    RunConfig c;
    c.seed = std::stoull(seed);
    RunOutcome out = run_scenario(spec, registry(), c);
    INFO("seed " << seed << "\n" << failures(out));
    CHECK(out.passed);
  }
  CHECK(hex64(run_hc("hc-host-isolated").digest) == "b2ab82b5df248142");
}
