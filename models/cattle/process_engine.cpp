// Cattle's process engine: every state change of a resource runs as a process instance, recorded
// as a row, under the resource's lock, with an event on the bus when the state changes. A failed
// handler is retried with backoff a few times, then left to the replay task, which also resumes
// whatever a crash interrupted (its rows are unfinished in the durable store).
#include <algorithm>
#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/process_defs.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

using mysql::Row;
using mysql::to_text;
using mysql::Transaction;

namespace {

bool unfinished_phase(const Row& process) { return unfinished(phase_of(process)); }

}  // namespace

RowId CattleServer::schedule_process(Ctx& ctx, std::string_view process, RowId resource) {
  const ProcessDef* def = find_process(process);
  if (def == nullptr) return 0;
  Transaction txn;
  txn.insert("process_instance", Row{{"process", std::string(process)},
                                     {"resource_type", std::string(def->table)},
                                     {"resource_id", to_text(resource)},
                                     {"phase", std::string(to_text(ProcessPhase::pending))},
                                     {"attempts", "0"},
                                     {"start_ns", to_text(ctx.now())}});
  RowId pi = commit(ctx, txn).front();
  ctx.count(cfg_.process_instances, 1);
  run_process(ctx, pi);
  return pi;
}

void CattleServer::run_process(Ctx& ctx, RowId pi) {
  if (volatile_.running.count(pi) != 0) return;
  const Row* row = db().find("process_instance", pi);
  if (row == nullptr || !unfinished_phase(*row)) return;
  // In HA a start handler runs only under its service's ZooKeeper lock (ha.cpp); it waits for
  // the server's next turn at the service otherwise.
  if (RowId sid = cm_ ? service_lock_of(pi) : 0; sid != 0 && !holding_service(sid)) return;
  std::string lock = row->at("resource_type") + ":" + row->at("resource_id");
  volatile_.running[pi] = RunningProcess{RunningProcess::Phase::waiting_lock, lock, 0};
  if (volatile_.locks.try_acquire(lock, pi)) {
    ctx.count(cfg_.lock_acquisitions, 1);
    execute(ctx, pi);
  } else {
    volatile_.running[pi].timer = ctx.set_timer(cfg_.lock_wait_ns, timer_tag::encode(LockWait{pi}));
  }
}

void CattleServer::execute(Ctx& ctx, RowId pi) {
  const Row& row = *db().find("process_instance", pi);
  const ProcessDef* def = find_process(row.at("process"));
  RowId rid = std::stoll(row.at("resource_id"));
  std::string table(def->table);
  const Row* res = db().find(table, rid);
  if (res == nullptr) return cancel_process(ctx, pi, "the resource is gone");
  const std::string state = res->at("state");
  bool valid = std::find(def->from.begin(), def->from.end(), state) != def->from.end() ||
               (!def->transitioning.empty() && state == def->transitioning);
  if (!valid) return cancel_process(ctx, pi, "the resource is " + state);

  RowId host = 0;
  if (def->handler == HandlerKind::start_on_agent && cm_ &&
      !may_act(ctx, service_lock_of(pi)))
    return fail_process(ctx, pi, "its service's lock is not held");
  if (def->handler == HandlerKind::start_on_agent) {
    host = db().get_int("instance", rid, "host_id");
    bool host_active = host != 0 && host_state_of(db(), host) == HostState::active;
    // A new instance is placed on an active host; a stopped one restarts where it was.
    if (!host_active && def->name == "instance.create")
      host = cm_ ? place_ha(ctx, rid) : place();
    if (host == 0 || host_state_of(db(), host) != HostState::active)
      return fail_process(ctx, pi, "no active host for it");
  }

  Transaction txn;
  if (!def->transitioning.empty()) {
    txn.update(table, rid, "state", std::string(def->transitioning));
    txn.update(table, rid, "updated_ns", to_text(ctx.now()));
  }
  if (host != 0) txn.update(table, rid, "host_id", to_text(host));
  txn.update("process_instance", pi, "phase", std::string(to_text(ProcessPhase::running)));
  commit(ctx, txn);
  if (!def->transitioning.empty()) emit(ctx, table + "." + std::string(def->transitioning), rid);

  if (def->handler == HandlerKind::start_on_agent) {
    RunningProcess& rp = volatile_.running[pi];
    rp.phase = RunningProcess::Phase::working;
    NodeId agent = ctx.lookup(host_name(host));
    StartContainer start{rid, make_names({db().get("instance", rid, "name")})};
    // In HA the command waits until the database has the writes before it (ha.cpp), as Cattle
    // commits a process's transaction before it calls the agent.
    if (cm_) send_when_durable(ctx, pi, agent, std::move(start));
    else if (agent != k_no_node) ctx.send(agent, wire::encode(start));
    rp.timer = ctx.set_timer(cfg_.agent_reply_timeout_ns, timer_tag::encode(AgentReply{pi}));
    return;
  }
  finish_process(ctx, pi, state);
}

