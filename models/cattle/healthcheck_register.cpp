// HA: the registration of a container's health checkers under its lock (mechanism
// cattle_healthcheck_register_lock). Cattle 1.1 chooses the hosts that check a container in
// HealthcheckServiceImpl.registerForHealtcheck (rancher/cattle v0.165.8 code/iaas/healthcheck/src/
// main/java/io/cattle/iaas/healthcheck/service/impl/HealthcheckServiceImpl.java:204-220), under
// the lock HealthcheckRegisterLock, "HEALTHCHECK.<instance id>.INSTANCE.REGISTER"
// (HealthcheckRegisterLock.java:8-10; HealthcheckInstanceType has the one value INSTANCE,
// service/HealthcheckService.java:10-12). It is an AbstractBlockingLockDefintion that does not
// override getWait, so a server waits default.lock.wait.millis, 10 s, for it
// (code/framework/lock/src/main/java/io/cattle/platform/lock/definition/
// AbstractBlockingLockDefintion.java:9-18; defaults.properties:18; the timing service_lock_wait),
// and in HA the lock provider is ZooKeeper's (Curator's InterProcessMutex, as for the other locks
// in ha.cpp). What runs under it, each a fresh read of the db:
// - createHealtcheckInstance (lines 222-234): the container's healthcheck_instance row is found,
//   or created;
// - createHealthCheckHostMaps (lines 236-254) with getHealthCheckHostIds (lines 257-304): the
//   container's healthcheck_instance_host_map rows are read (mapDao.findNonRemoved) and so are
//   the environment's active hosts (allocatorDao.getActiveHosts, line 307); those rows whose host
//   is still active count, and when fewer than three do, hosts not already checking it are drawn
//   at random (pick_checkers, healthcheck.hpp) and a row is created for each (lines 240-252).
// It runs after every instance.start (InstanceHealthcheckRegister, process/
// InstanceHealthcheckRegister.java:37-54) and, for the containers of a host that comes back or
// loses a checker, after agent.reconnect, networkserviceproviderinstancemap.create and
// healthcheckinstancehostmap.remove (HealthCheckReconcilePostTrigger.java:41-66). Those are
// processes that different servers run, so without the lock two servers may register one
// container at once: each finds the same checkers missing and each creates rows for them, and
// the container gets two checker rows for one host (invariant health.checker_rows), or a
// second healthcheck_instance row.
//
// In the model a server takes the lock, reads the container's two kinds of rows and the host
// table back from the db into its copy, creates what is missing, and gives the lock back once
// the db has answered the writes. Off, a server registers at once from its copy of the shared
// tables (up to a replay interval old), under no lock. A registration that the copy already
// shows complete (three active checkers) is not started: Cattle would take the lock, read, and
// find nothing to do; the model spares the lock's round trips (the copy may lag the db, where
// another server removed a checker meanwhile: the next host change registers again).
// Single mode registers at once either way (its one server does nothing concurrently).
#include <fmt/format.h>

#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"

