// Cattle's process engine: every state change of a resource runs as a process instance, recorded
// as a row, under the resource's lock, with an event on the bus when the state changes. A failed
// process is left unfinished for the replay task, which also resumes whatever a crash interrupted
// (its rows are unfinished in the durable store). There is no immediate retry: rancher/cattle
// v0.165.8's idempotent.retry.count (code/framework/engine/src/main/java/io/cattle/platform/
// engine/idempotent/Idempotent.java lines 40-51) re-runs a handler only to test that it is
// idempotent, and only when idempotent.checks is set, which only the dev packaging does
// (code/packaging/dev/src/main/resources/META-INF/cattle/defaults/dev-defaults.properties line 1).
#include <algorithm>
#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/process_defs.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

using mysql::to_text;
using mysql::Transaction;

namespace {

ResourceType resource_type_of(const ProcessDef& def) {
  return parse_state<ResourceType>(k_resource_type_text, def.table);
}

// Moves a process's resource to `state` (a state of its table, as process_defs.cpp names it).
void write_resource_state(Transaction& txn, const ProcessRow& p, std::string_view state,
                          TimeNs now) {
  if (p.resource_type == ResourceType::host)
    write::state(txn, p.host(), parse_host_state(state), now);
  else
    write::state(txn, p.instance(), parse_instance_state(state), now);
}

}  // namespace

ProcessId CattleServer::schedule_process(Ctx& ctx, std::string_view process, HostId host) {
  return schedule(ctx, process, host.value);
}

ProcessId CattleServer::schedule_process(Ctx& ctx, std::string_view process,
                                         InstanceId instance) {
  return schedule(ctx, process, instance.value);
}

ProcessId CattleServer::schedule(Ctx& ctx, std::string_view process, std::int64_t resource) {
  const ProcessDef* def = find_process(process);
  if (def == nullptr) return ProcessId{};
  ProcessRow p;
  p.process = process;
  p.resource_type = resource_type_of(*def);
  p.resource_id = resource;
  p.phase = ProcessPhase::pending;
  p.start_ns = ctx.now();
  Transaction txn;
  write::insert(txn, p);
  ProcessId pi{commit(ctx, txn).front()};
  ctx.count(cfg_.process_instances, 1);
  run_process(ctx, pi);
  return pi;
}

void CattleServer::run_process(Ctx& ctx, ProcessId pi) {
  if (volatile_.running.count(pi) != 0) return;
  const ProcessRow* p = row<ProcessRow>(pi);
  if (p == nullptr || !unfinished(p->phase)) return;
  // In HA a start handler runs only under its service's ZooKeeper lock (ha.cpp); it waits for
  // the server's next turn at the service otherwise.
  if (ServiceId sid = cm_ ? service_lock_of(pi) : ServiceId{}; sid.valid() && !holding_service(sid))
    return;
  // In HA the process instance's own ZooKeeper lock comes first (process_lock.cpp): the
  // resource's lock below is taken inside it, as in DefaultProcessInstanceImpl.
  if (process_lock_wait(ctx, pi)) return;
  std::string lock = std::string(to_text(p->resource_type)) + ":" + to_text(p->resource_id);
  volatile_.running[pi] = RunningProcess{RunningProcess::Phase::waiting_lock, lock, 0, ctx.now()};
  if (volatile_.locks.try_acquire(lock, pi.value)) {
    ctx.count(cfg_.lock_acquisitions, 1);
    execute(ctx, pi);
  } else {
    volatile_.running[pi].timer =
        ctx.set_timer(cfg_.lock_wait_ns, timer_tag::encode(LockWait{pi.value}));
  }
}

std::optional<std::string_view> CattleServer::resource_state(const ProcessRow& p) const {
  if (p.resource_type == ResourceType::host) {
    const HostRow* h = row<HostRow>(p.host());
    if (h == nullptr) return std::nullopt;
    return to_text(h->state);
  }
  const InstanceRow* i = row<InstanceRow>(p.instance());
  if (i == nullptr) return std::nullopt;
  return to_text(i->state);
}

HostId CattleServer::stop_target(const ProcessRow& p) const {
  // IgnoreReconnectionAgentHandler.callSync returns no reply without calling a reconnecting
  // agent (rancher/cattle v0.165.8 code/iaas/logic/src/main/java/io/cattle/platform/process/
  // instance/IgnoreReconnectionAgentHandler.java:13-18): the stop then finishes at once, and the
  // container runs on there until a ping lists it as a removed instance's.
  const InstanceRow* instance = row<InstanceRow>(p.instance());
  HostId host = instance == nullptr ? HostId{} : instance->host;
  HostState state = host.valid() ? state_of(host) : HostState::unknown;
  if (state == HostState::unknown || state == HostState::removed ||
      state == HostState::reconnecting)
    return HostId{};
  return host;
}

