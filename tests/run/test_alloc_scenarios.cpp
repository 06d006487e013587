// The allocator scenarios (scenarios/alloc-*.yaml): each passes, fails with the mechanism it
// shows switched off, holds for other seeds, and has a pinned digest; a placement that cannot
// succeed is retried until the end of the run.
#include <catch2/catch.hpp>

#include "models/register.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/common/scenario_runs.hpp"
#include "tests/common/registry.hpp"

using namespace stampede;

namespace {

using test::failures;
using test::run_named;

using Case = test::MechanismCase;

const Case k_cases[] = {
    {"alloc-spread", "cluster.mechanisms.cattle_allocator_spread=false"},
    {"alloc-ports", "cluster.mechanisms.cattle_allocator_ports=false"},
    {"alloc-labels", "cluster.mechanisms.cattle_allocator_affinity=false"},
    {"alloc-scale", "cluster.mechanisms.cattle_allocator_affinity=false"},
    {"alloc-scale", "cluster.mechanisms.cattle_allocator_soft_constraints=false"},
    {"alloc-host-loss", "cluster.mechanisms.cattle_allocator_affinity=false"},
};

// The times of the timeline's "Scheduling failed" process failures (logged at info).
std::vector<TimeNs> scheduling_failures(const RunOutcome& out) {
  std::vector<TimeNs> at;
  for (const TimelineEntry& e : out.timeline)
    if (e.text.find("failed: Scheduling failed") != std::string::npos) at.push_back(e.time_ns);
  return at;
}

}  // namespace

TEST_CASE("each allocator scenario passes and fails with its mechanism off", "[allocator]") {
  for (const Case& c : k_cases) {
    SECTION(std::string(c.scenario) + " / " + c.switch_off) {
      RunOutcome on = run_named(c.scenario);
      INFO(c.scenario << "\n" << failures(on));
      CHECK(on.passed);
      RunOutcome off = run_named(c.scenario, {c.switch_off});
      INFO(c.scenario << " with " << c.switch_off);
      CHECK_FALSE(off.passed);
    }
  }
}

TEST_CASE("the allocator scenarios hold for other seeds", "[allocator]") {
  for (const char* name :
       {"alloc-spread", "alloc-ports", "alloc-labels", "alloc-scale", "alloc-host-loss"}) {
    for (std::uint64_t seed : {2u, 3u}) {
      RunOutcome out = run_named(name, {}, seed);
      INFO(name << " seed " << seed << "\n" << failures(out));
      CHECK(out.passed);
    }
  }
}

TEST_CASE("a placement no host can take is retried until the end of the run", "[allocator]") {
  // rancher/rancher#4771 and #820: the process fails and the replay task runs it again, every
  // other 15 s replay once it has failed twice, for as long as the cluster runs.
  for (const char* name : {"alloc-ports", "alloc-scale"}) {
    RunOutcome out = run_named(name, {}, 0, LogLevel::info);
    std::vector<TimeNs> at = scheduling_failures(out);
    INFO(name);
    REQUIRE(at.size() >= 10);
    CHECK(at.back() >= 9 * k_m);
    // No two tries closer than the replay interval once the process has failed twice.
    for (std::size_t i = 3; i < at.size(); ++i) CHECK(at[i] - at[i - 1] >= 15 * k_s);
  }
  // The host loss: tried from the removal until agent-3 is back at 8 min, then placed there.
  RunOutcome loss = run_named("alloc-host-loss", {}, 0, LogLevel::info);
  std::vector<TimeNs> at = scheduling_failures(loss);
  REQUIRE(at.size() >= 5);
  CHECK(at.back() >= 7 * k_m);
  CHECK(at.back() < 9 * k_m);
}

TEST_CASE("the allocator scenarios' digests are pinned", "[allocator][pinned]") {
  CHECK(hex64(run_named("alloc-spread").digest) == "aec9dc71fd560baf");
  CHECK(hex64(run_named("alloc-ports").digest) == "baffc7ae7b2c9ae0");
  CHECK(hex64(run_named("alloc-labels").digest) == "39a227dcb0c9878a");
  CHECK(hex64(run_named("alloc-scale").digest) == "6b1c88db15f9782b");
  // alloc-host-loss moved from e90cadb5de83a4e2 at its merge with the HA health checks (hcha17),
  // whose single-mode changes it meets: its service has a health check, and health rows now
  // live in the store and checks are named by sequence number alone.
  // Then from 9b426e92d36c200b with cattle_stop_waits_reply: its unhealthy container on the lost
  // host is removed by the process instance.stop_remove (the stop skipped for the reconnecting
  // host) instead of one write; and with cattle_config_item_triggers: agent-1 going reconnecting
  // and coming back no longer push the checker lists to every host (rancher/cattle v0.165.8
  // defaults.properties lines 64-66), so those deliveries are no longer steps of the run.
  // Then from 46b8ccd01f10c648 with tcp_socket_per_process (issue 13, sockets): agent-3's first
  // hello after its power returns connects on a new socket at 8:00 instead of being lost on the
  // connection the server kept (which it reset), so the host is active again 5 s sooner; etcd/3
  // still starts at 8:31.
  CHECK(hex64(run_named("alloc-host-loss").digest) == "27250cfcaf93f6c8");
}
