// Cattle 1.1's allocator, one rule each (models/cattle/allocator.hpp cites the cattle v0.165.8
// lines): the host order, the constraints read from a service's labels and ports, what each
// matches, the soft constraints given up; and the force-stop of a removed instance's copy.
#include <catch2/catch.hpp>

#include "fake_world.hpp"
#include "models/agent/agent.hpp"
#include "models/cattle/allocator.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"

using namespace stampede;
using namespace stampede::cattle;
using stampede::testing::FakeWorld;

namespace {

alloc::Candidate host(std::int64_t id, std::int64_t free,
                      std::map<std::string, std::string> labels = {},
                      std::vector<alloc::Resident> residents = {}) {
  return alloc::Candidate{HostId{id}, free, std::move(labels), std::move(residents)};
}

ServiceSpec service(std::string name, std::map<std::string, std::string> labels,
                    std::vector<PortSpec> ports = {}) {
  ServiceSpec s;
  s.name = std::move(name);
  s.labels = std::move(labels);
  s.ports = std::move(ports);
  return s;
}

// The web containers already placed, as residents of a host.
alloc::Resident web(int index, std::vector<PortSpec> ports = {}) {
  ServiceSpec s = service("web", {});
  return alloc::Resident{"shop/web/" + std::to_string(index), alloc::container_labels(s, "shop"),
                         std::move(ports)};
}

std::vector<std::int64_t> ids(const std::vector<alloc::Candidate>& cs) {
  std::vector<std::int64_t> out;
  for (const auto& c : cs) out.push_back(c.host.value);
  return out;
}

const std::string k_self_ne = "io.rancher.scheduler.affinity:container_label_ne";

}  // namespace

