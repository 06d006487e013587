// Pings and agent commands over the Redis bus (mechanisms cattle_agent_events_over_redis and
// cattle_agent_commands_over_redis, models/cattle/agent_bus.cpp): the owner of an agent publishes
// its ping, or a process its command, the server holding the agent's websocket forwards it, and
// the reply comes back over the bus.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

constexpr const char* k_bus_off = "cluster.mechanisms.cattle_agent_events_over_redis=false";
constexpr const char* k_commands_off = "cluster.mechanisms.cattle_agent_commands_over_redis=false";

// The servers' "host agent-K reconnecting" lines (not the expectations' lines).
std::size_t hosts_reconnecting(const RunOutcome& out) {
  std::size_t n = 0;
  for (const TimelineEntry& e : out.timeline)
    n += e.text.rfind("host ", 0) == 0 && e.text.find(" reconnecting") != std::string::npos;
  return n;
}

// When `node` first logged a line containing `text` (-1: never).
TimeNs first_time(const RunOutcome& out, const std::string& node, const std::string& text) {
  for (const TimelineEntry& e : out.timeline)
    if (e.node == node && e.text.find(text) != std::string::npos) return e.time_ns;
  return -1;
}

// server-1 crashes at 60 s, so that server-3 owns the agents and runs the restart while
// server-2 holds their sockets; web/1 (on agent-2) dies at 100 s.
const std::string k_crossed_faults =
    "faults=[{at: 60s, crash: server-1}, {at: 100s, kill_container: wordpress/web/1}";

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

// Goal: a Hello the agent sent to a server across the cut leaves no socket there after the heal.
// The situation of an explorer counterexample (pct, seed 1, run 2 of test_no_false_alarm.cpp):
// redis-2 crashes at 45 s, server-1 at 56.9 s and boots again, agent-1 is cut off 60-150 s. Each
// retry's Hello waits in TCP's retransmission queue and reaches server-2 and server-3 in bursts
// after the heal, after agent-1 connected elsewhere; each opened a socket there that the agent
// did not read, so three servers forwarded its pings. The agent now closes such a socket at the
// late Welcome (models/agent/agent.cpp), and the host stays active.
TEST_CASE("a late Hello's socket is closed by the agent and the host stays active", "[ha][bus]") {
  const std::vector<std::string> sets = {
      "faults=[{at: 45.44s, crash: redis-2}, {at: 56.894s, crash: server-1}, "
      "{at: 59.999s, restart: server-1}, {at: 60s, partition: [[agent-1], [server-*]]}, "
      "{at: 150s, heal: all}]",
      "expect=[{at: 180s, host_state: {host: agent-1, is: active}}, "
      "{at: 239s, host_state: {host: agent-1, is: active}}]"};
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Run out = run(load("ha-agent-isolated", sets), seed, LogLevel::info);
    INFO("seed " << seed << "\n" << failures(out.out));
    CHECK(out.out.passed);
    // agent-1 connects once after the heal; both servers its held Hellos reached get their
    // sockets closed.
    CHECK(timeline_count(out.out, "agent-1", "connected to server-") == 2);
    for (const char* server : {"server-2", "server-3"})
      CHECK(timeline_count(out.out, "agent-1",
                           std::string("closed the socket a late Hello opened on ") + server) >= 1);
  }
}

// Goal: with every Redis down a container's restart cannot reach its agent: the start times out
// and the replay's start gets through once the bus is back; sent directly it restarts at once.
TEST_CASE("every Redis down: a dead container's start waits for the bus", "[ha][bus]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Run on = run(load("ha-redis-command-lost"), seed, LogLevel::info);
    INFO("seed " << seed << "\n" << failures(on.out));
    CHECK(on.out.passed);
    TimeNs restarted = -1;
    for (const char* s : {"server-1", "server-2", "server-3"}) {
      TimeNs t = first_time(on.out, s, "container wordpress/web/1 restarted");
      if (t >= 0 && (restarted < 0 || t < restarted)) restarted = t;
    }
    // The subscribers are back at 120 s (redis.retry.millis after the crash at 60 s).
    CHECK(restarted > 120 * k_s);
    Run off = run(load("ha-redis-command-lost", {k_commands_off}), seed, LogLevel::info);
    CHECK_FALSE(off.out.passed);
    CHECK(any_failed_containing(off.out, "during: [66s, 119s]"));
  }
}