std::optional<HostId> CattleServer::prepare_handler(Ctx& ctx, const ProcessRow& p,
                                                    const ProcessDef& def) {
  if (def.handler == HandlerKind::stop_on_agent) return stop_target(p);
  if (def.handler != HandlerKind::start_on_agent) return HostId{};
  if (cm_ && !may_act(ctx, service_lock_of(p.id))) {
    fail_process(ctx, p.id, "its service's lock is not held");
    return std::nullopt;
  }
  const InstanceRow* instance = row<InstanceRow>(p.instance());
  HostId host = instance == nullptr ? HostId{} : instance->host;
  // A new instance is placed by the allocator (allocator.cpp); a stopped one restarts where it
  // was. A placement that fails fails the process, which the replay task runs again for ever.
  if (needs_placement(p, def)) {
    std::string why;
    host = allocate(ctx, p.instance(), why);
    if (!host.valid()) {
      fail_process(ctx, p.id, why);
      return std::nullopt;
    }
  }
  if (!host.valid() || state_of(host) != HostState::active) {
    fail_process(ctx, p.id, "no active host for it");
    return std::nullopt;
  }
  return host;
}

void CattleServer::execute(Ctx& ctx, ProcessId pi) {
  const ProcessRow p = *row<ProcessRow>(pi);  // a copy: the process commits below
  const ProcessDef* def = find_process(p.process);
  std::optional<std::string_view> current = resource_state(p);
  if (!current) return cancel_process(ctx, pi, "the resource is gone");
  const std::string state(*current);
  bool valid = std::find(def->from.begin(), def->from.end(), state) != def->from.end() ||
               (!def->transitioning.empty() && state == def->transitioning);
  if (!valid) return cancel_process(ctx, pi, "the resource is " + state);

  // In HA a placement waits for the environment's placement lock (placement_lock.cpp).
  if (placement_wait(ctx, pi, p, *def)) return;
  std::optional<HostId> host = prepare_handler(ctx, p, *def);
  if (!host) return;
  Transaction txn;
  if (!def->transitioning.empty()) write_resource_state(txn, p, def->transitioning, ctx.now());
  bool starts = def->handler == HandlerKind::start_on_agent;
  if (starts && host->valid()) write::host(txn, p.instance(), *host);
  write::phase(txn, pi, ProcessPhase::running);
  placement_writing(pi);  // the lock is held until this write is in the db
  commit(ctx, txn);
  if (!def->transitioning.empty())
    emit(ctx, std::string(def->table) + "." + std::string(def->transitioning), p.resource_id);
  if (def->handler != HandlerKind::none && host->valid()) return call_agent(ctx, pi, *host, starts);
  finish_process(ctx, pi, state);
}

void CattleServer::call_agent(Ctx& ctx, ProcessId pi, HostId host, bool start) {
  const ProcessRow& p = *row<ProcessRow>(pi);
  RunningProcess& rp = volatile_.running[pi];
  rp.phase = RunningProcess::Phase::working;
  NodeId agent = agent_node(ctx, host);
  const InstanceRow* instance = row<InstanceRow>(p.instance());
  auto names = make_names({instance ? instance->name : std::string()});
  if (start) {
    StartContainer msg{p.resource_id, std::move(names)};
    // In HA the command waits until the database has the writes before it (ha.cpp), as Cattle
    // commits a process's transaction before it calls the agent.
    if (cm_)
      send_when_durable(ctx, pi, host, agent, std::move(msg));
    else if (agent != k_no_node) ctx.send(agent, wire::encode(msg));
  } else if (agent != k_no_node) {
    // The stop goes at once, in HA too: it is not an action under the service's lock, and a
    // stop that overtakes its own stopping write changes nothing another server acts on.
    command_agent(ctx, host, agent, DeactivateContainer{p.resource_id, std::move(names)});
  }
  // One send, then the timeout (eventing.retry=1, eventing.timeout.millis=15000: register.cpp,
  // agent_reply_timeout); the replay runs a timed-out process again.
  rp.timer = ctx.set_timer(cfg_.agent_reply_timeout_ns, timer_tag::encode(AgentReply{pi.value}));
}

void CattleServer::finish_process(Ctx& ctx, ProcessId pi, std::string_view from) {
  const ProcessRow p = *row<ProcessRow>(pi);  // a copy: the process commits below
  const ProcessDef* def = find_process(p.process);
  // The state the resource leaves: the one it had before the process, or (for a handler that
  // finishes later) its transitioning state.
  std::string from_state(from.empty() ? resource_state(p).value_or("") : from);
  Transaction txn;
  write_resource_state(txn, p, def->done, ctx.now());
  write::phase(txn, pi, ProcessPhase::done);
  write::exit_reason(txn, pi, "done");
  commit(ctx, txn);
  emit(ctx, std::string(def->table) + "." + std::string(def->done), p.resource_id);
  release_lock(ctx, pi);
  announce(ctx, p.process, p.resource_id, from_state);
  if (cm_) service_work_check(ctx, service_lock_of(pi));
}

