// Container repair time and scale violations (sim/run/repair.hpp): measured from what runs on
// the agents, from the instant a service drops below its scale to the instant it is back.
#include <catch2/catch.hpp>
#include <optional>

#include "models/register.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/repair.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;

namespace {

const Registry& registry() { return test::models_registry(); }

RunOutcome run(const std::vector<std::string>& sets) {
  std::string path = std::string(SCENARIOS_DIR) + "/agent-partition.yaml";
  ScenarioSpec base = load_scenario(path, registry());
  ScenarioSpec spec = parse_scenario_with_overrides(base.source_text, path, sets, registry());
  RunConfig config;
  config.seed = 1;
  return run_scenario(spec, registry(), config);
}

std::optional<double> metric(const RunOutcome& out, const std::string& name) {
  for (const MetricValue& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("a container killed while its server is cut off is repaired only after the heal",
          "[run][repairs]") {
  // Killed at 90 s, the server cut off from 60 s to 150 s: the repair waits for the heal.
  RunOutcome out = run({});
  REQUIRE(metric(out, "repairs") == 1.0);
  CHECK(metric(out, "repairs_unfinished") == 0.0);
  REQUIRE(metric(out, "repair_time_p50"));
  CHECK(*metric(out, "repair_time_p50") > 60.0);
  CHECK(*metric(out, "repair_time_p50") < 70.0);
  CHECK(metric(out, "repair_time_max") == metric(out, "repair_time_p50"));
  CHECK(metric(out, "over_scale_time") == 0.0);
}

TEST_CASE("the same kill with the server reachable is repaired within seconds", "[run][repairs]") {
  RunOutcome out = run({"faults=[{at: 90s, kill_container: wordpress/web/1}]"});
  REQUIRE(metric(out, "repairs") == 1.0);
  REQUIRE(metric(out, "repair_time_p50"));
  CHECK(*metric(out, "repair_time_p50") > 0.0);
  CHECK(*metric(out, "repair_time_p50") < 5.0);
}

TEST_CASE("with no fault nothing is repaired and no percentile is reported", "[run][repairs]") {
  // The start-up, before each service first runs at its scale, is not a repair.
  RunOutcome out = run({"faults=[]"});
  CHECK(metric(out, "repairs") == 0.0);
  CHECK_FALSE(metric(out, "repair_time_p50"));
  CHECK(metric(out, "repairs_unfinished") == 0.0);
}

TEST_CASE("a repair that never ends is counted as unfinished", "[run][repairs]") {
  // The kill falls 1 s before the end: the run ends before any server restarts the container.
  RunOutcome out = run({"faults=[{at: 179s, kill_container: wordpress/web/1}]", "duration=180s"});
  CHECK(metric(out, "repairs") == 0.0);
  CHECK(metric(out, "repairs_unfinished") == 1.0);
}

TEST_CASE("percentiles are nearest-rank", "[run][repairs]") {
  std::vector<DurationNs> v = {5, 1, 4, 2, 3};
  CHECK(percentile_ns(v, 0.5) == 3);
  CHECK(percentile_ns(v, 0.95) == 5);
  CHECK(percentile_ns(v, 0.2) == 1);
  CHECK(percentile_ns({7}, 0.99) == 7);
}
