// The single-server cluster end to end, driven through the registry's build functions in a small
// fake world: the field report's observations 1-3, each with its mechanism on and off.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fake_world.hpp"
#include "models/agent/agent.hpp"
#include "models/app/http.hpp"
#include "models/app/load_balancer.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "sim/core/wire.hpp"

using namespace stampede;
using stampede::testing::FakeWorld;
using stampede::testing::wordpress_spec;

namespace {

const std::string k_series = "requests:wordpress/lb";

void boot(FakeWorld& w) {
  w.build(wordpress_spec());
  w.start();
  w.run_until(30 * k_s);
}

}  // namespace

TEST_CASE("the cluster boots to scale and serves requests") {
  FakeWorld w;
  boot(w);
  CHECK(w.running("wordpress/db") == 1);
  CHECK(w.running("wordpress/web") == 2);
  // Cattle's spread (compute_free, then host id): db/1 on agent-1, web/1 on agent-2, web/2 on
  // agent-1.
  CHECK(w.node_as<agent::Agent>("agent-1").is_running("wordpress/db/1"));
  CHECK(w.node_as<agent::Agent>("agent-2").is_running("wordpress/web/1"));
  CHECK(w.node_as<agent::Agent>("agent-1").is_running("wordpress/web/2"));
  CHECK(w.host_state("agent-1") == "active");
  CHECK(w.availability(k_series, 10 * k_s, 30 * k_s) == Approx(1.0));
  CHECK(w.counter("containers_started") == 3);
  CHECK(w.counter("process_instances") >= 3);
  CHECK(w.counter("lock_acquisitions") >= 3);
  CHECK(w.counter("events") >= 6);
  CHECK(w.counter("requests_served") > 300);
  CHECK(w.registry().converged()(w));
  CHECK(w.violations().empty());
}

namespace {
// Whether every agent's `running` probe (its kept counts, Agent::recount) answers what its
// containers say when walked one by one (Agent::running_since with no time bound), for each
// service, a prefix of one and a name no agent runs.
bool counts_match_containers(FakeWorld& w) {
  bool ok = true;
  for (const char* name : {"agent-1", "agent-2"}) {
    const auto& a = w.node_as<agent::Agent>(name);
    for (const char* service : {"wordpress/db", "wordpress/web", "wordpress/we", "shop/web"}) {
      const std::int64_t walked = a.running_since(service, INT64_MAX);
      const std::optional<std::int64_t> probed = a.probe("running", service);
      ok = ok && probed == walked && a.running(service) == walked;
    }
  }
  return ok;
}
}  // namespace

TEST_CASE("an agent's kept running counts follow its containers as they start, die and restart") {
  FakeWorld w({{"agent_resync", true}});
  boot(w);
  CHECK(counts_match_containers(w));
  CHECK(w.node_as<agent::Agent>("agent-1").running("wordpress/web") == 1);
  CHECK(w.model_fault(ModelFault{"kill_container", {"wordpress/web/1"}}));
  CHECK(w.node_as<agent::Agent>("agent-2").running("wordpress/web") == 0);
  CHECK(counts_match_containers(w));
  w.run_until(120 * k_s);
  CHECK(w.running("wordpress/web") == 2);
  CHECK(counts_match_containers(w));
}

