// The HA scenarios (FIELD-NOTES observations 4-9) on the kernel: each passes, for several seeds,
// and fails when the mechanism that makes its observation hold is switched off. Plus what the
// expectations cannot say: who joined, who did not, and that the db node took the pools.
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/cattle/server.hpp"
#include "models/mysql/db_node.hpp"
#include "models/register.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/ha/ha_run.hpp"

using namespace stampede;

using namespace stampede::test;

namespace {

struct MechanismCase {
  const char* scenario;
  const char* switch_off;  // the --set that removes what makes the observation hold
  const char* fails;       // text of an expectation that must then fail
  const char* also = nullptr;  // a second --set the switch needs, if any
};

std::vector<std::string> switch_sets(const MechanismCase& m) {
  std::vector<std::string> sets{m.switch_off};
  if (m.also != nullptr) sets.emplace_back(m.also);
  return sets;
}

const MechanismCase k_cases[] = {
    {"ha-startup", "cluster.bridge_address=172.18.0.1", "cluster.management_stack_started"},
    {"ha-too-many-connections", "cluster.database.max_connections=160", "Too many connections"},
    // Cattle's dbcp pool opens one connection at boot and grows as borrows need: three servers
    // fit MySQL's default 151 at start-up; pools that open their 50 at boot do not.
    {"ha-startup", "cluster.mechanisms.cattle_pool_on_demand=false",
     "members=[server-1, server-2, server-3]"},
    {"ha-too-many-connections", "cluster.mechanisms.cattle_pool_on_demand=false",
     "database pool of 1 connection open"},
    // Observation 7 by the sources: nothing stops a 1.1.1/1.1.2 cluster; the check that did in
    // the model is not in cluster-manager, and switched on it keeps the stack from starting. It
    // lives in the heartbeat stand-in only, so the `cluster` table goes off with it.
    {"ha-mixed-versions", "cluster.mechanisms.manager_version_check=true",
     "cluster.management_stack_started", "cluster.mechanisms.cm_membership_table=false"},
    {"ha-wrong-bridge", "cluster.mechanisms.manager_health_check=false", "server not available"},
    {"ha-leftover-state", "cluster.mechanisms.manager_leftover_check=false",
     "cluster.leftover_joined"},
    // Observation 4: the servers share the database, reconcile under ZooKeeper locks and divide
    // the agents among themselves. (ha-minority-partition's cut-off server no longer learns of
    // the container death, which comes in a container list every third ping round only, so it
    // has nothing to reconcile with or without the locks: ha-even-ensemble carries the locks'
    // switch.)
    {"ha-server-crash", "cluster.mechanisms.process_replay=false",
     "container wordpress/web/1 restarted"},
    // Rancher 1.1's lifecycle: a server without its ZooKeeper quorum exits on Curator's LOST.
    {"ha-minority-partition", "cluster.mechanisms.cattle_exit_on_zk_lost=false",
     "cattle.zk_lost_exit"},
    {"ha-even-ensemble", "cluster.mechanisms.cattle_exit_on_zk_lost=false",
     "Lost Connection to ZooKeeper"},
    {"ha-even-ensemble", "cluster.mechanisms.zk_service_locks=false", "during: [91s, 150s]"},
    // The db restarts: the pools' test on borrow discards the connections it closed.
    {"ha-db-restart", "cluster.mechanisms.db_test_on_borrow=false",
     "container wordpress/web/1 restarted"},
    // The placement lock: two servers placing at once read each other's placement first.
    {"ha-alloc-lock", "cluster.mechanisms.cattle_allocator_lock=false", "host.port_conflict"},
    // The process instance's lock: another server's replay leaves a running process alone.
    {"ha-process-lock", "cluster.mechanisms.cattle_process_lock=false", "process.single_runner"},
    // The health-check registration lock: two servers registering one container at once do not
    // both add the checker it lacks.
    {"ha-healthcheck-register", "cluster.mechanisms.cattle_healthcheck_register_lock=false",
     "health.checker_rows"},
    // One Redis per node: a crash of redis-1 loses no event; with the single redis-1 the events
    // published while it is down are lost.
    {"ha-redis-crash", "cluster.mechanisms.cattle_redis_per_node=false", "cattle.event_lost"},
    // Pings over the bus: every Redis down sends the hosts reconnecting; pinged directly, the
    // hosts stay active through the outage.
    {"ha-redis-all-down", "cluster.mechanisms.cattle_agent_events_over_redis=false",
     "cattle.host_state_changed"},
    // Agent commands over the bus: every Redis down loses a dead container's start until the
    // bus is back; sent directly, the start restarts it at once.
    {"ha-redis-command-lost", "cluster.mechanisms.cattle_agent_commands_over_redis=false",
     "during: [66s, 119s]"},
};

}  // namespace

