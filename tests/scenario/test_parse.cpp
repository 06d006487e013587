// Happy paths: the docs/scenario-contract.md example, defaults, every form of every section and extension.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::error_of;
using stampede::test::parse;

namespace {

// The example of docs/scenario-contract.md, made consistent (it names server-2 and server-3 and faults at
// 320s and 400s, so it needs three servers, hence an external database, and more than 5m).
constexpr std::string_view k_example = R"(name: agent-partition            # required, [a-z0-9-]+
description: Cut agents off the server, kill a web container, heal.
seed: 1                          # default seed; --seed overrides
duration: 10m                    # required

cluster:
  servers: 3                     # 1 = single mode; more = HA mode (needs database.external: true)
  version: "1.1.1"               # server version on every node ...
  server_versions: {server-3: "1.1.2"}   # ... unless overridden per node
  database:
    external: true               # false: embedded in server-1
    max_connections: 151         # MySQL's limit
    pool_per_server: 50          # connections each server opens to it
  zookeeper: 3                   # ensemble size (HA default: one per server)
  redis: true                    # HA default: true
  agents: 2
  network:
    latency: 2ms                 # fixed, or {min: 1ms, max: 5ms}, or {mean: 2ms, dist: exponential}
    drop: 0.0                    # probability a message is lost
    duplicate: 0.0
  timing: {}                     # overrides of model defaults by name (the README lists each name
                                 # with its default and its source), e.g. agent_ping_interval: 5s

stacks:
  - name: wordpress
    services:
      - {name: db, scale: 1}
      - name: web
        scale: 2
        links: [db]              # web needs db to answer a request
        health_check: {interval: 2s, unhealthy_threshold: 3, healthy_threshold: 2}
    load_balancer: {name: lb, targets: [web]}

workload:
  - client: {target: wordpress/lb, rate: 20/s}

faults:                          # scripted, in time order
  - {at: 60s, partition: [[server-1], [agent-*]]}   # groups that cannot reach each other
  - {at: 90s, kill_container: wordpress/web/1}
  - {at: 150s, heal: all}
  - {at: 200s, crash: server-1}                     # process dies; volatile state lost
  - {at: 260s, restart: server-1}
  - {at: 300s, pause: {node: server-2, for: 30s}}   # a stop-the-world pause (GC, SIGSTOP)
  - {at: 320s, clock_skew: {node: server-2, by: 5s}}
  - {at: 400s, truncate: [service, network]}        # tables of the Cattle store

random_faults:                   # a seeded nemesis, on top of scripted faults
  crash: {targets: zookeeper-*, mttf: 10m, mttr: 1m}
  partition: {mtbf: 5m, duration: 30s}

expect:                          # each fails the run (exit 1) when it does not hold
  - {at: 100s, host_state: {host: agent-1, is: reconnecting}}
  - {during: [60s, 150s], availability: {target: wordpress/lb, at_least: 0.99}}
  - {at: 149s, running: {service: wordpress/web, count: 1}}
  - {by: 180s, running: {service: wordpress/web, count: 2}}
  - {always: lock.mutual_exclusion}   # a named invariant, checked after every step
  - {never: service.scale_exceeded}
  - {eventually: cluster.management_stack_started, by: 120s}
  - {log: {node: server-3, contains: "Too many connections"}, by: 60s}
)";

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string s(text);
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("the docs/scenario-contract.md example parses into the spec", "[parse]") {
  ScenarioSpec s = parse(k_example);
  CHECK(s.name == "agent-partition");
  CHECK(s.description == "Cut agents off the server, kill a web container, heal.");
  CHECK(s.seed == 1);
  CHECK(s.duration_ns == 10 * k_m);
  CHECK(s.source_file == "t.yaml");
  CHECK(s.source_text == k_example);

  const ClusterSpec& c = s.cluster;
  CHECK(c.servers == 3);
  CHECK(c.version == "1.1.1");
  CHECK(c.server_versions == std::map<std::string, std::string>{{"server-3", "1.1.2"}});
  CHECK(c.database.external);
  CHECK(c.database.max_connections == 151);
  CHECK(c.database.pool_per_server == 50);
  CHECK(c.zookeeper == 3);
  CHECK(c.redis);
  CHECK(c.agents == 2);
  CHECK(c.network.latency.kind == LatencySpec::Kind::fixed);
  CHECK(c.network.latency.fixed_ns == 2 * k_ms);
  CHECK(c.network.drop == 0.0);
  CHECK(c.network.duplicate == 0.0);
  CHECK(c.timing.empty());

  REQUIRE(s.stacks.size() == 1);
  const StackSpec& st = s.stacks[0];
  CHECK(st.name == "wordpress");
  REQUIRE(st.services.size() == 2);
  CHECK(st.services[0].name == "db");
  CHECK(st.services[0].scale == 1);
  CHECK_FALSE(st.services[0].health_check);
  CHECK(st.services[1].name == "web");
  CHECK(st.services[1].scale == 2);
  CHECK(st.services[1].links == std::vector<std::string>{"db"});
  REQUIRE(st.services[1].health_check);
  CHECK(st.services[1].health_check->interval_ns == 2 * k_s);
  CHECK(st.services[1].health_check->unhealthy_threshold == 3);
  CHECK(st.services[1].health_check->healthy_threshold == 2);
  REQUIRE(st.load_balancer);
  CHECK(st.load_balancer->name == "lb");
  CHECK(st.load_balancer->targets == std::vector<std::string>{"web"});

  REQUIRE(s.workload.size() == 1);
  CHECK(s.workload[0].target == "wordpress/lb");
  CHECK(s.workload[0].interval_ns == 50 * k_ms);
  CHECK(s.workload[0].pos.line == 35);
  CHECK(s.workload[0].pos.col == 5);

  REQUIRE(s.faults.size() == 8);
  const auto& f = s.faults;
  CHECK(f[0].kind == FaultKind::partition);
  CHECK(f[0].at_ns == 60 * k_s);
  CHECK(f[0].groups == std::vector<std::vector<std::string>>{{"server-1"}, {"agent-*"}});
  CHECK(f[0].pos.line == 38);
  CHECK(f[0].pos.col == 5);
  CHECK(f[0].pos.file == "t.yaml");
  CHECK(f[1].kind == FaultKind::kill_container);
  CHECK(f[1].container == "wordpress/web/1");
  CHECK(f[2].kind == FaultKind::heal);
  CHECK(f[3].kind == FaultKind::crash);
  CHECK(f[3].node == "server-1");
  CHECK(f[4].kind == FaultKind::restart);
  CHECK(f[4].node == "server-1");
  CHECK(f[4].at_ns == 260 * k_s);
  CHECK(f[5].kind == FaultKind::pause);
  CHECK(f[5].node == "server-2");
  CHECK(f[5].for_ns == 30 * k_s);
  CHECK(f[6].kind == FaultKind::clock_skew);
  CHECK(f[6].skew_ns == 5 * k_s);
  CHECK(f[7].kind == FaultKind::truncate);
  CHECK(f[7].tables == std::vector<std::string>{"service", "network"});

  REQUIRE(s.random_faults.crash);
  CHECK(s.random_faults.crash->targets == "zookeeper-*");
  CHECK(s.random_faults.crash->mttf_ns == 10 * k_m);
  CHECK(s.random_faults.crash->mttr_ns == k_m);
  REQUIRE(s.random_faults.partition);
  CHECK(s.random_faults.partition->mtbf_ns == 5 * k_m);
  CHECK(s.random_faults.partition->duration_ns == 30 * k_s);

  REQUIRE(s.expect.size() == 8);
  const auto& e = s.expect;
  CHECK(e[0].form == ExpectForm::at);
  CHECK(e[0].what == ExpectWhat::host_state);
  CHECK(e[0].at_ns == 100 * k_s);
  CHECK(e[0].subject == "agent-1");
  CHECK(e[0].value == "reconnecting");
  CHECK(e[0].text == "{at: 100s, host_state: {host: agent-1, is: reconnecting}}");
  CHECK(e[0].pos.line == 52);
  CHECK(e[0].pos.col == 5);

  CHECK(e[1].form == ExpectForm::during);
  CHECK(e[1].what == ExpectWhat::availability);
  CHECK(e[1].from_ns == 60 * k_s);
  CHECK(e[1].to_ns == 150 * k_s);
  CHECK(e[1].subject == "wordpress/lb");
  CHECK(e[1].at_least == 0.99);
  CHECK_FALSE(e[1].at_most);
  CHECK(e[1].text == "{during: [60s, 150s], availability: {target: wordpress/lb, at_least: 0.99}}");

  CHECK(e[2].form == ExpectForm::at);
  CHECK(e[2].what == ExpectWhat::running);
  CHECK(e[2].subject == "wordpress/web");
  CHECK(e[2].count == 1);
  CHECK(e[3].form == ExpectForm::by);
  CHECK(e[3].at_ns == 180 * k_s);
  CHECK(e[3].count == 2);

  CHECK(e[4].form == ExpectForm::always);
  CHECK(e[4].what == ExpectWhat::invariant);
  CHECK(e[4].subject == "lock.mutual_exclusion");
  CHECK_FALSE(e[4].negated);
  CHECK(e[5].form == ExpectForm::always);
  CHECK(e[5].what == ExpectWhat::invariant);
  CHECK(e[5].subject == "service.scale_exceeded");
  CHECK(e[5].negated);
  CHECK(e[5].text == "{never: service.scale_exceeded}");

  CHECK(e[6].form == ExpectForm::by);
  CHECK(e[6].what == ExpectWhat::eventually);
  CHECK(e[6].subject == "cluster.management_stack_started");
  CHECK(e[6].at_ns == 120 * k_s);

  CHECK(e[7].form == ExpectForm::by);
  CHECK(e[7].what == ExpectWhat::log);
  CHECK(e[7].subject == "server-3");
  CHECK(e[7].value == "Too many connections");
  CHECK(e[7].at_ns == 60 * k_s);
}

