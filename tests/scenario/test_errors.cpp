// Every class of bad input: one line, "t.yaml:LINE:COL: message", the position 1-based and
// pointing at the offending key or value. Never a crash, never another exception type.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::ha;
using stampede::test::require_error;
using Catch::Contains;
using Catch::StartsWith;
using stampede::test::error_of;
using stampede::test::tiny_with;

TEST_CASE("the small base scenario is valid", "[errors]") {
  CHECK(error_of(test::k_tiny) == "(no error)");
}

TEST_CASE("malformed YAML is one line with the parser's position", "[errors]") {
  require_error(error_of("name: a\nduration: 1m\nstacks: [{name: a\n"),
                "t.yaml:4:1: ", "malformed YAML");
  require_error(error_of("name: a\n  duration: 1m\n"), "t.yaml:2:11: ", "malformed YAML");
  require_error(error_of("name: [a\n"), "t.yaml:", "malformed YAML");
  require_error(error_of("a: *nowhere\n"), "t.yaml:1:4: ", "the referenced anchor is not defined");
}

TEST_CASE("the top level must be a map with name and duration", "[errors]") {
  require_error(error_of(""), "t.yaml:1:1: ", "expected a map for the scenario, got nothing");
  require_error(error_of("- a\n- b\n"),
                "t.yaml:1:1: ", "expected a map for the scenario, got a list");
  require_error(error_of("duration: 1m\n"),
                "t.yaml:1:1: ", "missing required key 'name' in the scenario");
  require_error(error_of("name: a\n"),
                "t.yaml:1:1: ", "missing required key 'duration' in the scenario");
  require_error(error_of("name: a\nduration: 1m\nnmae: b\n"),
                "t.yaml:3:1: ", "unknown key 'nmae' in the scenario (did you mean 'name'?)");
  require_error(error_of("name: a\nduration: 1m\nname: b\n"),
                "t.yaml:3:1: ", "duplicate key 'name' in the scenario");
  require_error(error_of("name: a\nduration: 1m\nfrobnicate: b\n"), "t.yaml:3:1: ",
                "unknown key 'frobnicate' in the scenario (valid keys: name, description, seed");
}

TEST_CASE("names match [a-z0-9-]+", "[errors]") {
  require_error(error_of("name: Agent_Partition\nduration: 1m\n"), "t.yaml:1:7: ",
                "bad name 'Agent_Partition': expected lowercase letters, digits and '-'");
  require_error(error_of("name: ''\nduration: 1m\n"), "t.yaml:1:7: ", "bad name ''");
  std::string bad_stack(test::k_tiny);
  bad_stack.replace(bad_stack.find("name: wordpress"), 15, "name: word/press");
  require_error(error_of(bad_stack), "t.yaml:6:11: ", "bad name 'word/press'");
}

TEST_CASE("an unknown key is named with its context and the nearest valid key", "[errors]") {
  require_error(error_of("name: a\nduration: 1m\nstacks:\n  - name: s\n    services:\n"
                         "      - {name: web, scle: 2}\n"),
                "t.yaml:6:21: ", "unknown key 'scle' in service (did you mean 'scale'?)");
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  agnets: 2\n"),
                "t.yaml:4:3: ", "unknown key 'agnets' in cluster (did you mean 'agents'?)");
  require_error(error_of("name: a\nduration: 1m\ncluster: {database: {extrenal: true}}\n"),
                "t.yaml:3:22: ", "unknown key 'extrenal' in database (did you mean 'external'?)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crsh: server-1}\n")),
                "t.yaml:14:14: ", "unknown key 'crsh' in fault (did you mean 'crash'?)");
  require_error(
      error_of(tiny_with("expect:\n  - {at: 1s, runing: {service: wordpress/web, count: 1}}\n")),
      "t.yaml:14:14: ", "unknown key 'runing' in expectation (did you mean 'running'?)");
  require_error(
      error_of(tiny_with("random_faults: {crash: {targets: all, mtf: 1m, mttr: 1m}}\n")),
      "t.yaml:13:39: ", "unknown key 'mtf' in random_faults.crash (did you mean 'mttf'?)");
}

