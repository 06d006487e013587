// Rancher 1.1's health-check service, the server's side (healthcheck.hpp says what and where
// from): the checkers' assignment and its push to the agents, the reports, the strategies at
// the service's reconcile, the (re)initializing timeouts, and the copy a partition left behind.
#include "models/cattle/healthcheck.hpp"

#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"

namespace stampede::cattle {

using mysql::Transaction;

bool should_update(const HealthRow& row, Health reported) {
  return !(reported == Health::unhealthy && initializing(row.state));
}

std::optional<Health> determine_new_health(const HealthRow& row, HostId reporter,
                                           Health reported, bool reconcile) {
  bool healthy = row.state == Health::healthy;
  if (!reconcile && reported == Health::healthy)
    return healthy ? std::nullopt : std::optional<Health>(Health::healthy);
  if (!healthy) return std::nullopt;
  // Every other checker must say unhealthy too (lines 153-164); one that has not reported yet
  // does not.
  bool all_unhealthy = true;
  int others = 0;
  for (const auto& [host, said] : row.checkers) {
    if (host == reporter) continue;
    ++others;
    if (said != Health::unhealthy) {
      all_unhealthy = false;
      break;
    }
  }
  // Lines 166-175: a reconcile with no checker left changes nothing.
  if (reconcile && others == 0) return std::nullopt;
  return all_unhealthy ? std::optional<Health>(Health::unhealthy) : std::nullopt;
}

std::vector<InstanceId> units_to_recreate(const HealthCheckSpec& spec,
                                          const std::vector<std::pair<InstanceId, Health>>& units) {
  using S = HealthCheckSpec::Strategy;
  std::vector<InstanceId> unhealthy;
  int healthy = 0;
  for (const auto& [iid, h] : units) {
    if (h == Health::unhealthy) unhealthy.push_back(iid);
    else if (!initializing(h)) ++healthy;
  }
  switch (spec.strategy) {
    case S::none: return {};
    case S::recreate: return unhealthy;
    case S::recreate_on_quorum: return healthy >= spec.quorum ? unhealthy : std::vector<InstanceId>{};
  }
  return {};
}

bool init_timed_out(const HealthRow& row, const HealthCheckSpec& spec, TimeNs now) {
  DurationNs timeout = row.state == Health::initializing ? spec.initializing_timeout_ns
                                                          : spec.reinitializing_timeout_ns;
  return initializing(row.state) && timeout > 0 && now - row.updated_ns >= timeout;
}

// --- The server's side ------------------------------------------------------------------------

const HealthCheckSpec* CattleServer::health_spec(ServiceId sid) const {
  if (cm_ || !cfg_.health_checks) return nullptr;
  const ServiceRow* service = row<ServiceRow>(sid);
  const StackRow* stack = service ? row<StackRow>(service->stack) : nullptr;
  if (stack == nullptr) return nullptr;
  for (const StackSpec& st : config_.stacks) {
    if (st.name != stack->name) continue;
    for (const ServiceSpec& sv : st.services)
      if (sv.name == service->name && sv.health_check) return &*sv.health_check;
  }
  return nullptr;
}

const HealthCheckSpec* CattleServer::health_spec_of(InstanceId iid) const {
  const InstanceRow* instance = row<InstanceRow>(iid);
  return instance ? health_spec(instance->service) : nullptr;
}

void CattleServer::start_health(Ctx& ctx) {
  cfg_.health_checks = ctx.mechanism(m_health_checks);
  cfg_.health_cleanup_interval_ns = ctx.timing(t_health_cleanup_interval);
  cfg_.health_any = false;
  for (const StackSpec& st : config_.stacks)
    for (const ServiceSpec& sv : st.services)
      cfg_.health_any = cfg_.health_any || sv.health_check.has_value();
  cfg_.health_any = cfg_.health_any && cfg_.health_checks && !cm_;
  if (cfg_.health_any)
    ctx.set_timer(cfg_.health_cleanup_interval_ns, timer_tag::encode(HealthCleanupTick{}));
}

void CattleServer::health_started(Ctx& ctx, InstanceId iid) {
  if (health_spec_of(iid) == nullptr) return;
  auto [it, first] = durable_.health.rows.try_emplace(iid);
  HealthRow& row = it->second;
  if (first || row.state == Health::none) {
    row.state = Health::initializing;
    row.updated_ns = ctx.now();
  } else if (row.state == Health::healthy) {
    set_health(ctx, iid, Health::reinitializing);
  }
  register_health(ctx, iid);
  push_health_config(ctx);
}

const std::vector<HostId>& CattleServer::active_hosts() const {
  return cache_.active_hosts(store());
}

void CattleServer::register_health(Ctx& ctx, InstanceId iid) {
  auto it = durable_.health.rows.find(iid);
  const InstanceRow* instance = row<InstanceRow>(iid);
  if (it == durable_.health.rows.end() || instance == nullptr) return;
  std::vector<HostId> kept;
  for (const auto& [host, said] : it->second.checkers)
    if (state_of(host) == HostState::active) kept.push_back(host);
  // pick_checkers adds none (and draws nothing) to a container with three active checkers: the
  // copy of every active host it would shuffle is made only when it is needed.
  if (kept.size() >= k_required_checkers) return;
  auto random = [&](std::int64_t lo, std::int64_t hi) { return ctx.random(lo, hi); };
  for (HostId h : pick_checkers(kept, active_hosts(), instance->host, random))
    it->second.checkers.try_emplace(h, Health::none);
}

void CattleServer::push_health_config(Ctx& ctx) {
  // Each active host gets the list of containers it checks (its HAProxy backends), in the hosts'
  // id order; most lists are empty, and those share one payload. The lists are gathered for the
  // checkers only: a map of every active host, built at each push, made a wave of hosts coming
  // back cost O(hosts^2) tree walks on top of its O(hosts^2) messages (issue 15).
  std::map<HostId, std::vector<std::string>> by_checker;
  for (const auto& [iid, hrow] : durable_.health.rows) {
    const InstanceRow* instance = row<InstanceRow>(iid);
    if (instance == nullptr || instance->state != InstanceState::active) continue;
    for (const auto& [checker, said] : hrow.checkers)
      if (state_of(checker) == HostState::active)
        by_checker[checker].push_back(
            health_entry(iid.value, instance->name, host_name(instance->host)));
  }
  const auto none = make_names({});
  for (HostId h : active_hosts()) {
    NodeId agent = ctx.lookup(host_name(h));
    if (agent == k_no_node) continue;
    auto list = by_checker.find(h);
    ctx.send(agent, wire::encode(HealthcheckConfig{
                        list == by_checker.end() ? none : make_names(std::move(list->second))}));
  }
}

void CattleServer::on(Ctx& ctx, NodeId from, const HealthReport& m) {
  auto checker = host_by_name(ctx.name_of(from));
  auto it = durable_.health.rows.find(InstanceId{m.instance});
  if (!checker || it == durable_.health.rows.end()) return;
  auto map = it->second.checkers.find(*checker);
  if (map == it->second.checkers.end()) return;  // not (or no longer) one of its checkers
  Health reported = m.kind == report_up ? Health::healthy : Health::unhealthy;
  if (!should_update(it->second, reported)) return;
  map->second = reported;
  if (auto next = determine_new_health(it->second, *checker, reported, false))
    set_health(ctx, InstanceId{m.instance}, *next);
}

void CattleServer::set_health(Ctx& ctx, InstanceId iid, Health health) {
  HealthRow& hrow = durable_.health.rows[iid];
  hrow.state = health;
  hrow.updated_ns = ctx.now();
  const InstanceRow* instance = row<InstanceRow>(iid);
  std::string container = instance ? instance->name : "";
  ctx.event(health == Health::unhealthy ? LogLevel::notable : LogLevel::info,
            Event("cattle.container_health").with("container", container)
                .with("health", to_text(health)),
            fmt::format("container {} is {}", container, to_text(health)));
  if (health == Health::unhealthy) ctx.signal("cattle.container_unhealthy");
  // instance.updatehealthy / updateunhealthy are processes: their events reach the service's
  // reconcile.
  emit(ctx, "instance.health", iid.value);
}

void CattleServer::health_host_lost(Ctx& ctx, HostId host) {
  bool changed = false;
  for (auto& [iid, hrow] : durable_.health.rows) {
    if (hrow.checkers.erase(host) == 0) continue;
    changed = true;
    if (auto next = determine_new_health(hrow, host, Health::none, true))
      set_health(ctx, iid, *next);
  }
  if (changed) push_health_config(ctx);
}

void CattleServer::health_host_back(Ctx& ctx, HostId host) {
  (void)host;
  if (durable_.health.rows.empty()) return;
  std::vector<InstanceId> ids;
  for (const auto& [iid, hrow] : durable_.health.rows) ids.push_back(iid);
  for (InstanceId iid : ids) register_health(ctx, iid);
  push_health_config(ctx);
}

bool CattleServer::health_recreate(Ctx& ctx, ServiceId sid) {
  const HealthCheckSpec* spec = health_spec(sid);
  if (spec == nullptr) return false;
  std::vector<std::pair<InstanceId, Health>> units;
  for (const auto& [index, iid] : instances_by_index(sid)) {
    auto it = durable_.health.rows.find(iid);
    if (state_of(iid) == InstanceState::active && it != durable_.health.rows.end())
      units.emplace_back(iid, it->second.state);
  }
  std::vector<InstanceId> doomed = units_to_recreate(*spec, units);
  for (InstanceId iid : doomed) remove_for_health(ctx, iid, "unhealthy");
  return !doomed.empty();
}

void CattleServer::remove_for_health(Ctx& ctx, InstanceId iid, std::string_view why) {
  const InstanceRow* instance = row<InstanceRow>(iid);
  if (instance == nullptr || has_unfinished(iid)) return;
  std::string container = instance->name;
  HostId host = instance->host;
  // DeploymentUnit.remove runs instance.stop then instance.remove; the stop's agent call is
  // skipped for a reconnecting host (rancher/cattle v0.165.8 code/iaas/logic/src/main/java/io/
  // cattle/platform/process/instance/IgnoreReconnectionAgentHandler.java lines 13-18, the
  // handler of instancehostmap.deactivate, spring-process-context.xml lines 183-189), so the
  // container runs on there. The model writes the end state at once and sends the stop without
  // waiting for its answer.
  Transaction txn;
  write::state(txn, iid, InstanceState::removed, ctx.now());
  commit(ctx, txn);
  durable_.health.rows.erase(iid);
  bool reachable = state_of(host) == HostState::active;
  if (reachable) {
    NodeId agent = ctx.lookup(host_name(host));
    if (agent != k_no_node)
      ctx.send(agent, wire::encode(StopContainer{iid.value, make_names({container})}));
  }
  ctx.event(LogLevel::notable,
            Event("cattle.container_removed").with("container", container)
                .with("host", host_name(host)).with("why", why)
                .with("stopped", reachable ? "true" : "false"),
            fmt::format("container {} on {} removed ({}){}", container, host_name(host), why,
                        reachable ? "" : "; its host is reconnecting, so it runs on there"));
  emit(ctx, "instance.remove", iid.value);
  push_health_config(ctx);
}

void CattleServer::on(Ctx& ctx, const HealthCleanupTick&) {
  std::vector<InstanceId> due;
  for (const auto& [iid, hrow] : durable_.health.rows) {
    const HealthCheckSpec* spec = health_spec_of(iid);
    if (spec && state_of(iid) == InstanceState::active && init_timed_out(hrow, *spec, ctx.now()))
      due.push_back(iid);
  }
  for (InstanceId iid : due) remove_for_health(ctx, iid, "initializing too long");
  ctx.set_timer(cfg_.health_cleanup_interval_ns, timer_tag::encode(HealthCleanupTick{}));
}

void CattleServer::stop_removed_copies(Ctx& ctx, HostId host,
                                       const std::vector<std::string>& running) {
  // A container running on its host whose instance Cattle has removed gets an explicit stop
  // (rancher/cattle v0.165.8 code/iaas/ha/src/main/java/io/cattle/platform/ha/monitor/impl/
  // PingInstancesMonitorImpl.java lines 262-266): the copy a partition kept from the remove.
  if (!cfg_.health_any) return;
  NodeId agent = ctx.lookup(host_name(host));
  for (InstanceId iid : cache_.instances_on(store(), host)) {
    const InstanceRow* instance = row<InstanceRow>(iid);
    if (instance == nullptr || instance->state != InstanceState::removed) continue;
    if (std::find(running.begin(), running.end(), instance->name) == running.end()) continue;
    bool live = false;  // the same name may be a live instance placed back on this host
    for (InstanceId other : cache_.instances_on(store(), host))
      live = live || (other != iid && row<InstanceRow>(other)->name == instance->name &&
                      row<InstanceRow>(other)->state != InstanceState::removed);
    if (live || agent == k_no_node) continue;
    ctx.event(LogLevel::notable,
              Event("cattle.removed_copy_stopped").with("container", instance->name)
                  .with("host", host_name(host)),
              fmt::format("container {} runs on {} though removed: stopping it", instance->name,
                          host_name(host)));
    ctx.send(agent, wire::encode(StopContainer{iid.value, make_names({instance->name})}));
  }
}

}  // namespace stampede::cattle