TEST_CASE("the example exactly as docs/scenario-contract.md prints it is inconsistent, and says so", "[parse]") {
  // With `servers: 1` the example names server-3 (and server-2); with `duration: 5m` it has
  // faults at 320s and 400s. Each is named with its position.
  std::string literal =
      replace(replace(k_example, "servers: 3", "servers: 1"), "external: true", "external: false");
  CHECK_THAT(error_of(literal), Catch::StartsWith("t.yaml:9:21: unknown server 'server-3' in "
                                                  "server_versions: the cluster has server-1"));
  std::string short_run = replace(k_example, "duration: 10m", "duration: 5m");
  CHECK_THAT(error_of(short_run),
             Catch::StartsWith("t.yaml:44:10: fault at 320s is beyond the scenario's duration 5m"));
}

TEST_CASE("defaults: single mode has no zookeeper and no redis, HA has both", "[parse]") {
  ScenarioSpec single = parse("name: a\nduration: 1m\n");
  CHECK(single.seed == 1);
  CHECK(single.cluster.servers == 1);
  CHECK(single.cluster.zookeeper == 0);
  CHECK_FALSE(single.cluster.redis);
  CHECK_FALSE(single.cluster.database.external);
  CHECK(single.cluster.agents == 2);
  CHECK(single.cluster.version == "1.1.1");
  CHECK(single.stacks.empty());
  CHECK(single.faults.empty());
  CHECK(single.expect.empty());

  ScenarioSpec ha =
      parse("name: a\nduration: 1m\ncluster: {servers: 3, database: {external: true}}\n");
  CHECK(ha.cluster.zookeeper == 3);
  CHECK(ha.cluster.redis);

  ScenarioSpec chosen = parse(
      "name: a\nduration: 1m\ncluster: {servers: 2, zookeeper: 5, redis: false, "
      "database: {external: true}}\n");
  CHECK(chosen.cluster.zookeeper == 5);
  CHECK_FALSE(chosen.cluster.redis);
}

