// The allocator's keys: a service's `labels` and `ports`, and the top-level `hosts` with each
// agent's labels; their values and one-line errors at the offending value.
#include <catch2/catch.hpp>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::error_of;
using stampede::test::parse;
using stampede::test::require_error;

namespace {

// A scenario whose web service (line 7, its keys from column 21) has the keys `extra`, and then
// `tail` at the top level (from line 8).
std::string with(std::string_view extra, std::string_view tail = "") {
  return "name: h\nduration: 1m\ncluster: {agents: 3}\nstacks:\n  - name: s\n    services:\n"
         "      - {name: web, " +
         std::string(extra) + "}\n" + std::string(tail);
}

}  // namespace

TEST_CASE("a service's labels and ports and the hosts' labels are read", "[placement]") {
  ScenarioSpec s = parse(with(
      "labels: {'io.rancher.scheduler.affinity:host_label': 'zone=a'}, "
      "ports: ['80:8080', '53:53/udp', '443']",
      "hosts:\n  agent-2: {labels: {zone: a, ssd: 'true'}}\n  agent-3: {}\n"));
  const ServiceSpec& web = s.stacks[0].services[0];
  CHECK(web.labels.at("io.rancher.scheduler.affinity:host_label") == "zone=a");
  REQUIRE(web.ports.size() == 3);
  CHECK(web.ports[0].public_port == 80);
  CHECK(web.ports[0].private_port == 8080);
  CHECK(web.ports[0].protocol == "tcp");
  CHECK(web.ports[1].protocol == "udp");
  CHECK(web.ports[2].public_port == 0);
  CHECK(web.ports[2].private_port == 443);
  CHECK(s.hosts.at("agent-2").labels.at("ssd") == "true");
  CHECK(s.hosts.at("agent-3").labels.empty());
  CHECK(s.hosts.count("agent-1") == 0);
  // A scenario without them is unchanged.
  CHECK(parse(with("scale: 2")).stacks[0].services[0].ports.empty());
}

TEST_CASE("bad labels or ports or hosts are refused at their position", "[placement][errors]") {
  require_error(error_of(with("ports: ['80:']")), "t.yaml:7:29: ",
                "expected a port like \"80:80\", \"8080:80/udp\" or \"80\" for 'ports' (numbers "
                "1-65535, protocol tcp or udp), got '80:'");
  require_error(error_of(with("ports: ['70000:80']")), "t.yaml:7:29: ", "got '70000:80'");
  require_error(error_of(with("ports: ['80:80/sctp']")), "t.yaml:7:29: ", "got '80:80/sctp'");
  require_error(error_of(with("ports: {a: 1}")), "t.yaml:7:28: ", "expected a list for 'ports'");
  require_error(error_of(with("labels: [a]")), "t.yaml:7:29: ", "labels");
  require_error(error_of(with("scale: 1", "hosts:\n  agent-4: {}\n")), "t.yaml:9:3: ",
                "unknown host 'agent-4' in hosts: the cluster has agent-1..agent-3");
  require_error(error_of(with("scale: 1", "hosts:\n  agnet-1: {}\n")), "t.yaml:9:3: ",
                "(did you mean 'agent-1'?)");
  require_error(error_of(with("scale: 1", "hosts:\n  agent-1: {lables: {}}\n")),
                "t.yaml:9:13: ", "unknown key 'lables' in host (did you mean 'labels'?)");
}
