// HA mode: the process engine on a copy of the shared tables, the write-through to the external
// db, the re-reads, the agents' connection locks, the service locks in ZooKeeper, the
// stale-holder check and the events over Redis.
//
// The copy. Each server keeps the tables it works on (stack, service, instance, host, network,
// setting, process_instance) in memory and runs the single-mode engine on it
// unchanged: every commit is applied to the copy at once and sent to the db as a batch of
// resolved writes. Rows it inserts take ids from its own range ((index << 40) | (boot << 28) |
// n), so two servers never pick the same id. Every replay interval, and whenever another server
// publishes an event, it reads the tables back (select_all) and replaces its copy, then applies
// again the writes the db may not have had when it answered. A write the db never got is gone
// from the copy at the next read, as after a failed transaction.
//
// The locks. A service is reconciled only under its ZooKeeper lock (the lock recipe of
// models/zookeeper): the server takes it, reads the service's instances from the db, decides,
// runs the start processes, and releases it once none runs. Host processes and container deaths
// are handled by the server that owns the host's agent, under the in-memory lock of single mode.
// Every process instance runs under its own ZooKeeper lock PROCESS.INSTANCE.<id>
// (process_lock.cpp), so that another server's replay does not run it at the same time.
// A server owns an agent while it holds the agent's ZooKeeper lock AGENT.CONNECTION.<id>, taken
// with a tryLock by the ping monitor's rounds for agents it does not own (ping_monitor.cpp);
// with the mechanism agent_connection_locks off, the agents are divided among the cluster's
// members instead (in_partition, as cattle does from v0.184.0 on).
//
// The stale-holder check (not in Cattle, off by default: rancher/cattle v0.165.8's
// InterProcessMutextLockWrapper never asks whether a held lock is still held). Switched on,
// before it acts under a service lock (inserts an instance, asks an agent to start a container),
// a server checks that ZooKeeper still counts it as the holder: the client
// holds the lock and has heard from its server within 2/3 of the session timeout. When the lock
// is reported lost or the session expired, it abandons the service's work. With the mechanism
// zk_stale_holder_check off it trusts its own bookkeeping instead, as Cattle does: the explorer's
// known bug (b) is then real Cattle behaviour.
#include <fmt/format.h>

#include <algorithm>

#include "models/cattle/names.hpp"
#include "models/cattle/process_defs.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

using mysql::DbResult;
using mysql::Row;
using mysql::RowId;
using mysql::to_text;
using mysql::Transaction;

namespace {

// The tables a server reads back. Process instances are read as well, for the replay.
constexpr std::array<std::string_view, 6> k_shared_tables = {"stack",   "service", "instance",
                                                             "host",    "network", "setting"};
constexpr int k_id_index_shift = 40;
constexpr int k_id_boot_shift = 28;

std::string lock_name(ServiceId service) { return fmt::format("service-{}", service); }

constexpr std::string_view k_agent_lock_prefix = "AGENT.CONNECTION.";

std::optional<HostId> agent_of_lock(const std::string& lock) {
  if (!lock.starts_with(k_agent_lock_prefix)) return std::nullopt;
  return HostId{std::stoll(lock.substr(k_agent_lock_prefix.size()))};
}

std::optional<ServiceId> service_of_lock(const std::string& lock) {
  if (!lock.starts_with("service-")) return std::nullopt;
  return ServiceId{std::stoll(lock.substr(8))};
}

}  // namespace

// The agent's connection lock: rancher/cattle v0.165.8 code/iaas/agent-server/src/main/java/io/
// cattle/platform/agent/server/lock/AgentConnectionLockDefinition.java:13. The model has one
// agent per host and names the lock by the host's id.
std::string agent_lock_name(HostId host) {
  return fmt::format("{}{}", k_agent_lock_prefix, host.value);
}