TEST_CASE("each HA scenario passes, and fails when its mechanism is switched off",
          "[ha][field-notes]") {
  for (const MechanismCase& m : k_cases) {
    SECTION(m.scenario) {
      // Each scenario runs with the seed its file names, as `stampede run` does.
      const std::uint64_t seed = load(m.scenario).seed;
      Run on_run = run(load(m.scenario), seed);
      const RunOutcome& on = on_run.out;
      INFO(m.scenario << " as written:\n" << failures(on));
      CHECK(on.passed);
      Run off_run = run(load(m.scenario, switch_sets(m)), seed);
      const RunOutcome& off = off_run.out;
      INFO(m.scenario << " with " << m.switch_off << (m.also ? std::string(" ") + m.also : "") << ":\n" << failures(off));
      CHECK_FALSE(off.passed);
      CHECK(any_failed_containing(off, m.fails));
    }
  }
}

TEST_CASE("the HA scenarios hold for other seeds too", "[ha][field-notes]") {
  for (const MechanismCase& m : k_cases)
    for (std::uint64_t seed : {2u, 3u, 4u}) {
      Run out_run = run(load(m.scenario), seed);
      const RunOutcome& out = out_run.out;
      INFO(m.scenario << " seed " << seed << "\n" << failures(out));
      CHECK(out.passed);
    }
}

// Single mode marks a cut-off host reconnecting at the sixth failed ping, which times out 15 s
// (agent_ping_timeout) after it leaves (agent-partition.yaml);
// an HA server must as well. The ping timeout's timer used to cut the HA host id short, so the
// timeout never counted and the host stayed active (tests/models/test_ping_timer.cpp shows the
// id round trip; `stampede run` of this scenario with the old build observed agent-1 active at
// 100s on seeds 1 to 4). Since the process lock (cattle_process_lock) the host goes reconnecting
// some 20 ms after the timeout, once the server holds host.reconnect's PROCESS.INSTANCE lock.
TEST_CASE("an agent cut off from every HA server goes reconnecting in single-mode time",
          "[ha][field-notes]") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    Run out_run = run(load("ha-agent-isolated"), seed);
    const RunOutcome& out = out_run.out;
    INFO("seed " << seed << "\n" << failures(out));
    CHECK(out.passed);
  }
}

TEST_CASE("HA start-up: membership grows to three and the stack starts once", "[ha]") {
  Run out_run = run(load("ha-startup"), 1);
  const RunOutcome& out = out_run.out;
  REQUIRE(out.passed);
  // Every manager logs its membership changes, ending with all three members.
  for (const char* s : {"server-1", "server-2", "server-3"}) {
    INFO(s);
    CHECK(timeline_count(out, s, "cluster changed, index=") >= 2);
    CHECK(timeline_count(out, s, "members=[server-1, server-2, server-3]") == 1);
  }
  CHECK(timeline_count(out, "server-1", "done launching management stack") == 1);
  CHECK(timeline_count(out, "server-2", "done launching management stack") == 0);
  // Three pools opened on demand and the three managers' own connections fit in MySQL's default
  // 151: nobody is refused.
  CHECK(metric(out, "db_connections_refused") == 0);
}

// The first time `node` logged a line (of the timeline) containing `needle`, or -1.
static TimeNs first_time(const RunOutcome& out, const std::string& node,
                         const std::string& needle) {
  for (const TimelineEntry& e : out.timeline)
    if (e.node == node && e.text.find(needle) != std::string::npos) return e.time_ns;
  return -1;
}

