// Pings over the Redis bus (mechanism cattle_agent_events_over_redis, models/cattle/
// agent_bus.cpp): the owner of an agent publishes its ping, the server holding the agent's
// websocket forwards it, and the reply comes back over the bus.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

constexpr const char* k_bus_off = "cluster.mechanisms.cattle_agent_events_over_redis=false";

// The servers' "host agent-K reconnecting" lines (not the expectations' lines).
std::size_t hosts_reconnecting(const RunOutcome& out) {
  std::size_t n = 0;
  for (const TimelineEntry& e : out.timeline)
    n += e.text.rfind("host ", 0) == 0 && e.text.find(" reconnecting") != std::string::npos;
  return n;
}

}  // namespace

// Goal: with every Redis down, the pings fail while the agents' sockets stay up.
TEST_CASE("every Redis down: each host goes reconnecting, no agent loses its socket", "[ha][bus]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Run on = run(load("ha-redis-all-down"), seed, LogLevel::info);
    INFO("seed " << seed << "\n" << failures(on.out));
    CHECK(on.out.passed);
    // The subscription handler's own pings keep every agent connected through the outage.
    for (const char* agent : {"agent-1", "agent-2", "agent-3"})
      CHECK(timeline_count(on.out, agent, "lost the connection") == 0);
    CHECK(hosts_reconnecting(on.out) == 3);
    // Pinged directly, nothing on the bus matters to the pings.
    Run off = run(load("ha-redis-all-down", {k_bus_off}), seed, LogLevel::info);
    CHECK(hosts_reconnecting(off.out) == 0);
  }
}

// Goal: an owner's pings reach an agent whose socket is on another server, and its replies
// come back. server-1 (every agent's owner and socket) crashes at 60 s: the agents move their
// sockets to server-2, server-3 takes their locks at its next 12th round (85 s) and pings them
// through server-2; no host misses six pings in a row.
TEST_CASE("pings cross servers: the owner and the agent's socket server differ", "[ha][bus]") {
  Run out =
      run(load("ha-redis-all-down", {"faults=[{at: 60s, crash: server-1}]"}), 1, LogLevel::info);
  for (const char* agent : {"agent-1", "agent-2", "agent-3"}) {
    INFO(agent);
    CHECK(timeline_count(out.out, agent, "connected to server-2") == 1);
    CHECK(timeline_count(out.out, "server-3", std::string("connection lock of agent ") + agent) ==
          1);
  }
  CHECK(hosts_reconnecting(out.out) == 0);
  // Each ping and each reply crossed the bus: one publish each, heard by one subscriber.
  CHECK(metric(out.out, "redis_published") > 100);
}