void CattleServer::cancel_process(Ctx& ctx, ProcessId pi, std::string_view why) {
  Transaction txn;
  write::phase(txn, pi, ProcessPhase::canceled);
  write::exit_reason(txn, pi, why);
  commit(ctx, txn);
  ctx.log(LogLevel::debug, fmt::format("process {} canceled: {}", pi, why));
  release_lock(ctx, pi);
  if (cm_) service_work_check(ctx, service_lock_of(pi));
}

void CattleServer::fail_process(Ctx& ctx, ProcessId pi, std::string_view why) {
  const ProcessRow* p = row<ProcessRow>(pi);
  if (p == nullptr) return;
  std::string resource_id = to_text(p->resource_id);
  ctx.event(LogLevel::info,
            Event("cattle.process_failed")
                .with("process", p->process)
                .with("resource_type", to_text(p->resource_type))
                .with("resource_id", resource_id)
                .with("why", why),
            fmt::format("process {} ({} {}:{}) failed: {}", pi, p->process,
                        to_text(p->resource_type), resource_id, why));
  // The execution's start time goes with the count, as Cattle's process_execution log keeps it:
  // the replay waits longer for a process that failed twice or more (replay_due).
  auto it = volatile_.running.find(pi);
  TimeNs started_ns = it != volatile_.running.end() ? it->second.started_ns : ctx.now();
  Transaction txn;
  write::phase(txn, pi, ProcessPhase::pending);
  write::attempts(txn, pi, p->attempts + 1, started_ns);
  commit(ctx, txn);  // (p is not used after this)
  it = volatile_.running.find(pi);
  if (it != volatile_.running.end() && it->second.timer != 0) ctx.cancel_timer(it->second.timer);
  release_lock(ctx, pi);
  // The process waits for the replay task (process_replay_interval): Cattle has no quick retry.
  if (cm_) service_work_check(ctx, service_lock_of(pi));
}

bool CattleServer::replay_due(const ProcessRow& p, TimeNs now) const {
  // rancher/cattle v0.165.8 code/framework/engine/src/main/java/io/cattle/platform/engine/
  // eventing/impl/ProcessEventListenerImpl.java shouldWaitLonger (lines 113-131): a process run
  // fewer than two times runs at once; otherwise it waits min(process.retry_max_wait.millis,
  // 15000 + 2^n / 2) ms from its last execution's start, n its executions so far. With the 15 s
  // replay schedule, a process that keeps failing is tried at every other replay.
  if (p.attempts < 2) return true;
  constexpr std::int64_t k_base_ms = 15000;
  std::int64_t growth_ms = p.attempts >= 40 ? cfg_.retry_max_wait_ns / k_ms
                                            : (std::int64_t{1} << p.attempts) / 2;
  DurationNs wait_ns = std::min(cfg_.retry_max_wait_ns, (k_base_ms + growth_ms) * k_ms);
  return now >= p.last_run_ns + wait_ns;
}

void CattleServer::release_lock(Ctx& ctx, ProcessId pi) {
  release_process_lock(ctx, pi);
  auto it = volatile_.running.find(pi);
  if (it == volatile_.running.end()) return;
  std::string lock = it->second.lock;
  bool held = it->second.phase == RunningProcess::Phase::working ||
              volatile_.locks.holder(lock) == std::optional<LockManager::Owner>(pi.value);
  volatile_.running.erase(it);
  if (!held) {
    volatile_.locks.give_up(lock, pi.value);
    return;
  }
  if (auto next_owner = volatile_.locks.release(lock, pi.value)) {
    ProcessId next{*next_owner};
    auto w = volatile_.running.find(next);
    if (w == volatile_.running.end()) {
      // The waiter is gone (cannot happen while waiters are removed on give-up): free the lock.
      volatile_.locks.release(lock, next.value);
      return;
    }
    ctx.cancel_timer(w->second.timer);
    ctx.count(cfg_.lock_acquisitions, 1);
    execute(ctx, next);
  }
}

bool CattleServer::has_unfinished(HostId host) const {
  return has_unfinished(ResourceType::host, host.value);
}

bool CattleServer::has_unfinished(InstanceId instance) const {
  return has_unfinished(ResourceType::instance, instance.value);
}

bool CattleServer::has_unfinished(ResourceType type, std::int64_t resource) const {
  // By the resource's processes (row_cache.hpp): asked at every failed ping.
  for (ProcessId id : cache_.processes_of(store(), resource)) {
    const ProcessRow& p = *row<ProcessRow>(id);
    if (p.resource_type == type && unfinished(p.phase)) return true;
  }
  return false;
}

