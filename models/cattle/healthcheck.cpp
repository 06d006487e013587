// Rancher 1.1's health-check service, the server's side (healthcheck.hpp says what and where
// from): the checkers' assignment and its push to the agents, the reports, the strategies at
// the service's reconcile, the (re)initializing timeouts, and the copy a partition left behind.
#include "models/cattle/healthcheck.hpp"

#include <fmt/format.h>

#include <algorithm>

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

void CattleServer::add_health_tables(mysql::Database& db) {
  db.add_table(std::string(HealthcheckInstanceRow::k_table));
  db.add_table(std::string(HealthcheckHostMapRow::k_table));
}

const HealthCheckSpec* CattleServer::health_spec(ServiceId sid) const {
  if (!cfg_.health_checks) return nullptr;
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
  cfg_.health_read_back = ctx.mechanism(m_health_read_back);
  cfg_.health_register_lock = ctx.mechanism(m_health_register_lock);
  cfg_.config_item_triggers = ctx.mechanism(m_config_item_triggers);
  cfg_.config_pushes = ctx.intern("config_pushes");
  cfg_.health_cleanup_interval_ns = ctx.timing(t_health_cleanup_interval);
  cfg_.health_any = false;
  for (const StackSpec& st : config_.stacks)
    for (const ServiceSpec& sv : st.services)
      cfg_.health_any = cfg_.health_any || sv.health_check.has_value();
  cfg_.health_any = cfg_.health_any && cfg_.health_checks;
  if (!cfg_.health_any) return;
  // In HA the copy of the shared tables is made by start_ha, which adds them.
  if (!cm_) add_health_tables(db());
  // Every server runs the task on its own schedule, in HA too: TaskManagerImpl.schedule runs a
  // task's run() from each server's own executor (rancher/cattle v0.165.8 code/framework/
  // system-task/src/main/java/io/cattle/platform/task/impl/TaskManagerImpl.java lines 96-119),
  // and HealthcheckCleanupMonitorImpl is a plain Task, not an AbstractSingletonTask.
  ctx.set_timer(cfg_.health_cleanup_interval_ns, timer_tag::encode(HealthCleanupTick{}));
}

std::map<InstanceId, HealthRow> CattleServer::health_rows() const {
  std::map<InstanceId, HealthRow> out;
  std::map<HealthcheckInstanceId, InstanceId> instance_of;
  for (const auto& [id, hci] : rows<HealthcheckInstanceRow>()) {
    HealthRow& h = out[hci.instance];
    h.state = hci.state;
    h.updated_ns = hci.updated_ns;
    h.id = id;
    instance_of[id] = hci.instance;
  }
  for (const auto& [id, map] : rows<HealthcheckHostMapRow>()) {
    auto it = instance_of.find(map.healthcheck_instance);
    if (it != instance_of.end()) out[it->second].checkers[map.host] = map.health;
  }
  return out;
}

std::optional<HealthRow> CattleServer::health_row(InstanceId iid) const {
  std::optional<HealthRow> out;
  for (const auto& [id, hci] : rows<HealthcheckInstanceRow>())
    if (hci.instance == iid) out = HealthRow{hci.state, hci.updated_ns, {}, id};
  if (!out) return out;
  for (const auto& [id, map] : rows<HealthcheckHostMapRow>())
    if (map.healthcheck_instance == out->id) out->checkers[map.host] = map.health;
  return out;
}

const HealthcheckHostMapRow* CattleServer::checker_row(InstanceId iid, HostId checker) const {
  for (const auto& [id, map] : rows<HealthcheckHostMapRow>())
    if (map.instance == iid && map.host == checker) return &map;
  return nullptr;
}

void CattleServer::health_started(Ctx& ctx, InstanceId iid) {
  if (health_spec_of(iid) == nullptr) return;
  std::optional<HealthRow> hrow = health_row(iid);
  if (!hrow) {
    // In HA with the registration lock the row is found or created under that lock
    // (healthcheck_register.cpp), as createHealtcheckInstance does.
    if (!health_register_locked()) {
      Transaction txn;
      write::insert(txn, HealthcheckInstanceRow{{}, iid, Health::initializing, ctx.now()});
      commit(ctx, txn);
    }
  } else if (hrow->state == Health::none) {
    Transaction txn;
    write::health(txn, hrow->id, Health::initializing, ctx.now());
    commit(ctx, txn);
  } else if (hrow->state == Health::healthy) {
    set_health(ctx, iid, Health::reinitializing);
  }
  register_health(ctx, iid);
  push_health_config(ctx);
}

