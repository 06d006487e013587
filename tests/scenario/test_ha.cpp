// The HA-mode extensions of `cluster` (bridge_address, server_bridge_addresses, leftover_state)
// and the clean_state fault: what they parse to, and one-line errors with positions.
#include <catch2/catch.hpp>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::ha;
using stampede::test::require_error;
using Catch::Contains;
using Catch::StartsWith;
using stampede::test::error_of;
using stampede::test::parse;

TEST_CASE("HA manager keys parse into the cluster spec", "[ha]") {
  ScenarioSpec s = parse(ha("  bridge_address: \"172.17.0.1\"\n"
                            "  server_bridge_addresses: {server-2: \"172.18.0.1\"}\n"
                            "  leftover_state: [server-3]\n",
                            "faults:\n  - {at: 2m, clean_state: server-3}\n"));
  CHECK(s.cluster.bridge_address == "172.17.0.1");
  CHECK(s.cluster.server_bridge_addresses.at("server-2") == "172.18.0.1");
  CHECK(s.cluster.leftover_state == std::vector<std::string>{"server-3"});
  REQUIRE(s.faults.size() == 1);
  CHECK(s.faults[0].kind == FaultKind::clean_state);
  CHECK(s.faults[0].node == "server-3");
  CHECK(s.faults[0].at_ns == 120 * k_s);
}

TEST_CASE("HA manager keys default to the Docker bridge and no leftover state", "[ha]") {
  ScenarioSpec s = parse(ha(""));
  CHECK(s.cluster.bridge_address.empty());
  CHECK(s.cluster.server_bridge_addresses.empty());
  CHECK(s.cluster.leftover_state.empty());
  // One server written alone is a list of one.
  CHECK(parse(ha("  leftover_state: server-2\n")).cluster.leftover_state ==
        std::vector<std::string>{"server-2"});
}

TEST_CASE("a bridge address must be a dotted IPv4 address", "[ha][errors]") {
  require_error(error_of(ha("  bridge_address: \"172.17.0\"\n")), "t.yaml:6:19: ",
                "expected an IPv4 address like 172.17.0.1 for 'bridge_address', got '172.17.0'");
  require_error(error_of(ha("  bridge_address: 172.17.0.256\n")), "t.yaml:6:19: ",
                "got '172.17.0.256'");
  require_error(error_of(ha("  server_bridge_addresses: {server-2: bridge}\n")), "t.yaml:6:39: ",
                "for 'server-2', got 'bridge'");
}

TEST_CASE("HA manager keys name servers of the cluster, with a suggestion", "[ha][errors]") {
  require_error(error_of(ha("  server_bridge_addresses: {server-4: 172.18.0.1}\n")),
                "t.yaml:6:29: ",
                "unknown server 'server-4' in server_bridge_addresses: the cluster has "
                "server-1..server-3");
  require_error(error_of(ha("  leftover_state: [sever-3]\n")), "t.yaml:6:20: ",
                "(did you mean 'server-3'?)");
  require_error(error_of(ha("  leftover_state: [server-3, server-3]\n")), "t.yaml:6:30: ",
                "'server-3' is listed twice in leftover_state");
}

TEST_CASE("HA manager keys are refused in single mode", "[ha][errors]") {
  require_error(error_of("name: one\nduration: 1m\ncluster:\n  leftover_state: [server-1]\n"),
                "t.yaml:4:3: ", "'leftover_state' configures the HA cluster manager");
  require_error(error_of("name: one\nduration: 1m\ncluster:\n  bridge_address: 172.17.0.1\n"),
                "t.yaml:4:3: ", "single mode (servers: 1) does not run");
  require_error(error_of("name: one\nduration: 1m\nfaults:\n  - {at: 1s, clean_state: server-1}\n"),
                "t.yaml:4:27: ", "single mode (servers: 1) runs no cluster manager");
}

TEST_CASE("cluster_size makes the servers beyond it added hosts, with a ZooKeeper per slot",
          "[ha]") {
  ScenarioSpec s = parse(
      "name: ha\nduration: 5m\ncluster:\n  servers: 5\n  cluster_size: 3\n"
      "  database: {external: true}\n");
  CHECK(s.cluster.servers == 5);
  CHECK(s.cluster.cluster_size == 3);
  CHECK(s.cluster.zookeeper == 3);
  // Unset, every server is a member of the cluster's size.
  CHECK(parse(ha("")).cluster.cluster_size == 0);
  CHECK(parse(ha("")).cluster.zookeeper == 3);
  require_error(error_of(ha("  cluster_size: 4\n")),
                "t.yaml:6:17: ", "'cluster_size' must be at most 3, got 4");
  require_error(error_of("name: one\nduration: 1m\ncluster:\n  cluster_size: 1\n"),
                "t.yaml:4:3: ", "'cluster_size' configures the HA cluster manager");
}

TEST_CASE("clean_state takes one server of the cluster", "[ha][errors]") {
  require_error(error_of(ha("", "faults:\n  - {at: 1m, clean_state: server-*}\n")),
                "t.yaml:7:27: ", "expected one node here, got the pattern 'server-*'");
  require_error(error_of(ha("", "faults:\n  - {at: 1m, clean_state: db}\n")), "t.yaml:7:27: ",
                "got 'db'");
  require_error(error_of(ha("", "faults:\n  - {at: 1m, clean_state: server-9}\n")),
                "t.yaml:7:27: ", "unknown node 'server-9'");
  // A misspelt fault key suggests it.
  require_error(error_of(ha("", "faults:\n  - {at: 1m, clean_stat: server-3}\n")), "t.yaml:7:",
                "did you mean 'clean_state'?");
}

TEST_CASE("the HA manager keys can be set with --set", "[ha][overrides]") {
  ScenarioSpec s = parse(ha(""), {"cluster.bridge_address=172.18.0.1",
                                  "cluster.leftover_state=[server-2]"});
  CHECK(s.cluster.bridge_address == "172.18.0.1");
  CHECK(s.cluster.leftover_state == std::vector<std::string>{"server-2"});
  CHECK_THAT(error_of(ha(""), {"cluster.bridge_address=nowhere"}),
             StartsWith("--set cluster.bridge_address: "));
}