// Goal: a process's command reaches an agent whose socket is on another server and the answer
// comes back over the bus to the caller: the restart finishes without a timeout.
TEST_CASE("a command crosses servers: the caller and the agent's socket server differ",
          "[ha][bus]") {
  Run out = run(load("ha-redis-command-lost", {k_crossed_faults + "]"}), 1, LogLevel::info);
  CHECK(timeline_count(out.out, "agent-2", "connected to server-2") == 1);
  CHECK(timeline_count(out.out, "server-3", "connection lock of agent agent-2") == 1);
  TimeNs restarted = first_time(out.out, "server-3", "container wordpress/web/1 restarted");
  CHECK(restarted > 100 * k_s);
  CHECK(restarted < 103 * k_s);
  CHECK(timeline_count(out.out, "server-3", "no answer from the agent") == 0);
}

// Goal: the socket's server crashes between the command and the answer: the answer is lost with
// it, the caller's process times out (15 s) and the replay's start finds the container running.
// Sent directly, the answer reaches the caller whatever happens to server-2.
TEST_CASE("the socket's server crashes before the answer: the start is replayed", "[ha][bus]") {
  const std::string faults = k_crossed_faults + ", {at: 100.5s, crash: server-2}]";
  Run on = run(load("ha-redis-command-lost", {faults}), 1, LogLevel::info);
  CHECK(timeline_count(on.out, "agent-2", "container wordpress/web/1 started") >= 2);
  TimeNs failed = first_time(on.out, "server-3", "failed: no answer from the agent");
  CHECK(failed > 115 * k_s);
  CHECK(first_time(on.out, "server-3", "container wordpress/web/1 restarted") > failed);
  Run off = run(load("ha-redis-command-lost", {faults, k_commands_off}), 1, LogLevel::info);
  TimeNs restarted = first_time(off.out, "server-3", "container wordpress/web/1 restarted");
  CHECK(restarted > 100 * k_s);
  CHECK(restarted < 103 * k_s);
  CHECK(timeline_count(off.out, "server-3", "no answer from the agent") == 0);
}

// Goal: the pings queued on a socket while its agent was paused do not reopen it once the agent
// has closed it. agent-1 is paused 60-90 s; at the wake its connection check gives server-1's
// socket up (20 s without contact) and closes it, then it reads the queued SocketPing and the
// forwarded pings of that socket. Read as live, they marked it connected to server-1 again with
// no Hello, no server held its socket, and it lost the connection again 20 s later (1:50) before
// it went to server-2 at 1:55; ignored (TCP resets them, models/agent/agent.cpp), the agent's
// next Hello goes to server-2 after its 5 s retry delay.
TEST_CASE("pings read after the agent closed their socket do not reconnect it", "[ha][bus]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Run out = run(load("ha-agent-isolated",
                       {"faults=[{at: 60s, pause: {node: agent-1, for: 30s}}]", "expect=[]"}),
                  seed, LogLevel::info);
    INFO("seed " << seed);
    CHECK(timeline_count(out.out, "agent-1", "connected to server-1") == 1);
    CHECK(timeline_count(out.out, "agent-1", "lost the connection") == 1);
    TimeNs back = first_time(out.out, "agent-1", "connected to server-2");
    CHECK(back > 90 * k_s);
    CHECK(back < 96 * k_s);
  }
}

// Goal: a container command queued on a socket while its agent was paused is not carried out
// once the agent has closed that socket. In ha-process-lock server-2's stop of web/1 reaches
// agent-1 through server-1, the server of its socket, while agent-1 is paused (66-80.5 s); at the
// wake its connection check gives that socket up before it reads the stop. Carried out, the stop
// ended web/1 on agent-1 at 80.5 s with its answer lost on the closed socket; dropped (TCP resets
// it, models/agent/agent.cpp read_on_closed_socket), web/1 runs on beside its replacement on
// agent-2 until server-3's replay sends the stop again through server-2, agent-1's new socket,
// at 1:35. With the commands sent directly they come on no socket and the stop is carried out.
TEST_CASE("a command read after the agent closed its socket is not carried out", "[ha][bus]") {
  const std::string runs_on =
      "expect=[{at: 80.6s, running: {service: shop/web, count: 2}}, "
      "{at: 94s, running: {service: shop/web, count: 2}}]";
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Run out = run(load("ha-process-lock", {runs_on}), seed, LogLevel::info);
    INFO("seed " << seed << "\n" << failures(out.out));
    CHECK(out.out.passed);
    TimeNs stopped = first_time(out.out, "server-3", "on agent-1 stopped and removed");
    CHECK(stopped > 94 * k_s);
    CHECK(stopped < 96 * k_s);
    CHECK(first_time(out.out, "agent-1", "connected to server-2") < 86 * k_s);
  }
  Run direct = run(load("ha-process-lock", {k_commands_off,
                                            "expect=[{at: 80.6s, running: {service: shop/web, "
                                            "count: 1}}]"}),
                   1);
  INFO(failures(direct.out));
  CHECK(direct.out.passed);
}
