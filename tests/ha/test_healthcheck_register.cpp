// The health-check registration lock HEALTHCHECK.<id>.INSTANCE.REGISTER (mechanism
// cattle_healthcheck_register_lock, models/cattle/healthcheck_register.cpp) on the kernel: who
// adds scenarios/ha-healthcheck-register.yaml's checkers, with the lock and without it, and
// single mode, where the lock changes nothing.
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

// Whether a timeline line of `node` at `at_ms` milliseconds contains `needle`.
bool line_at(const RunOutcome& out, const std::string& node, std::int64_t at_ms,
             const std::string& needle) {
  for (const TimelineEntry& e : out.timeline)
    if (e.node == node && e.time_ns / 1'000'000 == at_ms &&
        e.text.find(needle) != std::string::npos)
      return true;
  return false;
}

}  // namespace

TEST_CASE("the registration lock keeps two servers from adding one checker twice", "[ha][health]") {
  // Goal: with the lock the second server to register shop/web/1 reads the first one's checker
  // row back and adds nothing; without it two servers add agent-2 and the db has two checker
  // rows for one host. (Seed 91 since the agent commands went over the Redis bus; with seed 20
  // server-1 also created the container, and off server-2 added agent-2 at 145'026 ms and
  // server-3 at 145'041 ms; with seed 4, before the service-lock leak's fix, server-2 added
  // agent-2 and server-1 read it back, and off server-2 added it at 145'019 ms and server-3 at
  // 145'047 ms.)
  const std::uint64_t seed = load("ha-healthcheck-register").seed;
  Run on = run_debug(load("ha-healthcheck-register"), seed);
  INFO(failures(on.out));
  CHECK(on.out.passed);
  // server-3 chose the first three when it created the container (the boot start's replay),
  // server-1 adds agent-2 after the heal; server-2 chooses none.
  CHECK(timeline_count(on.out, "server-3", "gets checkers") == 1);
  CHECK(timeline_count(on.out, "server-3", k_adds_agent_2) == 0);
  CHECK(timeline_count(on.out, "server-1", "gets checkers") == 1);
  CHECK(timeline_count(on.out, "server-1", k_adds_agent_2) == 1);
  CHECK(timeline_count(on.out, "server-2", "gets checkers") == 0);
  // server-2 registered at the same instant and found the row under the lock.
  CHECK(timeline_count(on.out, "server-2",
                       "health check registration of instance 1099780063232 done under lock "
                       "HEALTHCHECK.1099780063232.INSTANCE.REGISTER") >= 1);

  Run off = run_debug(load("ha-healthcheck-register",
                           {"cluster.mechanisms.cattle_healthcheck_register_lock=false"}),
                      seed);
  CHECK_FALSE(off.out.passed);
  CHECK(failed(off.out) == std::vector<std::string>{"{never: health.checker_rows}"});
  CHECK(line_at(off.out, "server-2", 145'023, k_adds_agent_2));
  CHECK(line_at(off.out, "server-3", 145'045, k_adds_agent_2));
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