std::vector<RowId> CattleServer::commit(Ctx& ctx, Transaction& txn, bool action) {
  if (!cm_) return db().commit(txn);
  Transaction resolved;
  std::vector<RowId> ids = volatile_.shared.commit(txn, resolved);
  enqueue_write(ctx, resolved, action);
  return ids;
}

std::int64_t CattleServer::enqueue_write(Ctx& ctx, const Transaction& resolved, bool action) {
  std::int64_t seq = durable_.next_seq++;
  volatile_.journal[seq] =
      JournalEntry{mysql::WriteBatch::from_resolved(resolved), false, false, action};
  send_next_write(ctx);
  return seq;
}

void CattleServer::send_next_write(Ctx& ctx) {
  // A write made under a service lock is an action too: a server that comes back from a pause
  // with writes still queued checks its session before it sends them, and drops them (with the
  // work they belong to) when it cannot trust it any more. Its copy gets the database's truth
  // back at the next read.
  if (cfg_.zk_stale_holder_check && zk_ && !volatile_.service_work.empty() &&
      cfg_.zk_service_locks && !zk_->lease_valid(ctx.now()))
    return drop_stale_work(ctx);
  // One transaction at a time, in order, as a JDBC connection that waits for each commit: a
  // later write may depend on an earlier one (an update of a row inserted just before).
  for (auto& [seq, e] : volatile_.journal) {
    if (e.acked) continue;
    if (e.sent) return;
    e.sent = true;
    // Cattle reconciles a service inside its lock's callback (rancher/cattle v0.165.8 code/iaas/
    // service-discovery/server/src/main/java/io/cattle/platform/servicediscovery/deployment/
    // impl/DeploymentManagerImpl.java lines 107-125, activate -> reconcileDeployment), and each
    // missing instance is a blocking jOOQ update and insert on that thread (.../dao/impl/
    // ServiceExposeMapDaoImpl.java lines 60-71, createServiceInstance), with no look at the
    // ZooKeeper session between them (known bug (b), docs/ha-models.md). So an insert queued
    // behind one whose answer came during a pause goes out when the server wakes, and that
    // send is when it acts.
    if (e.action && zk_) volatile_.actions[zk_->session_id()] = ctx.now();
    std::int64_t s = seq;
    if (!db_client_->connected()) {
      // Without its pool the write fails now: it is never kept for a db that comes back. Cattle
      // runs each statement on the thread that decided it, through jOOQ on a pooled connection
      // in autocommit (rancher/cattle v0.165.8 code/framework/jooq/src/main/java/io/cattle/
      // platform/db/jooq/config/AutoCommitConnectionProvider.java acquire, lines 20-27;
      // TransactionDelegateImpl only runs the block in Spring's transaction); with the db down
      // the borrow's connect is refused and the statement throws at once (the pool may grow to
      // global.pool.maxtotal=1000, so no borrower waits for a connection), the process exits
      // with UNKNOWN_EXCEPTION (code/framework/engine/src/main/java/io/cattle/platform/engine/
      // process/impl/DefaultProcessInstanceImpl.java lines 203-210) and nothing resends the
      // statement: the replay runs the process again from the database's state. A write kept
      // for later committed after another server had reconciled the service, and its holder
      // then replayed its own process on top (tests/ha/test_db_blips.cpp).
      mysql::DbResult failed;
      failed.error = db_client_->last_error().value_or(
          mysql::DbError{mysql::k_error_server_gone, "MySQL server has gone away"});
      return on_commit_result(ctx, s, failed);
    }
    db_client_->commit(ctx, e.batch,
                       [this, s](Ctx& c, const DbResult& r) { on_commit_result(c, s, r); });
    return;
  }
}