TEST_CASE("a value of the wrong type is named with what was expected", "[errors]") {
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  agents: two\n"),
                "t.yaml:4:11: ", "expected an integer for 'agents', got 'two'");
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  agents: [1]\n"),
                "t.yaml:4:11: ", "expected an integer for 'agents', got a list");
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  agents:\n"),
                "t.yaml:4:3: ", "expected an integer for 'agents', got nothing");
  require_error(error_of("name: a\nduration: 1m\ncluster: {redis: maybe}\n"),
                "t.yaml:3:18: ", "expected true or false for 'redis', got 'maybe'");
  require_error(error_of("name: a\nduration: 1m\ncluster: 3\n"),
                "t.yaml:3:10: ", "expected a map for 'cluster', got '3'");
  require_error(error_of("name: a\nduration: 1m\nseed: -1\n"),
                "t.yaml:3:7: ", "expected a non-negative integer for 'seed', got '-1'");
  require_error(error_of("name: a\nduration: 1m\ncluster: {network: {drop: lots}}\n"),
                "t.yaml:3:27: ", "expected a number for 'drop', got 'lots'");
  require_error(error_of("name: a\nduration: 1m\nstacks: {name: x}\n"),
                "t.yaml:3:9: ", "expected a list for 'stacks', got a map");
  require_error(error_of("name: a\nduration: 1m\nstacks: [web]\n"),
                "t.yaml:3:10: ", "expected a map for each stack, got 'web'");
  require_error(error_of("name: a\nduration: 1m\ncluster: {version: {x: 1}}\n"),
                "t.yaml:3:20: ", "expected a string for 'version', got a map");
}

TEST_CASE("bad durations and rates quote the text and what was expected", "[errors]") {
  require_error(error_of("name: a\nduration: 90 secs\n"), "t.yaml:2:11: ",
                "bad duration '90 secs': expected a number and a unit ns/us/ms/s/m/h, e.g. 90s");
  require_error(error_of("name: a\nduration: 0s\n"),
                "t.yaml:2:11: ", "'duration' must be a duration above zero, got '0s'");
  require_error(error_of("name: a\nduration: 1m\ncluster: {network: {latency: -1ms}}\n"),
                "t.yaml:3:30: ", "'latency' must not be negative, got '-1ms'");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, pause: {node: server-1, for: 0s}}\n")),
                "t.yaml:14:43: ", "'for' must be a duration above zero");
  std::string bad_rate(test::k_tiny);
  bad_rate.replace(bad_rate.find("5/s"), 3, "5/fortnight");
  require_error(error_of(bad_rate), "t.yaml:12:42: ",
                "bad rate '5/fortnight': expected a count per unit ns/us/ms/s/m/h, e.g. 20/s");
}