namespace stampede::cattle {

using mysql::DbResult;
using mysql::to_text;
using mysql::Transaction;

namespace {

constexpr std::string_view k_register_lock_prefix = "HEALTHCHECK.";
constexpr std::string_view k_register_lock_suffix = ".INSTANCE.REGISTER";

}  // namespace

std::string health_register_lock_name(InstanceId instance) {
  return fmt::format("{}{}{}", k_register_lock_prefix, instance.value, k_register_lock_suffix);
}

std::optional<InstanceId> health_register_lock_of(std::string_view lock) {
  if (!lock.starts_with(k_register_lock_prefix) || !lock.ends_with(k_register_lock_suffix))
    return std::nullopt;
  std::string_view digits =
      lock.substr(k_register_lock_prefix.size(),
                  lock.size() - k_register_lock_prefix.size() - k_register_lock_suffix.size());
  if (digits.empty()) return std::nullopt;
  std::int64_t id = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return InstanceId{id};
}

bool CattleServer::health_register_locked() const {
  return cm_.has_value() && zk_ && cfg_.health_register_lock;
}

void CattleServer::health_register(Ctx& ctx, InstanceId iid) {
  if (row<InstanceRow>(iid) == nullptr) return;
  if (std::optional<HealthRow> hrow = health_row(iid)) {
    std::size_t active = 0;
    for (const auto& [host, said] : hrow->checkers) active += state_of(host) == HostState::active;
    if (active >= k_required_checkers) return;
  }
  auto [it, fresh] = volatile_.health_register.work.try_emplace(iid);
  if (!fresh) {
    // One at a time per container on this server (Cattle's threads would queue on the lock):
    // the one running reads the rows again once it is done.
    it->second.again = true;
    return;
  }
  if (zk_->state() != zk::SessionState::connected)
    return health_register_done(ctx, iid, "no ZooKeeper session for its lock");
  it->second.timer =
      ctx.set_timer(cfg_.service_lock_wait_ns, timer_tag::encode(HealthRegisterWait{iid.value}));
  zk_->lock(ctx, health_register_lock_name(iid));
}

void CattleServer::health_register_acquired(Ctx& ctx, InstanceId iid) {
  auto it = volatile_.health_register.work.find(iid);
  if (it == volatile_.health_register.work.end() ||
      it->second.phase != HealthRegistration::Phase::locking) {
    // Granted after this server gave up waiting: give it back.
    zk_->unlock(ctx, health_register_lock_name(iid));
    return;
  }
  HealthRegistration& reg = it->second;
  if (reg.timer != 0) ctx.cancel_timer(reg.timer);
  reg.timer = 0;
  reg.phase = HealthRegistration::Phase::reading;
  reg.reads = 3;
  reg.read_failed = false;
  for (std::string_view table : {HealthcheckInstanceRow::k_table, HealthcheckHostMapRow::k_table})
    db_client_->select_where(ctx, std::string(table), "instance_id", to_text(iid.value),
                             [this, iid, table](Ctx& c, const DbResult& r) {
                               on_health_register_read(c, iid, table, r);
                             });
  // getActiveHosts: the hosts' states as the db has them.
  db_client_->select_all(ctx, "host", [this, iid](Ctx& c, const DbResult& r) {
    on_health_register_read(c, iid, "host", r);
  });
}

void CattleServer::on_health_register_read(Ctx& ctx, InstanceId iid, std::string_view table,
                                           const DbResult& result) {
  auto it = volatile_.health_register.work.find(iid);
  if (it == volatile_.health_register.work.end() ||
      it->second.phase != HealthRegistration::Phase::reading || it->second.reads <= 0)
    return;
  HealthRegistration& reg = it->second;
  if (!result.ok())
    reg.read_failed = true;
  else
    merge_read(table, table == "host" ? InstanceId{} : iid, result);
  if (--reg.reads > 0) return;
  if (reg.read_failed) return health_register_done(ctx, iid, "the database did not answer");
  health_register_write(ctx, iid);
}

void CattleServer::health_register_write(Ctx& ctx, InstanceId iid) {
  if (row<InstanceRow>(iid) == nullptr) return health_register_done(ctx, iid, "no instance");
  std::optional<HealthRow> hrow = health_row(iid);
  if (!hrow) {
    // createHealtcheckInstance (lines 222-234): none found, one is created. Its health state
    // (the instance's, in Cattle) is initializing, as InstanceHealthcheckRegister sets it.
    Transaction txn;
    write::insert(txn, HealthcheckInstanceRow{{}, iid, Health::initializing, ctx.now()});
    HealthRegistration& reg = volatile_.health_register.work.at(iid);
    reg.phase = HealthRegistration::Phase::writing;
    // The seq the commit takes: its answer may come within the commit (a refused pool).
    reg.write_seq = durable_.next_seq;
    commit(ctx, txn);
    if (volatile_.health_register.work.count(iid) == 0) return;
    hrow = health_row(iid);
    if (!hrow) return health_register_done(ctx, iid, "the database did not take the write");
  }
  HealthRegistration& reg = volatile_.health_register.work.at(iid);
  reg.phase = HealthRegistration::Phase::writing;
  std::int64_t before = reg.write_seq;
  reg.write_seq = durable_.next_seq;  // the seq of add_checkers' commit, if it makes one
  bool created = add_checkers(ctx, iid, *hrow);
  auto it = volatile_.health_register.work.find(iid);
  if (it == volatile_.health_register.work.end()) return;  // answered within the commit
  if (created)
    it->second.created = true;
  else
    it->second.write_seq = before;
  // Nothing written: the lock goes back at once.
  if (it->second.write_seq < 0) health_register_done(ctx, iid, "");
}

void CattleServer::health_register_write_done(Ctx& ctx, std::int64_t seq, bool ok) {
  // Writes are answered in order; one dropped unsent (drop_stale_work) is passed by a later one.
  std::vector<std::pair<InstanceId, bool>> ready;
  for (const auto& [iid, reg] : volatile_.health_register.work)
    if (reg.phase == HealthRegistration::Phase::writing && reg.write_seq >= 0 &&
        reg.write_seq <= seq)
      ready.emplace_back(iid, ok && reg.write_seq == seq);
  for (const auto& [iid, written] : ready)
    health_register_done(ctx, iid, written ? "" : "the database did not take the write");
}

void CattleServer::health_register_done(Ctx& ctx, InstanceId iid, std::string_view dropped) {
  auto it = volatile_.health_register.work.find(iid);
  if (it == volatile_.health_register.work.end()) return;
  HealthRegistration done = it->second;
  volatile_.health_register.work.erase(it);
  if (done.phase == HealthRegistration::Phase::locking && done.timer != 0)
    ctx.cancel_timer(done.timer);
  if (zk_) zk_->unlock(ctx, health_register_lock_name(iid));
  if (!dropped.empty())
    ctx.log(LogLevel::debug,
            fmt::format("health check registration of instance {} dropped: {}", iid, dropped));
  else
    ctx.log(LogLevel::debug, fmt::format("health check registration of instance {} done under "
                                         "lock {}{}",
                                         iid, health_register_lock_name(iid),
                                         done.created ? "; checkers added" : ""));
  // The new rows are pushed to the checkers (healthcheckinstancehostmap.create increments the
  // healthcheck config item, healthcheck.hpp).
  if (done.created) push_health_config(ctx);
  if (done.again) health_register(ctx, iid);
}

void CattleServer::on(Ctx& ctx, const HealthRegisterWait& t) {
  InstanceId iid{t.instance};
  auto it = volatile_.health_register.work.find(iid);
  if (it == volatile_.health_register.work.end() ||
      it->second.phase != HealthRegistration::Phase::locking)
    return;
  it->second.timer = 0;
  // LockManager.lock throws FailedToAcquireLockException: the registration is not made.
  health_register_done(ctx, iid, "timed out waiting for its lock");
}

}  // namespace stampede::cattle
