// The agent's connection to its Cattle server (models/agent/agent.hpp): a server process that
// dies closes the agent's socket, so the agent notices one latency later and tries again after
// agent_reconnect_delay (the agent container's `sleep 5`); a server that loses power is silent,
// so the agent notices only by agent_connection_timeout. One server, one agent, 2 ms latency.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

constexpr TimeNs k_fault_ns = 30 * k_s;

std::string scenario(std::string_view down, std::string_view up, std::string_view up_at) {
  return fmt::format(R"(name: agent-connection
description: the agent's connection when its server goes away
seed: 1
duration: 100s
cluster:
  servers: 1
  version: "1.1.1"
  database: {{external: false, max_connections: 151, pool_per_server: 50}}
  agents: 1
  network:
    latency: 2ms
stacks:
  - name: app
    services:
      - {{name: db, scale: 1}}
faults:
  - {{at: 30s, {}: server-1}}
  - {{at: {}, {}: server-1}}
)",
                     down, up_at, up);
}

// When agent-1 logged a line starting with `prefix` at or after the fault, if it did.
struct Seen {
  std::optional<TimeNs> at_ns;
  std::string text;
};

Seen first_after_fault(const RunOutcome& out, std::string_view prefix) {
  for (const TimelineEntry& e : out.timeline)
    if (e.node == "agent-1" && e.time_ns >= k_fault_ns && e.text.rfind(prefix, 0) == 0)
      return Seen{e.time_ns, e.text};
  return {};
}

RunOutcome run_text(const std::string& text, const std::vector<std::string>& sets = {}) {
  static std::vector<std::unique_ptr<ScenarioSpec>> keep;  // the results point into the spec
  keep.push_back(std::make_unique<ScenarioSpec>(
      parse_scenario_with_overrides(text, "agent-connection.yaml", sets, registry())));
  RunConfig c;
  c.seed = 1;
  c.timeline_level = LogLevel::info;  // agent.connected is an info line
  return run_scenario(*keep.back(), registry(), c);
}

}  // namespace

TEST_CASE("an agent whose server crashes reconnects one latency plus the 5 s delay later",
          "[agent][connections]") {
  RunOutcome out = run_text(scenario("crash", "restart", "31s"));
  Seen lost = first_after_fault(out, "lost the connection to server-1");
  REQUIRE(lost.at_ns);
  CHECK(lost.text.find("(closed)") != std::string::npos);
  // The FIN arrives one latency (2 ms) after the crash.
  CHECK(*lost.at_ns < k_fault_ns + 100 * k_ms);
  Seen back = first_after_fault(out, "connected to server-1");
  REQUIRE(back.at_ns);
  // agent_reconnect_delay after the loss, plus the hello's and the welcome's latencies; the
  // restarted server's own first ping would come only at 31 s + 5 s.
  CHECK(*back.at_ns >= *lost.at_ns + 5 * k_s);
  CHECK(*back.at_ns < k_fault_ns + 5 * k_s + 100 * k_ms);
}

TEST_CASE("an agent whose server loses power notices only by its own timeout",
          "[agent][connections]") {
  RunOutcome out = run_text(scenario("power_off", "power_on", "70s"));
  Seen lost = first_after_fault(out, "lost the connection to server-1");
  REQUIRE(lost.at_ns);
  CHECK(lost.text.find("(timeout)") != std::string::npos);
  // agent_connection_timeout (15 s) after the last ping, which came at most 5 s before the fault.
  CHECK(*lost.at_ns >= k_fault_ns + 10 * k_s);
  CHECK(*lost.at_ns <= k_fault_ns + 25 * k_s);
  Seen back = first_after_fault(out, "connected to server-1");
  REQUIRE(back.at_ns);
  CHECK(*back.at_ns >= 70 * k_s);
}

TEST_CASE("a crash is noticed at once only through the connection (agent_connection_events)",
          "[agent][connections]") {
  std::string text = scenario("crash", "restart", "70s");
  RunOutcome on = run_text(text);
  RunOutcome off = run_text(text, {"cluster.mechanisms.agent_connection_events=false"});
  Seen lost_on = first_after_fault(on, "lost the connection to server-1");
  Seen lost_off = first_after_fault(off, "lost the connection to server-1");
  REQUIRE(lost_on.at_ns);
  REQUIRE(lost_off.at_ns);
  CHECK(*lost_on.at_ns < k_fault_ns + 100 * k_ms);
  // Switched off, the crash is as silent as a power loss.
  CHECK(lost_off.text.find("(timeout)") != std::string::npos);
  CHECK(*lost_off.at_ns >= k_fault_ns + 10 * k_s);
  // Refused attempts every 5 s while the server is down; the first after the restart connects.
  Seen back_on = first_after_fault(on, "connected to server-1");
  REQUIRE(back_on.at_ns);
  CHECK(*back_on.at_ns >= 70 * k_s);
  CHECK(*back_on.at_ns < 75 * k_s + 100 * k_ms);
}