TEST_CASE(
    "too many connections: pools opened on demand fill the db only under load, then the "
    "third server is refused and never a member",
    "[ha]") {
  const char* too_many = "ERROR 1040 (08004): Too many connections";
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    Run out_run = run(load("ha-too-many-connections"), seed, LogLevel::info);
    const RunOutcome& out = out_run.out;
    INFO("seed " << seed << "\n" << failures(out));
    CHECK(out.passed);
    // Each pool opens with the boot's one connection (dbcp's initialSize 0), so the two first
    // servers start within 100 with room to spare: nothing is refused before the db's stall.
    CHECK(timeline_count(out, "server-1", "database pool of 1 connection open") == 1);
    CHECK(timeline_count(out, "server-2", "database pool of 1 connection open") == 1);
    // The stall (70 s to 80 s) makes each waiting borrower connect: when the db resumes it fills
    // up and refuses the rest, which fail their API requests; each pool then keeps up to 50 idle.
    for (const char* s : {"server-1", "server-2"}) {
      const TimeNs first = first_time(out, s, too_many);
      CHECK(first >= 80 * k_s);
      CHECK(first < 81 * k_s);
    }
    CHECK(metric(out, "db_connections_refused") >= 50);
    // server-3 boots at 2:00 into a full db (its Liquibase connection is refused and the boot
    // fails, seeds 2 to 4, or its manager's is, seed 1) and never joins.
    CHECK(first_time(out, "server-3", too_many) >= 120 * k_s);
    for (const char* s : {"server-1", "server-2", "server-3"})
      CHECK(timeline_count(out, s, "members=[server-1, server-2, server-3]") == 0);
  }
  // The pools as field-notes observation 6 describes them, 50 at boot: server-2's is refused at
  // once, before any load, as soon as its migration (2 s after its boot at 60 s) is done.
  Run eager =
      run(load("ha-too-many-connections", {"cluster.mechanisms.cattle_pool_on_demand=false"}), 1,
          LogLevel::info);
  const TimeNs refused = first_time(eager.out, "server-2", too_many);
  CHECK(refused >= 62 * k_s);
  CHECK(refused < 63 * k_s);
  CHECK(timeline_count(eager.out, "server-1", "database pool of 50 connections open") == 1);
}

TEST_CASE("db restart: the servers learn of it from their connections and replace them at the "
          "next borrow, without the test on borrow a write meets a dead connection",
          "[ha]") {
  Run on_run = run(load("ha-db-restart"), 1, LogLevel::info);
  const RunOutcome& on = on_run.out;
  REQUIRE(on.passed);
  // Each on-demand pool had the restart's EOF on every connection it held (none was busy: the
  // crash falls between two rounds of the replay task, see the scenario file); seed 1 holds 11,
  // 13 and 9, about one read of the tables each, and each configuration data source its 1 (10,
  // 11 and 9 before the agent commands went over the Redis bus, cattle_agent_commands_over_redis,
  // and moved the boot's starts to the replay; 10, 9 and 9 before the health-check registration
  // lock, cattle_healthcheck_register_lock, moved the run's steps; 11, 9 and 9 before one Redis per
  // node, cattle_redis_per_node, moved the run's steps; 10, 9 and 9 before placements took the
  // placement lock, cattle_allocator_lock; 11, 9 and 9 before membership went through the `cluster`
  // table by default, whose managers draw their UUIDs from the run's streams; 10, 11 and 9 before
  // zk_learner_connect_tries moved the run's draws).
  const std::pair<const char*, int> pools[] = {{"server-1", 11}, {"server-2", 13}, {"server-3", 9}};
  for (const auto& [s, n] : pools) {
    INFO(s);
    CHECK(timeline_count(on, s,
                         "the database closed " + std::to_string(n) + " pooled connections") == 1);
    CHECK(timeline_count(on, s, "write to the database failed") == 0);
  }
  Run off_run = run(load("ha-db-restart", {"cluster.mechanisms.db_test_on_borrow=false"}), 1,
                    LogLevel::info);
  const RunOutcome& off = off_run.out;
  // Which server hears of the death follows the seed, so count over all.
  std::size_t lost = 0;
  std::size_t restarted = 0;
  for (const char* s : {"server-1", "server-2", "server-3"}) {
    lost += timeline_count(off, s,
                           "write to the database failed: ERROR 2013 (HY000): Lost connection to "
                           "MySQL server during query");
    restarted += timeline_count(off, s, "container wordpress/web/1 restarted");
  }
  CHECK(lost >= 1);
  // The lost writes leave the container running in the database, so no server restarts it and
  // the scenario fails; only its failed health checks have it removed, at 106 s (nine seconds
  // after the kill: the checkers' DOWN reports; 103 s with the heartbeat stand-in).
  CHECK_FALSE(off.passed);
  CHECK(restarted == 0);
  TimeNs unhealthy = -1;
  for (const char* s : {"server-1", "server-2", "server-3"}) {
    const TimeNs t = first_time(off, s, "container wordpress/web/1 is unhealthy");
    if (t >= 0 && (unhealthy < 0 || t < unhealthy)) unhealthy = t;
  }
  CHECK(unhealthy > 100 * k_s);
}

