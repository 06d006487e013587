#pragma once
// Rancher 1.1's health-check service, the server's side. A service's `health_check`
// makes the network agents of up to three other hosts check each of its containers, with HAProxy,
// every `interval`; a checker reports only when its view flips (UP after `healthy_threshold`
// answers in a row, DOWN after `unhealthy_threshold` failures in a row: models/agent/
// healthcheck.cpp). The server keeps one row per container and checker and calls the container
// unhealthy only when every one of its checkers says so. The service's reconcile then replaces the
// unhealthy containers as the strategy says. Sources, all rancher/cattle v0.165.8, under
// code/iaas/healthcheck/src/main/java/io/cattle/iaas/healthcheck/ (HC) and
// code/iaas/service-discovery/server/src/main/java/io/cattle/platform/servicediscovery/
// deployment/ (SD):
// - the checkers: HC service/impl/HealthcheckServiceImpl.java getHealthCheckHostIds, lines
//   258-304: requiredNumber = 3 active hosts, shuffled, the container's own host only when there
//   is no other;
// - a report: HC process/ServiceEventCreate.java lines 37-56 (UP is healthy, anything else
//   unhealthy, INIT dropped) and HealthcheckServiceImpl.updateHealthcheck, shouldUpdate and
//   determineNewHealthState, lines 66-179;
// - a checker host going reconnecting: HC process/HealthCheckReconcileTrigger.java lines 40-71
//   removes its rows and HC process/HealthCheckReconcile.java line 30 re-decides each container
//   from the checkers left; back to active, HC process/HealthCheckReconcilePostTrigger.java lines
//   42-66 registers every health-checked container again (new checkers up to three);
// - a (re)start: HC process/InstanceHealthcheckRegister.java lines 43-52 (initializing on the first
//   start, reinitializing on a restart of a healthy container);
// - the strategies: SD ServiceDeploymentPlanner.java lines 41 (recreate is the default) and
//   72-98 (none; recreateOnQuorum with quorum 1 unless set), SD impl/healthaction/
//   RecreateHealthCheckActionHandler.java, NoopHealthCheckActionHandler.java and
//   RecreateOnQuorumHealthCheckActionHandler.java lines 16-35 (unhealthy containers go only
//   while at least `quorum` others are healthy);
// - the (re)initializing timeouts: HC service/impl/HealthcheckCleanupMonitorImpl.java lines 72-90,
//   run every task.healthcheck.cleanup.schedule = 60 s (code/iaas/healthcheck/src/main/resources/
//   META-INF/cattle/system-services/healthcheck-defaults.properties line 1); unset, never.
// Config item triggers (mechanism cattle_config_item_triggers). The checker lists reach the
// agents as the `healthcheck` config item, which Cattle pushes only after the processes that
// increment it: rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/
// cattle/system-services/defaults.properties line 13 lists the processes AgentInstanceApplyItems
// listens to (code/iaas/agent-instance/src/main/java/io/cattle/platform/agent/instance/process/
// AgentInstanceApplyItems.java lines 29-62), and lines 64-66 name those that increment
// `healthcheck`: instance.start, instance.stop and healthcheckinstancehostmap.create. host.activate
// and host.reconnect are not among them. Each push still goes to every agent of the provider
// (AbstractApplyItems.java lines 95-113, getOtherAgents; AgentInstanceDaoImpl.java lines 126-139).
// Off, every host that goes reconnecting or comes back pushes to every active host: a wave of N
// hosts coming back after a partition costs N^2/2 deliveries, which is what stopped 10,000 agents
// (issue 15; bench/RESULTS.md).
// The rows are Cattle's tables healthcheck_instance and healthcheck_instance_host_map
// (HealthcheckServiceImpl.java lines 222-254), in the server's store: the embedded one in single
// mode, the shared tables of the external db in HA, where no server owns the health checks
// (healthcheck_ha.cpp says who does what there).
#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/cattle/ids.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"
#include "sim/core/digest.hpp"
#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"
#include "sim/core/time.hpp"
#include "sim/core/timer_tag.hpp"

namespace stampede::cattle {

// A health-checked container as the two tables tell it (healthcheck.cpp, health_row): its
// healthcheck_instance row's health and its checkers' rows (healthcheck_instance_host_map:
// checker host -> its last report, none before the first). A view, not state: the rows are the
// state, in the server's store (single mode) or the shared tables (HA).
struct HealthRow {
  Health state = Health::none;
  TimeNs updated_ns = 0;
  std::map<HostId, Health> checkers;
  HealthcheckInstanceId id;  // its healthcheck_instance row
};

// The health-check cleanup task is due (HealthcheckCleanupMonitorImpl).
struct HealthCleanupTick {
  static constexpr TimerKind k_kind{8, 15};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: the wait for a container's HealthcheckInstanceLock is over (healthcheck_ha.cpp).
struct HealthLockWait {
  static constexpr TimerKind k_kind{8, 16};
  static constexpr std::array<unsigned, 1> k_bits{k_row_id_bits};
  std::int64_t instance = 0;
  STAMPEDE_FIELDS(instance)
};

// HA: a checker's report, or the reconcile after a checker host was lost, as a server handles it
// (healthcheck_ha.cpp): read the container's rows from the db, write the checker's row, take the
// container's lock, read the rows back and decide from them.
struct HealthWork {
  enum class Phase : std::uint8_t { reading, writing, locking, judging } phase = Phase::reading;
  HostId checker;
  Health reported = Health::none;
  bool reconcile = false;  // the checker's row goes, and the others decide
  HealthcheckInstanceId hci;  // the container's row, once read
  int reads = 0;              // reads still outstanding
  bool read_failed = false;
  std::int64_t write_seq = -1;  // the checker's write, while its answer is awaited
  Untracked<TimerId> timer;     // the lock wait
  STAMPEDE_FIELDS(phase, checker, reported, reconcile, hci, reads, read_failed, write_seq, timer)
};

// A server's health work, by container, the first of each being handled. Digested only when there
// is some, so that a run without health checks keeps its digest.
class HealthWorkQueue {
 public:
  std::map<InstanceId, std::deque<HealthWork>> work;