void CattleServer::on_commit_result(Ctx& ctx, std::int64_t seq, const DbResult& result) {
  auto it = volatile_.journal.find(seq);
  if (it == volatile_.journal.end()) return;
  it->second.acked = true;
  if (!result.ok())
    ctx.event(LogLevel::info,
              Event("cattle.db_write_failed").with("error", mysql::format_error(*result.error)),
              fmt::format("write to the database failed: {}", mysql::format_error(*result.error)));
  prune_journal();
  if (seq == volatile_.seed_seq) on_seed_result(ctx, result);
  send_next_write(ctx);
  // Writes are taken in order: every command that waited for this one or an earlier one can go.
  while (!volatile_.deferred.empty() && volatile_.deferred.begin()->first <= seq) {
    std::vector<DeferredSend> ready = std::move(volatile_.deferred.begin()->second);
    volatile_.deferred.erase(volatile_.deferred.begin());
    for (DeferredSend& d : ready) {
      auto rp = volatile_.running.find(d.pi);
      if (rp == volatile_.running.end() || rp->second.phase != RunningProcess::Phase::working)
        continue;
      if (!result.ok()) {
        fail_process(ctx, d.pi, "the database did not take its write");
        continue;
      }
      if (!may_act(ctx, service_lock_of(d.pi))) {
        fail_process(ctx, d.pi, "its service's lock is not held");
        continue;
      }
      if (d.to != k_no_node) command_agent(ctx, d.host, d.to, d.msg);
    }
  }
  // A health report waits for its row's write before it takes the container's lock.
  if (!volatile_.health_work.work.empty()) health_write_done(ctx, seq, result.ok());
  // A registration's lock is held until its writes are answered (healthcheck_register.cpp).
  if (!volatile_.health_register.work.empty()) health_register_write_done(ctx, seq, result.ok());
  // The placement lock is held until the placement's write is answered (placement_lock.cpp).
  placement_write_done(ctx, seq);
}

void CattleServer::drop_stale_work(Ctx& ctx) {
  ctx.count(cfg_.stale_refusals, 1);
  std::vector<ServiceId> services;
  for (const auto& [sid, w] : volatile_.service_work) {
    services.push_back(sid);
    if (w.phase == ServiceWork::Phase::waiting_lock && w.timer != 0) ctx.cancel_timer(w.timer);
    zk_->unlock(ctx, lock_name(sid));
  }
  volatile_.service_work.clear();
  std::size_t dropped = drop_unsent_writes(ctx);
  ctx.event(LogLevel::notable,
            Event("cattle.stale_work_dropped")
                .with("services", static_cast<std::int64_t>(services.size()))
                .with("writes", static_cast<std::int64_t>(dropped)),
            fmt::format("stopped work on {} service(s): its ZooKeeper session cannot be trusted; "
                        "dropped {} queued write(s)",
                        services.size(), dropped));
  // The processes of that work wait for a later turn at the lock (their failure is a write of
  // its own, sent now that no work is held).
  std::vector<ProcessId> mine;
  for (const auto& [pi, rp] : volatile_.running)
    if (std::find(services.begin(), services.end(), service_lock_of(pi)) != services.end())
      mine.push_back(pi);
  for (ProcessId pi : mine) fail_process(ctx, pi, "stopped: the service's lock is not held");
  send_next_write(ctx);
}

std::size_t CattleServer::drop_unsent_writes(Ctx& ctx) {
  std::size_t dropped = 0;
  for (auto it = volatile_.journal.begin(); it != volatile_.journal.end();) {
    if (it->second.sent) {
      ++it;
      continue;
    }
    volatile_.deferred.erase(it->first);
    it = volatile_.journal.erase(it);
    ++dropped;
  }
  // A placement whose write was dropped unsent gives its lock back now.
  if (volatile_.placement.phase == Placement::Phase::writing &&
      volatile_.journal.count(volatile_.placement.write_seq) == 0)
    placement_done(ctx);
  return dropped;
}