TEST_CASE("mixed versions: 1.1.1 and 1.1.2 form a cluster and start the stack, as the sources do",
          "[ha]") {
  Run out_run = run(load("ha-mixed-versions"), 1);
  const RunOutcome& out = out_run.out;
  INFO(failures(out));
  REQUIRE(out.passed);
  for (const char* s : {"server-1", "server-2", "server-3"})
    CHECK(timeline_count(out, s, "version mismatch") == 0);
  CHECK(timeline_count(out, "server-1", "done launching management stack") == 1);
  // The check the model used to have (not in rancher/cluster-manager v0.1.5) stops it; it lives
  // in the heartbeat stand-in only, which the `cluster` table replaces.
  Run invented_run = run(load("ha-mixed-versions", {"cluster.mechanisms.manager_version_check=true",
                                                    "cluster.mechanisms.cm_membership_table=false"}),
                         1);
  const RunOutcome& invented = invented_run.out;
  for (const char* s : {"server-1", "server-2", "server-3"})
    CHECK(timeline_count(invented, s, "version mismatch: server-3 runs 1.1.2") == 1);
  CHECK(timeline_count(invented, "server-1", "done launching management stack") == 0);
}

TEST_CASE("wrong bridge: the server is up, the manager loops, the stack never starts", "[ha]") {
  Run out_run = run(load("ha-wrong-bridge"), 1);
  const RunOutcome& out = out_run.out;
  REQUIRE(out.passed);
  // One failed ping per 5 s loop from about 15 s on: the loop never ends.
  CHECK(metric(out, "cm_health_check_failures") >= 40);
  CHECK(timeline_count(out, "server-1", "done launching management stack") == 0);
  // The right address for server-2 starts the stack.
  Run fixed_run =
      run(load("ha-wrong-bridge", {"cluster.server_bridge_addresses={server-2: 172.17.0.1}"}), 1);
  const RunOutcome& fixed = fixed_run.out;
  CHECK(timeline_count(fixed, "server-1", "done launching management stack") == 1);
}

TEST_CASE("leftover state: blocked until cleaned, then the stack starts", "[ha]") {
  Run out_run = run(load("ha-leftover-state"), 1);
  const RunOutcome& out = out_run.out;
  REQUIRE(out.passed);
  CHECK(timeline_count(out, "server-3", "leftover state from an earlier attempt") == 1);
  // Without the clean_state fault the node stays out and the stack never starts.
  Run never_cleaned_run = run(load("ha-leftover-state", {"faults=[]"}), 1);
  const RunOutcome& never_cleaned = never_cleaned_run.out;
  CHECK_FALSE(never_cleaned.passed);
  CHECK(any_failed_containing(never_cleaned, "cluster.management_stack_started"));
}

TEST_CASE("an HA server that crashes and restarts reopens its pool and rejoins", "[ha]") {
  // After the stack is up, server-2 crashes and restarts: it boots at once (the stagger is only
  // for the first boot), reopens its pool (the db drops its old session) and checks in again.
  Run out_run = run(load("ha-startup", {"faults=[{at: 2m, crash: server-2}, "
                                           "{at: 150s, restart: server-2}]",
                                           "duration=5m"}),
                       1);
  const RunOutcome& out = out_run.out;
  INFO(failures(out));
  CHECK(out.passed);
  CHECK(metric(out, "db_connections_refused") == 0);
  CHECK(timeline_count(out, "server-1", "members=[server-1, , server-3]") == 1);
  CHECK(timeline_count(out, "server-1", "members=[server-1, server-2, server-3]") == 2);
}

TEST_CASE("HA crash: the survivors replay the crashed server's start process under the lock",
          "[ha]") {
  Run out_run = run(load("ha-server-crash"), load("ha-server-crash").seed);
  const RunOutcome& out = out_run.out;
  INFO(failures(out));
  REQUIRE(out.passed);
  // server-1 crashed before it heard that the container started; another server finished it.
  CHECK(timeline_count(out, "server-1", "container wordpress/web/1 restarted") == 0);
  CHECK(timeline_count(out, "server-2", "container wordpress/web/1 restarted") +
            timeline_count(out, "server-3", "container wordpress/web/1 restarted") ==
        2);
  CHECK(metric(out, "containers_started") == 5);  // 3 at start, 2 restarts, no duplicates
}

