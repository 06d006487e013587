// No false alarm on the correct models (issue 17): every strategy (random, pct, dfs, random with
// --swarm) explores every scenario with every mechanism on, with injected faults anywhere in
// time and in liveness mode, and finds nothing within a small budget. dfs places its faults at
// steps spread over the whole fault phase (Explorer::dfs_placements) and judges every run after
// its settle window (a run it cuts is taken on by time to the end).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "tests/explore/explore_registry.hpp"

using namespace stampede;

namespace {

// Every mechanism on. Cattle's boot (`liquibase_changelog_lock`, `cattle_config_datasource`,
// `cattle_pool_on_demand`) and `cm_membership_table` are on by default, and no scenario here
// switches them off (known-bugs/ha-stale-lock-holder did until its figures were re-derived on
// Cattle's boot), so every HA scenario here runs with them.
const std::vector<std::string> k_mechanisms = {"agent_resync",
                                               "agent_connection_events",
                                               "host_api_events",
                                               "state_in_store",
                                               "zk_stale_holder_check",
                                               "cattle_stop_stray_copies",
                                               "cattle_stop_waits_reply",
                                               "agent_connection_locks",
                                               "zk_service_locks",
                                               "api_dns_failover",
                                               "cattle_health_checks",
                                               "process_replay",
                                               "cattle_exit_on_zk_lost",
                                               "cattle_db_release_change_lock",
                                               "zk_correct_vote_order",
                                               "db_test_on_borrow",
                                               "manager_version_check",
                                               "manager_leftover_check",
                                               "manager_health_check",
                                               "manager_memory_limit",
                                               "lease_lock_fencing",
                                               "lease_lock_revoke_expired_waiters",
                                               "zk_session_order",
                                               "db_pool_grow"};

// The scenarios whose timed run passes with every mechanism on. Left out: rancher-6057,
// rancher-6334, ha-mixed-versions and platforms/zone-bandwidth, whose expectations state the
// failure itself (they fail the timed run with the mechanism on, as they should); quorum-sizes
// (12 simulated hours, 9 s a run: too long for this budget). Also left out, as findings of this
// search not yet classified (docs/exploration.md, "No false alarm"): ha-server-crash and
// hc-host-isolated, whose story expectations (server-2 logs membership index 5; the old copy of
// shop/web/1 is stopped on agent-1) do not hold once an injected fault changes the story (nor,
// likewise, hc-ha-host-isolated's, which was written after this search); and store-truncation,
// where injected faults before the scripted ones lead to a db container not running at 299 s
// and a service over its scale. ha-db-restart is back: its finding (lock.mutual_exclusion, pct)
// was the model's ZooKeeper answering a session's read before the session's own delete (the
// test below). Left out since they run with the `cluster` table (dfs, seed 1, run 2):
// rancher-5395, a limit of the model: server-1 is isolated at 1:13 and healed at 1:30, and its
// manager's statement sent during the cut is lost, so it waits out cm_db_io_timeout
// (tcp_retries2, 924.6 s) where real TCP would retransmit it within seconds of the heal; the
// others, waiting for three hosts, take turns exiting and the stack never starts. And
// ha-too-many-connections, whose `never: cluster.refused_joined` is a claim of the heartbeat
// stand-in: with the table the manager checks in on its own connection, so once an injected
// fault frees connections server-3 joins although its pool was refused, as the real manager,
// which never looks at Cattle's pool, would.
const std::vector<std::string> k_scenarios = {"ha-cluster-table",
                                              "ha-even-ensemble",
                                              "ha-leftover-state",
                                              "ha-low-memory",
                                              "ha-minority-partition",
                                              "ha-startup",
                                              "ha-wrong-bridge",
                                              "hc-quorum-minority",
                                              "hc-strategy-none",
                                              "known-bugs/ha-stale-lock-holder",
                                              "known-bugs/lease-lock-expired-waiter",
                                              "known-bugs/lease-lock",
                                              "known-bugs/zk-1419",
                                              "ha-agent-isolated"};

// Scenarios searched with their expectations replaced by a relaxed check: web at scale 2 at the
// end (and the service locks exclusive). In each, an injected partition of agent-1 fails its web
// container's health checks while the server still counts the host active (random and pct, run
// 3); the service removes the container and places its replacement in the same reconcile,
// without waiting for the old copy's stop (rancher/cattle v0.165.8 DeploymentUnitInstance.java:
// 38-43, mechanism cattle_stop_waits_reply), whose call is lost and then skipped once the host
// is reconnecting, so two copies run past the scale_exceeded grace: real Cattle, which their
// `never: service.scale_exceeded` does not allow for (docs/exploration.md). What must hold is
// that the copies are gone by the end. ha-agent-isolated, out for the same finding before the
// stop waited for its reply, passes its own expectations in these runs and is in the list above.
// ha-db-restart joined them when the health-check registration lock (its ZooKeeper requests,
// cattle_healthcheck_register_lock) moved the walk: random's run 3 isolates agent-2 at 24.4 s,
// its web container is unhealthy at 36.1 s while the host is still active, and the replacement
// on agent-1 runs beside the old copy past the grace (service.scale_exceeded at 47.3 s).
struct Relaxed {
  const char* scenario;
  const char* end;  // the run's last second, "239s"
};
const Relaxed k_relaxed[] = {
    {"agent-partition", "299s"}, {"server-stop", "299s"}, {"ha-db-restart", "179s"}};

std::string mechanism_flags() {
  std::string out;
  for (const std::string& m : k_mechanisms) out += fmt::format(" --set cluster.mechanisms.{}=true", m);
  return out;
}

// Explores one scenario (with `extra` overrides) with `strategy_flags` in liveness mode: the
// fault phase is the first quarter of the run, the settle window the next half, so every
// expectation from three quarters of the way on is judged (and every invariant throughout).
void explore_one(const std::string& name, const std::string& strategy_flags,
                 const std::string& extra = "") {
  const std::string path = fmt::format("{}/{}.yaml", SCENARIOS_DIR, name);
  const ScenarioSpec spec = load_scenario(path, test::explore_registry());
  const std::int64_t phase_ms = spec.duration_ns / 4 / 1'000'000;
  const std::int64_t settle_ms = spec.duration_ns / 2 / 1'000'000;
  auto r = test::run_cli(fmt::format(
      "explore {} {}{} {} --max-faults 2 --settle {}ms --fault-phase {}ms --max-delay 5ms "
      "--runs 3 --quiet --out {}",
      path, mechanism_flags(), extra, strategy_flags, settle_ms, phase_ms,
      test::temp_path("no-false-alarm", "trace.jsonl")));
  INFO(name << ": " << r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("no violation found in 3 runs") != std::string::npos);
}

// Every scenario of both lists.
void explore_all(const std::string& strategy_flags) {
  for (const std::string& name : k_scenarios) explore_one(name, strategy_flags);
  for (const Relaxed& r : k_relaxed)
    explore_one(r.scenario, strategy_flags,
                fmt::format(" --set 'expect=[{{by: {}, running: {{service: wordpress/web, count: "
                            "2}}}}, {{always: lock.mutual_exclusion}}]'",
                            r.end));
}

}  // namespace

