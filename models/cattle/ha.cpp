// HA mode: the process engine on a copy of the shared tables, the write-through to the external
// db, the re-reads, the agent partition, the service locks in ZooKeeper, the stale-holder check
// and the events over Redis.
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
// are handled by the server whose partition holds the host (cattle's cluster.isInPartition), under
// the in-memory lock of single mode.
//
// The stale-holder check. Before it acts under a service lock (inserts an instance, asks an agent
// to start a container), a server checks that ZooKeeper still counts it as the holder: the client
// holds the lock and has heard from its server within 2/3 of the session timeout. When the lock
// is reported lost or the session expired, it abandons the service's work. With the mechanism
// zk_stale_holder_check off it trusts its own bookkeeping instead, which is what the explorer's
// known bug (b) needs.
#include <fmt/format.h>

#include <algorithm>

#include "models/cattle/names.hpp"
#include "models/cattle/process_defs.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

using mysql::DbResult;
using mysql::Row;
using mysql::to_text;
using mysql::Transaction;

namespace {

// The tables a server reads back. Process instances are read as well, for the start processes
// that other servers left unfinished.
constexpr std::array<std::string_view, 6> k_shared_tables = {"stack",   "service", "instance",
                                                             "host",    "network", "setting"};
constexpr int k_id_index_shift = 40;
constexpr int k_id_boot_shift = 28;

std::string lock_name(RowId service) { return fmt::format("service-{}", service); }

std::optional<RowId> service_of_lock(const std::string& lock) {
  if (!lock.starts_with("service-")) return std::nullopt;
  return std::stoll(lock.substr(8));
}

}  // namespace

std::vector<RowId> CattleServer::commit(Ctx& ctx, Transaction& txn) {
  if (!cm_) return db().commit(txn);
  Transaction resolved;
  std::vector<RowId> ids = shared_.commit(txn, resolved);
  std::int64_t seq = next_seq_++;
  journal_[seq] = JournalEntry{mysql::WriteBatch::from_resolved(resolved), false, false};
  send_next_write(ctx);
  return ids;
}

void CattleServer::send_next_write(Ctx& ctx) {
  // A write made under a service lock is an action too: a server that comes back from a pause
  // with writes still queued checks its session before it sends them, and drops them (with the
  // work they belong to) when it cannot trust it any more. Its copy gets the database's truth
  // back at the next read.
  if (stale_check_ && zk_ && !service_work_.empty() && ctx.mechanism(m_zk_service_locks) &&
      !zk_->lease_valid(ctx.now()))
    return drop_stale_work(ctx);
  // One transaction at a time, in order, as a JDBC connection that waits for each commit: a
  // later write may depend on an earlier one (an update of a row inserted just before).
  for (auto& [seq, e] : journal_) {
    if (e.acked) continue;
    if (e.sent) return;
    e.sent = true;
    std::int64_t s = seq;
    db_client_->commit(ctx, e.batch,
                       [this, s](Ctx& c, const DbResult& r) { on_commit_result(c, s, r); });
    return;
  }
}

void CattleServer::on_commit_result(Ctx& ctx, std::int64_t seq, const DbResult& result) {
  auto it = journal_.find(seq);
  if (it == journal_.end()) return;
  it->second.acked = true;
  if (!result.ok())
    ctx.event(LogLevel::info,
              Event("cattle.db_write_failed").with("error", mysql::format_error(*result.error)),
              fmt::format("write to the database failed: {}", mysql::format_error(*result.error)));
  prune_journal();
  send_next_write(ctx);
  // Writes are taken in order: every command that waited for this one or an earlier one can go.
  while (!deferred_.empty() && deferred_.begin()->first <= seq) {
    std::vector<DeferredSend> ready = std::move(deferred_.begin()->second);
    deferred_.erase(deferred_.begin());
    for (DeferredSend& d : ready) {
      auto rp = running_.find(d.pi);
      if (rp == running_.end() || rp->second.phase != RunningProcess::Phase::working) continue;
      if (!result.ok()) {
        fail_process(ctx, d.pi, "the database did not take its write");
        continue;
      }
      if (!may_act(ctx, service_lock_of(d.pi))) {
        fail_process(ctx, d.pi, "its service's lock is not held");
        continue;
      }
      if (d.to != k_no_node) ctx.send(d.to, wire::encode(d.msg));
    }
  }
}