TEST_CASE("HA minority: the cut-off server crash-loops, the majority takes its agents over",
          "[ha][lifecycle]") {
  Run out_run = run(load("ha-minority-partition"), 1);
  const RunOutcome& out = out_run.out;
  INFO(failures(out));
  REQUIRE(out.passed);
  // Cut off at 60 s, it exits on LOST, is restarted by Docker a minute later, finds no quorum
  // and exits again before the heal at 200 s: a crash loop, not a server that stays up.
  CHECK(timeline_count(out, "server-3", "Lost Connection to ZooKeeper") == 2);
  CHECK(timeline_count(out, "server-1", "Lost Connection to ZooKeeper") == 0);
  CHECK(timeline_count(out, "server-3", "cattle server started") == 2);
  CHECK(timeline_count(out, "zookeeper-3", "Expiring session") +
            timeline_count(out, "zookeeper-1", "Expiring session") +
            timeline_count(out, "zookeeper-2", "Expiring session") >=
        1);
  // Exactly one majority server restarts the container killed during the cut.
  CHECK(timeline_count(out, "server-1", "container wordpress/web/1 restarted") +
            timeline_count(out, "server-2", "container wordpress/web/1 restarted") ==
        1);
  // Without the exit it stays up through the cut and boots once. (It does not see the death:
  // the container list comes in every third ping round's replies only, and the majority has
  // restarted the container about a second after the kill.)
  Run stay_run =
      run(load("ha-minority-partition", {"cluster.mechanisms.cattle_exit_on_zk_lost=false"}), 1);
  CHECK(timeline_count(stay_run.out, "server-3", "Lost Connection to ZooKeeper") == 0);
  CHECK(timeline_count(stay_run.out, "server-3", "cattle server started") == 1);
  CHECK(timeline_count(stay_run.out, "server-3", "container wordpress/web/1 restarted") == 0);
}

TEST_CASE("HA lifecycle: Docker's restart back-off doubles after short runs and resets after 10 s",
          "[ha][lifecycle]") {
  // With a boot of 1 s and LOST after 2 s, each run lasts about 3 s (< 10 s): the waits are
  // 100, 200, 400 ms... With a 10 s boot a run lasts 12 s and every wait is 100 ms again.
  auto waits = [](const std::vector<std::string>& sets) {
    Run r = run(load("ha-minority-partition", sets), 1, LogLevel::info);
    std::vector<std::string> lines;
    for (const TimelineEntry& e : r.out.timeline)
      if (e.node == "server-3" && e.text.find("docker restarted") != std::string::npos)
        lines.push_back(e.text);
    return lines;
  };
  std::vector<std::string> fast =
      waits({"cluster.timing.cattle_boot_time=1s", "cluster.timing.curator_lost_after=2s"});
  REQUIRE(fast.size() >= 4);
  CHECK(fast[0].find("after 100 ms") != std::string::npos);
  CHECK(fast[1].find("after 200 ms") != std::string::npos);
  CHECK(fast[2].find("after 400 ms") != std::string::npos);
  std::vector<std::string> slow =
      waits({"cluster.timing.cattle_boot_time=10s", "cluster.timing.curator_lost_after=2s"});
  REQUIRE(slow.size() >= 3);
  for (const std::string& line : slow) CHECK(line.find("after 100 ms") != std::string::npos);
}

// Compares, once, every live HA server's copy of the shared tables with the db node's tables.
class CopiesAgree final : public StepObserver {
 public:
  explicit CopiesAgree(TimeNs at_ns) : at_ns_(at_ns) {}
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override {
    if (compared_ || step.time_ns < at_ns_) return;
    compared_ = true;
    auto* db = dynamic_cast<const mysql::DbNode*>(&world_->node(world_->find("db")));
    for (int k = 1; k <= 3; ++k) {
      NodeId id = world_->find("server-" + std::to_string(k));
      if (!world_->is_up(id)) continue;
      auto* s = dynamic_cast<const cattle::CattleServer*>(&world_->node(id));
      for (const char* t : {"service", "instance", "host", "network"}) {
        ++tables_compared;
        if (*s->store().table(t) != *db->database().table(t))
          mismatches.push_back("server-" + std::to_string(k) + " " + t);
      }
    }
  }
  int tables_compared = 0;
  std::vector<std::string> mismatches;