void CattleServer::send_when_durable(Ctx& ctx, ProcessId pi, HostId host, NodeId to,
                                     StartContainer msg) {
  std::int64_t last = durable_.next_seq - 1;
  bool pending = false;
  for (const auto& [seq, e] : volatile_.journal) pending = pending || (seq <= last && !e.acked);
  if (!pending) {
    if (to != k_no_node) command_agent(ctx, host, to, msg);
    return;
  }
  volatile_.deferred[last].push_back(DeferredSend{pi, to, host, std::move(msg)});
}

void CattleServer::prune_journal() {
  // While a read is in flight, the writes from refresh_from_seq on are kept to be applied again.
  for (auto it = volatile_.journal.begin(); it != volatile_.journal.end();) {
    bool keep =
        !it->second.acked || (volatile_.refreshing && it->first >= durable_.refresh_from_seq);
    it = keep ? std::next(it) : volatile_.journal.erase(it);
  }
}

void CattleServer::start_ha(Ctx& ctx) {
  ++durable_.incarnation;
  volatile_.shared = mysql::Database(config_.max_connections);
  // The health tables first: the id range below applies to the tables the copy has.
  if (cfg_.health_any) add_health_tables(volatile_.shared);
  volatile_.shared.raise_next_ids((static_cast<RowId>(config_.manager->index) << k_id_index_shift) |
                         (durable_.incarnation << k_id_boot_shift));
  cfg_.stale_refusals = ctx.intern("stale_holder_refusals");
  if (config_.zookeeper > 0) {
    zk_.emplace(config_.zookeeper);
    zk_->set_callbacks({[this](Ctx& c, const std::string& l) { on_lock_acquired(c, l); },
                        [this](Ctx& c, const std::string& l) { on_lock_lost(c, l); },
                        [this](Ctx& c, zk::SessionEvent e) { on_session_event(c, e); },
                        [this](Ctx& c, const std::string& l) {
                          if (auto host = agent_of_lock(l)) on_agent_lock(c, *host, false);
                          if (auto pi = process_of_lock(l)) process_lock_answer(c, *pi, false);
                        }});
    zk_->start(ctx);
    // Until its first connection the client counts toward Curator's LOST too (lifecycle.cpp).
    arm_lost(ctx, cfg_.curator_lost_after_ns);
  }
  if (config_.redis > 0) {
    // redis.hosts: every Redis of the cluster, in slot order (models/redis/eventing.hpp), or only
    // redis-1 with cattle_redis_per_node off.
    std::vector<std::string> hosts;
    int count = cfg_.redis_per_node ? config_.redis : 1;
    for (int k = 1; k <= count; ++k) hosts.push_back(fmt::format("redis-{}", k));
    redis_.emplace(hosts);
    redis_->set_callbacks({[this](Ctx& c, const std::string& channel, const std::string& payload) {
      on_bus_message(c, channel, payload);
    }});
    redis_->start(ctx);
    redis_->subscribe(ctx, std::string(k_event_channel));
    if (agent_events_on_bus()) subscribe_replies(ctx);
  }
}

void CattleServer::crash_ha() {
  // The server's own HA state is in volatile_ (reset by on_crash); the sessions die with it.
  if (zk_) zk_->crash();
  if (redis_) redis_->crash();
  zk_.reset();
  redis_.reset();
}