TEST_CASE("a web request follows the db container to its new host once the directory says so") {
  FakeWorld w;
  boot(w);
  // Boot placed db/1 on agent-1 and web/1 on agent-2: agent-2's web requests query agent-1.
  const NodeId lb = w.find("wordpress/lb");
  std::optional<std::int64_t> status;
  w.on_deliver = [&](NodeId, NodeId to, const Message& msg) {
    if (to != lb || msg.type != app::BackendResponse::k_type) return;
    const auto r = wire::decode<app::BackendResponse>(msg);
    if (r.request == 777777) status = r.status;
  };
  auto ask = [&] {
    status.reset();
    w.inject("wordpress/lb", "agent-2",
             wire::encode(app::BackendRequest{777777, cattle::make_names({"wordpress/web/1"})}));
    w.run_until(w.now() + k_s / 2);
    return status;
  };
  CHECK(ask() == app::status_ok);
  // A push that places db/1 on agent-2, where it does not run: the kept route must not be used.
  w.inject("server-1", "agent-2",
           wire::encode(cattle::NetworkConfig{
               0, true,
               cattle::make_names({"wordpress/db/1@agent-2", "wordpress/web/1@agent-2",
                                   "wordpress/web/2@agent-1"})}));
  w.run_until(w.now() + k_ms);
  CHECK(ask() == app::status_error);
}

TEST_CASE("runs are deterministic") {
  FakeWorld a, b;
  boot(a);
  boot(b);
  CHECK(a.digest() == b.digest());
}

TEST_CASE("observation 1: a partition makes hosts reconnecting, a container killed in the cut "
          "is restarted only after the heal") {
  bool resync = GENERATE(true, false);
  FakeWorld w({{"agent_resync", resync}});
  boot(w);
  w.run_until(60 * k_s);
  w.cut("server-1", "agent-*");
  w.run_until(84 * k_s);
  CHECK(w.host_state("agent-1") == "active");  // fewer than six failed pings so far
  w.run_until(100 * k_s);
  CHECK(w.host_state("agent-1") == "reconnecting");
  CHECK(w.host_state("agent-2") == "reconnecting");
  CHECK(w.model_fault(ModelFault{"kill_container", {"wordpress/web/1"}}));
  CHECK_FALSE(w.model_fault(ModelFault{"kill_container", {"wordpress/web/1"}}));
  w.run_until(149 * k_s);
  CHECK(w.running("wordpress/web") == 1);
  CHECK(w.availability(k_series, 60 * k_s, 149 * k_s) >= 0.99);
  CHECK(w.host_state("agent-1") == "reconnecting");
  w.heal();
  w.run_until(180 * k_s);
  CHECK(w.host_state("agent-1") == "active");
  CHECK(w.signalled("cattle.host_reconnected", 150 * k_s));
  if (resync) {
    CHECK(w.running("wordpress/web") == 2);
    CHECK(w.signalled("cattle.container_restarted", 150 * k_s, 180 * k_s));
  } else {
    CHECK(w.running("wordpress/web") == 1);
    w.run_until(300 * k_s);
    CHECK(w.running("wordpress/web") == 1);
  }
  CHECK(w.violations().empty());
}

TEST_CASE("the container list rides on every third ping reply, every one with the count at 1") {
  std::int64_t every = GENERATE(3, 1);
  FakeWorld w({}, {{"agent_ping_instances_every", every}});
  boot(w);
  int pongs = 0;
  int lists = 0;
  NodeId server = w.find("server-1");
  w.on_deliver = [&](NodeId, NodeId to, const Message& msg) {
    if (to != server || msg.type != cattle::Pong::k_type) return;
    ++pongs;
    lists += wire::decode<cattle::Pong>(msg).lists_containers;
  };
  // 60 s: twelve rounds of pings to each of the agents.
  w.run_until(w.now() + 60 * k_s);
  INFO("pongs " << pongs << ", with the list " << lists);
  CHECK(pongs >= 24);  // two agents
  if (every == 1) {
    CHECK(lists == pongs);
  } else {
    // A third of the rounds, give or take the rounds cut by the window's ends (two agents each).
    CHECK(lists * 3 >= pongs - 4);
    CHECK(lists * 3 <= pongs + 4);
  }
}