 private:
  TimeNs at_ns_;
  const WorldView* world_ = nullptr;
  bool compared_ = false;
};

TEST_CASE("HA: after a crash and a replay, every server's copy equals the shared database",
          "[ha]") {
  // The write-through (ordered commits), the re-reads and the replay lose nothing: 30 s after the
  // last repair, each live server's copy of the tables is the db's.
  CopiesAgree agree(260 * k_s);
  RunConfig c;
  ScenarioSpec spec = load("ha-server-crash");
  c.seed = spec.seed;
  c.observers.push_back(&agree);
  RunOutcome out = run_scenario(spec, registry(), c);
  CHECK(out.passed);
  CHECK(agree.tables_compared == 8);  // server-1 is down until 280s
  INFO(agree.mismatches.size() << " mismatches, first: "
                               << (agree.mismatches.empty() ? "" : agree.mismatches.front()));
  CHECK(agree.mismatches.empty());
}

// At each of the given times, which live servers own each agent (probe "owns_agent").
class AgentOwners final : public StepObserver {
 public:
  explicit AgentOwners(std::vector<TimeNs> at_ns) : at_ns_(std::move(at_ns)) {}
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override {
    while (next_ < at_ns_.size() && step.time_ns >= at_ns_[next_]) {
      std::map<std::string, std::vector<std::string>> owners;
      for (const char* agent : {"agent-1", "agent-2", "agent-3"}) {
        owners[agent];
        for (int k = 1; k <= 3; ++k) {
          std::string server = "server-" + std::to_string(k);
          NodeId id = world_->find(server);
          if (!world_->is_up(id)) continue;
          if (world_->node(id).probe("owns_agent", agent).value_or(0) == 1)
            owners[agent].push_back(server);
        }
      }
      seen.push_back(std::move(owners));
      ++next_;
    }
  }
  // One map per time: agent -> the servers that own it.
  std::vector<std::map<std::string, std::vector<std::string>>> seen;

 private:
  std::vector<TimeNs> at_ns_;
  std::size_t next_ = 0;
  const WorldView* world_ = nullptr;
};

// Whether every agent has exactly `servers` as its owners.
bool owned_by(const std::map<std::string, std::vector<std::string>>& owners,
              const std::vector<std::string>& servers) {
  for (const auto& [agent, who] : owners)
    if (who != servers) return false;
  return !owners.empty();
}

TEST_CASE("HA agent ownership: the first server takes every agent's connection lock, the others "
          "take them over after its session expired, on a twelfth ping round",
          "[ha]") {
  // ha-server-crash: server-1 boots first and its first ping round tries every agent's lock
  // AGENT.CONNECTION.<id>; it crashes at 90.5 s. Its ZooKeeper session (and with it its lock
  // nodes) outlives it by the session timeout, so at 110 s nobody owns the agents; a survivor
  // takes them on a twelfth round (every 60 s) after the expiry, which is by 200 s.
  AgentOwners owners({60 * k_s, 110 * k_s, 200 * k_s});
  RunConfig c;
  ScenarioSpec spec = load("ha-server-crash");
  c.seed = spec.seed;
  c.observers.push_back(&owners);
  c.timeline_level = LogLevel::info;
  RunOutcome out = run_scenario(spec, registry(), c);
  CHECK(out.passed);
  REQUIRE(owners.seen.size() == 3);
  CHECK(owned_by(owners.seen[0], {"server-1"}));
  CHECK(owned_by(owners.seen[1], {}));
  for (const auto& [agent, who] : owners.seen[2]) {
    INFO(agent);
    CHECK(who.size() == 1);
  }
  // Each take-over comes on a round of the survivor's, at least a session timeout after the
  // crash and at most that plus one 60 s cycle of twelve rounds (and the lock's round trips).
  for (const TimelineEntry& e : out.timeline) {
    if (e.text.find("took the connection lock") == std::string::npos || e.node == "server-1")
      continue;
    INFO(e.node << " at " << e.time_ns);
    CHECK(e.time_ns >= 90500 * k_ms + 30 * k_s);
    CHECK(e.time_ns <= 90500 * k_ms + 60 * k_s + 60 * k_s + 1 * k_s);
  }
  // Switched off, the agents are divided among the members at every round: server-1 never owns
  // them all, and the survivors have them at once.
  AgentOwners off_owners({60 * k_s, 110 * k_s, 200 * k_s});
  RunConfig off = c;
  off.observers = {&off_owners};
  ScenarioSpec off_spec =
      load("ha-server-crash", {"cluster.mechanisms.agent_connection_locks=false"});
  run_scenario(off_spec, registry(), off);
  REQUIRE(off_owners.seen.size() == 3);
  CHECK_FALSE(owned_by(off_owners.seen[0], {"server-1"}));
  CHECK_FALSE(owned_by(off_owners.seen[1], {}));
}

