#pragma once
// Rancher 1.1's health-check service, the server's side (single mode). A service's `health_check`
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
// In HA the rows would live in the shared tables; this model keeps them in single mode only (an
// HA server assigns no checkers), so HA runs are unchanged.
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/cattle/ids.hpp"
#include "sim/core/digest.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"
#include "sim/core/time.hpp"
#include "sim/core/timer_tag.hpp"

namespace stampede::cattle {

// instance.health_state, and what a checker last reported (HealthcheckConstants).
enum class Health : std::uint8_t { none, initializing, reinitializing, healthy, unhealthy };
inline constexpr std::array<std::string_view, 5> k_health_text = {
    "", "initializing", "reinitializing", "healthy", "unhealthy"};
constexpr std::string_view to_text(Health h) { return k_health_text[static_cast<std::size_t>(h)]; }
constexpr bool initializing(Health h) {
  return h == Health::initializing || h == Health::reinitializing;
}

// A health-checked container: its instance's health columns and its checkers' rows
// (healthcheck_instance_host_map: checker host -> its last report, none before the first).
struct HealthRow {
  Health state = Health::none;
  TimeNs updated_ns = 0;  // instance.health_updated
  std::map<HostId, Health> checkers;
  STAMPEDE_FIELDS(state, updated_ns, checkers)
};

// The rows, by instance. Digested only when there is one, so that a run without health checks
// keeps its digest.
class HealthTable {
 public:
  std::map<InstanceId, HealthRow> rows;

  void digest_into(Digest& d) const {
    if (!rows.empty()) state::add(d, rows);
  }
  void perturb_for_test() {
    if (!rows.try_emplace(InstanceId{}).second) rows.erase(InstanceId{});
  }
};

// The health-check cleanup task is due (HealthcheckCleanupMonitorImpl).
struct HealthCleanupTick {
  static constexpr TimerKind k_kind{8, 15};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

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