TEST_CASE("a container death reaches the server through host-api while the agent's socket is "
          "down") {
  bool host_api = GENERATE(true, false);
  FakeWorld w({{"host_api_events", host_api}});
  boot(w);
  // The server's pings no longer reach agent-1, so its agent gives up on its socket; agent-1
  // can still reach the server's API.
  w.cut_one_way("server-1", "agent-1");
  w.run_until(w.now() + 40 * k_s);
  CHECK(w.node_as<agent::Agent>("agent-1").connected() == false);
  std::string victim;
  for (const char* c : {"wordpress/web/1", "wordpress/web/2", "wordpress/db/1"})
    if (w.node_as<agent::Agent>("agent-1").is_running(c)) victim = c;
  REQUIRE(!victim.empty());
  CHECK(w.model_fault(ModelFault{"kill_container", {victim}}));
  w.run_until(w.now() + 2 * k_s);
  CHECK(w.logged("container " + victim + " died on agent-1 (reported by its agent)") ==
        host_api);
}

TEST_CASE("as in Cattle 1.1, an unreachable host stays reconnecting, never disconnected, then "
          "goes active") {
  FakeWorld w;
  boot(w);
  TimeNs cut_at = w.now();
  w.cut("server-1", "agent-1");
  // The sixth failed ping leaves 25-30 s after the cut and times out 15 s later
  // (agent_ping_timeout).
  w.run_until(w.now() + 46 * k_s);
  CHECK(w.host_state("agent-1") == "reconnecting");
  CHECK(w.host_state("agent-2") == "active");
  // Ten minutes of failed pings: 1.1 has no state after reconnecting.
  w.run_until(w.now() + 10 * k_m);
  CHECK(w.host_state("agent-1") == "reconnecting");
  CHECK(w.signalled("cattle.host_reconnecting", cut_at));
  CHECK_FALSE(w.signalled("cattle.host_reconnected", cut_at));
  w.heal();
  w.run_until(w.now() + 6 * k_s);
  CHECK(w.host_state("agent-1") == "active");
}

TEST_CASE("observation 2: while the server is down nothing is restarted, it resumes from the "
          "store") {
  bool in_store = GENERATE(true, false);
  FakeWorld w({{"state_in_store", in_store}});
  boot(w);
  w.run_until(60 * k_s);
  w.crash("server-1");
  w.run_until(90 * k_s);
  CHECK(w.model_fault(ModelFault{"kill_container", {"wordpress/web/1"}}));
  w.run_until(149 * k_s);
  CHECK(w.running("wordpress/web") == 1);
  CHECK(w.availability(k_series, 60 * k_s, 149 * k_s) >= 0.95);
  CHECK(w.host_state("agent-1") == "unknown");  // no server to ask
  w.restart("server-1");
  w.run_until(180 * k_s);
  if (in_store) {
    CHECK(w.host_state("agent-1") == "active");
    CHECK(w.running("wordpress/web") == 2);
  } else {
    CHECK(w.host_state("agent-1") == "unknown");  // its memory was lost with the crash
    CHECK(w.running("wordpress/web") == 1);
  }
  CHECK(w.violations().empty());
}

TEST_CASE("an unfinished process interrupted by a crash is replayed after the restart") {
  FakeWorld w;
  boot(w);
  // The server dies right after asking agent-2 to restart web/1: the instance.start row is left
  // unfinished in the store.
  w.model_fault(ModelFault{"kill_container", {"wordpress/web/1"}});
  for (TimeNs t = 30 * k_s; t < 40 * k_s; t += 1 * k_ms) {
    w.run_until(t);
    if (w.node_as<cattle::CattleServer>("server-1").probe("processes_running", "") == 1 &&
        w.node_as<cattle::CattleServer>("server-1").durable_store().get(
            "instance", 2, "state") == "starting")
      break;
  }
  REQUIRE(w.node_as<cattle::CattleServer>("server-1").durable_store().get("instance", 2,
                                                                          "state") == "starting");
  w.crash("server-1");
  w.restart("server-1");
  w.run_until(w.now() + 20 * k_s);
  CHECK(w.node_as<cattle::CattleServer>("server-1").store().get("instance", 2, "state") ==
        "active");
  CHECK(w.running("wordpress/web") == 2);
}