TEST_CASE("unknown node names in faults and expectations", "[errors]") {
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: server-9}\n")),
                "t.yaml:14:21: ", "unknown node 'server-9': the cluster has server-1");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, power_off: server-2}\n")),
                "t.yaml:14:25: ", "unknown node 'server-2': the cluster has server-1");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, restart: agent-3}\n")),
                "t.yaml:14:23: ", "unknown node 'agent-3': the cluster has agent-1..agent-2");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: zookeeper-1}\n")),
                "t.yaml:14:21: ", "unknown node 'zookeeper-1': the cluster has no zookeeper");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: zkclient-1}\n")),
                "t.yaml:14:21: ", "unknown node 'zkclient-1': the scenario has no ZooKeeper lock "
                "clients (set cluster.timing.zk_lock_clients)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: dbclient-1}\n")),
                "t.yaml:14:21: ", "unknown node 'dbclient-1': the scenario has no db clients");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: zkprobe}\n")),
                "t.yaml:14:21: ", "unknown node 'zkprobe': the scenario has no ZooKeeper probe");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: redis-1}\n")),
                "t.yaml:14:21: ", "the cluster has no redis");
  // HA: one Redis per server by default, so redis-4 of three servers is unknown.
  require_error(error_of(ha("", "faults:\n  - {at: 1s, crash: redis-4}\n")),
                "t.yaml:7:21: ", "unknown node 'redis-4': the cluster has redis-1..redis-3");
  require_error(error_of(ha("  redis: maybe\n")), "t.yaml:6:10: ",
                "expected true or false for 'redis', got 'maybe' (or a number of Redis servers");
  require_error(error_of(ha("  redis: 1001\n")),
                "t.yaml:6:10: ", "'redis' must be at most 1000, got 1001");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: db}\n")),
                "t.yaml:14:21: ", "unknown node 'db': the database is embedded in server-1");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: client-2}\n")),
                "t.yaml:14:21: ", "unknown node 'client-2': the cluster has client-1");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: agnet-1}\n")),
                "t.yaml:14:21: ", "unknown node 'agnet-1' (did you mean 'agent-1'?)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: wordpress/lbb}\n")),
                "t.yaml:14:21: ", "unknown node 'wordpress/lbb' (did you mean 'wordpress/lb'?)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: frobnicator}\n")),
                "t.yaml:14:21: ",
                "unknown node 'frobnicator' (nodes: server-1, agent-1..agent-2, wordpress/lb, "
                "client-1; patterns: server-*, agent-*, zookeeper-*, client-*, all)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: redis-*}\n")),
                "t.yaml:14:21: ", "unknown node 'redis-*'");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, partition: [[server-1], [agent-4]]}\n")),
                "t.yaml:14:39: ", "unknown node 'agent-4'");
  require_error(
      error_of(tiny_with("faults:\n  - {at: 1s, partition: {from: [server-2], to: all}}\n")),
      "t.yaml:14:33: ", "unknown node 'server-2'");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, pause: {node: agent-0, for: 1s}}\n")),
                "t.yaml:14:28: ", "unknown node 'agent-0'");
  require_error(
      error_of(tiny_with("random_faults: {crash: {targets: agents-*, mttf: 1m, mttr: 1m}}\n")),
      "t.yaml:13:34: ", "unknown node 'agents-*' (did you mean 'agent-*'?)");
  require_error(
      error_of(tiny_with("expect:\n  - {at: 1s, host_state: {host: server-1, is: active}}\n")),
      "t.yaml:14:33: ", "unknown host 'server-1': hosts are the agents, agent-1..agent-2");
  require_error(error_of(tiny_with("expect:\n  - {log: {node: server-2, contains: x}, by: 1s}\n")),
                "t.yaml:14:18: ", "unknown node 'server-2'");
}

