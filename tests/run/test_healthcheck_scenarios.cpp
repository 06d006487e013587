// The health-check scenarios (scenarios/hc-*.yaml): each passes, and fails with the mechanism
// it shows switched off.
#include <catch2/catch.hpp>

#include <set>

#include "models/register.hpp"
#include "tests/common/scenario_runs.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;

namespace {

const Registry& registry() { return test::models_registry(); }

using test::failures;
using test::run_named;

using Case = test::MechanismCase;

const Case k_cases[] = {
    {"hc-host-isolated", "cluster.mechanisms.cattle_health_checks=false"},
    {"hc-strategy-none", "stacks.shop.services.web.health_check.strategy=recreate"},
    {"hc-quorum-minority", "stacks.shop.services.web.health_check.strategy=recreate"},
    {"hc-ha-host-isolated", "cluster.mechanisms.cattle_health_checks=false"},
    {"hc-ha-host-isolated", "cluster.mechanisms.cattle_health_read_back=false"},
    {"hc-stop-waits-reply", "cluster.mechanisms.cattle_stop_waits_reply=false"},
};

}  // namespace

TEST_CASE("each health-check scenario passes, and fails with its mechanism off",
          "[healthcheck]") {
  for (const Case& c : k_cases) {
    SECTION(std::string(c.scenario) + " / " + c.switch_off) {
      RunOutcome on = run_named(c.scenario);
      INFO(c.scenario << "\n" << failures(on));
      CHECK(on.passed);
      RunOutcome off = run_named(c.scenario, {c.switch_off});
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
  // Moved from 87992f924b41c851 with cattle_stop_waits_reply: the removal of the unhealthy
  // container runs as the process instance.stop_remove (a process row, its lock, the stopping and
  // removed events on the bus) instead of one write; its host is reconnecting, so the stop is
  // skipped and the story is the same. And with cattle_config_item_triggers: agent-1 going
  // reconnecting no longer pushes the checker lists to every active host (rancher/cattle v0.165.8
  // defaults.properties lines 64-66); its coming back pushes them only because it makes checker
  // rows.
  // Since tcp_retransmit became the default the messages sent across the cut are held and
  // delivered after the heal (2,404 steps, 2,290 before: 45a950d70e433931); the timeline and the
  // expectations are the same.
  CHECK(hex64(run_named("hc-host-isolated").digest) == "23e65baf223687ee");
}

TEST_CASE("in HA the DOWN reports reach two servers, and the last judge sees every checker's row",
          "[healthcheck][ha]") {
  // With seed 1 agent-4 checks all three containers and has posted one report more than the
  // other checkers, so the DNS name sends the DOWN reports about agent-1's container to two
  // servers. Each writes its checker's row before it takes the container's lock and decides
  // from the rows read back under it: one verdict, by a server, after the cut.
  std::string path = std::string(SCENARIOS_DIR) + "/hc-ha-host-isolated.yaml";
  ScenarioSpec spec = load_scenario(path, registry());
  RunConfig c;
  c.seed = spec.seed;
  c.timeline_level = LogLevel::debug;
  c.keep_debug_logs = true;
  RunOutcome out = run_scenario(spec, registry(), c);
  INFO(failures(out));
  REQUIRE(out.passed);
  std::set<std::string> judges;
  TimeNs unhealthy_ns = 0;
  for (const TimelineEntry& e : out.timeline)
    if (e.text.find("is unhealthy") != std::string::npos) {
      judges.insert(e.node);
      unhealthy_ns = e.time_ns;
    }
  REQUIRE(judges.size() == 1);
  CHECK(judges.begin()->starts_with("server-"));
  std::set<std::string> report_judges;
  for (const TimelineEntry& e : out.timeline)
    if (e.time_ns > 90 * k_s && e.time_ns <= unhealthy_ns &&
        e.text.find("health report of instance") != std::string::npos &&
        e.text.find("judged under lock UPDATE.HCI.") != std::string::npos)
      report_judges.insert(e.node);
  CHECK(report_judges.size() == 2);
}

TEST_CASE("the HA isolated host's scenario holds for other seeds where agent-1 runs a container",
          "[healthcheck][ha]") {
  // Placement is random among the emptiest hosts: with seeds 3 and 4 agent-1 runs no web
  // container, and the cut replaces nothing.
  for (std::uint64_t seed : {2u, 5u}) {
    std::string path = std::string(SCENARIOS_DIR) + "/hc-ha-host-isolated.yaml";
    ScenarioSpec spec = load_scenario(path, registry());
    RunConfig c;
    c.seed = seed;
    RunOutcome out = run_scenario(spec, registry(), c);
    INFO("seed " << seed << "\n" << failures(out));
    CHECK(out.passed);
  }
}

namespace {

// config_pushes per agent of agent-partition (a cut of every agent from the server, then a heal)
// with `agents` agents, the mechanism cattle_config_item_triggers on or off.
double pushes_per_agent(int agents, bool triggers) {
  RunOutcome out = run_named(
      "agent-partition",
      {"cluster.agents=" + std::to_string(agents), "duration=200s",
       std::string("cluster.mechanisms.cattle_config_item_triggers=") + (triggers ? "true" : "false")});
  INFO(agents << " agents, triggers " << triggers << "\n" << failures(out));
  CHECK(out.passed);
  double pushes = -1;
  for (const MetricValue& m : out.metrics)
    if (m.name == "config_pushes") pushes = m.value;
  REQUIRE(pushes > 0);
  return pushes / agents;
}

}  // namespace

TEST_CASE("checker lists are pushed per triggering process, not per host coming back: pushes per "
          "agent stay flat as agents double",
          "[healthcheck][config_item_triggers]") {
  // On: a few pushes (the containers' starts and their checkers' rows) each to every agent, the
  // same number however many hosts come back at the heal.
  double on_40 = pushes_per_agent(40, true);
  double on_80 = pushes_per_agent(80, true);
  CHECK(on_80 == Approx(on_40).epsilon(0.05));
  CHECK(on_80 < 5);
  // Off: every host coming back pushes to every active host, so each agent gets about half as
  // many lists as there are agents, twice as many with twice the agents.
  double off_40 = pushes_per_agent(40, false);
  double off_80 = pushes_per_agent(80, false);
  CHECK(off_40 > 15);
  CHECK(off_80 > 1.6 * off_40);
}
