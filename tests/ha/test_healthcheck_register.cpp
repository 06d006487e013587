// The health-check registration lock HEALTHCHECK.<id>.INSTANCE.REGISTER (mechanism
// cattle_healthcheck_register_lock, models/cattle/healthcheck_register.cpp) on the kernel: who
// adds scenarios/ha-healthcheck-register.yaml's checkers in its scripted race for seeds 1 to 8,
// with the lock and without it, and single mode, where the lock changes nothing.
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/cattle/healthcheck.hpp"
#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

constexpr const char* k_adds_agent_2 = "gets checkers agent-2 (it had 2 active)";
constexpr const char* k_registered =
    "health check registration of instance 1099780063232 done under lock "
    "HEALTHCHECK.1099780063232.INSTANCE.REGISTER";
// Both paused servers read agent-2's Hello when they wake at 121 s.
constexpr std::int64_t k_wake_ms = 121'000;

// The times, in milliseconds, of the timeline lines of `node` at or after `from_ms` that contain
// `needle`.
std::vector<std::int64_t> lines_at(const RunOutcome& out, const std::string& node,
                                   std::int64_t from_ms, const std::string& needle) {
  std::vector<std::int64_t> at;
  for (const TimelineEntry& e : out.timeline)
    if (e.node == node && e.time_ns / 1'000'000 >= from_ms &&
        e.text.find(needle) != std::string::npos)
      at.push_back(e.time_ns / 1'000'000);
  return at;
}

}  // namespace

TEST_CASE("the registration lock keeps two servers from adding one checker twice, for every seed",
          "[ha][health]") {
  // Goal: the scenario scripts the race (ha-healthcheck-register.yaml says how), so for each
  // seed server-1 and server-2 both read agent-2's Hello at 121 s and register shop/web/1 at
  // once; with the lock exactly one of them adds agent-2 and the other reads that row back and
  // adds nothing; without it both add agent-2 within 100 ms and the db has two checker rows for
  // one host.
  using Times = std::vector<std::int64_t>;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    Run on = run_debug(load("ha-healthcheck-register"), seed);
    INFO(failures(on.out));
    CHECK(on.out.passed);
    for (const char* server : {"server-1", "server-2"}) {
      CHECK(lines_at(on.out, server, k_wake_ms, "agent agent-2 connected") == Times{k_wake_ms});
      CHECK(lines_at(on.out, server, k_wake_ms, k_registered).size() == 1);
    }
    std::size_t adds = lines_at(on.out, "server-1", k_wake_ms, k_adds_agent_2).size() +
                       lines_at(on.out, "server-2", k_wake_ms, k_adds_agent_2).size() +
                       lines_at(on.out, "server-3", 0, k_adds_agent_2).size();
    CHECK(adds == 1);

    Run off = run_debug(load("ha-healthcheck-register",
                             {"cluster.mechanisms.cattle_healthcheck_register_lock=false"}),
                        seed);
    CHECK(failed(off.out) == std::vector<std::string>{"{never: health.checker_rows}"});
    for (const char* server : {"server-1", "server-2"}) {
      Times adds_off = lines_at(off.out, server, k_wake_ms, k_adds_agent_2);
      REQUIRE(adds_off.size() == 1);
      CHECK(adds_off[0] < k_wake_ms + 100);
    }
  }
}

TEST_CASE("the registration lock's race with the scenario's seed, to the millisecond",
          "[ha][health]") {
  // Goal: the timeline ha-healthcheck-register.yaml's description tells for its seed: under the
  // lock server-2 adds agent-2 at 2:01.049 and server-1 reads it back at 2:01.082; without it
  // server-2 adds it at 2:01.023 and server-1 at 2:01.025.
  const std::uint64_t seed = load("ha-healthcheck-register").seed;
  REQUIRE(seed == 1);
  Run on = run_debug(load("ha-healthcheck-register"), seed);
  CHECK(lines_at(on.out, "server-2", k_wake_ms, k_adds_agent_2) ==
        std::vector<std::int64_t>{121'049});
  CHECK(lines_at(on.out, "server-1", k_wake_ms, k_adds_agent_2).empty());
  CHECK(lines_at(on.out, "server-1", k_wake_ms, k_registered) ==
        std::vector<std::int64_t>{121'082});

  Run off = run_debug(load("ha-healthcheck-register",
                           {"cluster.mechanisms.cattle_healthcheck_register_lock=false"}),
                      seed);
  CHECK(lines_at(off.out, "server-2", k_wake_ms, k_adds_agent_2) ==
        std::vector<std::int64_t>{121'023});
  CHECK(lines_at(off.out, "server-1", k_wake_ms, k_adds_agent_2) ==
        std::vector<std::int64_t>{121'025});
}

TEST_CASE("a registration lock's name is HEALTHCHECK.<id>.INSTANCE.REGISTER", "[ha][health]") {
  // Goal: the lock callbacks route exactly the names HealthcheckRegisterLock.java:9 makes to
  // the registration, and no other lock's.
  CHECK(cattle::health_register_lock_name(cattle::InstanceId{1099780063232}) ==
        "HEALTHCHECK.1099780063232.INSTANCE.REGISTER");
  CHECK(cattle::health_register_lock_of("HEALTHCHECK.1099780063232.INSTANCE.REGISTER") ==
        cattle::InstanceId{1099780063232});
  CHECK_FALSE(cattle::health_register_lock_of("HEALTHCHECK..INSTANCE.REGISTER").has_value());
  CHECK_FALSE(cattle::health_register_lock_of("UPDATE.HCI.3").has_value());
  CHECK_FALSE(cattle::health_register_lock_of("PROCESS.INSTANCE.3").has_value());
}

TEST_CASE("the registration lock changes nothing in single mode", "[health]") {
  // Goal: single mode registers in one step of its one server, so the run is the same step for
  // step with the mechanism on or off.
  for (const char* name : {"hc-host-isolated", "hc-stop-waits-reply"}) {
    const std::uint64_t seed = load(name).seed;
    Run on = run(load(name), seed);
    Run off = run(load(name, {"cluster.mechanisms.cattle_healthcheck_register_lock=false"}), seed);
    INFO(name);
    CHECK(on.out.digest == off.out.digest);
  }
}

TEST_CASE(
    "a server whose first read crosses the seed's commit names no container without its stack",
    "[ha][reconcile]") {
  // Goal: with seed 289 server-3 reads the service table after server-1's seed commits and the
  // stack table before, so its copy holds shop/web without the stack shop; it must read again
  // rather than create web's container as "/web/1" (which no expectation on shop/web counts:
  // before the fix the run ended with 0 of shop/web running).
  Run on = run_debug(load("ha-healthcheck-register"), 289);
  INFO(failures(on.out));
  CHECK(on.out.passed);
  CHECK(timeline_count(on.out, "server-3", "read the shared tables (1 services, 4 hosts)") == 1);
  CHECK(timeline_count(on.out, "agent-1", "container shop/web/1 started") == 1);
  for (const char* node : {"agent-1", "server-1", "server-2", "server-3"})
    CHECK(timeline_count(on.out, node, "container /web/1") == 0);
}