void CattleServer::refresh(Ctx& ctx, bool then_replay) {
  // Until Liquibase is done (migration.cpp) the Spring context is not up: nothing reads (the
  // pool is not opened before, so the check below holds it back too).
  if (cfg_.changelog_lock && !volatile_.migrated) return;
  volatile_.refresh_then_replay |= then_replay;
  // A refused pool is tried again by the reads (a borrow with nothing idle connects, as dbcp
  // does): the replay task's refresh is what retries a server that could not get its pool.
  const mysql::PoolState pool = db_client_->state();
  if (!db_client_->connected() && pool != mysql::PoolState::refused) return;
  if (volatile_.refreshing) {
    volatile_.refresh_again = true;
    return;
  }
  volatile_.refreshing = true;
  volatile_.refresh_again = false;
  volatile_.refresh_failed = false;
  volatile_.refresh_rows.clear();
  durable_.refresh_from_seq = durable_.next_seq;
  for (const auto& [seq, e] : volatile_.journal)
    if (!e.acked) {
      durable_.refresh_from_seq = seq;
      break;
    }
  std::vector<std::string> tables(k_shared_tables.begin(), k_shared_tables.end());
  tables.push_back("process_instance");
  if (cfg_.health_any) {
    tables.emplace_back(HealthcheckInstanceRow::k_table);
    tables.emplace_back(HealthcheckHostMapRow::k_table);
  }
  volatile_.refresh_waiting = static_cast<int>(tables.size());
  for (const std::string& t : tables)
    db_client_->select_all(ctx, t, [this, t](Ctx& c, const DbResult& r) {
      on_refresh_result(c, t, r);
    });
}

void CattleServer::on_refresh_result(Ctx& ctx, const std::string& table, const DbResult& result) {
  if (!volatile_.refreshing) return;
  if (!result.ok()) volatile_.refresh_failed = true;
  else volatile_.refresh_rows[table] = result.rows;
  if (--volatile_.refresh_waiting > 0) return;
  volatile_.refreshing = false;
  if (volatile_.refresh_failed) {
    volatile_.refresh_rows.clear();
    prune_journal();
    return;  // the next replay tick reads again
  }
  // Every process instance is kept, whichever server created it: every server's replay task runs
  // every unfinished one (rancher/cattle v0.165.8 JooqProcessRecordDao.java:81-86), and the
  // process instance's lock (process_lock.cpp) keeps a process that another server runs out.
  for (auto& [name, rows] : volatile_.refresh_rows) {
    volatile_.shared.replace_rows(name, std::move(rows));  // cleared below
  }
  volatile_.refresh_rows.clear();
  for (const auto& [seq, e] : volatile_.journal) {
    if (seq < durable_.refresh_from_seq) continue;
    Transaction again = e.batch.to_transaction();
    volatile_.shared.commit(again);
  }
  prune_journal();
  bool first = !volatile_.cache_ready;
  if (first && !on_first_read(ctx)) {
    if (volatile_.refresh_again) refresh(ctx, false);
    return;
  }
  bool replay_now = volatile_.refresh_then_replay || first;
  volatile_.refresh_then_replay = false;
  if (replay_now) replay(ctx);
  else reconcile(ctx);
  push_config(ctx);
  if (volatile_.refresh_again) refresh(ctx, false);
}

bool CattleServer::on_first_read(Ctx& ctx) {
  if (volatile_.seed_seq >= 0) return false;  // the seed is on its way to the db
  auto services = static_cast<std::int64_t>(rows<ServiceRow>().size());
  auto hosts = static_cast<std::int64_t>(rows<HostRow>().size());
  ctx.event(LogLevel::info,
            Event("cattle.shared_tables_read").with("services", services).with("hosts", hosts),
            fmt::format("read the shared tables ({} services, {} hosts)", services, hosts));
  // The first server to find the database empty seeds it; the others read what it wrote. As a
  // Cattle server does not start before Liquibase has run (server.cpp, seed), the seeding server
  // works on its tables only once the db has taken the seed.
  if (!seeded() && config_.manager->index == 1) {
    seed(ctx);
    return false;
  }
  volatile_.cache_ready = true;
  return true;
}

void CattleServer::on_seed_result(Ctx& ctx, const DbResult& result) {
  volatile_.seed_seq = -1;
  if (!result.ok()) {
    // Nothing of the seed is in, or all of it (a commit whose connection died may have been
    // applied): the next read of the tables tells which, and seeds again if it must, as a
    // restarted Cattle runs the changesets that are not recorded.
    ctx.event(LogLevel::notable, Event("cattle.seed_failed"),
              "the database did not take the seed; reading the tables again");
    refresh(ctx, false);
    return;
  }
  volatile_.cache_ready = true;
  replay(ctx);
  push_config(ctx);
}

