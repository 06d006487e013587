// --set KEY=VALUE: a dotted path into the scenario, validated exactly like the file, with errors
// that name the flag.
#include <catch2/catch.hpp>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::error_of;
using stampede::test::parse;

namespace {

constexpr std::string_view k_ha = R"(name: ha
seed: 7
duration: 5m
cluster:
  servers: 3
  database: {external: true}
  timing: {}
  agents: 2
stacks:
  - name: wordpress
    services:
      - {name: db, scale: 1}
      - {name: web, scale: 2, links: [db]}
    load_balancer: {name: lb, targets: [web]}
workload:
  - client: {target: wordpress/lb, rate: 5/s}
faults:
  - {at: 60s, crash: agent-2}
random_faults:
  crash: {targets: zookeeper-*, mttf: 10m, mttr: 1m}
expect:
  - {at: 250s, running: {service: wordpress/web, count: 2}}
)";

}  // namespace

TEST_CASE("overrides: --set overrides values anywhere in the scenario", "[overrides]") {
  ScenarioSpec s = parse(k_ha, {"cluster.zookeeper=5", "random_faults.crash.mttf=5m",
                                "cluster.timing.agent_ping_interval=10s",
                                "cluster.mechanisms.agent_resync=false", "seed=3", "duration=10m"});
  CHECK(s.cluster.zookeeper == 5);
  CHECK(s.random_faults.crash->mttf_ns == 5 * k_m);
  CHECK(s.random_faults.crash->mttr_ns == k_m);  // the rest of the map is kept
  CHECK(s.cluster.timing.at("agent_ping_interval") == 10 * k_s);
  CHECK(s.cluster.mechanisms.at("agent_resync") == false);
  CHECK(s.seed == 3);
  CHECK(s.duration_ns == 10 * k_m);
  CHECK(s.source_text == k_ha);  // the original text, unmodified
  CHECK(s.source_file == "t.yaml");
}

TEST_CASE("overrides: --set reaches list entries by name or by 0-based index", "[overrides]") {
  ScenarioSpec s = parse(k_ha, {"stacks.wordpress.services.web.scale=3", "faults.0.at=30s",
                                "stacks.0.services.1.links=[]", "expect.0.running.count=3",
                                "workload.0.client.rate=10/s"});
  CHECK(s.stacks[0].services[1].scale == 3);
  CHECK(s.stacks[0].services[1].links.empty());
  CHECK(s.faults[0].at_ns == 30 * k_s);
  CHECK(s.expect[0].count == 3);
  CHECK(s.workload[0].interval_ns == 100 * k_ms);
  // The expectation as written now reads as overridden.
  CHECK(s.expect[0].text == "{at: 250s, running: {service: wordpress/web, count: 3}}");
}

TEST_CASE("overrides: --set values are YAML: maps and lists work, a comma is not special",
          "[overrides]") {
  ScenarioSpec s = parse(
      k_ha, {"cluster.network.latency={min: 1ms, max: 5ms}", "description=one, two", "faults=[]"});
  CHECK(s.cluster.network.latency.kind == LatencySpec::Kind::uniform);
  CHECK(s.cluster.network.latency.max_ns == 5 * k_ms);
  CHECK(s.description == "one, two");
  CHECK(s.faults.empty());
  CHECK(error_of(k_ha, {"cluster.agents=1,2"}) ==
        "--set cluster.agents: expected an integer for 'agents', got '1,2'");
}

TEST_CASE("overrides: --set creates sections the file does not have", "[overrides]") {
  ScenarioSpec s = parse(test::k_tiny, {"random_faults.partition={mtbf: 5m, duration: 30s}",
                                        "cluster.network.drop=0.1"});
  REQUIRE(s.random_faults.partition);
  CHECK(s.random_faults.partition->mtbf_ns == 5 * k_m);
  CHECK(s.cluster.network.drop == 0.1);
  CHECK(error_of(test::k_tiny, {"random_faults.partition.mtbf=5m"}) ==
        "--set random_faults.partition.mtbf: missing required key 'duration' in "
        "random_faults.partition");
}