void CattleServer::drop_stale_work(Ctx& ctx) {
  ctx.count(m_stale_refusals_, 1);
  std::vector<RowId> services;
  for (const auto& [sid, w] : service_work_) {
    services.push_back(sid);
    if (w.phase == ServiceWork::Phase::waiting_lock && w.timer != 0) ctx.cancel_timer(w.timer);
    zk_->unlock(ctx, lock_name(sid));
  }
  service_work_.clear();
  std::size_t dropped = 0;
  for (auto it = journal_.begin(); it != journal_.end();) {
    if (it->second.sent) {
      ++it;
      continue;
    }
    deferred_.erase(it->first);
    it = journal_.erase(it);
    ++dropped;
  }
  ctx.event(LogLevel::notable,
            Event("cattle.stale_work_dropped")
                .with("services", static_cast<std::int64_t>(services.size()))
                .with("writes", static_cast<std::int64_t>(dropped)),
            fmt::format("stopped work on {} service(s): its ZooKeeper session cannot be trusted; "
                        "dropped {} queued write(s)",
                        services.size(), dropped));
  // The processes of that work wait for a later turn at the lock (their failure is a write of
  // its own, sent now that no work is held).
  std::vector<RowId> mine;
  for (const auto& [pi, rp] : running_)
    if (std::find(services.begin(), services.end(), service_lock_of(pi)) != services.end())
      mine.push_back(pi);
  for (RowId pi : mine) fail_process(ctx, pi, "stopped: the service's lock is not held");
  send_next_write(ctx);
}

void CattleServer::send_when_durable(Ctx& ctx, RowId pi, NodeId to, StartContainer msg) {
  std::int64_t last = next_seq_ - 1;
  bool pending = false;
  for (const auto& [seq, e] : journal_) pending = pending || (seq <= last && !e.acked);
  if (!pending) {
    if (to != k_no_node) ctx.send(to, wire::encode(msg));
    return;
  }
  deferred_[last].push_back(DeferredSend{pi, to, std::move(msg)});
}

void CattleServer::prune_journal() {
  // While a read is in flight, the writes from refresh_from_seq_ on are kept to be applied again.
  for (auto it = journal_.begin(); it != journal_.end();) {
    bool keep = !it->second.acked || (refreshing_ && it->first >= refresh_from_seq_);
    it = keep ? std::next(it) : journal_.erase(it);
  }
}

void CattleServer::start_ha(Ctx& ctx) {
  ++incarnation_;
  shared_ = mysql::Database(config_.max_connections);
  shared_.raise_next_ids((static_cast<RowId>(config_.manager->index) << k_id_index_shift) |
                         (incarnation_ << k_id_boot_shift));
  stale_check_ = ctx.mechanism(m_zk_stale_holder_check);
  replay_ = ctx.mechanism(m_process_replay);
  m_stale_refusals_ = ctx.intern("stale_holder_refusals");
  if (config_.zookeeper > 0) {
    zk_.emplace(config_.zookeeper);
    zk_->set_callbacks({[this](Ctx& c, const std::string& l) { on_lock_acquired(c, l); },
                        [this](Ctx& c, const std::string& l) { on_lock_lost(c, l); },
                        [this](Ctx& c, zk::SessionEvent e) { on_session_event(c, e); }});
    zk_->start(ctx);
  }
  if (config_.redis) {
    redis_.emplace("redis-1");
    redis_->set_callbacks({[this](Ctx& c, const std::string&, const std::string&) {
                             // Any change another server made: read the tables again.
                             refresh(c, false);
                           },
                           [](Ctx&, bool) {}});
    redis_->start(ctx);
    redis_->subscribe(ctx, std::string(k_event_channel));
  }
}

void CattleServer::crash_ha() {
  if (zk_) zk_->crash();
  if (redis_) redis_->crash();
  zk_.reset();
  redis_.reset();
  shared_ = mysql::Database(config_.max_connections);
  cache_ready_ = false;
  refreshing_ = false;
  refresh_again_ = false;
  refresh_then_replay_ = false;
  refresh_waiting_ = 0;
  refresh_failed_ = false;
  refresh_rows_.clear();
  journal_.clear();
  deferred_.clear();
  service_work_.clear();
  reconcile_paused_logged_ = false;
  actions_.clear();
}