TEST_CASE("known bug (b): without the stale-holder check a paused holder starts extra containers",
          "[ha][known-bugs]") {
  // server-1 reads under its lock, pauses past its session, and acts on the stale read after
  // server-2 has done the work: it inserts web/1 and web/2 a second time, an action after the
  // session expired. Its placements then wait for the environment's placement lock in
  // ZooKeeper (cattle_allocator_lock), which its expired session never gets, and it exits on
  // Curator's LOST; its start processes stay in the db, and server-2's replay places them from
  // fresh rows on agent-3 and agent-1 (as Cattle's replay of another server's process would):
  // four containers for scale 2. (Before the placement lock server-1 placed them itself, from
  // its stale copy, on the first set's hosts under the same names, where the agent's one
  // container per name hid the second set.)
  Run off_run = run(load("known-bugs/ha-stale-lock-holder"), 1, LogLevel::info);
  const RunOutcome& off = off_run.out;
  INFO(failures(off));
  CHECK_FALSE(off.passed);
  CHECK(any_failed_containing(off, "lock.no_stale_holder_action"));
  CHECK(any_failed_containing(off, "service.scale_exceeded"));
  CHECK(timeline_count(off, "server-1", "created on") == 0);
  CHECK(timeline_count(off, "server-2", "container wordpress/web/1 created on agent-1") == 1);
  CHECK(timeline_count(off, "server-2", "container wordpress/web/2 created on agent-2") == 1);
  CHECK(timeline_count(off, "server-2", "container wordpress/web/1 created on agent-3") == 1);
  CHECK(timeline_count(off, "server-2", "container wordpress/web/2 created on agent-1") == 1);
  // With the check server-1 abandons the work when it wakes up.
  Run on_run = run(load("known-bugs/ha-stale-lock-holder",
                        {"cluster.mechanisms.zk_stale_holder_check=true"}),
                   1);
  const RunOutcome& on = on_run.out;
  INFO(failures(on));
  CHECK(on.passed);
  CHECK(metric(on, "stale_holder_refusals") == 1);
  CHECK(timeline_count(on, "server-1", "stopped work on service web") == 1);
  // The scenario runs Cattle's boot (every mechanism at its default): the migration holds the
  // first 2 s, so the pause sits at 2.096 s, inside server-1's read under the lock (2.093 s to
  // 2.098 s). At the moment the eager boot had it (0.849 s) the pause finds server-1 still
  // migrating, and nothing stale follows.
  Run old_run = run(load("known-bugs/ha-stale-lock-holder",
                         {"faults=[{at: 0.849s, pause: {node: server-1, for: 60s}}]"}),
                    1);
  CHECK_FALSE(any_failed_containing(old_run.out, "lock.no_stale_holder_action"));
}

TEST_CASE("known bug (b): an insert queued behind one answered during the pause is a stale action",
          "[ha][known-bugs]") {
  // Paused at 2.110 s, server-1 has read 0 instances under the service's lock and sent web/1's
  // insert; web/2's waits behind it on the one JDBC connection, as Cattle's blocking statements
  // on the lock holder's thread do. When server-1 wakes at 1:02.11 it sends web/2's insert,
  // 50 s after its session expired: that send is its action under the stale lock, and the
  // extra container follows. Before the send counted as the action, only the extra container
  // showed it (the action was stamped when the reconcile queued the insert, before the pause).
  Run r = run(load("known-bugs/ha-stale-lock-holder",
                   {"faults=[{at: 2.110s, pause: {node: server-1, for: 60s}}]"}),
              1);
  INFO(failures(r.out));
  CHECK(any_failed_containing(r.out, "lock.no_stale_holder_action"));
  CHECK(any_failed_containing(r.out, "service.scale_exceeded"));
  // Paused after both inserts went out (2.118 s), server-1 acts no more when it wakes.
  Run late = run(load("known-bugs/ha-stale-lock-holder",
                      {"faults=[{at: 2.118s, pause: {node: server-1, for: 60s}}]"}),
                 1);
  CHECK_FALSE(any_failed_containing(late.out, "lock.no_stale_holder_action"));
}