const std::vector<HostId>& CattleServer::active_hosts() const {
  return cache_.active_hosts(store());
}

bool CattleServer::register_health(Ctx& ctx, InstanceId iid) {
  // In HA with the registration lock the rows are read back and written under the lock, later
  // (healthcheck_register.cpp); the checker lists are pushed once they are in.
  if (health_register_locked()) {
    health_register(ctx, iid);
    return false;
  }
  std::optional<HealthRow> hrow = health_row(iid);
  if (!hrow || row<InstanceRow>(iid) == nullptr) return false;
  return add_checkers(ctx, iid, *hrow);
}

bool CattleServer::add_checkers(Ctx& ctx, InstanceId iid, const HealthRow& hrow) {
  const InstanceRow* instance = row<InstanceRow>(iid);
  std::vector<HostId> kept;
  for (const auto& [host, said] : hrow.checkers)
    if (state_of(host) == HostState::active) kept.push_back(host);
  // pick_checkers adds none (and draws nothing) to a container with three active checkers: the
  // copy of every active host it would shuffle is made only when it is needed.
  if (kept.size() >= k_required_checkers) return false;
  auto random = [&](std::int64_t lo, std::int64_t hi) { return ctx.random(lo, hi); };
  std::vector<HostId> picked = pick_checkers(kept, active_hosts(), instance->host, random);
  if (picked.empty()) return false;
  Transaction txn;
  for (HostId h : picked)
    write::insert(txn, HealthcheckHostMapRow{{}, hrow.id, h, iid, Health::none});
  commit(ctx, txn);
  std::string hosts;
  for (HostId h : picked) hosts += (hosts.empty() ? "" : ", ") + host_name(h);
  ctx.log(LogLevel::debug,
          fmt::format("instance {} gets checkers {} (it had {} active)", iid, hosts, kept.size()));
  return true;
}

void CattleServer::push_health_config(Ctx& ctx) {
  // Each active host gets the list of containers it checks (its HAProxy backends), in the hosts'
  // id order; most lists are empty, and those share one payload. In HA each server configures the
  // agents it owns, from its copy of the shared tables. The lists are gathered for the checkers
  // only: a map of every active host, built at each push, made a wave of hosts coming back cost
  // O(hosts^2) tree walks on top of its O(hosts^2) messages (issue 15).
  // The pairs (instance, checker) come in health_rows' order, instance and then host, without
  // its copy of every row and checker map at each push (a third of the push's cost).
  std::vector<std::pair<InstanceId, HostId>> checks;
  for (const auto& [id, map] : rows<HealthcheckHostMapRow>())
    if (const auto* hci = row<HealthcheckInstanceRow>(map.healthcheck_instance))
      checks.emplace_back(hci->instance, map.host);
  std::sort(checks.begin(), checks.end());
  checks.erase(std::unique(checks.begin(), checks.end()), checks.end());
  std::map<HostId, std::vector<std::string>> by_checker;
  for (const auto& [iid, checker] : checks) {
    const InstanceRow* instance = row<InstanceRow>(iid);
    if (instance == nullptr || instance->state != InstanceState::active) continue;
    if (state_of(checker) == HostState::active && owns_agent(checker))
      by_checker[checker].push_back(
          health_entry(iid.value, instance->name, host_name(instance->host)));
  }
  const auto none = make_names({});
  for (HostId h : active_hosts()) {
    if (!owns_agent(h)) continue;
    NodeId agent = agent_node(ctx, h);
    if (agent == k_no_node) continue;
    auto list = by_checker.find(h);
    ctx.send(agent, wire::encode(HealthcheckConfig{
                        list == by_checker.end() ? none : make_names(std::move(list->second))}));
    ctx.count(cfg_.config_pushes, 1);
  }
}

