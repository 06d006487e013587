// HA: the per-environment placement lock (mechanism cattle_allocator_lock). Cattle 1.1 places an
// instance under the lock ALLOCATOR.LOCK.ACCOUNT.<account id> (rancher/cattle v0.165.8 code/iaas/
// simple-allocator/src/main/java/io/cattle/platform/simple/allocator/AccountAllocatorLock.java:
// 5-8), which SimpleAllocator.getAllocationLock chooses because every instance has an
// AccountConstraint (SimpleAllocator.java:45-55; AccountConstraintsProvider.java:40-48 adds it
// unless the account turns accountScoped off). AbstractAllocator.acquireLockAndAllocate holds it
// around the candidate search and the write of the placement (code/iaas/allocator/src/main/java/
// io/cattle/platform/allocator/service/AbstractAllocator.java:229-260). It is an
// AbstractBlockingLockDefintion, so a server waits default.lock.wait.millis for it (the timing
// service_lock_wait, 10 s); in HA Cattle's lock manager is ZooKeeper's (Curator's
// InterProcessMutex, as the service locks are modelled in ha.cpp).
//
// The point in HA: the allocator reads the hosts' instances from the database inside the lock,
// so two servers placing two services of the environment at once see each other's placements. A
// server here takes the lock, reads the instance table from the db into its copy, places, and
// gives the lock back once the db has answered the placement's write. The server's own
// placements wait one behind the other, as SimpleAllocator's acquireLockAndAllocate is
// `synchronized` (lines 32-36): only the first waits for the ZooKeeper lock, with the 10 s wait.
//
// Single mode has no such step: a placement there is one atomic step of the server (it reads and
// writes its embedded store at once), so the lock would change nothing and is not taken.
#include <fmt/format.h>

#include <algorithm>

#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"