TEST_CASE("observation 3: truncating service and network loses tracking and routing") {
  bool in_store = GENERATE(true, false);
  FakeWorld w({{"state_in_store", in_store}});
  boot(w);
  w.run_until(60 * k_s);
  CHECK(w.model_fault(ModelFault{"truncate", {"service", "network"}}));
  CHECK(w.node_as<cattle::CattleServer>("server-1").durable_store().table("service")->empty());
  w.run_until(90 * k_s);
  CHECK(w.model_fault(ModelFault{"kill_container", {"wordpress/web/1"}}));
  w.run_until(200 * k_s);
  if (in_store) {
    CHECK(w.running("wordpress/web") == 1);
    CHECK_FALSE(w.node_as<agent::Agent>("agent-1").overlay_up());
    CHECK(w.availability(k_series, 70 * k_s, 200 * k_s) <= 0.2);
    CHECK(w.logged("overlay network torn down"));
  } else {
    CHECK(w.running("wordpress/web") == 2);
    CHECK(w.availability(k_series, 70 * k_s, 200 * k_s) >= 0.9);
  }
  CHECK(w.violations().empty());
}

TEST_CASE("the load balancer retries a refused backend and drops an unhealthy one") {
  FakeWorld w;
  boot(w);
  w.model_fault(ModelFault{"kill_container", {"wordpress/web/2"}});
  // Cut the server off so that the container is not restarted: the balancer alone must cope.
  w.cut("server-1", "agent-*");
  w.run_until(40 * k_s);
  CHECK(w.availability(k_series, 30 * k_s, 40 * k_s) == Approx(1.0));
  CHECK_FALSE(w.node_as<app::LoadBalancer>("wordpress/lb").healthy("wordpress/web/2"));
  CHECK(w.node_as<app::LoadBalancer>("wordpress/lb").healthy("wordpress/web/1"));
}

// Run-time lookups take the last registration of a name (resolve_timings) and `list timings`
// and the range checks the first: a name registered twice gave db_query_timeout 1 s in
// docs/reference.md while every run used 10 s.
TEST_CASE("no timing, mechanism, invariant or event name is registered twice") {
  FakeWorld w;
  const Registry& r = w.registry();
  const auto twice = [](const auto& defs) {
    std::map<std::string, int> count;
    for (const auto& d : defs) ++count[d.name];
    std::vector<std::string> out;
    for (const auto& [name, n] : count)
      if (n > 1) out.push_back(name);
    return out;
  };
  CHECK(r.timings().size() > 50);
  CHECK(twice(r.timings()) == std::vector<std::string>{});
  CHECK(twice(r.mechanisms()) == std::vector<std::string>{});
  CHECK(twice(r.invariants()) == std::vector<std::string>{});
  CHECK(twice(r.events()) == std::vector<std::string>{});
}