void CattleServer::on(Ctx& ctx, NodeId from, const HealthReport& m) {
  auto checker = host_of_node(ctx, from);
  if (!checker || !cfg_.health_any) return;
  InstanceId iid{m.instance};
  Health reported = m.kind == report_up ? Health::healthy : Health::unhealthy;
  // In HA the POST needs the server's database (else it answers 503 and the report is lost).
  if (cm_ && (!volatile_.cache_ready || !db_client_->connected())) return;
  if (cm_ && cfg_.health_read_back) {
    HealthWork work;
    work.checker = *checker;
    work.reported = reported;
    return health_enqueue(ctx, iid, work);
  }
  // Single mode (and HA with cattle_health_read_back off): decided at once, from this server's
  // rows.
  std::optional<HealthRow> hrow = health_row(iid);
  const HealthcheckHostMapRow* map = checker_row(iid, *checker);
  if (!hrow || map == nullptr) return;  // not (or no longer) one of its checkers
  if (!should_update(*hrow, reported)) return;
  Transaction txn;
  write::reported(txn, map->id, reported);
  commit(ctx, txn);
  hrow->checkers[*checker] = reported;
  if (auto next = determine_new_health(*hrow, *checker, reported, false))
    set_health(ctx, iid, *next);
}

void CattleServer::set_health(Ctx& ctx, InstanceId iid, Health health) {
  std::optional<HealthRow> hrow = health_row(iid);
  if (!hrow) return;
  Transaction txn;
  write::health(txn, hrow->id, health, ctx.now());
  commit(ctx, txn);
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
  std::map<InstanceId, HealthRow> all = health_rows();
  for (auto& [iid, hrow] : all) {
    auto it = hrow.checkers.find(host);
    if (it == hrow.checkers.end()) continue;
    changed = true;
    if (cm_ && cfg_.health_read_back) {
      // In HA the row goes and the others decide under the container's lock, from the rows
      // read back (healthcheck_ha.cpp).
      HealthWork work;
      work.checker = host;
      work.reconcile = true;
      health_enqueue(ctx, iid, work);
      continue;
    }
    Transaction txn;
    txn.erase(std::string(HealthcheckHostMapRow::k_table), checker_row(iid, host)->id.value);
    commit(ctx, txn);
    hrow.checkers.erase(it);
    if (auto next = determine_new_health(hrow, host, Health::none, true))
      set_health(ctx, iid, *next);
  }
  // host.reconnect is not one of the processes that push the healthcheck item (healthcheck.hpp,
  // "Config item triggers"): the other agents' lists do not name the lost host's containers'
  // checkers anyway, and the lost host cannot be reached.
  if (changed && !cfg_.config_item_triggers) push_health_config(ctx);
}

void CattleServer::health_host_back(Ctx& ctx, HostId host) {
  (void)host;
  std::vector<InstanceId> ids;
  for (const auto& [iid, hrow] : health_rows()) ids.push_back(iid);
  if (ids.empty()) return;
  bool created = false;
  for (InstanceId iid : ids) created = register_health(ctx, iid) || created;
  // host.activate pushes nothing itself; the checker rows it made do (healthcheckinstancehostmap.
  // create increments the healthcheck item): once every container has its three checkers, a
  // host coming back costs no push, where before each of a wave of N hosts pushed to all N.
  if (created || !cfg_.config_item_triggers) push_health_config(ctx);
}

std::vector<InstanceId> CattleServer::health_doomed(ServiceId sid) const {
  const HealthCheckSpec* spec = health_spec(sid);
  if (spec == nullptr) return {};
  std::map<InstanceId, HealthRow> all = health_rows();
  std::vector<std::pair<InstanceId, Health>> units;
  for (const auto& [index, iid] : instances_by_index(sid)) {
    auto it = all.find(iid);
    if (state_of(iid) == InstanceState::active && it != all.end())
      units.emplace_back(iid, it->second.state);
  }
  return units_to_recreate(*spec, units);
}

bool CattleServer::health_recreate(Ctx& ctx, ServiceId sid) {
  std::vector<InstanceId> doomed = health_doomed(sid);
  for (InstanceId iid : doomed) remove_for_health(ctx, iid, "unhealthy");
  return !doomed.empty();
}