bool CattleServer::in_partition(HostId host) const {
  if (!cm_) return true;
  // Agents are divided among the members this server's manager counts, in host id order. This
  // is asked for every host at every ping round and configuration push: the members are
  // compared by index, not by name.
  const std::vector<int>& members = cm_->member_indexes();
  auto me = std::find(members.begin(), members.end(), config_.manager->index);
  if (me == members.end()) return false;
  std::size_t k = cache_.host_position(store(), host);
  return k % members.size() == static_cast<std::size_t>(me - members.begin());
}

bool CattleServer::pushes_lb_config() const { return !cm_ || cm_->master(); }

bool CattleServer::service_needs_work(ServiceId sid, TimeNs now) const {
  const ServiceRow* service = row<ServiceRow>(sid);
  std::int64_t scale = service ? service->scale.value_or(0) : 0;
  std::map<std::int64_t, InstanceId> by_index = instances_by_index(sid);
  for (std::int64_t i = 1; i <= scale; ++i) {
    auto it = by_index.find(i);
    if (it == by_index.end()) return true;
    const InstanceRow& instance = *row<InstanceRow>(it->second);
    if (instance.state == InstanceState::requested) return true;
    if (instance.state == InstanceState::stopped && state_of(instance.host) == HostState::active)
      return true;
  }
  // Unhealthy containers its health check's strategy removes (healthcheck.cpp).
  if (cfg_.health_any && !health_doomed(sid).empty()) return true;
  // Start processes that wait for the lock (to be replayed, see on_service_read).
  return cfg_.process_replay && !waiting_processes(sid, now).empty();
}

std::vector<ProcessId> CattleServer::waiting_processes(ServiceId sid, TimeNs now) const {
  std::vector<ProcessId> waiting;
  for (const auto& [pi, p] : rows<ProcessRow>())
    if (unfinished(p.phase) && volatile_.running.count(pi) == 0 && service_lock_of(pi) == sid &&
        replay_due(p, now))
      waiting.push_back(pi);
  return waiting;
}

void CattleServer::reconcile_ha(Ctx& ctx) {
  if (!volatile_.cache_ready || !zk_) return;
  bool locks = cfg_.zk_service_locks;
  if (locks && zk_->state() != zk::SessionState::connected) {
    // Without a session there are no locks to take: the server stops reconciling until it has
    // one again (logged once per outage; not while the first session is being set up).
    if (!volatile_.reconcile_paused_logged && zk_->session_id() != 0)
      ctx.event(LogLevel::notable, Event("cattle.reconcile_paused"),
                "not reconciling: no ZooKeeper session");
    volatile_.reconcile_paused_logged = true;
    return;
  }
  volatile_.reconcile_paused_logged = false;
  std::vector<ServiceId> services;
  for (const auto& [id, service] : rows<ServiceRow>())
    if (service.kind == ServiceKind::service && volatile_.service_work.count(id) == 0 &&
        service_needs_work(id, ctx.now()))
      services.push_back(id);
  for (ServiceId sid : services) {
    if (!locks) {
      // Without ZooKeeper locks every server goes ahead on its own.
      volatile_.service_work[sid] = ServiceWork{ServiceWork::Phase::waiting_lock, 0};
      on_lock_acquired(ctx, lock_name(sid));
      continue;
    }
    TimerId t = ctx.set_timer(cfg_.service_lock_wait_ns,
                              timer_tag::encode(ServiceLockWait{sid.value}));
    volatile_.service_work[sid] = ServiceWork{ServiceWork::Phase::waiting_lock, t};
    zk_->lock(ctx, lock_name(sid));
  }
}