void CattleServer::finish_process(Ctx& ctx, RowId pi, std::string_view from) {
  const Row& row = *db().find("process_instance", pi);
  std::string process = row.at("process");
  const ProcessDef* def = find_process(process);
  RowId rid = std::stoll(row.at("resource_id"));
  std::string table(def->table);
  // The state the resource leaves: the one it had before the process, or (for a handler that
  // finishes later) its transitioning state.
  std::string from_state = from.empty() ? db().get(table, rid, "state") : std::string(from);
  Transaction txn;
  txn.update(table, rid, "state", std::string(def->done));
  txn.update(table, rid, "updated_ns", to_text(ctx.now()));
  txn.update("process_instance", pi, "phase", std::string(to_text(ProcessPhase::done)));
  txn.update("process_instance", pi, "exit_reason", "done");
  commit(ctx, txn);
  emit(ctx, table + "." + std::string(def->done), rid);
  release_lock(ctx, pi);
  volatile_.quick_retries.erase(pi);
  announce(ctx, process, rid, from_state);
  if (cm_) service_work_check(ctx, service_lock_of(pi));
}

void CattleServer::cancel_process(Ctx& ctx, RowId pi, std::string_view why) {
  Transaction txn;
  txn.update("process_instance", pi, "phase", std::string(to_text(ProcessPhase::canceled)));
  txn.update("process_instance", pi, "exit_reason", std::string(why));
  commit(ctx, txn);
  ctx.log(LogLevel::debug, fmt::format("process {} canceled: {}", pi, why));
  release_lock(ctx, pi);
  volatile_.quick_retries.erase(pi);
  if (cm_) service_work_check(ctx, service_lock_of(pi));
}

void CattleServer::fail_process(Ctx& ctx, RowId pi, std::string_view why) {
  const Row* row = db().find("process_instance", pi);
  if (row == nullptr) return;
  ctx.event(LogLevel::info,
            Event("cattle.process_failed")
                .with("process", row->at("process"))
                .with("resource_type", row->at("resource_type"))
                .with("resource_id", row->at("resource_id"))
                .with("why", why),
            fmt::format("process {} ({} {}:{}) failed: {}", pi, row->at("process"),
                        row->at("resource_type"), row->at("resource_id"), why));
  Transaction txn;
  txn.update("process_instance", pi, "phase", std::string(to_text(ProcessPhase::pending)));
  txn.update("process_instance", pi, "attempts", to_text(std::stoll(row->at("attempts")) + 1));
  commit(ctx, txn);
  auto it = volatile_.running.find(pi);
  if (it != volatile_.running.end() && it->second.timer != 0) ctx.cancel_timer(it->second.timer);
  release_lock(ctx, pi);
  // Idempotent handlers are retried at once a few times, with a doubling delay; after that the
  // process waits for the replay task.
  int& n = volatile_.quick_retries[pi];
  if (n < cfg_.retry_count) {
    DurationNs delay = cfg_.retry_backoff_ns << n;
    ++n;
    ctx.set_timer(delay, timer_tag::encode(Retry{pi}));
  }
  if (cm_) service_work_check(ctx, service_lock_of(pi));
}

