// Platform files: the two-zones example, and one-line errors for bad platforms and host maps.
#include <catch2/catch.hpp>
#include <string>

#include "tests/simgrid/child.hpp"

using stampede::test::ChildResult;
using stampede::test::spawn_child;

static const std::string k_platforms = std::string(SCENARIOS_DIR) + "/platforms/";
static const std::string k_fixtures = std::string(FIXTURES_DIR) + "/";
static const std::string k_agent_partition = std::string(SCENARIOS_DIR) + "/agent-partition.yaml";

TEST_CASE("a scenario runs on the two-zones platform file", "[simgrid][platform]") {
  ChildResult r = spawn_child({"scenario", k_agent_partition, k_platforms + "two-zones.xml"});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.one("passed") == "1");
}

TEST_CASE("clients sharing the inter-zone link lose requests, deterministically",
          "[simgrid][platform]") {
  const std::string scenario = k_platforms + "zone-bandwidth.yaml";
  ChildResult r = spawn_child({"scenario", scenario, k_platforms + "two-zones.xml"});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.one("passed") == "1");
  ChildResult again = spawn_child({"scenario", scenario, k_platforms + "two-zones.xml"});
  CHECK(again.one("digest") == r.one("digest"));
}

static std::string input_error(const std::string& platform) {
  ChildResult r = spawn_child({"scenario", k_agent_partition, platform});
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(r.values.count("input_error") == 1);
  // One line, and nothing of SimGrid's own output.
  CHECK(r.output.find("CRITICAL") == std::string::npos);
  CHECK(r.output.find("Backtrace") == std::string::npos);
  return r.one("input_error");
}

TEST_CASE("a bad platform or host map is a one-line input error", "[simgrid][platform]") {
  CHECK(input_error(k_fixtures + "malformed.xml") ==
        k_fixtures + "malformed.xml:6:1: Invalid XML (XML input line 6, state 74): "
                     "Bad attribute `sped' in `host' element start tag.");
  CHECK(input_error(k_fixtures + "wrong-host.xml") ==
        k_fixtures + "wrong-host.hosts.yaml:3:12: no host 'h-3' in platform " + k_fixtures +
            "wrong-host.xml (did you mean 'h-1'?)");
  CHECK(input_error(k_fixtures + "typo.xml") ==
        k_fixtures + "typo.hosts.yaml:2:3: no node 'sever-1' in the scenario "
                     "(did you mean 'server-1'?)");
  CHECK(input_error(k_fixtures + "unmapped.xml") ==
        "--platform " + k_fixtures + "unmapped.xml: no host for node 'server-1': name a host "
        "'server-1' or map the node in " + k_fixtures + "unmapped.hosts.yaml");
  CHECK(input_error(k_fixtures + "missing.xml") ==
        "--platform " + k_fixtures + "missing.xml: no such file");
}

TEST_CASE("the scenario's cluster.platform_hosts places nodes and wins over the side file",
          "[simgrid][platform]") {
  // agent-2 moves from zone b to zone a: the run still passes.
  ChildResult ok = spawn_child(
      {"scenario", k_fixtures + "platform-hosts.yaml", k_platforms + "two-zones.xml"});
  INFO(ok.output);
  CHECK(ok.status == 0);
  CHECK(ok.one("passed") == "1");
  // A host the platform does not have is named at its place in the scenario file.
  ChildResult bad = spawn_child(
      {"scenario", k_fixtures + "platform-hosts-bad.yaml", k_platforms + "two-zones.xml"});
  INFO(bad.output);
  CHECK(bad.status == 2);
  CHECK(bad.one("input_error").find(k_fixtures + "platform-hosts-bad.yaml:17:29: ") == 0);
  CHECK(bad.one("input_error").find("b-99") != std::string::npos);
}