TEST_CASE("defaults: HA has one Redis per cluster slot and redis takes true or false or a count",
          "[parse]") {
  auto redis_of = [](std::string_view cluster) {
    return parse(
               fmt::format("name: a\nduration: 1m\ncluster: {{database: {{external: true}}, {}}}\n",
                           cluster))
        .cluster.redis;
  };
  CHECK(redis_of("servers: 3") == 3);
  CHECK(redis_of("servers: 3, redis: true") == 3);
  CHECK(redis_of("servers: 5, cluster_size: 3") == 3);
  CHECK(redis_of("servers: 3, redis: 2") == 2);
  CHECK(redis_of("servers: 3, redis: 0") == 0);
  CHECK(redis_of("servers: 3, redis: false") == 0);
  ScenarioSpec s = parse(
      "name: a\nduration: 1m\ncluster: {servers: 3, database: {external: true}}\n"
      "faults:\n  - {at: 1s, crash: redis-3}\n");
  CHECK(s.faults.size() == 1);
}

TEST_CASE("empty sections and a key with no value are accepted as absent", "[parse]") {
  ScenarioSpec s = parse(
      "name: a\nduration: 1m\ncluster:\nstacks:\nworkload: []\nfaults:\nexpect:\n"
      "random_faults:\n");
  CHECK(s.stacks.empty());
  CHECK(s.faults.empty());
}