void CattleServer::refresh(Ctx& ctx, bool then_replay) {
  refresh_then_replay_ |= then_replay;
  if (!db_client_->connected()) return;
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  refreshing_ = true;
  refresh_again_ = false;
  refresh_failed_ = false;
  refresh_rows_.clear();
  refresh_from_seq_ = next_seq_;
  for (const auto& [seq, e] : journal_)
    if (!e.acked) {
      refresh_from_seq_ = seq;
      break;
    }
  std::vector<std::string> tables(k_shared_tables.begin(), k_shared_tables.end());
  tables.push_back("process_instance");
  refresh_waiting_ = static_cast<int>(tables.size());
  for (const std::string& t : tables)
    db_client_->select_all(ctx, t, [this, t](Ctx& c, const DbResult& r) {
      on_refresh_result(c, t, r);
    });
}

void CattleServer::on_refresh_result(Ctx& ctx, const std::string& table, const DbResult& result) {
  if (!refreshing_) return;
  if (!result.ok()) refresh_failed_ = true;
  else refresh_rows_[table] = result.rows;
  if (--refresh_waiting_ > 0) return;
  refreshing_ = false;
  if (refresh_failed_) {
    refresh_rows_.clear();
    prune_journal();
    return;  // the next replay tick reads again
  }
  for (auto& [name, rows] : refresh_rows_) {
    if (name == "process_instance") {
      // Start processes run under their service's lock, so any server may resume one that a
      // crashed server left (as Cattle's replay does); the others (host processes, stops) run
      // under in-memory locks and stay with the server that created them.
      std::vector<std::pair<RowId, Row>> mine;
      for (auto& r : rows) {
        const ProcessDef* def = find_process(r.second.at("process"));
        bool shared = def != nullptr && def->handler == HandlerKind::start_on_agent;
        if (shared || (r.first >> k_id_index_shift) == config_.manager->index)
          mine.push_back(std::move(r));
      }
      shared_.replace_rows(name, mine);
      continue;
    }
    shared_.replace_rows(name, rows);
  }
  refresh_rows_.clear();
  for (const auto& [seq, e] : journal_) {
    if (seq < refresh_from_seq_) continue;
    Transaction again = e.batch.to_transaction();
    shared_.commit(again);
  }
  prune_journal();
  bool first = !cache_ready_;
  cache_ready_ = true;
  if (first) {
    auto services = static_cast<std::int64_t>(shared_.table("service")->size());
    auto hosts = static_cast<std::int64_t>(shared_.table("host")->size());
    ctx.event(LogLevel::info,
              Event("cattle.shared_tables_read").with("services", services).with("hosts", hosts),
              fmt::format("read the shared tables ({} services, {} hosts)", services, hosts));
    // The first server to find the database empty seeds it; the others read what it wrote.
    if (shared_.where("setting", "name", "seeded").empty() && config_.manager->index == 1)
      seed(ctx);
  }
  bool replay_now = refresh_then_replay_ || first;
  refresh_then_replay_ = false;
  if (replay_now) replay(ctx);
  else reconcile(ctx);
  push_config(ctx);
  if (refresh_again_) refresh(ctx, false);
}

bool CattleServer::in_partition(RowId host) const {
  if (!cm_) return true;
  // Agents are divided among the members this server's manager counts, in host id order. This
  // is asked for every host at every ping round and configuration push: the members are
  // compared by index, not by name.
  const std::vector<int>& members = cm_->member_indexes();
  auto me = std::find(members.begin(), members.end(), config_.manager->index);
  if (me == members.end()) return false;
  std::size_t k = 0;
  for (const auto& [hid, row] : *shared_.table("host")) {
    if (hid == host) break;
    ++k;
  }
  return k % members.size() == static_cast<std::size_t>(me - members.begin());
}

bool CattleServer::pushes_lb_config() const { return !cm_ || cm_->master(); }

bool CattleServer::service_needs_work(RowId sid) const {
  std::int64_t scale = shared_.get_int("service", sid, "scale");
  std::map<std::int64_t, RowId> by_index;
  for (RowId iid : shared_.where("instance", "service_id", to_text(sid)))
    if (shared_.get("instance", iid, "state") != "removed")
      by_index[shared_.get_int("instance", iid, "index")] = iid;
  for (std::int64_t i = 1; i <= scale; ++i) {
    auto it = by_index.find(i);
    if (it == by_index.end()) return true;
    const std::string state = shared_.get("instance", it->second, "state");
    if (state == "requested") return true;
    if (state == "stopped" &&
        shared_.get("host", shared_.get_int("instance", it->second, "host_id"), "state") ==
            "active")
      return true;
  }
  // Start processes that wait for the lock (to be replayed, see on_service_read).
  if (replay_)
    for (const auto& [pi, row] : *shared_.table("process_instance"))
    if ((row.at("phase") == "pending" || row.at("phase") == "running") &&
          running_.count(pi) == 0 && service_lock_of(pi) == sid)
        return true;
  return false;
}