TEST_CASE("overrides: --set on a path that is not in the schema names the flag and suggests",
          "[overrides]") {
  CHECK(error_of(k_ha, {"cluster.zookeper=5"}) ==
        "--set cluster.zookeper: unknown key 'zookeper' in cluster (did you mean 'zookeeper'?)");
  CHECK(error_of(k_ha, {"clustr.agents=5"}) ==
        "--set clustr.agents: unknown key 'clustr' in the scenario (did you mean 'cluster'?)");
  CHECK(error_of(k_ha, {"cluster.timing.agent_ping_intervl=1s"}) ==
        "--set cluster.timing.agent_ping_intervl: unknown timing 'agent_ping_intervl' (did you "
        "mean 'agent_ping_interval'?)");
  CHECK(error_of(k_ha, {"cluster.mechanisms.resync=false"}) ==
        "--set cluster.mechanisms.resync: unknown mechanism 'resync' (valid: agent_resync, "
        "lock_fencing)");
  CHECK(
      error_of(k_ha, {"stacks.blog.services.web.scale=2"}) ==
      "--set stacks.blog.services.web.scale: no entry named 'blog' in 'stacks' (valid: wordpress)");
  CHECK(error_of(k_ha, {"faults.3.at=1s"}) ==
        "--set faults.3.at: 'faults' has 1 entries, so there is no index 3 (indices start at 0)");
  CHECK(error_of(k_ha, {"seed.value=1"}) ==
        "--set seed.value: 'seed' is '7', not a map: it has no 'value'");
}

TEST_CASE("overrides: --set values are validated like the file", "[overrides]") {
  CHECK(error_of(k_ha, {"cluster.agents=two"}) ==
        "--set cluster.agents: expected an integer for 'agents', got 'two'");
  CHECK(error_of(k_ha, {"duration=forever"}) ==
        "--set duration: bad duration 'forever': expected a number and a unit ns/us/ms/s/m/h, "
        "e.g. 90s");
  CHECK(
      error_of(k_ha, {"random_faults.crash.targets=zookeepr-*"}) ==
      "--set random_faults.crash.targets: unknown node 'zookeepr-*' (did you mean 'zookeeper-*'?)");
  CHECK(error_of(k_ha, {"cluster.network.latency={min: 1ms}"}) ==
        "--set cluster.network.latency: missing required key 'max' in latency");
  CHECK(error_of(k_ha, {"cluster.database.external=false"}) ==
        "t.yaml:5:12: HA mode (servers: 3) needs an external database: set "
        "cluster.database.external: true");
  CHECK(error_of(k_ha, {"cluster.servers=1"}) == "(no error)");
  // A value that breaks a reference in the file is reported where the file makes it.
  CHECK(error_of(k_ha, {"cluster.agents=1"}) ==
        "t.yaml:18:22: unknown node 'agent-2': the cluster has agent-1");
  CHECK(error_of(k_ha, {"duration=50s"}) ==
        "t.yaml:18:10: fault at 60s is beyond the scenario's duration 50s");
}

TEST_CASE("overrides: malformed --set flags", "[overrides]") {
  CHECK(error_of(k_ha, {"cluster.agents"}) ==
        "--set cluster.agents: expected KEY=VALUE with a dotted KEY, e.g. cluster.agents=3");
  CHECK(error_of(k_ha, {"=3"}) ==
        "--set =3: expected KEY=VALUE with a dotted KEY, e.g. cluster.agents=3");
  CHECK(error_of(k_ha, {"cluster..agents=3"}) ==
        "--set cluster..agents: empty part in the dotted path");
  CHECK_THAT(error_of(k_ha, {"cluster.agents=[1"}),
             Catch::StartsWith("--set cluster.agents: bad value '[1': "));
  CHECK(error_of(k_ha, {"cluster.agents="}) ==
        "--set cluster.agents: expected an integer for 'agents', got nothing");
}

TEST_CASE("later --set flags win, and the file's errors still name the file", "[overrides]") {
  CHECK(parse(k_ha, {"seed=4", "seed=5"}).seed == 5);
  CHECK(error_of("name: a\nduration: 1m\ncluster: {agents: x}\n", {"seed=2"}) ==
        "t.yaml:3:19: expected an integer for 'agents', got 'x'");
  CHECK(error_of("name: [\n", {"seed=2"}).rfind("t.yaml:", 0) == 0);
}