TEST_CASE("unknown containers, stacks and services", "[errors]") {
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, kill_container: wordpress/web/3}\n")),
                "t.yaml:14:30: ",
                "unknown container 'wordpress/web/3': wordpress/web has scale 2 (containers "
                "wordpress/web/1..2)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, kill_container: wordpress/web/0}\n")),
                "t.yaml:14:30: ", "unknown container 'wordpress/web/0'");
  require_error(
      error_of(tiny_with("faults:\n  - {at: 1s, kill_container: wordpres/web/1}\n")),
      "t.yaml:14:30: ", "unknown stack 'wordpres' in 'wordpres/web/1' (did you mean 'wordpress'?)");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, kill_container: wordpress/weeb/1}\n")),
                "t.yaml:14:30: ",
                "unknown service 'weeb' in container 'wordpress/weeb/1' (did you mean 'web'?)");
  require_error(
      error_of(tiny_with("faults:\n  - {at: 1s, kill_container: wordpress/web}\n")),
      "t.yaml:14:30: ", "bad container name 'wordpress/web': expected STACK/SERVICE/INDEX");
  require_error(
      error_of(tiny_with("expect:\n  - {at: 1s, running: {service: wordpress/wbe, count: 1}}\n")),
      "t.yaml:14:33: ", "unknown service 'wbe' in 'wordpress/wbe' (did you mean 'web'?)");
  require_error(
      error_of(tiny_with("expect:\n  - {at: 1s, running: {service: blog/web, count: 1}}\n")),
      "t.yaml:14:33: ", "unknown stack 'blog' in 'blog/web'");
  require_error(
      error_of(tiny_with("expect:\n  - {during: [1s, 2s], availability: {target: wordpress/web, "
                         "at_least: 0.9}}\n")),
      "t.yaml:14:47: ", "unknown load balancer 'wordpress/web' (did you mean 'wordpress/lb'?)");

  std::string bad_link(test::k_tiny);
  bad_link.replace(bad_link.find("links: [db]"), 11, "links: [dbb]");
  require_error(error_of(bad_link), "t.yaml:9:39: ",
                "unknown service 'dbb' in links of stack 'wordpress' (did you mean 'db'?)");
  std::string bad_target(test::k_tiny);
  bad_target.replace(bad_target.find("targets: [web]"), 14, "targets: [webb]");
  require_error(error_of(bad_target), "t.yaml:10:41: ",
                "unknown service 'webb' in targets of stack 'wordpress' (did you mean 'web'?)");
  std::string bad_client(test::k_tiny);
  bad_client.replace(bad_client.find("target: wordpress/lb"), 20, "target: wordpress/lbx");
  require_error(error_of(bad_client), "t.yaml:12:22: ",
                "unknown load balancer 'wordpress/lbx' (did you mean 'wordpress/lb'?)");
  require_error(
      error_of(
          "name: a\nduration: 1m\nstacks:\n  - name: s\n    services: [{name: a}, {name: a}]\n"),
      "t.yaml:5:34: ", "duplicate service 'a' in stack 's'");
  require_error(error_of("name: a\nduration: 1m\nstacks: [{name: s}, {name: s}]\n"),
                "t.yaml:3:28: ", "duplicate stack 's'");
}

TEST_CASE("names from the registry: timings, mechanisms, invariants, signals", "[errors]") {
  require_error(
      error_of("name: a\nduration: 1m\ncluster:\n  timing: {agent_ping_intervl: 5s}\n"),
      "t.yaml:4:12: ", "unknown timing 'agent_ping_intervl' (did you mean 'agent_ping_interval'?)");
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  timing: {agent_ping_misses: 2s}\n"),
                "t.yaml:4:31: ", "expected an integer for 'agent_ping_misses', got '2s'");
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  timing: {lock_timeout: 30}\n"),
                "t.yaml:4:26: ", "bad duration '30'");
  require_error(error_of("name: a\nduration: 1m\ncluster:\n  mechanisms: {agent_resink: false}\n"),
                "t.yaml:4:16: ", "unknown mechanism 'agent_resink' (did you mean 'agent_resync'?)");
  require_error(
      error_of("name: a\nduration: 1m\ncluster:\n  mechanisms: {agent_resync: off-ish}\n"),
      "t.yaml:4:30: ", "expected true or false for 'agent_resync', got 'off-ish'");
  require_error(error_of("name: a\nduration: 1m\nexpect:\n  - {always: lock.mutual_exclusio}\n"),
                "t.yaml:4:14: ",
                "unknown invariant 'lock.mutual_exclusio' (did you mean 'lock.mutual_exclusion'?)");
  require_error(
      error_of("name: a\nduration: 1m\nexpect:\n  - {never: nothing.at.all}\n"), "t.yaml:4:13: ",
      "unknown invariant 'nothing.at.all' (valid: lock.mutual_exclusion, service.scale_exceeded)");
  require_error(
      error_of("name: a\nduration: 1m\nexpect:\n  - {eventually: cluster.started, by: 10s}\n"),
      "t.yaml:4:18: ", "unknown signal 'cluster.started'");
}

