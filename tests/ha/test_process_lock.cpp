// The process instance's lock PROCESS.INSTANCE.<id> (mechanism cattle_process_lock, models/cattle/
// process_lock.cpp) on the kernel: who runs scenarios/ha-process-lock.yaml's stop, with the lock
// and without it, and single mode, where the lock changes nothing.
#include <catch2/catch.hpp>
#include <string>

#include "models/cattle/server.hpp"
#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

constexpr const char* k_stopped = "container shop/web/1 on agent-1 stopped and removed";
constexpr const char* k_no_answer =
    "(instance.stop_remove instance:1099780063232) failed: no answer";

// Whether any timeline line (a node's, or a failed invariant's) contains `needle`.
bool timeline_has(const RunOutcome& out, const std::string& needle) {
  for (const TimelineEntry& e : out.timeline)
    if (e.text.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("the process lock keeps another server's replay out of a running stop",
          "[ha][process-lock]") {
  // Goal: server-2's instance.stop_remove waits for the paused agent-1; server-3's replay at 1:20
  // is refused the process's lock and leaves it alone, and runs it only after server-2's run
  // ended; without the lock it runs the same process beside server-2. Over the Redis bus (the
  // default since cattle_agent_commands_over_redis) the stop's command reaches agent-1 through
  // server-1, the server of its socket; agent-1 wakes at 80.5 s and gives that socket up (its
  // connection check) before it reads the stop, which it drops (read on a closed socket):
  // server-2's run fails after the 15 s reply timeout and server-3's replay finishes the stop
  // through agent-1's new socket. (Sent directly, before that default, server-2 finished it, and
  // without the lock server-2 and server-3 both did; now both of theirs time out and server-1's
  // replay finishes it. Before the agent dropped commands read on a closed socket, it stopped the
  // container at 80.5 s and only the answer was lost; the same servers finished the stop.)
  const std::uint64_t seed = load("ha-process-lock").seed;
  Run on = run(load("ha-process-lock"), seed, LogLevel::info);
  INFO(failures(on.out));
  CHECK(on.out.passed);
  CHECK(timeline_count(on.out, "server-3",
                       "(instance.stop_remove) is running elsewhere: "
                       "PROCESS_ALREADY_IN_PROGRESS") == 1);
  CHECK(timeline_count(on.out, "server-2", k_no_answer) == 1);
  CHECK(timeline_count(on.out, "server-3", k_no_answer) == 0);
  CHECK(timeline_count(on.out, "server-2", k_stopped) == 0);
  CHECK(timeline_count(on.out, "server-3", k_stopped) == 1);

  Run off = run(load("ha-process-lock", {"cluster.mechanisms.cattle_process_lock=false"}), seed,
                LogLevel::info);
  CHECK_FALSE(off.out.passed);
  CHECK(any_failed_containing(off.out, "process.single_runner"));
  CHECK(timeline_has(off.out, "runs on server-2 and on server-3"));
  CHECK(timeline_count(off.out, "server-2", k_no_answer) == 1);
  CHECK(timeline_count(off.out, "server-3", k_no_answer) == 1);
  CHECK(timeline_count(off.out, "server-1", k_stopped) == 1);
}

TEST_CASE("a process lock's name is PROCESS.INSTANCE.<id>, as Cattle's ProcessLock",
          "[ha][process-lock]") {
  // Goal: the lock callbacks route exactly the names ProcessLock.java:9 makes to the process.
  CHECK(cattle::process_of_lock("PROCESS.INSTANCE.2199291691008") ==
        cattle::ProcessId{2199291691008});
  CHECK_FALSE(cattle::process_of_lock("AGENT.CONNECTION.3").has_value());
  CHECK_FALSE(cattle::process_of_lock("service-1").has_value());
}

TEST_CASE("the process lock changes nothing in single mode", "[process-lock]") {
  // Goal: single mode's in-JVM lock is the server's own check that a process is not running, so
  // the run is the same step for step with the mechanism on or off.
  for (const char* name : {"hc-stop-waits-reply", "agent-partition"}) {
    const std::uint64_t seed = load(name).seed;
    Run on = run(load(name), seed);
    Run off = run(load(name, {"cluster.mechanisms.cattle_process_lock=false"}), seed);
    INFO(name);
    CHECK(on.out.digest == off.out.digest);
  }
}

TEST_CASE("a replay that finds its process done gives its service's lock back",
          "[ha][process-lock]") {
  // Goal: with the agent commands over the bus, server-1's boot start of web/1 fails (no socket
  // yet), server-2 replays it, and server-1's own replay at 18 s waits for the process's lock and
  // then finds the process done; that answer must end server-1's work on the service and give
  // its lock back (process_lock.cpp), or no other server can take the service again and nobody
  // removes the unhealthy container at 1:16.
  const std::uint64_t seed = load("ha-process-lock").seed;
  Run on = run_debug(
      load("ha-process-lock", {"cluster.mechanisms.cattle_agent_commands_over_redis=true"}), seed);
  INFO(failures(on.out));
  CHECK(on.out.passed);
  CHECK(timeline_count(on.out, "server-1", "failed: no answer from the agent") >= 1);
  for (const char* server : {"server-1", "server-2", "server-3"})
    CHECK(timeline_count(on.out, server, "gave up waiting for lock service-") == 0);
}

TEST_CASE("commands sent directly: a replay's process-lock answer gives the service back",
          "[ha][process-lock]") {
  // Goal: in ha-healthcheck-register with seed 4, server-2 takes web's lock at 3.18 s while
  // server-1's start of web/1 holds the process's lock; the answer finds the process done, and
  // server-2 must give web's lock back then (process_lock.cpp), or server-3, which waits for it,
  // gives up at 12.174 s, as it did before the fix. The commands go to the agents directly, the
  // default when this test was written: over the bus (the default since) the boot's start waits
  // 15 s for an answer that does not come, holding web's lock, and both others give up on it
  // after their 10 s wait whether or not the leak is there.
  Run on = run_debug(load("ha-healthcheck-register",
                          {"cluster.mechanisms.cattle_agent_commands_over_redis=false"}),
                     4);
  INFO(failures(on.out));
  CHECK(on.out.passed);
  CHECK(timeline_count(on.out, "server-3", "lock service-1099780063232 acquired") >= 1);
  for (const char* server : {"server-1", "server-2", "server-3"})
    CHECK(timeline_count(on.out, server, "gave up waiting for lock service-") == 0);
}