TEST_CASE("the registry names every timing with a source, and the scale invariant fires") {
  FakeWorld w;
  for (const TimingDef& t : w.registry().timings()) {
    INFO(t.name);
    CHECK_FALSE(t.source.empty());
    // Zero is allowed where a model documents it as "off" (lease_lock_session_ttl) or "none"
    // (zk_lock_clients); a negative default is always a mistake.
    CHECK(t.default_value >= 0);
  }
  CHECK(w.registry().find_timing("agent_ping_interval")->default_value == 5 * k_s);
  CHECK(w.registry().find_timing("lock_wait")->default_value == 3 * k_s);
  // Cattle 1.1: a service's lock waits default.lock.wait.millis, and the stale-holder check is
  // not Cattle's, so it is off unless a scenario switches it on.
  CHECK(w.registry().find_timing("service_lock_wait")->default_value == 10 * k_s);
  CHECK_FALSE(w.registry().find_mechanism("zk_stale_holder_check")->default_on);
  CHECK(w.registry().find_mechanism("agent_resync") != nullptr);
  CHECK(w.registry().find_invariant("lock.mutual_exclusion") != nullptr);
  boot(w);
  const InvariantDef* inv = w.registry().find_invariant("service.scale_exceeded");
  REQUIRE(inv);
  CHECK_FALSE(inv->check(w));
  // A third web container started behind the server's back exceeds the scale of 2.
  w.inject("server-1", "agent-2",
           wire::encode(cattle::StartContainer{99, cattle::make_names({"wordpress/web/3"})}));
  w.run_until(w.now() + 2 * k_s);
  CHECK(w.running("wordpress/web") == 3);
  // Inside the grace window (scale_exceeded_grace, 10 s) the third one does not count yet ...
  CHECK_FALSE(inv->check(w));
  // ... after it, it does.
  w.run_until(w.now() + 10 * k_s);
  auto v = inv->check(w);
  REQUIRE(v);
  CHECK(*v == "3 containers of wordpress/web running for 10s or more, scale 2");
  CHECK_FALSE(w.violations().empty());
}

TEST_CASE("a failed start is left to the replay task, which runs it until it succeeds") {
  FakeWorld w;
  w.build(wordpress_spec());
  w.cut("server-1", "agent-*");
  w.start();
  w.run_until(40 * k_s);
  CHECK(w.running("wordpress/web") == 0);
  CHECK(w.logged("failed: no answer from the agent"));
  w.heal();
  w.run_until(90 * k_s);
  CHECK(w.running("wordpress/db") == 1);
  CHECK(w.running("wordpress/web") == 2);
  CHECK(w.registry().converged()(w));
  CHECK(w.violations().empty());
}

TEST_CASE("the agent answers a removal's stop, also for a container it no longer has") {
  // compute.instance.deactivate replies when the container is stopped or cannot be found
  // (rancher/python-agent v0.85.1 cattle/compute/__init__.py:35-51): the server's stop, which
  // waits for that reply, finishes after a container that died meanwhile too.
  FakeWorld w;
  boot(w);
  const auto& server = w.node_as<cattle::CattleServer>("server-1");
  std::vector<mysql::RowId> ids = server.store().where("instance", "name", "wordpress/web/2");
  REQUIRE(ids.size() == 1);
  REQUIRE(w.node_as<agent::Agent>("agent-1").is_running("wordpress/web/2"));
  // The stops come from agent-2's node, so that the answers go there and the server, which
  // would restart the container, hears nothing (the agent answers whoever asked).
  std::vector<cattle::ContainerEvent> answers;
  w.on_deliver = [&](NodeId from, NodeId to, const Message& msg) {
    if (from == w.find("agent-1") && to == w.find("agent-2") &&
        msg.type == cattle::ContainerEvent::k_type)
      answers.push_back(wire::decode<cattle::ContainerEvent>(msg));
  };
  auto deactivate = cattle::DeactivateContainer{ids.front(),
                                                cattle::make_names({"wordpress/web/2"})};
  w.inject("agent-2", "agent-1", wire::encode(deactivate));
  w.run_until(w.now() + 1 * k_s);
  CHECK_FALSE(w.node_as<agent::Agent>("agent-1").is_running("wordpress/web/2"));
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].kind == cattle::event_stopped);
  CHECK(answers[0].instance == ids.front());
  // Again, now that the host has no such container: answered all the same.
  w.inject("agent-2", "agent-1", wire::encode(deactivate));
  w.run_until(w.now() + 1 * k_s);
  REQUIRE(answers.size() == 2);
  CHECK(answers[1].kind == cattle::event_stopped);
  CHECK(answers[1].instance == ids.front());
}