void CattleServer::on_lock_wait_over(Ctx& ctx, ServiceId sid) {
  auto it = volatile_.service_work.find(sid);
  if (it == volatile_.service_work.end() || it->second.phase != ServiceWork::Phase::waiting_lock)
    return;
  ctx.log(LogLevel::debug, fmt::format("gave up waiting for lock {}", lock_name(sid)));
  volatile_.service_work.erase(it);
  zk_->unlock(ctx, lock_name(sid));
}

void CattleServer::on_lock_acquired(Ctx& ctx, const std::string& lock) {
  if (auto host = agent_of_lock(lock)) return on_agent_lock(ctx, *host, true);
  if (auto hci = health_lock_of(lock)) return health_lock_acquired(ctx, *hci);
  if (auto iid = health_register_lock_of(lock)) return health_register_acquired(ctx, *iid);
  if (is_placement_lock(lock)) return placement_lock_acquired(ctx);
  if (auto pi = process_of_lock(lock)) return process_lock_answer(ctx, *pi, true);
  auto sid = service_of_lock(lock);
  if (!sid) return;
  auto it = volatile_.service_work.find(*sid);
  if (it == volatile_.service_work.end()) {
    // Granted after this server stopped wanting it (a wait that timed out): give it back.
    zk_->unlock(ctx, lock);
    return;
  }
  if (it->second.phase != ServiceWork::Phase::waiting_lock) return;
  if (it->second.timer != 0) ctx.cancel_timer(it->second.timer);
  it->second.phase = ServiceWork::Phase::reading;
  ServiceId service = *sid;
  ctx.log(LogLevel::debug, fmt::format("lock {} acquired; reading its instances", lock));
  // The lock guards a decision made on fresh rows: read the service's instances again.
  db_client_->select_where(ctx, "instance", "service_id", to_text(service.value),
                           [this, service](Ctx& c, const DbResult& r) {
                             on_service_read(c, service, r);
                           });
}

void CattleServer::on_service_read(Ctx& ctx, ServiceId sid, const DbResult& result) {
  auto it = volatile_.service_work.find(sid);
  if (it == volatile_.service_work.end() || it->second.phase != ServiceWork::Phase::reading) return;
  if (!result.ok()) return abandon_service(ctx, sid, "the database did not answer");
  const ServiceRow* service = row<ServiceRow>(sid);
  ctx.log(LogLevel::debug, fmt::format("read {} instances of service {}", result.rows.size(),
                                       service ? service->name : std::string()));
  // The rows come as the database sent them: they go into the copy as they are.
  Transaction fresh;
  for (const auto& [id, instance] : result.rows) fresh.put("instance", id, instance);
  volatile_.shared.commit(fresh);
  it->second.phase = ServiceWork::Phase::working;
  if (!may_act(ctx, sid)) return abandon_service(ctx, sid, "its ZooKeeper session is not live");
  // Start processes of the service left pending (by a failure, or by a server that crashed) go
  // first: this is the replay of process instances, for which any server may now hold the lock.
  std::vector<ProcessId> waiting;
  if (cfg_.process_replay) waiting = waiting_processes(sid, ctx.now());
  for (ProcessId pi : waiting) run_process(ctx, pi);
  reconcile_service(ctx, sid);
  service_work_check(ctx, sid);
}

void CattleServer::service_work_check(Ctx& ctx, ServiceId sid) {
  auto it = volatile_.service_work.find(sid);
  if (it == volatile_.service_work.end() || it->second.phase != ServiceWork::Phase::working) return;
  for (const auto& [pi, rp] : volatile_.running)
    if (service_lock_of(pi) == sid) return;
  // A start process that waits for its process instance's lock (process_lock.cpp) still needs
  // the service's.
  for (const auto& [pi, held] : volatile_.process_locks.locks)
    if (!held && service_lock_of(pi) == sid) return;
  volatile_.service_work.erase(it);
  if (cfg_.zk_service_locks) zk_->unlock(ctx, lock_name(sid));
}