  void digest_into(Digest& d) const {
    if (!work.empty()) state::add(d, work);
  }
  void perturb_for_test() {
    if (!work.try_emplace(InstanceId{}).second) work.erase(InstanceId{});
  }
};

// HA: the wait for a container's HealthcheckRegisterLock is over (healthcheck_register.cpp).
struct HealthRegisterWait {
  static constexpr TimerKind k_kind{8, 20};
  static constexpr std::array<unsigned, 1> k_bits{k_row_id_bits};
  std::int64_t instance = 0;
  STAMPEDE_FIELDS(instance)
};

// HA: a registration of a container's checkers under its lock HEALTHCHECK.<id>.INSTANCE.REGISTER
// (healthcheck_register.cpp): take the lock, read the container's rows and the hosts back, create
// what is missing, and give the lock back once the db has answered the writes.
struct HealthRegistration {
  enum class Phase : std::uint8_t { locking, reading, writing } phase = Phase::locking;
  int reads = 0;  // reads still outstanding
  bool read_failed = false;
  bool again = false;           // asked for again while this one ran: run once more after it
  bool created = false;         // it created checker rows (healthcheckinstancehostmap.create)
  std::int64_t write_seq = -1;  // its last write, while the answer is awaited
  Untracked<TimerId> timer;     // the lock wait
  STAMPEDE_FIELDS(phase, reads, read_failed, again, created, write_seq, timer)
};

// A server's registrations, by container. Digested only when there is some, so that a run without
// health checks keeps its digest.
class HealthRegistrations {
 public:
  std::map<InstanceId, HealthRegistration> work;

  void digest_into(Digest& d) const {
    if (!work.empty()) state::add(d, work);
  }
  void perturb_for_test() {
    if (!work.try_emplace(InstanceId{}).second) work.erase(InstanceId{});
  }
};

// HA: the container's HealthcheckRegisterLock, "HEALTHCHECK.<instance id>.INSTANCE.REGISTER"
// (healthcheck_register.cpp), and the container a lock's name gives (nullopt for another lock).
std::string health_register_lock_name(InstanceId instance);
std::optional<InstanceId> health_register_lock_of(std::string_view lock);

// HA: the container's HealthcheckInstanceLock, "UPDATE.HCI.<id>" (healthcheck_ha.cpp), and the
// row a lock's name gives (nullopt for another lock).
std::string health_lock_name(HealthcheckInstanceId hci);
std::optional<HealthcheckInstanceId> health_lock_of(std::string_view lock);

// HealthcheckServiceImpl.shouldUpdate: an unhealthy report about a container that is still
// (re)initializing is dropped.
bool should_update(const HealthRow& row, Health reported);

// HealthcheckServiceImpl.determineNewHealthState: the container's new state after `reporter`
// reported `reported` (its row already holds the report), or nullopt for no change. `reconcile`:
// the reporter's row was removed, and the others decide (nothing changes when none is left).
std::optional<Health> determine_new_health(const HealthRow& row, HostId reporter,
                                           Health reported, bool reconcile);

// How many checkers a container gets: HealthcheckServiceImpl.java line 259, requiredNumber.
inline constexpr std::size_t k_required_checkers = 3;

// HealthcheckServiceImpl.getHealthCheckHostIds: the hosts to add as checkers. `kept`: the
// container's checkers that are active; `available`: every active host, in a fixed order;
// `own`: the container's host; `random(lo, hi)` draws the shuffle.
template <class Random>
std::vector<HostId> pick_checkers(const std::vector<HostId>& kept, std::vector<HostId> available,
                                  HostId own, Random&& random) {
  constexpr std::size_t k_required = k_required_checkers;
  if (kept.size() >= k_required) return {};
  std::erase_if(available, [&](HostId h) {
    return std::find(kept.begin(), kept.end(), h) != kept.end();
  });
  // Collections.shuffle, line 288: Fisher-Yates from the top.
  for (std::size_t i = available.size(); i > 1; --i) {
    auto j = static_cast<std::size_t>(random(0, static_cast<std::int64_t>(i) - 1));
    std::swap(available[i - 1], available[j]);
  }
  // Lines 291-298: the own host goes, unless it is the only candidate.
  auto it = std::find(available.begin(), available.end(), own);
  if (it != available.end()) {
    available.erase(it);
    if (available.empty() && kept.empty()) available.push_back(own);
  }
  if (available.size() > k_required - kept.size()) available.resize(k_required - kept.size());
  return available;
}

// The health-check action handlers: of a service's containers and their health states, those
// the reconcile removes (to replace them).
std::vector<InstanceId> units_to_recreate(const HealthCheckSpec& spec,
                                          const std::vector<std::pair<InstanceId, Health>>& units);

// HealthcheckCleanupMonitorImpl.needToRemove: whether a (re)initializing container has been so
// for longer than its timeout.
bool init_timed_out(const HealthRow& row, const HealthCheckSpec& spec, TimeNs now);

}  // namespace stampede::cattle
