// The list form of random_faults.crash (sim/fault/faults.cpp, docs/scenarios.md): several
// classes of targets, each node failing from its own named stream of the run's root seed.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "models/register.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;

namespace {

const Registry& registry() { return test::models_registry(); }

// agent-partition without its scripted faults and expectations, with the given random faults.
RunOutcome run(const std::string& random_faults, std::uint64_t seed,
               const std::string& duration = "2h") {
  std::string path = std::string(SCENARIOS_DIR) + "/agent-partition.yaml";
  ScenarioSpec base = load_scenario(path, registry());
  ScenarioSpec spec = parse_scenario_with_overrides(
      base.source_text, path,
      {"faults=[]", "expect=[]", "duration=" + duration, "random_faults=" + random_faults},
      registry());
  RunConfig config;
  config.seed = seed;
  return run_scenario(spec, registry(), config);
}

// The timeline's random failures of `node` ("power off agent-1 (random, agent-*)"...), with times.
std::vector<std::string> failures(const RunOutcome& out, const std::string& node) {
  std::vector<std::string> f;
  for (const TimelineEntry& e : out.timeline)
    if (e.node.empty() && e.text.find(node + " (random") != std::string::npos)
      f.push_back(std::to_string(e.time_ns) + " " + e.text);
  return f;
}

std::size_t count_starting(const std::vector<std::string>& f, const std::string& what) {
  std::size_t n = 0;
  for (const std::string& s : f) n += s.find(" " + what + " ") != std::string::npos;
  return n;
}

std::string parse_error(const std::string& random_faults) {
  std::string path = std::string(SCENARIOS_DIR) + "/agent-partition.yaml";
  ScenarioSpec base = load_scenario(path, registry());
  std::string text = base.source_text + "random_faults:\n" + random_faults;
  try {
    parse_scenario_with_overrides(text, "t.yaml", {}, registry());
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string k_agents = "{crash: [{targets: agent-*, mttf: 10m, mttr: 1m, how: power_off}]}";

}  // namespace

TEST_CASE("random failures of a class repeat with the seed and change with another seed",
          "[run][random-faults]") {
  RunOutcome a = run(k_agents, 7, "1h");
  RunOutcome b = run(k_agents, 7, "1h");
  RunOutcome c = run(k_agents, 8, "1h");
  const auto fa = failures(a, "agent-1");
  REQUIRE(fa.size() >= 2);
  CHECK(count_starting(fa, "power") == fa.size());  // how: power_off powers off and on
  CHECK(fa == failures(b, "agent-1"));
  CHECK(a.digest == b.digest);
  CHECK(fa != failures(c, "agent-1"));
  CHECK(a.digest != c.digest);
}

TEST_CASE("a node's random failures do not depend on the other classes of the scenario",
          "[run][random-faults]") {
  // Each node draws from the stream named after its class and itself, so adding a class of
  // servers leaves the agents' failure times as they were (common random numbers in a sweep).
  RunOutcome alone = run(k_agents, 3, "1h");
  RunOutcome with_server =
      run("{crash: [{targets: agent-*, mttf: 10m, mttr: 1m, how: power_off}, "
          "{targets: server-1, mttf: 5m, mttr: 30s}]}",
          3, "1h");
  CHECK(failures(alone, "agent-2") == failures(with_server, "agent-2"));
  CHECK(failures(alone, "server-1").empty());
  CHECK(count_starting(failures(with_server, "server-1"), "crash") >= 3);
}

TEST_CASE("the number of random failures follows the rate within statistical bounds",
          "[run][random-faults]") {
  // Two agents over 4 h: a renewal process with up times of mean MTTF and down times of mean
  // MTTR fails about 4 h / (MTTF + MTTR) times per node. The bounds are 5 standard deviations of
  // a Poisson count around that, so the check fails only if the rate is wrong.
  auto count = [](const std::string& mttf) {
    RunOutcome out = run("{crash: [{targets: agent-*, mttf: " + mttf + ", mttr: 10s}]}", 11, "4h");
    return count_starting(failures(out, "agent-1"), "crash") +
           count_starting(failures(out, "agent-2"), "crash");
  };
  const double fast = static_cast<double>(count("2m"));   // expected 2 * 14400 / 130 = 221.5
  const double slow = static_cast<double>(count("20m"));  // expected 2 * 14400 / 1210 = 23.8
  CHECK(std::abs(fast - 221.5) < 5 * std::sqrt(221.5));
  CHECK(std::abs(slow - 23.8) < 5 * std::sqrt(23.8));
  CHECK(fast > 4 * slow);
}

TEST_CASE("bad entries of the random failure list are refused with their position",
          "[run][random-faults]") {
  CHECK_THAT(parse_error("  crash:\n    - {targets: agent-*, mttf: 1m, mttr: 1m, how: reboot}\n"),
             Catch::Contains("t.yaml:") &&
                 Catch::Contains("unknown failure 'reboot' for 'how': expected crash or power_off"));
  CHECK_THAT(parse_error("  crash:\n    - {targets: agent-*, mttf: 1m, mttr: 1m}\n"
                         "    - {targets: agent-*, mttf: 2m, mttr: 1m}\n"),
             Catch::Contains("targets 'agent-*' are in two entries of random_faults.crash"));
  CHECK_THAT(parse_error("  crash: []\n"), Catch::Contains("random_faults.crash: an empty list"));
  CHECK_THAT(parse_error("  crash:\n    - {targets: agent-*, mtf: 1m, mttr: 1m}\n"),
             Catch::Contains("unknown key 'mtf' in random_faults.crash (did you mean 'mttf'?)"));
  CHECK_THAT(parse_error("  crash:\n    - {targets: agnt-*, mttf: 1m, mttr: 1m}\n"),
             Catch::Contains("unknown node 'agnt-*'"));
  CHECK_THAT(parse_error("  crash:\n    - {targets: agent-*, mttf: 0s, mttr: 1m}\n"),
             Catch::Contains("mttf"));
  // `how` belongs to the list form only: the contract's map form is unchanged.
  CHECK_THAT(parse_error("  crash: {targets: agent-*, mttf: 1m, mttr: 1m, how: crash}\n"),
             Catch::Contains("unknown key 'how' in random_faults.crash"));
  CHECK(parse_error("  crash:\n    - {targets: agent-*, mttf: 1m, mttr: 1m, how: power_off}\n") ==
        "(no error)");
}