void CattleServer::abandon_service(Ctx& ctx, ServiceId sid, std::string_view why) {
  auto it = volatile_.service_work.find(sid);
  if (it == volatile_.service_work.end()) return;
  if (it->second.timer != 0 && it->second.phase == ServiceWork::Phase::waiting_lock)
    ctx.cancel_timer(it->second.timer);
  volatile_.service_work.erase(it);
  std::vector<ProcessId> mine;
  for (const auto& [pi, rp] : volatile_.running)
    if (service_lock_of(pi) == sid) mine.push_back(pi);
  for (ProcessId pi : mine) fail_process(ctx, pi, "stopped: the service's lock is not held");
  const ServiceRow* row = this->row<ServiceRow>(sid);
  std::string service = row ? row->name : std::string();
  ctx.event(LogLevel::notable,
            Event("cattle.service_work_stopped").with("service", service).with("why", why),
            fmt::format("stopped work on service {}: {}", service, why));
  if (zk_) zk_->unlock(ctx, lock_name(sid));
}

void CattleServer::on_lock_lost(Ctx& ctx, const std::string& lock) {
  auto sid = service_of_lock(lock);
  if (!sid || !cfg_.zk_stale_holder_check) return;
  // The writes not yet sent may be the work's own (an insert queued behind an earlier write):
  // sent after the loss, they would land after the next holder's. They go, as when a queued
  // write finds the session untrustworthy (drop_stale_work); the copy gets the database's truth
  // back at the next read. (The explorer found this: server-1 paused with an instance's insert
  // queued, lost the lock on waking, abandoned the work and then sent the insert, which another
  // server's replay started beside that server's own container of the same index.)
  if (volatile_.service_work.count(*sid) != 0) drop_unsent_writes(ctx);
  abandon_service(ctx, *sid, "lost its ZooKeeper lock");
}

void CattleServer::on_session_event(Ctx& ctx, zk::SessionEvent event) {
  lifecycle_session_event(ctx, event);
  if (event == zk::SessionEvent::connected) return reconcile(ctx);
  if (!cfg_.zk_stale_holder_check || event != zk::SessionEvent::expired) return;
  std::vector<ServiceId> all;
  for (const auto& [sid, w] : volatile_.service_work) all.push_back(sid);
  if (!all.empty()) drop_unsent_writes(ctx);  // as on_lock_lost says
  for (ServiceId sid : all) abandon_service(ctx, sid, "its ZooKeeper session expired");
}

bool CattleServer::may_act(Ctx& ctx, ServiceId sid) {
  if (!holding_service(sid)) return false;
  bool locks = cfg_.zk_service_locks;
  if (locks && cfg_.zk_stale_holder_check &&
      !(zk_->holds(lock_name(sid)) && zk_->lease_valid(ctx.now()))) {
    ctx.count(cfg_.stale_refusals, 1);
    return false;
  }
  if (zk_) volatile_.actions[zk_->session_id()] = ctx.now();
  return true;
}

ServiceId CattleServer::service_lock_of(ProcessId pi) const {
  const ProcessRow* p = row<ProcessRow>(pi);
  if (p == nullptr || p->resource_type != ResourceType::instance) return ServiceId{};
  const ProcessDef* def = find_process(p->process);
  if (def == nullptr || def->handler != HandlerKind::start_on_agent) return ServiceId{};
  const InstanceRow* instance = row<InstanceRow>(p->instance());
  return instance == nullptr ? ServiceId{} : instance->service;
}

bool CattleServer::holding_service(ServiceId sid) const {
  auto it = volatile_.service_work.find(sid);
  return it != volatile_.service_work.end() && it->second.phase == ServiceWork::Phase::working;
}

void CattleServer::publish_event(Ctx& ctx, const std::string& name) {
  if (redis_) redis_->publish(ctx, std::string(k_event_channel), name);
}

}  // namespace stampede::cattle