TEST_CASE("fault times: within the duration, in order", "[errors]") {
  require_error(error_of(tiny_with("faults:\n  - {at: 61s, crash: server-1}\n")),
                "t.yaml:14:10: ", "fault at 61s is beyond the scenario's duration 1m");
  CHECK(error_of(tiny_with("faults:\n  - {at: 60s, crash: server-1}\n")) == "(no error)");
  require_error(
      error_of(tiny_with("faults:\n  - {at: 30s, crash: server-1}\n"
                         "  - {at: 30s, restart: server-1}\n"
                         "  - {at: 20s, heal: all}\n")),
      "t.yaml:16:10: ", "faults must be in time order: this one at 20s follows one at 30s");
  require_error(error_of(tiny_with("faults:\n  - {crash: server-1}\n")),
                "t.yaml:14:5: ", "missing required key 'at' in fault");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s}\n")),
                "t.yaml:14:5: ", "a fault needs one of partition, kill_container, heal, crash");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, crash: server-1, restart: server-1}\n")),
                "t.yaml:14:31: ", "a fault does one thing, got both 'crash' and 'restart'");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, heal: agent-1}\n")),
                "t.yaml:14:20: ", "heal takes 'all', got 'agent-1'");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, partition: [[server-1]]}\n")),
                "t.yaml:14:25: ", "a partition needs at least two groups");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, partition: [[agent-1], [agent-1]]}\n")),
                "t.yaml:14:25: ", "'agent-1' is in two groups of the partition");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, partition: {from: [server-1]}}\n")),
                "t.yaml:14:25: ", "missing required key 'to' in partition");
  require_error(error_of(tiny_with("faults:\n  - {at: 1s, truncate: [Service]}\n")),
                "t.yaml:14:25: ", "bad table name 'Service'");
}

TEST_CASE("counts and probabilities in range", "[errors]") {
  require_error(
      error_of("name: a\nduration: 1m\nstacks: [{name: s, services: [{name: w, scale: -1}]}]\n"),
      "t.yaml:3:48: ", "'scale' must not be negative, got -1");
  require_error(error_of("name: a\nduration: 1m\ncluster: {servers: 0}\n"),
                "t.yaml:3:20: ", "'servers' must be at least 1, got 0");
  require_error(error_of("name: a\nduration: 1m\ncluster: {network: {drop: 1.5}}\n"),
                "t.yaml:3:27: ", "'drop' is a probability between 0 and 1, got 1.5");
  require_error(error_of("name: a\nduration: 1m\ncluster: {network: {duplicate: -0.1}}\n"),
                "t.yaml:3:32: ", "'duplicate' is a probability between 0 and 1, got -0.1");
  require_error(
      error_of(tiny_with("expect:\n  - {availability: {target: wordpress/lb, at_least: 99}}\n")),
      "t.yaml:14:53: ", "'at_least' is a probability between 0 and 1, got 99");
  require_error(
      error_of("name: a\nduration: 1m\ncluster: {network: {latency: {min: 5ms, max: 1ms}}}\n"),
      "t.yaml:3:46: ", "latency max 1ms is below min 5ms");
  require_error(
      error_of("name: a\nduration: 1m\ncluster: {network: {latency: {mean: 5ms, dist: normal}}}\n"),
      "t.yaml:3:48: ", "unknown latency distribution 'normal'");
}

TEST_CASE("HA mode needs an external database", "[errors]") {
  require_error(
      error_of("name: a\nduration: 1m\ncluster:\n  servers: 3\n"), "t.yaml:4:12: ",
      "HA mode (servers: 3) needs an external database: set cluster.database.external: true");
  require_error(
      error_of("name: a\nduration: 1m\ncluster: {servers: 2, server_versions: {server-3: x}}\n"),
      "t.yaml:3:20: ", "HA mode (servers: 2)");
}