TEST_CASE("HA API: behind one DNS name, requests move on to the next server while one is down",
          "[ha]") {
  const std::uint64_t seed = load("ha-server-crash").seed;
  Run on_run = run(load("ha-server-crash"), seed);
  // Every request is served but two made in the first seconds, while server-1 runs its boot's
  // migration (liquibase_changelog_lock) and the others have not booted: nobody serves yet.
  CHECK(metric(on_run.out, "api_requests_failed") == 2);
  Run start = run(load("ha-server-crash", {"duration=5s", "faults=[]", "expect=[]"}), seed);
  CHECK(metric(start.out, "api_requests_failed") == 2);
  // Without trying the next address, the crashed server's share of the requests fails.
  Run off_run = run(load("ha-server-crash", {"cluster.mechanisms.api_dns_failover=false"}), seed);
  CHECK(any_failed_containing(off_run.out, "target: api"));
  double failed = metric(off_run.out, "api_requests_failed");
  double served = metric(off_run.out, "api_requests_served");
  // server-1 is down for 190 s of 360 (and servers 2 and 3 boot late): about a sixth to a
  // third of the requests start at a server that cannot answer.
  CHECK(failed / (failed + served) > 0.1);
  CHECK(failed / (failed + served) < 0.34);
}

TEST_CASE("regression: a relock's getChildren no longer overtakes the unlock's delete on one "
          "session (two servers held one service lock)",
          "[ha][connections]") {
  // The command of the issue that found it: `stampede run scenarios/ha-server-crash.yaml --seed
  // 17 --set cluster.zookeeper=1 --set 'faults=[...]'`. With messages on one connection free to
  // overtake each other, the relock listed the children before its own unlock's delete had been
  // applied and two servers held the lock. A connection is FIFO now (sim/net/connections.hpp).
  // The scenario's other expectations are written for its own seed and faults, not these.
  Run r = run(load("ha-server-crash",
                   {"cluster.zookeeper=1",
                    "faults=[{at: 63ms, partition: [[server-1], [server-2, server-3, agent-*, "
                    "zookeeper-*, db, redis-1, wordpress/lb, client-*]]}, {at: 252ms, heal: all}]"}),
              17);
  INFO(failures(r.out));
  CHECK_FALSE(any_failed_containing(r.out, "lock.mutual_exclusion"));
  CHECK_FALSE(any_failed_containing(r.out, "lock.no_stale_holder_action"));
}

TEST_CASE("regression: the sizing study's seed 1 holds lock.mutual_exclusion, with or without "
          "zk_session_order",
          "[ha][sizing]") {
  // scenarios/study/ha-sizing.yaml failed lock.mutual_exclusion (seed 1 at 60:08.427 when it was
  // found): a server, connected to a follower, released a service's lock and asked for it again
  // at once; the follower answered the getChildren before the server's delete had come back from
  // the leader, the server held its deleted node again, and once the delete was applied another
  // server was given the lock too. A server now answers a session's read only after its earlier
  // writes (models/zookeeper/zk_clients.cpp, CommitProcessor), and the recipe is Curator's,
  // which creates its node first and lists only once the create is answered
  // (models/zookeeper/zk_client.hpp): a write is answered after it is applied, so the list comes
  // after the delete whatever the mechanism. Seeds 1, 4 and 8 of the first twelve broke it
  // without the mechanism while the recipe listed first; today's seed 1 holds it either way (the
  // mechanism's own test is on raw requests, tests/zookeeper/test_lock_recipe.cpp).
  Run on = run(load("study/ha-sizing", {"duration=61m"}), 1);
  INFO(failures(on.out));
  CHECK(on.out.passed);
  Run off = run(load("study/ha-sizing", {"duration=61m", "cluster.mechanisms.zk_session_order=false"}),
                1);
  CHECK_FALSE(any_failed_containing(off.out, "lock.mutual_exclusion"));
}