void CattleServer::reconcile_ha(Ctx& ctx) {
  if (!cache_ready_ || !zk_) return;
  bool locks = ctx.mechanism(m_zk_service_locks);
  if (locks && zk_->state() != zk::SessionState::connected) {
    // Without a session there are no locks to take: the server stops reconciling until it has
    // one again (logged once per outage; not while the first session is being set up).
    if (!reconcile_paused_logged_ && zk_->session_id() != 0)
      ctx.event(LogLevel::notable, Event("cattle.reconcile_paused"),
                "not reconciling: no ZooKeeper session");
    reconcile_paused_logged_ = true;
    return;
  }
  reconcile_paused_logged_ = false;
  std::vector<RowId> services;
  for (const auto& [id, row] : *shared_.table("service"))
    if (row.at("kind") == "service" && service_work_.count(id) == 0 && service_needs_work(id))
      services.push_back(id);
  for (RowId sid : services) {
    if (!locks) {
      // Without ZooKeeper locks every server goes ahead on its own.
      service_work_[sid] = ServiceWork{ServiceWork::Phase::waiting_lock, 0};
      on_lock_acquired(ctx, lock_name(sid));
      continue;
    }
    TimerId t = ctx.set_timer(ctx.timing(t_lock_wait),
                              timer_tag::encode(ServiceLockWait{sid}));
    service_work_[sid] = ServiceWork{ServiceWork::Phase::waiting_lock, t};
    zk_->lock(ctx, lock_name(sid));
  }
}

void CattleServer::on_lock_wait_over(Ctx& ctx, RowId sid) {
  auto it = service_work_.find(sid);
  if (it == service_work_.end() || it->second.phase != ServiceWork::Phase::waiting_lock) return;
  ctx.log(LogLevel::debug, fmt::format("gave up waiting for lock {}", lock_name(sid)));
  service_work_.erase(it);
  zk_->unlock(ctx, lock_name(sid));
}

void CattleServer::on_lock_acquired(Ctx& ctx, const std::string& lock) {
  auto sid = service_of_lock(lock);
  if (!sid) return;
  auto it = service_work_.find(*sid);
  if (it == service_work_.end()) {
    // Granted after this server stopped wanting it (a wait that timed out): give it back.
    zk_->unlock(ctx, lock);
    return;
  }
  if (it->second.phase != ServiceWork::Phase::waiting_lock) return;
  if (it->second.timer != 0) ctx.cancel_timer(it->second.timer);
  it->second.phase = ServiceWork::Phase::reading;
  RowId service = *sid;
  ctx.log(LogLevel::debug, fmt::format("lock {} acquired; reading its instances", lock));
  // The lock guards a decision made on fresh rows: read the service's instances again.
  db_client_->select_where(ctx, "instance", "service_id", to_text(service),
                           [this, service](Ctx& c, const DbResult& r) {
                             on_service_read(c, service, r);
                           });
}

void CattleServer::on_service_read(Ctx& ctx, RowId sid, const DbResult& result) {
  auto it = service_work_.find(sid);
  if (it == service_work_.end() || it->second.phase != ServiceWork::Phase::reading) return;
  if (!result.ok()) return abandon_service(ctx, sid, "the database did not answer");
  ctx.log(LogLevel::debug, fmt::format("read {} instances of service {}", result.rows.size(),
                                       shared_.get("service", sid, "name")));
  Transaction fresh;
  for (const auto& [id, row] : result.rows) fresh.put("instance", id, row);
  shared_.commit(fresh);
  it->second.phase = ServiceWork::Phase::working;
  if (!may_act(ctx, sid)) return abandon_service(ctx, sid, "its ZooKeeper session is not live");
  // Start processes of the service left pending (by a failure, or by a server that crashed) go
  // first: this is the replay of process instances, for which any server may now hold the lock.
  std::vector<RowId> waiting;
  if (ctx.mechanism(m_process_replay))
    for (const auto& [pi, row] : *shared_.table("process_instance"))
      if ((row.at("phase") == "pending" || row.at("phase") == "running") &&
          running_.count(pi) == 0 && service_lock_of(pi) == sid)
        waiting.push_back(pi);
  for (RowId pi : waiting) run_process(ctx, pi);
  reconcile_service(ctx, sid);
  service_work_check(ctx, sid);
}