TEST_CASE("network latency in its three forms", "[parse]") {
  auto latency = [](std::string_view l) {
    return parse("name: a\nduration: 1m\ncluster:\n  network:\n    latency: " + std::string(l) +
                 "\n")
        .cluster.network.latency;
  };
  LatencySpec fixed = latency("7ms");
  CHECK(fixed.kind == LatencySpec::Kind::fixed);
  CHECK(fixed.fixed_ns == 7 * k_ms);
  LatencySpec uniform = latency("{min: 1ms, max: 5ms}");
  CHECK(uniform.kind == LatencySpec::Kind::uniform);
  CHECK(uniform.min_ns == k_ms);
  CHECK(uniform.max_ns == 5 * k_ms);
  CHECK(latency("{min: 1ms, max: 5ms, dist: uniform}").kind == LatencySpec::Kind::uniform);
  LatencySpec expo = latency("{mean: 2ms, dist: exponential}");
  CHECK(expo.kind == LatencySpec::Kind::exponential);
  CHECK(expo.mean_ns == 2 * k_ms);
  CHECK(latency("{mean: 3ms}").mean_ns == 3 * k_ms);

  ScenarioSpec s = parse("name: a\nduration: 1m\ncluster: {network: {drop: 0.25, duplicate: 1}}\n");
  CHECK(s.cluster.network.drop == 0.25);
  CHECK(s.cluster.network.duplicate == 1.0);
}