TEST_CASE("expectations: one thing, one time, inside the run", "[errors]") {
  auto expect = [](std::string_view line) {
    return error_of(tiny_with("expect:\n  - " + std::string(line) + "\n"));
  };
  require_error(expect("{at: 1s}"),
                "t.yaml:14:5: ", "an expectation needs one of host_state, running");
  require_error(expect("{at: 1s, always: lock.mutual_exclusion}"), "t.yaml:14:6: ",
                "'always' is checked after every step of the whole run: it takes no 'at'");
  require_error(expect("{at: 1s, by: 2s, running: {service: wordpress/web, count: 1}}"),
                "t.yaml:14:14: ", "an expectation has one time, got both 'at' and 'by'");
  require_error(
      expect("{running: {service: wordpress/web, count: 1}, log: {node: all, contains: x}}"),
      "t.yaml:14:51: ", "an expectation checks one thing, got both 'running' and 'log'");
  require_error(expect("{running: {service: wordpress/web, count: 1}}"),
                "t.yaml:14:5: ", "a running expectation needs a time: at, during or by");
  require_error(expect("{at: 61s, running: {service: wordpress/web, count: 1}}"),
                "t.yaml:14:10: ", "'at: 61s' is beyond the scenario's duration 1m");
  require_error(expect("{during: [30s, 10s], running: {service: wordpress/web, count: 1}}"),
                "t.yaml:14:20: ", "the window ends (10s) before it starts (30s)");
  require_error(expect("{during: 10s, running: {service: wordpress/web, count: 1}}"),
                "t.yaml:14:14: ", "expected [FROM, TO] for 'during', got '10s'");
  require_error(expect("{at: 1s, eventually: cluster.management_stack_started}"),
                "t.yaml:14:6: ", "'eventually' is an event: it takes 'by', not 'at'");
  require_error(expect("{at: 1s, availability: {target: wordpress/lb, at_least: 0.5}}"),
                "t.yaml:14:6: ", "availability is measured over a window");
  require_error(expect("{availability: {target: wordpress/lb}}"),
                "t.yaml:14:20: ", "availability needs at_least or at_most");
  require_error(expect("{availability: {target: wordpress/lb, at_least: 0.9, at_most: 0.5}}"),
                "t.yaml:14:67: ", "availability at_most is below at_least");
  require_error(expect("{at: 1s, host_state: {host: agent-1, is: reconecting}}"), "t.yaml:14:46: ",
                "unknown host state 'reconecting' (did you mean 'reconnecting'?)");
  require_error(expect("{at: 1s, running: {service: wordpress/web}}"),
                "t.yaml:14:23: ", "missing required key 'count' in running");
  require_error(expect("{log: {node: all, contains: ''}}"),
                "t.yaml:14:33: ", "'contains' needs some text to look for");
}

TEST_CASE("availability of a target no client sends requests to is caught", "[errors]") {
  std::string no_client =
      "name: a\nduration: 1m\nstacks:\n  - name: s\n    services: [{name: w}]\n"
      "    load_balancer: {name: lb, targets: [w]}\n"
      "expect:\n  - {availability: {target: s/lb, at_least: 0.5}}\n";
  require_error(error_of(no_client),
                "t.yaml:8:29: ", "no client sends requests to 's/lb': add one under workload");
}

