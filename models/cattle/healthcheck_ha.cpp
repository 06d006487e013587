// Rancher 1.1's health checks in HA: no server owns them. The rows are the shared tables
// healthcheck_instance and healthcheck_instance_host_map in the external db (rancher/cattle
// v0.165.8 code/iaas/healthcheck/src/main/java/io/cattle/iaas/healthcheck/service/impl/
// HealthcheckServiceImpl.java lines 222-254), which every server reads back with the others
// (ha.cpp, refresh). Who does what:
// - a checker's report is an API POST (a serviceEvent), handled by whichever server the DNS name
//   sends it to (code/iaas/healthcheck/.../process/ServiceEventCreate.java lines 26-45): that
//   server reads the checker's row, writes the report into it (HealthcheckServiceImpl.
//   updateHealthcheck, lines 66-84, objectManager.setFields commits at once), then takes the
//   container's HealthcheckInstanceLock, "UPDATE.HCI.<id>" (line 86; service/impl/
//   HealthcheckInstanceLock.java line 8), which in HA is a ZooKeeper lock (the zookeeper
//   profile's LockProvider, code/packaging/app-config/src/main/resources/META-INF/cattle/
//   system-services/spring-zookeeper-context-override.xml line 5), and decides from the rows it
//   reads back under it (processHealthcheckInstance and determineNewHealthState, lines 106-179,
//   each a fresh load from the db). The lock waits twice the default lock wait
//   (HealthcheckInstanceLock.getWait, lines 11-14: 2 x default.lock.wait.millis = 20 s), then the
//   report is dropped;
// - the checkers are registered by the server that runs the container's start
//   (InstanceHealthcheckRegister, a post-handler of instance.start: here the holder of the
//   service's lock), and again by the server that runs a host's return to active, each under the
//   container's lock HEALTHCHECK.<id>.INSTANCE.REGISTER (healthcheck_register.cpp);
// - the reconcile of a host gone reconnecting (HealthCheckReconcileTrigger, a pre-handler of
//   agent.reconnect) runs on the server that runs that host's process, the agent's owner; each
//   row's removal decides under the same lock (HealthCheckReconcile.java line 30,
//   healthCheckReconcile, lines 94-104);
// - every server runs the cleanup task (healthcheck.cpp, start_health);
// - each server pushes the checker lists to the agents it owns (push_health_config, also at
//   every configuration push after a read of the tables: the network agents poll their config).
// Because a report is written before the lock and judged after it from what the db holds, of
// two reports about one container handled at once by two servers, the later judge sees both.
#include <fmt/format.h>

#include <set>

#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"