void CattleServer::remove_for_health(Ctx& ctx, InstanceId iid, std::string_view why) {
  const InstanceRow* instance = row<InstanceRow>(iid);
  if (instance == nullptr || has_unfinished(iid)) return;
  std::string container = instance->name;
  HostId host = instance->host;
  // DeploymentUnit.remove runs instance.stop then instance.remove and removes the expose map at
  // once (rancher/cattle v0.165.8 DefaultDeploymentUnitInstance.java:86-98,
  // DeploymentUnitInstance.java:38-43); the stop's agent call is skipped for a reconnecting host
  // (IgnoreReconnectionAgentHandler.java:13-18, the handler of instancehostmap.deactivate,
  // spring-process-context.xml:183-199), so the container runs on there. With the mechanism
  // cattle_stop_waits_reply the pair is the process instance.stop_remove, which waits for the
  // agent's answer; the service lets the instance go now, so its reconcile places the
  // replacement without waiting (ServiceDeploymentPlanner.java:199-211 waits for the expose map
  // only). Off, the end state is written at once and the stop sent without waiting.
  Transaction txn;
  if (cfg_.stop_waits_reply) write::leave_service(txn, iid);
  else write::state(txn, iid, InstanceState::removed, ctx.now());
  if (std::optional<HealthRow> hrow = health_row(iid)) {
    for (const auto& [id, map] : rows<HealthcheckHostMapRow>())
      if (map.healthcheck_instance == hrow->id)
        txn.erase(std::string(HealthcheckHostMapRow::k_table), id.value);
    txn.erase(std::string(HealthcheckInstanceRow::k_table), hrow->id.value);
  }
  commit(ctx, txn);
  bool reachable = state_of(host) == HostState::active;
  if (!cfg_.stop_waits_reply && reachable) {
    NodeId agent = agent_node(ctx, host);
    if (agent != k_no_node)
      command_agent(ctx, host, agent, StopContainer{iid.value, make_names({container})});
  }
  ctx.event(LogLevel::notable,
            Event("cattle.container_removed").with("container", container)
                .with("host", host_name(host)).with("why", why)
                .with("stopped", reachable ? "true" : "false"),
            fmt::format("container {} on {} removed ({}){}", container, host_name(host), why,
                        reachable ? "" : "; its host is reconnecting, so it runs on there"));
  if (cfg_.stop_waits_reply) schedule_process(ctx, "instance.stop_remove", iid);
  else emit(ctx, "instance.remove", iid.value);
  push_health_config(ctx);
}

void CattleServer::on(Ctx& ctx, const HealthCleanupTick&) {
  // In HA a process that has not read the shared tables yet knows no rows.
  std::vector<InstanceId> due;
  if (!cm_ || volatile_.cache_ready) {
    for (const auto& [iid, hrow] : health_rows()) {
      const HealthCheckSpec* spec = health_spec_of(iid);
      if (spec && state_of(iid) == InstanceState::active && init_timed_out(hrow, *spec, ctx.now()))
        due.push_back(iid);
    }
  }
  for (InstanceId iid : due) remove_for_health(ctx, iid, "initializing too long");
  ctx.set_timer(cfg_.health_cleanup_interval_ns, timer_tag::encode(HealthCleanupTick{}));
}

void CattleServer::stop_removed_copies(Ctx& ctx, HostId host,
                                       const std::vector<std::string>& running) {
  // A container running on its host whose instance Cattle has removed gets an explicit stop
  // (rancher/cattle v0.165.8 code/iaas/ha/src/main/java/io/cattle/platform/ha/monitor/impl/
  // PingInstancesMonitorImpl.java lines 262-266): the copy a partition kept from the remove.
  // Cattle force-stops that container by its Docker id (lines 160-161), so it does so even when
  // a live instance of the same name is on the host too. The agent keeps one container per name
  // and a start of a running name takes that container over, so the listed container is the
  // removed instance's unless the live one is active there (its start was answered with it);
  // the agent also stops a container only while it is still the removed instance's
  // (models/agent/agent.cpp), for a start that crosses the stop.
  if (!cfg_.health_any) return;
  NodeId agent = agent_node(ctx, host);
  for (InstanceId iid : cache_.instances_on(store(), host)) {
    const InstanceRow* instance = row<InstanceRow>(iid);
    if (instance == nullptr || instance->state != InstanceState::removed) continue;
    if (std::find(running.begin(), running.end(), instance->name) == running.end()) continue;
    bool taken_over = false;
    for (InstanceId other : cache_.instances_on(store(), host))
      taken_over = taken_over || (other != iid && row<InstanceRow>(other)->name == instance->name &&
                                  row<InstanceRow>(other)->state == InstanceState::active);
    if (taken_over || agent == k_no_node) continue;
    ctx.event(LogLevel::notable,
              Event("cattle.removed_copy_stopped").with("container", instance->name)
                  .with("host", host_name(host)),
              fmt::format("container {} runs on {} though removed: stopping it", instance->name,
                          host_name(host)));
    command_agent(ctx, host, agent, StopContainer{iid.value, make_names({instance->name})});
  }
}

}  // namespace stampede::cattle