TEST_CASE("the CLI's bad-input fixtures fail with the expected lines", "[errors]") {
  auto load_error = [](const std::string& name) {
    std::string path = std::string(CLI_FIXTURES) + "/" + name;
    try {
      load_scenario(path, test::registry());
    } catch (const InputError& e) {
      std::string what = e.what();
      return what.substr(path.size());
    }
    return std::string("(no error)");
  };
  CHECK(load_error("valid.yaml") == "(no error)");
  CHECK_THAT(load_error("malformed.yaml"),
             StartsWith(":13:3: malformed YAML: illegal block entry"));
  CHECK(load_error("unknown-key.yaml") ==
        ":5:3: unknown key 'agnets' in cluster (did you mean 'agents'?)");
  CHECK(load_error("wrong-type.yaml") == ":5:11: expected an integer for 'agents', got 'two'");
  CHECK(load_error("bad-duration.yaml") ==
        ":3:11: bad duration '30 secs': expected a number and a unit ns/us/ms/s/m/h, e.g. 90s");
  CHECK(
      load_error("bad-rate.yaml") ==
      ":13:42: bad rate '5/fortnight': expected a count per unit ns/us/ms/s/m/h, e.g. 20/s or 3/m");
  CHECK(load_error("unknown-node.yaml") ==
        ":17:22: unknown node 'server-9': the cluster has server-1");
  CHECK_THAT(load_error("unknown-container.yaml"),
             StartsWith(":17:31: unknown container 'wordpress/web/3'"));
}

TEST_CASE("odd YAML never escapes as anything but an InputError", "[errors]") {
  const char* inputs[] = {
      "name: a\nduration: 1m\n? [complex, key]\n: v\n",
      "name: a\nduration: 1m\ncluster: {? [x]: 1}\n",
      "name: a\nduration: 1m\ncluster: {timing: [1, 2]}\n",
      "name: a\nduration: 1m\ncluster: {timing: {[x]: 1}}\n",
      "name: a\nduration: 1m\nexpect: [[1, 2]]\n",
      "name: a\nduration: 1m\nexpect: [{during: [], running: {service: a/b, count: 1}}]\n",
      "name: !!binary aGVsbG8=\nduration: 1m\n",
      "&a name: b\n",
      "name: a\nduration: 1m\nfaults: [{at: 1s, partition: [[], []]}]\n",
      "name: a\nduration: 1m\nfaults: [{at: 1s, partition: 3}]\n",
      "name: a\nduration: 1m\nfaults: [{at: 1s, truncate: []}]\n",
      "name: a\nduration: 1m\nfaults: [{at: 1s, crash: [server-1]}]\n",
      "name: a\nduration: 1m\nstacks: [{name: s, load_balancer: {name: lb, targets: []}}]\n",
      "\t\n",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
  };
  for (const char* in : inputs) {
    INFO(in);
    std::string err;
    CHECK_NOTHROW(err = error_of(in));
    CHECK_THAT(err, StartsWith("t.yaml:"));
    CHECK(err.find('\n') == std::string::npos);
  }
}

TEST_CASE("API clients: `- api: {rate}` parses, and its errors are one line", "[errors]") {
  std::string ok = "name: a\nduration: 1m\nworkload:\n  - api: {rate: 2/s}\nexpect:\n"
                   "  - {during: [1s, 2s], availability: {target: api, at_least: 0.9}}\n";
  CHECK(error_of(ok) == "(no error)");
  require_error(error_of("name: a\nduration: 1m\nworkload:\n  - api: {rate: 2/s, target: x}\n"),
                "t.yaml:4:22: ", "unknown key 'target' in api (valid keys: rate)");
  require_error(error_of("name: a\nduration: 1m\nworkload:\n  - api: {rate: fast}\n"),
                "t.yaml:4:17: ", "rate");
  require_error(error_of("name: a\nduration: 1m\nworkload:\n  - apl: {rate: 2/s}\n"),
                "t.yaml:4:5: ", "(did you mean 'api'?)");
  require_error(error_of("name: a\nduration: 1m\nexpect:\n"
                         "  - {during: [1s, 2s], availability: {target: api, at_least: 0.9}}\n"),
                "t.yaml:4:", "no API client: add `- api: {rate: 1/s}` under workload");
}