TEST_CASE("random finds nothing on the correct models, faults at two instants, liveness mode") {
  explore_all("--strategy random --fault-instants 2");
}

TEST_CASE("pct finds nothing on the correct models, faults at two instants, liveness mode") {
  explore_all("--strategy pct --fault-instants 2");
}

TEST_CASE("swarm finds nothing on the correct models, faults at two instants, liveness mode") {
  explore_all("--strategy random --swarm --fault-instants 2");
}

TEST_CASE("dfs finds nothing on the correct models, faults placed over the fault phase") {
  explore_all("--strategy dfs");
}

TEST_CASE("pct on ha-db-restart with zk_session_order finds nothing in 10 runs",
          "[explore][lock]") {
  // The explorer's finding on ha-db-restart (docs/exploration.md): pct, seed 1, faults at two
  // instants; at 45.06 s server-1 and server-2 both held a service lock. A follower answered a
  // server's getChildren before that server's delete of its own node, sent just before on the
  // same session, had come back from the leader. With zk_session_order off it came back in run
  // 7; since the allocator follows Cattle's host order (models/cattle/allocator.hpp) the runs
  // take other paths and pct no longer meets it in 30 runs with the mechanism off, so only the
  // mechanism-on half is kept here (the sizing study's regression in tests/ha still breaks
  // lock.mutual_exclusion without the mechanism). The search checks what the mechanism is
  // about, the lock, with web at scale 2 at the end, as k_relaxed does: since the scenario runs
  // on Cattle's on-demand pool (stopgaps, issue 13) pct's run 7 isolates agent-2 at 21 s, and
  // web/1 is removed as unhealthy and replaced while its old copy runs on (3 containers at
  // 43 s), which is real Cattle and already classified (agent-partition, above).
  const std::string path = fmt::format("{}/ha-db-restart.yaml", SCENARIOS_DIR);
  auto on = test::run_cli(fmt::format(
      "explore {} {} --set cluster.mechanisms.zk_session_order=true --strategy pct "
      "--fault-instants 2 --max-faults 2 --settle 90000ms --fault-phase 45000ms --max-delay 5ms "
      "--set 'expect=[{{by: 179s, running: {{service: wordpress/web, count: 2}}}}, "
      "{{always: lock.mutual_exclusion}}]' --runs 10 --quiet --out {}",
      path, mechanism_flags(), test::temp_path("db-restart-pct", "trace.jsonl")));
  INFO(on.out);
  CHECK(on.code == 0);
  CHECK(on.out.find("no violation found in 10 runs") != std::string::npos);
}