TEST_CASE("hosts are tried by compute_free (most free first) then by id and packing reverses that",
          "[allocator]") {
  std::vector<alloc::Candidate> cs = {host(3, 999'999), host(1, 999'998), host(2, 999'999)};
  alloc::order(cs, true);
  CHECK(ids(cs) == std::vector<std::int64_t>{2, 3, 1});
  alloc::order(cs, false);
  CHECK(ids(cs) == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("a service's labels become constraints by kind and suffix with macros and hard ones first",
          "[allocator]") {
  ServiceSpec s = service(
      "Web", {{"io.rancher.scheduler.affinity:host_label_soft", "Zone=B,disk=ssd"},
              {k_self_ne, "io.rancher.stack_service.name=${stack_name}/${service_name}"},
              {"io.rancher.scheduler.affinity:container", "shop/db/1"},
              {"io.rancher.scheduler.affinity:host_label_bogus", "zone=a"},
              {"com.example.owner", "me"}},
      {{80, 80, "tcp"}, {0, 443, "tcp"}});
  std::vector<alloc::Constraint> cs = alloc::constraints_for(s, "shop", true, true);
  REQUIRE(cs.size() == 5);
  // Hard ones first: ports, container (eq), container_label_ne; then the two soft host labels.
  CHECK(cs[0].kind == alloc::Kind::ports);
  REQUIRE(cs[0].ports.size() == 1);  // "443" publishes no host port
  CHECK(cs[0].describe() == "host needs ports 80/tcp available");
  CHECK(cs[1].kind == alloc::Kind::container);
  CHECK(cs[1].describe() == "needs container with label shop/db/1");
  CHECK(cs[2].kind == alloc::Kind::container_label);
  CHECK(cs[2].op == alloc::Op::ne);
  CHECK(cs[2].key == "io.rancher.stack_service.name");
  // Lowercased, then the macros, whose text goes in as it is (hostHasContainerLabel compares
  // ignoring case).
  CHECK(cs[2].value == "shop/Web");
  CHECK_FALSE(cs[3].hard());
  CHECK(cs[3].describe() == "needs host with label zone_soft: b");
  CHECK(cs[4].describe() == "needs host with label disk_soft: ssd");
  CHECK(alloc::constraints_for(s, "shop", false, false).empty());
}

TEST_CASE("each constraint matches the host it should", "[allocator]") {
  ServiceSpec s = service("web", {{"io.rancher.scheduler.affinity:host_label", "zone=b"},
                                  {k_self_ne, "io.rancher.stack_service.name=shop/web"}},
                          {{80, 80, "tcp"}});
  std::vector<alloc::Constraint> cs = alloc::constraints_for(s, "shop", true, true);
  REQUIRE(cs.size() == 3);
  alloc::Candidate empty_b = host(1, 10, {{"zone", "b"}});
  alloc::Candidate with_web = host(2, 10, {{"zone", "b"}}, {web(1)});
  alloc::Candidate port_taken = host(3, 10, {{"zone", "b"}}, {alloc::Resident{"x/y/1", {}, {{80, 80, "tcp"}}}});
  alloc::Candidate udp_80 = host(4, 10, {{"zone", "b"}}, {alloc::Resident{"x/y/1", {}, {{80, 80, "udp"}}}});
  alloc::Candidate zone_a = host(5, 10, {{"zone", "a"}});
  for (const auto& c : cs) {
    CHECK(alloc::matches(c, empty_b));
    CHECK(alloc::matches(c, udp_80));
  }
  // Ports first, then the labels in the order of their keys: container_label_ne, host_label.
  CHECK_FALSE(alloc::matches(cs[0], port_taken));
  CHECK_FALSE(alloc::matches(cs[1], with_web));
  CHECK_FALSE(alloc::matches(cs[2], zone_a));
  CHECK(alloc::matches(cs[1], zone_a));
  CHECK(alloc::matches(cs[2], with_web));
}

TEST_CASE("the first host meeting every constraint wins and no host at all is its own failure",
          "[allocator]") {
  ServiceSpec s = service("web", {{k_self_ne, "io.rancher.stack_service.name=shop/web"}});
  auto cs = alloc::constraints_for(s, "shop", true, true);
  auto d = alloc::allocate({host(1, 10, {}, {web(1)}), host(2, 9), host(3, 11)}, cs, true);
  CHECK(d.host == HostId{2});
  d = alloc::allocate({}, cs, true);
  CHECK_FALSE(d.host.valid());
  CHECK(d.error == "Scheduling failed: No candidates available");
  d = alloc::allocate({host(1, 10, {}, {web(1)}), host(2, 9, {}, {web(2)})}, cs, true);
  CHECK_FALSE(d.host.valid());
  CHECK(d.error ==
        "Scheduling failed: ContainerLabelAffinityConstraint io.rancher.stack_service.name_ne: "
        "shop/web");
}

TEST_CASE("with no host left a soft constraint of the weakest candidate is given up",
          "[allocator]") {
  ServiceSpec s = service("web", {{"io.rancher.scheduler.affinity:container_label_soft_ne",
                                   "io.rancher.stack_service.name=shop/web"},
                                  {"io.rancher.scheduler.affinity:host_label_soft", "zone=c"}});
  auto cs = alloc::constraints_for(s, "shop", true, true);
  // Host 1 fails both soft constraints, host 2 only the zone: host 2's set is the weakest, so
  // the zone goes, and then host 2 meets the rest.
  std::vector<alloc::Candidate> hosts = {host(1, 10, {}, {web(1)}), host(2, 9)};
  auto d = alloc::allocate(hosts, cs, true);
  CHECK(d.host == HostId{2});
  CHECK(d.dropped == std::vector<std::string>{"needs host with label zone_soft: c"});
  // Kept as if hard, they fail the placement.
  d = alloc::allocate(hosts, cs, false);
  CHECK_FALSE(d.host.valid());
  CHECK(d.error == "Scheduling failed: needs host with label zone_soft: c");
  // A hard constraint is never given up.
  ServiceSpec hard = service("web", {{"io.rancher.scheduler.affinity:host_label", "zone=c"}});
  d = alloc::allocate(hosts, alloc::constraints_for(hard, "shop", true, true), true);
  CHECK(d.error == "Scheduling failed: needs host with label zone: c");
}

TEST_CASE("a stop names its container: one a later instance took over runs on", "[allocator]") {
  // PingInstancesMonitorImpl.java:160-161 force-stops by the container's Docker id.
  FakeWorld w;
  w.build(testing::wordpress_spec());
  w.start();
  w.run_until(30 * k_s);
  auto& agent = w.node_as<agent::Agent>("agent-2");
  REQUIRE(agent.is_running("wordpress/web/1"));
  const auto& server = w.node_as<CattleServer>("server-1");
  std::int64_t owner = server.store().where("instance", "name", "wordpress/web/1").front();
  w.inject("server-1", "agent-2",
           wire::encode(StopContainer{owner + 100, make_names({"wordpress/web/1"})}));
  w.run_until(w.now() + 1 * k_s);
  CHECK(agent.is_running("wordpress/web/1"));
  w.inject("server-1", "agent-2", wire::encode(StopContainer{owner, make_names({"wordpress/web/1"})}));
  w.run_until(w.now() + 1 * k_s);
  CHECK_FALSE(agent.is_running("wordpress/web/1"));
}

namespace {

// shop/web (scale 1, health-checked, port 80) and shop/other (port 80) on two hosts: web/1 on
// agent-1, other/1 on agent-2, so web/1's replacement can only go to agent-1.
ScenarioSpec copy_spec() {
  ScenarioSpec s;
  s.name = "copy";
  s.duration_ns = 10 * k_m;
  s.cluster.agents = 2;
  StackSpec st;
  st.name = "shop";
  ServiceSpec web = service("web", {}, {{80, 80, "tcp"}});
  web.health_check = HealthCheckSpec{10 * k_s, 5, 2, 2 * k_s};
  st.services.push_back(web);
  st.services.push_back(service("other", {}, {{80, 80, "tcp"}}));
  s.stacks.push_back(st);
  return s;
}

std::size_t stops_logged(const FakeWorld& w, TimeNs from) {
  std::size_t n = 0;
  for (const auto& l : w.logs())
    n += l.time_ns >= from && l.text.find("though removed: stopping it") != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("a removed instance's copy is stopped though a live instance of its name is on the "
          "host and the live one's container runs on",
          "[allocator][healthcheck]") {
  FakeWorld w;
  w.build(copy_spec());
  w.start();
  w.run_until(30 * k_s);
  REQUIRE(w.node_as<agent::Agent>("agent-1").is_running("shop/web/1"));
  // agent-1 cut off: web/1 is found unhealthy and removed; its replacement has no host (agent-2
  // publishes port 80 already) until agent-1 is back.
  w.cut("agent-1", "all");
  w.run_until(200 * k_s);
  w.heal();
  const auto& server = w.node_as<CattleServer>("server-1");
  // Step until the replacement is placed on agent-1, its start still on the way.
  std::optional<mysql::RowId> live;
  for (TimeNs limit = w.now() + 3 * k_m; w.now() < limit && !live;) {
    w.run_until(w.now() + 1 * k_ms);
    for (mysql::RowId id : server.store().where("instance", "name", "shop/web/1"))
      if (server.store().get("instance", id, "state") == "activating") live = id;
  }
  REQUIRE(live);
  TimeNs at = w.now();
  // agent-1's list names shop/web/1, which is still the removed instance's container.
  w.inject("agent-1", "server-1", wire::encode(Hello{0, true, make_names({"shop/web/1"})}));
  w.run_until(w.now() + 30 * k_s);
  CHECK(stops_logged(w, at) >= 1);
  CHECK(w.node_as<agent::Agent>("agent-1").is_running("shop/web/1"));
  CHECK(server.store().get("instance", *live, "state") == "active");
  CHECK(w.running("shop/web") == 1);
}