void CattleServer::replay(Ctx& ctx) {
  if (cfg_.process_replay) {
    std::vector<ProcessId> todo;
    for (const auto& [id, p] : rows<ProcessRow>())
      if (unfinished(p.phase) && volatile_.running.count(id) == 0 && replay_due(p, ctx.now()))
        todo.push_back(id);
    for (ProcessId pi : todo) run_process(ctx, pi);
  }
  reconcile(ctx);
}

void CattleServer::emit(Ctx& ctx, std::string name, std::int64_t resource) {
  ctx.count(cfg_.events, 1);
  // In HA the other servers hear of the change over Redis (and read the tables again).
  if (cm_ && resource != 0) publish_event(ctx, name);
  volatile_.bus.push_back(BusEvent{std::move(name), resource});
  if (!volatile_.bus_scheduled) {
    volatile_.bus_scheduled = true;
    ctx.set_timer(0, timer_tag::encode(BusDrain{}));
  }
}

void CattleServer::drain_bus(Ctx& ctx) {
  // Every listener of the single-mode bus reacts the same way to any state change: the service
  // reconciler runs and the metadata (overlay directory, load balancer backends) is pushed.
  if (volatile_.bus.empty()) return;
  for (const BusEvent& e : volatile_.bus)
    ctx.log(LogLevel::debug, fmt::format("event {} resource {}", e.name, e.resource));
  volatile_.bus.clear();
  reconcile(ctx);
  push_config(ctx);
}

bool CattleServer::agent_answered(Ctx& ctx, InstanceId instance, HandlerKind handler) {
  for (auto& [pi, rp] : volatile_.running) {
    if (rp.phase != RunningProcess::Phase::working) continue;
    const ProcessRow* p = row<ProcessRow>(pi);
    if (p == nullptr || p->instance() != instance || !instance.valid()) continue;
    const ProcessDef* def = find_process(p->process);
    if (def == nullptr || def->handler != handler) continue;
    ctx.cancel_timer(rp.timer);
    finish_process(ctx, pi, "");
    return true;
  }
  return false;
}

void CattleServer::on_container_started(Ctx& ctx, InstanceId instance) {
  agent_answered(ctx, instance, HandlerKind::start_on_agent);
}

void CattleServer::announce(Ctx& ctx, std::string_view process, std::int64_t rid,
                            std::string_view from) {
  if (process.starts_with("host.")) return announce_host(ctx, process, HostId{rid}, from);
  const InstanceRow* instance = row<InstanceRow>(InstanceId{rid});
  std::string container = instance ? instance->name : "";
  HostId placed = instance ? instance->host : HostId{};
  if (process == "instance.create" || process == "instance.start")
    health_started(ctx, InstanceId{rid});
  if (process == "instance.create") {
    std::string host = host_name(placed);
    ctx.event(LogLevel::info,
              Event("cattle.container_created").with("container", container).with("host", host),
              fmt::format("container {} created on {}", container, host));
  } else if (process == "instance.start") {
    std::string host = host_name(placed);
    ctx.event(LogLevel::notable,
              Event("cattle.container_restarted").with("container", container).with("host", host),
              fmt::format("container {} restarted on {}", container, host));
    ctx.signal("cattle.container_restarted");
  } else if (process == "instance.stop_remove") {
    ctx.event(LogLevel::notable,
              Event("cattle.container_stop_finished")
                  .with("container", container)
                  .with("host", host_name(placed)),
              fmt::format("container {} on {} stopped and removed", container,
                          host_name(placed)));
  } else if (process == "instance.stop") {
    ctx.event(LogLevel::notable, Event("cattle.container_stopped").with("container", container),
              fmt::format("container {} marked stopped", container));
  }
}

void CattleServer::announce_host(Ctx& ctx, std::string_view process, HostId rid,
                                 std::string_view from) {
  const char* what = nullptr;
  const char* signal = nullptr;
  if (process == "host.reconnect") {
    what = "reconnecting";
    signal = "cattle.host_reconnecting";
  } else if (process == "host.activate") {
    what = "active again";
    signal = "cattle.host_reconnected";
  } else {
    return;
  }
  // Health checks: a reconnecting host checks nothing; back, every container gets its checkers.
  if (process == "host.reconnect") health_host_lost(ctx, rid);
  else health_host_back(ctx, rid);
  std::string host = host_name(rid);
  ctx.event(LogLevel::notable,
            Event("cattle.host_state_changed")
                .with("host", host)
                .with("from", from)
                .with("to", to_text(state_of(rid))),
            fmt::format("host {} {}", host, what));
  ctx.signal(signal);
}

}  // namespace stampede::cattle