namespace stampede::cattle {

using mysql::DbResult;
using mysql::to_text;
using mysql::Transaction;

namespace {

constexpr std::string_view k_health_lock_prefix = "UPDATE.HCI.";

}  // namespace

std::string health_lock_name(HealthcheckInstanceId hci) {
  return fmt::format("{}{}", k_health_lock_prefix, hci.value);
}

std::optional<HealthcheckInstanceId> health_lock_of(std::string_view lock) {
  if (!lock.starts_with(k_health_lock_prefix)) return std::nullopt;
  std::int64_t id = 0;
  for (char c : lock.substr(k_health_lock_prefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return HealthcheckInstanceId{id};
}

void CattleServer::health_enqueue(Ctx& ctx, InstanceId iid, HealthWork work) {
  // One at a time per container on this server: Cattle's threads would queue on the lock.
  std::deque<HealthWork>& queue = volatile_.health_work.work[iid];
  queue.push_back(work);
  if (queue.size() == 1) health_work_start(ctx, iid);
}

void CattleServer::health_work_start(Ctx& ctx, InstanceId iid) {
  volatile_.health_work.work.at(iid).front().phase = HealthWork::Phase::reading;
  health_read(ctx, iid);
}

void CattleServer::health_work_done(Ctx& ctx, InstanceId iid, std::string_view dropped) {
  auto it = volatile_.health_work.work.find(iid);
  if (it == volatile_.health_work.work.end() || it->second.empty()) return;
  HealthWork done = it->second.front();
  if (done.phase == HealthWork::Phase::locking) {
    if (done.timer != 0) ctx.cancel_timer(done.timer);
    if (zk_) zk_->unlock(ctx, health_lock_name(done.hci));
  }
  if (!dropped.empty())
    ctx.log(LogLevel::debug,
            fmt::format("health {} of instance {} by {} dropped: {}",
                        done.reconcile ? "reconcile" : "report", iid, done.checker, dropped));
  it->second.pop_front();
  if (it->second.empty()) {
    volatile_.health_work.work.erase(it);
    return;
  }
  health_work_start(ctx, iid);
}

void CattleServer::health_read(Ctx& ctx, InstanceId iid) {
  HealthWork& work = volatile_.health_work.work.at(iid).front();
  work.reads = 2;
  work.read_failed = false;
  for (std::string_view table : {HealthcheckInstanceRow::k_table, HealthcheckHostMapRow::k_table})
    db_client_->select_where(ctx, std::string(table), "instance_id", to_text(iid.value),
                             [this, iid, table](Ctx& c, const DbResult& r) {
                               on_health_read(c, iid, table, r);
                             });
}

void CattleServer::on_health_read(Ctx& ctx, InstanceId iid, std::string_view table,
                                  const DbResult& result) {
  auto it = volatile_.health_work.work.find(iid);
  if (it == volatile_.health_work.work.end() || it->second.front().reads <= 0) return;
  HealthWork& work = it->second.front();
  if (!result.ok())
    work.read_failed = true;
  else
    merge_read(table, iid, result);
  if (--work.reads > 0) return;
  if (work.read_failed) return health_work_done(ctx, iid, "the database did not answer");
  if (work.phase == HealthWork::Phase::reading) return health_write(ctx, iid);
  health_judge(ctx, iid);
}

void CattleServer::merge_read(std::string_view table, InstanceId iid, const DbResult& result) {
  // The rows read replace those of the copy (the container's, or the whole table); this server's
  // writes the db has not answered yet go on top again, as after a read of the whole tables.
  Transaction fresh;
  std::set<mysql::RowId> read;
  for (const auto& [id, r] : result.rows) {
    fresh.put(std::string(table), id, r);
    read.insert(id);
  }
  if (iid.valid()) {
    for (mysql::RowId id : volatile_.shared.where(table, "instance_id", to_text(iid.value)))
      if (read.count(id) == 0) fresh.erase(std::string(table), id);
  }
  volatile_.shared.commit(fresh);
  for (const auto& [seq, e] : volatile_.journal) {
    if (e.acked) continue;
    Transaction again = e.batch.to_transaction();
    volatile_.shared.commit(again);
  }
}

void CattleServer::health_write(Ctx& ctx, InstanceId iid) {
  HealthWork& work = volatile_.health_work.work.at(iid).front();
  std::optional<HealthRow> hrow = health_row(iid);
  if (!hrow) return health_work_done(ctx, iid, "the container has no health row");
  work.hci = hrow->id;
  const HealthcheckHostMapRow* map = checker_row(iid, work.checker);
  Transaction txn;
  if (work.reconcile) {
    if (map != nullptr) txn.erase(std::string(HealthcheckHostMapRow::k_table), map->id.value);
  } else {
    if (map == nullptr) return health_work_done(ctx, iid, "not one of its checkers");
    if (!should_update(*hrow, work.reported)) return health_work_done(ctx, iid, "initializing");
    write::reported(txn, map->id, work.reported);
  }
  if (txn.empty()) return health_lock(ctx, iid);  // a reconcile whose row is gone already
  work.phase = HealthWork::Phase::writing;
  // The seq the commit below takes: its answer (health_write_done) may come within the commit.
  work.write_seq = durable_.next_seq;
  commit(ctx, txn);  // `work` may be gone after this
}

void CattleServer::health_write_done(Ctx& ctx, std::int64_t seq, bool ok) {
  // Writes are answered in order: a report's write that is not this one and comes before it was
  // dropped unanswered (drop_stale_work).
  std::vector<std::pair<InstanceId, bool>> ready;
  for (const auto& [iid, queue] : volatile_.health_work.work) {
    const HealthWork& w = queue.front();
    if (w.phase == HealthWork::Phase::writing && w.write_seq <= seq)
      ready.emplace_back(iid, ok && w.write_seq == seq);
  }
  for (const auto& [iid, written] : ready) {
    if (written) health_lock(ctx, iid);
    else health_work_done(ctx, iid, "the database did not take the write");
  }
}

void CattleServer::health_lock(Ctx& ctx, InstanceId iid) {
  HealthWork& work = volatile_.health_work.work.at(iid).front();
  if (!zk_) {
    work.phase = HealthWork::Phase::judging;
    return health_read(ctx, iid);
  }
  if (zk_->state() != zk::SessionState::connected)
    return health_work_done(ctx, iid, "no ZooKeeper session for its lock");
  work.phase = HealthWork::Phase::locking;
  work.timer = ctx.set_timer(2 * cfg_.service_lock_wait_ns,
                             timer_tag::encode(HealthLockWait{iid.value}));
  zk_->lock(ctx, health_lock_name(work.hci));
}

void CattleServer::health_lock_acquired(Ctx& ctx, HealthcheckInstanceId hci) {
  for (auto& [iid, queue] : volatile_.health_work.work) {
    HealthWork& work = queue.front();
    if (work.phase != HealthWork::Phase::locking || work.hci != hci) continue;
    if (work.timer != 0) ctx.cancel_timer(work.timer);
    work.timer = 0;
    work.phase = HealthWork::Phase::judging;
    InstanceId instance = iid;
    return health_read(ctx, instance);
  }
  // Granted after this server gave up waiting: give it back.
  zk_->unlock(ctx, health_lock_name(hci));
}

void CattleServer::health_judge(Ctx& ctx, InstanceId iid) {
  HealthWork work = volatile_.health_work.work.at(iid).front();
  ctx.log(LogLevel::debug,
          fmt::format("health {} of instance {} by host {} judged under lock {}",
                      work.reconcile ? "reconcile" : "report", iid, work.checker,
                      health_lock_name(work.hci)));
  if (std::optional<HealthRow> hrow = health_row(iid)) {
    Health reported = work.reconcile ? Health::none : work.reported;
    if (auto next = determine_new_health(*hrow, work.checker, reported, work.reconcile))
      set_health(ctx, iid, *next);
  }
  if (zk_) zk_->unlock(ctx, health_lock_name(work.hci));
  health_work_done(ctx, iid, "");
}

void CattleServer::on(Ctx& ctx, const HealthLockWait& t) {
  InstanceId iid{t.instance};
  auto it = volatile_.health_work.work.find(iid);
  if (it == volatile_.health_work.work.end() ||
      it->second.front().phase != HealthWork::Phase::locking)
    return;
  it->second.front().timer = 0;
  health_work_done(ctx, iid, "timed out waiting for its lock");
}

}  // namespace stampede::cattle