TEST_CASE("as in Cattle 1.1, a stray copy on another host than its instance's runs on") {
  // A start command that waited on a paused agent while the create was placed elsewhere: the
  // agent starts a copy and reports it; Cattle v0.165.8 ignores a start of a running instance,
  // so the service runs one container too many (mechanism cattle_stop_stray_copies, off).
  FakeWorld w;
  boot(w);
  const auto& server = w.node_as<cattle::CattleServer>("server-1");
  std::vector<mysql::RowId> ids = server.store().where("instance", "name", "wordpress/web/1");
  REQUIRE(ids.size() == 1);
  w.inject("server-1", "agent-1",
           wire::encode(
               cattle::StartContainer{ids.front(), cattle::make_names({"wordpress/web/1"})}));
  w.run_until(w.now() + 5 * k_s);
  CHECK(w.node_as<agent::Agent>("agent-1").is_running("wordpress/web/1"));
  CHECK(w.node_as<agent::Agent>("agent-2").is_running("wordpress/web/1"));
  CHECK(w.running("wordpress/web") == 3);
}

TEST_CASE("with cattle_stop_stray_copies, a stray copy on another host is stopped") {
  // The same stray start; the server stops the copy and keeps the instance.
  FakeWorld w({{"cattle_stop_stray_copies", true}});
  boot(w);
  const auto& server = w.node_as<cattle::CattleServer>("server-1");
  std::vector<mysql::RowId> ids = server.store().where("instance", "name", "wordpress/web/1");
  REQUIRE(ids.size() == 1);
  REQUIRE(w.node_as<agent::Agent>("agent-2").is_running("wordpress/web/1"));
  w.inject("server-1", "agent-1",
           wire::encode(
               cattle::StartContainer{ids.front(), cattle::make_names({"wordpress/web/1"})}));
  w.run_until(w.now() + 5 * k_s);
  CHECK_FALSE(w.node_as<agent::Agent>("agent-1").is_running("wordpress/web/1"));
  CHECK(w.node_as<agent::Agent>("agent-2").is_running("wordpress/web/1"));
  CHECK(w.running("wordpress/web") == 2);
  CHECK(server.store().get("instance", ids.front(), "state") == "active");
  CHECK(w.violations().empty());
}

namespace {

// When each failure of process `pi` was logged ("process 5 (instance.create ...) failed: ...").
std::vector<TimeNs> failures_of(const FakeWorld& w, std::int64_t pi) {
  std::vector<TimeNs> at;
  std::string prefix = "process " + std::to_string(pi) + " (";
  for (const auto& l : w.logs())
    if (l.text.starts_with(prefix) && l.text.find(") failed: ") != std::string::npos)
      at.push_back(l.time_ns);
  return at;
}

}  // namespace

TEST_CASE("a failed process waits for the 15 s replay, and every other one after two failures") {
  // Cattle v0.165.8 has no quick retry: the replay task (task.process.replay.schedule=15) runs a
  // failed process again, and once it has run twice, ProcessEventListenerImpl.shouldWaitLonger
  // skips it until 15 s + 2^n/2 ms after its last run began: every other replay.
  bool replay = GENERATE(true, false);
  FakeWorld w({{"process_replay", replay}});
  w.build(wordpress_spec());
  w.cut("server-1", "agent-*");
  w.start();
  w.run_until(200 * k_s);
  // Process 1 (db's instance.create) starts at 0 and waits 15 s for the agent's answer; run 2
  // begins at the replay of 30 s (the one of 15 s came while run 1 still waited) and fails at
  // 45 s; the hosts are reconnecting by then, so later runs fail at once, each 30 s apart.
  std::vector<TimeNs> expected = {15 * k_s};
  if (replay)
    expected = {15 * k_s, 45 * k_s, 60 * k_s, 90 * k_s, 120 * k_s, 150 * k_s, 180 * k_s};
  CHECK(failures_of(w, 1) == expected);
  w.heal();
  w.run_until(300 * k_s);
  CHECK(w.running("wordpress/db") == (replay ? 1 : 0));
}