TEST_CASE("timings by registered name, in the registered unit, mechanisms as switches",
          "[parse][extension]") {
  ScenarioSpec s = parse(R"(name: a
duration: 1m
cluster:
  timing: {agent_ping_interval: 1.5s, agent_ping_misses: 4}
  mechanisms: {agent_resync: false, lock_fencing: true}
)");
  CHECK(s.cluster.timing == std::map<std::string, std::int64_t>{
                                {"agent_ping_interval", 1'500 * k_ms}, {"agent_ping_misses", 4}});
  CHECK(s.cluster.mechanisms ==
        std::map<std::string, bool>{{"agent_resync", false}, {"lock_fencing", true}});
}

TEST_CASE("extensions: power_off and power_on take a node pattern", "[parse][extension]") {
  ScenarioSpec s = parse(test::tiny_with(R"(faults:
  - {at: 10s, power_off: agent-*}
  - {at: 20s, power_on: agent-1}
)"));
  REQUIRE(s.faults.size() == 2);
  CHECK(s.faults[0].kind == FaultKind::power_off);
  CHECK(s.faults[0].node == "agent-*");
  CHECK(s.faults[1].kind == FaultKind::power_on);
  CHECK(s.faults[1].node == "agent-1");
}

TEST_CASE("extensions: one-way partition, availability at_most, events over the whole run",
          "[parse][extension]") {
  ScenarioSpec s = parse(test::tiny_with(R"(faults:
  - {at: 10s, partition: {from: [server-1], to: [agent-1, agent-2]}}
  - {at: 10s, partition: {from: server-1, to: agent-*}}
  - {at: 20s, partition: [[server-1], [agent-1], [agent-2, client-1]]}
  - {at: 20s, clock_skew: {node: agent-*, by: -5s}}
expect:
  - {during: [10s, 20s], availability: {target: wordpress/lb, at_most: 0.5}}
  - {availability: {target: wordpress/lb, at_least: 0.1, at_most: 0.9}}
  - {by: 30s, availability: {target: wordpress/lb, at_least: 0.1}}
  - {eventually: cluster.management_stack_started}
  - {log: {node: all, contains: "x: y"}}
  - {during: [0s, 60s], host_state: {host: agent-2, is: active}}
)"));
  REQUIRE(s.faults.size() == 4);
  CHECK(s.faults[0].kind == FaultKind::partition_oneway);
  CHECK(s.faults[0].groups ==
        std::vector<std::vector<std::string>>{{"server-1"}, {"agent-1", "agent-2"}});
  CHECK(s.faults[1].kind == FaultKind::partition_oneway);
  CHECK(s.faults[1].groups == std::vector<std::vector<std::string>>{{"server-1"}, {"agent-*"}});
  CHECK(s.faults[2].groups.size() == 3);
  CHECK(s.faults[3].skew_ns == -5 * k_s);

  REQUIRE(s.expect.size() == 6);
  CHECK_FALSE(s.expect[0].at_least);
  CHECK(s.expect[0].at_most == 0.5);
  CHECK(s.expect[1].form == ExpectForm::always);  // the whole run
  CHECK(s.expect[1].at_least == 0.1);
  CHECK(s.expect[1].at_most == 0.9);
  CHECK(s.expect[2].form == ExpectForm::by);
  CHECK(s.expect[3].form == ExpectForm::always);
  CHECK(s.expect[3].what == ExpectWhat::eventually);
  CHECK(s.expect[4].form == ExpectForm::always);
  CHECK(s.expect[4].subject == "all");
  CHECK(s.expect[4].value == "x: y");
  CHECK(s.expect[4].text == R"({log: {node: all, contains: "x: y"}})");
  CHECK(s.expect[5].form == ExpectForm::during);
}

TEST_CASE("every node name and pattern of docs/scenario-contract.md is accepted where a node is expected",
          "[parse]") {
  std::string yaml = R"(name: a
duration: 1m
cluster: {servers: 2, agents: 3, zookeeper: 3, redis: true, database: {external: true}}
stacks:
  - name: app
    services: [{name: web, scale: 1}]
    load_balancer: {name: front, targets: [web]}
workload:
  - client: {target: app/front}
  - client: {target: app/front, rate: 3/m}
faults:
)";
  for (const char* node :
       {"server-1", "server-2", "agent-3", "zookeeper-3", "redis-1", "db", "app/front", "client-2",
        "agent-*", "server-*", "zookeeper-*", "client-*", "all"})
    yaml += std::string("  - {at: 1s, crash: ") + node + "}\n";
  ScenarioSpec s = parse(yaml);
  CHECK(s.faults.size() == 13);
  CHECK(s.workload[0].interval_ns == k_s);  // no rate: one request a second
  CHECK(s.workload[1].interval_ns == 20 * k_s);
}

TEST_CASE("a block-style expectation is rendered on one line", "[parse]") {
  ScenarioSpec s = parse(test::tiny_with(R"(expect:
  - at: 30s
    running:
      service: wordpress/web
      count: 2
)"));
  REQUIRE(s.expect.size() == 1);
  CHECK(s.expect[0].text == "{at: 30s, running: {service: wordpress/web, count: 2}}");
  CHECK(s.expect[0].pos.line == 14);
  CHECK(s.expect[0].pos.col == 5);
}

TEST_CASE("load_scenario reads a file and names it in errors", "[parse]") {
  auto dir = std::filesystem::temp_directory_path() /
             ("stampede-scenario-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string good = (dir / "good.yaml").string();
  std::ofstream(good) << test::k_tiny;
  ScenarioSpec s = load_scenario(good, test::registry());
  CHECK(s.name == "tiny");
  CHECK(s.source_file == good);
  CHECK(s.source_text == test::k_tiny);

  std::string bad = (dir / "bad.yaml").string();
  std::ofstream(bad) << "name: x\nduration: soon\n";
  CHECK_THROWS_WITH(load_scenario(bad, test::registry()),
                    bad +
                        ":2:11: bad duration 'soon': expected a number and a unit "
                        "ns/us/ms/s/m/h, e.g. 90s");
  CHECK_THROWS_WITH(load_scenario("/nonexistent/nothing.yaml", test::registry()),
                    Catch::StartsWith("/nonexistent/nothing.yaml:1:1: "));
  CHECK_THROWS_WITH(load_scenario(dir.string(), test::registry()),
                    Catch::StartsWith(dir.string() + ":1:1: "));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cluster.platform_hosts maps nodes to SimGrid hosts with their positions", "[parse]") {
  ScenarioSpec s =
      parse("name: a\nduration: 1m\ncluster:\n  platform_hosts: {server-1: a-1, agent-2: b-1}\n");
  REQUIRE(s.cluster.platform_hosts.size() == 2);
  CHECK(s.cluster.platform_hosts.at("server-1").host == "a-1");
  CHECK(s.cluster.platform_hosts.at("agent-2").host == "b-1");
  CHECK(s.cluster.platform_hosts.at("agent-2").pos.line == 4);
  CHECK(s.cluster.platform_hosts.at("agent-2").key_pos.col == 35);  // 1-based, at the "a" of agent-2
  CHECK(error_of("name: a\nduration: 1m\ncluster:\n  platform_hosts: [a-1]\n").find("t.yaml:4:") ==
        0);
}