void CattleServer::service_work_check(Ctx& ctx, RowId sid) {
  auto it = service_work_.find(sid);
  if (it == service_work_.end() || it->second.phase != ServiceWork::Phase::working) return;
  for (const auto& [pi, rp] : running_)
    if (service_lock_of(pi) == sid) return;
  service_work_.erase(it);
  if (ctx.mechanism(m_zk_service_locks)) zk_->unlock(ctx, lock_name(sid));
}

void CattleServer::abandon_service(Ctx& ctx, RowId sid, std::string_view why) {
  auto it = service_work_.find(sid);
  if (it == service_work_.end()) return;
  if (it->second.timer != 0 && it->second.phase == ServiceWork::Phase::waiting_lock)
    ctx.cancel_timer(it->second.timer);
  service_work_.erase(it);
  std::vector<RowId> mine;
  for (const auto& [pi, rp] : running_)
    if (service_lock_of(pi) == sid) mine.push_back(pi);
  for (RowId pi : mine) fail_process(ctx, pi, "stopped: the service's lock is not held");
  std::string service = shared_.get("service", sid, "name");
  ctx.event(LogLevel::notable,
            Event("cattle.service_work_stopped").with("service", service).with("why", why),
            fmt::format("stopped work on service {}: {}", service, why));
  if (zk_) zk_->unlock(ctx, lock_name(sid));
}

void CattleServer::on_lock_lost(Ctx& ctx, const std::string& lock) {
  auto sid = service_of_lock(lock);
  if (!sid || !stale_check_) return;
  abandon_service(ctx, *sid, "lost its ZooKeeper lock");
}

void CattleServer::on_session_event(Ctx& ctx, zk::SessionEvent event) {
  if (event == zk::SessionEvent::connected) return reconcile(ctx);
  if (!stale_check_ || event != zk::SessionEvent::expired) return;
  std::vector<RowId> all;
  for (const auto& [sid, w] : service_work_) all.push_back(sid);
  for (RowId sid : all) abandon_service(ctx, sid, "its ZooKeeper session expired");
}

bool CattleServer::may_act(Ctx& ctx, RowId sid) {
  if (!holding_service(sid)) return false;
  bool locks = ctx.mechanism(m_zk_service_locks);
  if (locks && stale_check_ &&
      !(zk_->holds(lock_name(sid)) && zk_->lease_valid(ctx.now()))) {
    ctx.count(m_stale_refusals_, 1);
    return false;
  }
  if (zk_) actions_[zk_->session_id()] = ctx.now();
  return true;
}

RowId CattleServer::service_lock_of(RowId pi) const {
  const Row* row = shared_.find("process_instance", pi);
  if (row == nullptr || row->at("resource_type") != "instance") return 0;
  const ProcessDef* def = find_process(row->at("process"));
  if (def == nullptr || def->handler != HandlerKind::start_on_agent) return 0;
  return shared_.get_int("instance", std::stoll(row->at("resource_id")), "service_id");
}

bool CattleServer::holding_service(RowId sid) const {
  auto it = service_work_.find(sid);
  return it != service_work_.end() && it->second.phase == ServiceWork::Phase::working;
}

RowId CattleServer::place_ha(Ctx& ctx, RowId instance) {
  // The active hosts with the fewest containers of this service, one of them at random: Cattle's
  // allocator spreads a service and does not order equal candidates.
  std::string sid = shared_.get("instance", instance, "service_id");
  std::vector<RowId> best;
  std::size_t best_count = 0;
  for (const auto& [hid, host] : *shared_.table("host")) {
    if (host.at("state") != "active") continue;
    std::size_t n = 0;
    for (RowId iid : shared_.where("instance", "host_id", to_text(hid)))
      n += iid != instance && shared_.get("instance", iid, "service_id") == sid &&
           shared_.get("instance", iid, "state") != "removed";
    if (best.empty() || n < best_count) {
      best = {hid};
      best_count = n;
    } else if (n == best_count) {
      best.push_back(hid);
    }
  }
  if (best.empty()) return 0;
  return best[static_cast<std::size_t>(ctx.random(0, static_cast<std::int64_t>(best.size()) - 1))];
}

void CattleServer::publish_event(Ctx& ctx, const std::string& name) {
  if (redis_) redis_->publish(ctx, std::string(k_event_channel), name);
}

}  // namespace stampede::cattle