void CattleServer::release_lock(Ctx& ctx, RowId pi) {
  auto it = volatile_.running.find(pi);
  if (it == volatile_.running.end()) return;
  std::string lock = it->second.lock;
  bool held = it->second.phase == RunningProcess::Phase::working ||
              volatile_.locks.holder(lock) == std::optional<LockManager::Owner>(pi);
  volatile_.running.erase(it);
  if (!held) {
    volatile_.locks.give_up(lock, pi);
    return;
  }
  if (auto next = volatile_.locks.release(lock, pi)) {
    auto w = volatile_.running.find(*next);
    if (w == volatile_.running.end()) {
      // The waiter is gone (cannot happen while waiters are removed on give-up): free the lock.
      volatile_.locks.release(lock, *next);
      return;
    }
    ctx.cancel_timer(w->second.timer);
    ctx.count(cfg_.lock_acquisitions, 1);
    execute(ctx, *next);
  }
}

bool CattleServer::has_unfinished(std::string_view table, RowId resource) const {
  // By the resource_id index (mysql/database.cpp): asked at every failed ping.
  for (RowId id : store().where("process_instance", "resource_id", to_text(resource))) {
    const Row& row = *store().find("process_instance", id);
    if (row.at("resource_type") == table && unfinished_phase(row)) return true;
  }
  return false;
}

void CattleServer::replay(Ctx& ctx) {
  volatile_.quick_retries.clear();
  if (cfg_.process_replay) {
    std::vector<RowId> todo;
    for (const auto& [id, row] : *db().table("process_instance"))
      if (unfinished_phase(row) && volatile_.running.count(id) == 0) todo.push_back(id);
    for (RowId pi : todo) run_process(ctx, pi);
  }
  reconcile(ctx);
}

void CattleServer::emit(Ctx& ctx, std::string name, RowId resource) {
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

void CattleServer::on_container_started(Ctx& ctx, RowId instance) {
  for (auto& [pi, rp] : volatile_.running) {
    if (rp.phase != RunningProcess::Phase::working) continue;
    const Row* row = db().find("process_instance", pi);
    if (row == nullptr || row->at("resource_type") != "instance" ||
        std::stoll(row->at("resource_id")) != instance)
      continue;
    ctx.cancel_timer(rp.timer);
    finish_process(ctx, pi, "");
    return;
  }
}

void CattleServer::announce(Ctx& ctx, std::string_view process, RowId rid,
                            std::string_view from) {
  if (process.starts_with("host.")) return announce_host(ctx, process, rid, from);
  std::string container = db().get("instance", rid, "name");
  if (process == "instance.create") {
    std::string host = host_name(db().get_int("instance", rid, "host_id"));
    ctx.event(LogLevel::info,
              Event("cattle.container_created").with("container", container).with("host", host),
              fmt::format("container {} created on {}", container, host));
  } else if (process == "instance.start") {
    std::string host = host_name(db().get_int("instance", rid, "host_id"));
    ctx.event(LogLevel::notable,
              Event("cattle.container_restarted").with("container", container).with("host", host),
              fmt::format("container {} restarted on {}", container, host));
    ctx.signal("cattle.container_restarted");
  } else if (process == "instance.stop") {
    ctx.event(LogLevel::notable, Event("cattle.container_stopped").with("container", container),
              fmt::format("container {} marked stopped", container));
  }
}

void CattleServer::announce_host(Ctx& ctx, std::string_view process, RowId rid,
                                 std::string_view from) {
  const char* what = nullptr;
  const char* signal = nullptr;
  if (process == "host.reconnect") {
    what = "reconnecting";
    signal = "cattle.host_reconnecting";
  } else if (process == "host.disconnect") {
    what = "disconnected";
    signal = "cattle.host_disconnected";
  } else if (process == "host.activate") {
    what = "active again";
    signal = "cattle.host_reconnected";
  } else {
    return;
  }
  std::string host = host_name(rid);
  ctx.event(LogLevel::notable,
            Event("cattle.host_state_changed")
                .with("host", host)
                .with("from", from)
                .with("to", db().get("host", rid, "state")),
            fmt::format("host {} {}", host, what));
  ctx.signal(signal);
}

}  // namespace stampede::cattle