namespace stampede::cattle {

namespace {

// The model has one environment; it names its account 1.
constexpr std::int64_t k_environment_account = 1;

std::string placement_lock_name() {
  return fmt::format("ALLOCATOR.LOCK.ACCOUNT.{}", k_environment_account);
}

}  // namespace

bool is_placement_lock(const std::string& lock) {
  return lock == placement_lock_name();
}

bool CattleServer::needs_placement(const ProcessRow& p, const ProcessDef& def) const {
  if (def.handler != HandlerKind::start_on_agent || def.name != "instance.create") return false;
  const InstanceRow* instance = row<InstanceRow>(p.instance());
  HostId host = instance == nullptr ? HostId{} : instance->host;
  return !(host.valid() && state_of(host) == HostState::active);
}

bool CattleServer::placement_wait(Ctx& ctx, ProcessId pi, const ProcessRow& p,
                                  const ProcessDef& def) {
  if (!cm_ || !zk_ || !cfg_.alloc_lock || !needs_placement(p, def)) return false;
  Placement& pl = volatile_.placement;
  if (pl.current == pi && pl.phase == Placement::Phase::placing) return false;
  if (pl.current != pi && std::find(pl.queue.begin(), pl.queue.end(), pi) == pl.queue.end())
    pl.queue.push_back(pi);
  if (pl.phase == Placement::Phase::idle) placement_next(ctx);
  return true;
}

void CattleServer::placement_next(Ctx& ctx) {
  Placement& pl = volatile_.placement;
  while (!pl.queue.empty()) {
    ProcessId pi = pl.queue.front();
    pl.queue.pop_front();
    // Failed or abandoned while it waited. (Nothing here fails a process: a failure may start
    // another process, whose placement would queue behind this loop.)
    if (volatile_.running.count(pi) == 0 || row<ProcessRow>(pi) == nullptr) continue;
    pl.current = pi;
    pl.phase = Placement::Phase::waiting_lock;
    pl.timer = ctx.set_timer(cfg_.service_lock_wait_ns, timer_tag::encode(PlacementLockWait{}));
    zk_->lock(ctx, placement_lock_name());
    return;
  }
  pl = Placement{};
}

void CattleServer::placement_lock_acquired(Ctx& ctx) {
  Placement& pl = volatile_.placement;
  if (pl.phase != Placement::Phase::waiting_lock) {
    // Granted after this server gave up waiting: give it back.
    zk_->unlock(ctx, placement_lock_name());
    return;
  }
  if (pl.timer != 0) ctx.cancel_timer(pl.timer);
  pl.timer = 0;
  pl.phase = Placement::Phase::reading;
  // SimpleAllocatorDaoImpl and AllocatorDaoImpl query the hosts' instances inside the lock.
  db_client_->select_all(ctx, "instance",
                         [this](Ctx& c, const mysql::DbResult& r) { on_placement_read(c, r); });
}

void CattleServer::on_placement_read(Ctx& ctx, const mysql::DbResult& result) {
  Placement& pl = volatile_.placement;
  if (pl.phase != Placement::Phase::reading) return;
  ProcessId pi = pl.current;
  if (volatile_.running.count(pi) == 0 || row<ProcessRow>(pi) == nullptr)
    return placement_done(ctx);
  if (!result.ok()) {
    fail_process(ctx, pi, "the database did not answer the allocator's read");
    return placement_done(ctx);
  }
  // The rows go into the copy as the db sent them; this server's writes the db has not answered
  // yet are applied again on top, as after a read of the tables (ha.cpp, on_refresh_result).
  mysql::Transaction fresh;
  for (const auto& [id, instance] : result.rows) fresh.put("instance", id, instance);
  volatile_.shared.commit(fresh);
  for (const auto& [seq, e] : volatile_.journal) {
    if (e.acked) continue;
    mysql::Transaction again = e.batch.to_transaction();
    volatile_.shared.commit(again);
  }
  ctx.log(LogLevel::debug, fmt::format("lock {} acquired; read {} instances; placing process {}",
                                       placement_lock_name(), result.rows.size(), pi));
  pl.phase = Placement::Phase::placing;
  execute(ctx, pi);
  // No write was made (the process failed or was canceled): the lock goes back at once.
  if (volatile_.placement.phase == Placement::Phase::placing) placement_done(ctx);
}

void CattleServer::placement_writing(ProcessId pi) {
  Placement& pl = volatile_.placement;
  if (pl.current != pi || pl.phase != Placement::Phase::placing) return;
  pl.phase = Placement::Phase::writing;
  // The seq the commit takes: its answer may come within the commit (a refused pool).
  pl.write_seq = durable_.next_seq;
}

void CattleServer::placement_write_done(Ctx& ctx, std::int64_t seq) {
  // Writes are answered in order; one dropped unsent (drop_stale_work) is passed by a later one.
  const Placement& pl = volatile_.placement;
  if (pl.phase == Placement::Phase::writing && pl.write_seq <= seq) placement_done(ctx);
}

void CattleServer::placement_done(Ctx& ctx) {
  Placement& pl = volatile_.placement;
  if (pl.phase == Placement::Phase::idle) return;
  if (pl.phase == Placement::Phase::waiting_lock && pl.timer != 0) ctx.cancel_timer(pl.timer);
  pl.phase = Placement::Phase::idle;
  pl.current = ProcessId{};
  pl.write_seq = -1;
  pl.timer = 0;
  if (zk_) zk_->unlock(ctx, placement_lock_name());
  placement_next(ctx);
}

void CattleServer::on(Ctx& ctx, const PlacementLockWait&) {
  Placement& pl = volatile_.placement;
  if (pl.phase != Placement::Phase::waiting_lock) return;
  pl.timer = 0;
  ProcessId pi = pl.current;
  // LockManager.lock throws FailedToAcquireLockException; the process fails and is replayed.
  if (volatile_.running.count(pi) != 0)
    fail_process(ctx, pi, "timed out waiting for lock " + placement_lock_name());
  placement_done(ctx);
}

}  // namespace stampede::cattle
