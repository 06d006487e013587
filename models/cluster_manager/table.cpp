// Membership through the MySQL `cluster` table, as rancher/cluster-manager v0.1.5 (the one
// rancher/rancher v1.1.2 server/Dockerfile line 18 installs; tag v0.1.5 is commit bceca5d of
// 2016-05-19) has it. Mechanism cm_membership_table, on by default; off, the managers send each
// other heartbeat messages instead (cluster_manager.cpp), which is not in the source.
//
// - Each manager process takes a new UUID at its start (main.go line 12, uuid.NewV4) and checks
//   in: UPDATE cluster SET heartbeat = i WHERE uuid = ?, and when that matched no row, INSERT a
//   new one (db/db.go Checkin, lines 175-190); here a SELECT of the row, then the UPDATE or the
//   INSERT. It checks in with i = 0 at its start and then every 5 s (cluster/manager.go lines
//   15, 66 and 247-252). A failed check-in is fatal: log.Fatal exits the process (manager.go
//   line 73), and Docker restarts the rancher-ha container (`--restart=always`, rancher/cattle
//   v0.165.8 resources/content/haconfig/script.ftl line 84) with a new UUID, so a new row.
// - Every 5 s its loop reads every row (db.go Members, lines 101-129), counts a missed beat for
//   every member whose heartbeat has not moved and forgets (DELETEs) one that missed maxMissed
//   = 2 (manager.go lines 17 and 83-126). A failed read ends the loop, and main.go lines 49-50
//   exit the process as well.
// - The master is the member with the lowest row id (manager.go isMaster, lines 128-141): a
//   restarted manager's new row comes last. The master gives each member without an index the
//   one it asks for (the INDEX of its container), else a free one from 1 to the cluster size,
//   and saves them (assignIndex, lines 143-201; db.go SaveIndex, lines 192-201).
// - No majority is needed: service/cluster_service.go Update (lines 46-75) builds the cluster
//   as one address per index from 1 to the cluster size, "" for an index nobody holds, so its
//   test `len(newState.cluster) <= ClusterSize/2` (line 60, "Waiting for at least %d cluster
//   members") never holds: a single member configures the cluster and launches its server.
//   A member whose index is 0 (none assigned yet) starts no ZooKeeper and no Redis (configure,
//   lines 235-260).
// - The connection: go-sql-driver/mysql, vendored at 71f003c (packets.go lines 27-61), answers
//   any read or write error of a pooled connection with driver.ErrBadConn, on which Go's
//   database/sql tries again on a new connection; so a db that restarted between two
//   statements costs nothing, and one that is down when a statement runs (its connect is
//   refused) fails it. The DSN sets no timeout (config/config.go lines 168-186), so a connect
//   to an unreachable db waits for the kernel (cm_db_connect_timeout) and a statement whose
//   answer never comes for TCP's retransmissions to give up (cm_db_io_timeout).
//
// Simplifications: the statements of the heartbeat and the loop (two goroutines on a pool)
// run one at a time on one connection; the manager starts once its Cattle server's pool is
// open (the real one starts first and launches Cattle); the rows carry two columns of the
// model's, host_active (the real master asks Cattle's API for active hosts) and version.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "models/cluster_manager/cluster_manager.hpp"
#include "models/mysql/db_protocol.hpp"

namespace stampede::cm {

using mysql::DbResult;
using mysql::Row;
using mysql::RowId;

namespace {
constexpr std::string_view k_table = "cluster";

std::int64_t as_int(const Row& row, const char* column) {
  auto it = row.find(column);
  if (it == row.end() || it->second.empty()) return 0;
  return std::stoll(it->second);
}

std::string text_of(const Row& row, const char* column) {
  auto it = row.find(column);
  return it == row.end() ? std::string() : it->second;
}
}  // namespace

bool ClusterManager::owns_db_message(const Message& msg) {
  if (!mysql::is_db_type(msg.type)) return false;
  std::int64_t conn = 0;
  wire::dispatch<mysql::DbOpened, mysql::DbRefused, mysql::DbResponse, mysql::DbReset>(
      msg, [&](const auto& m) { conn = m.conn; });
  return mysql::second_process(conn);
}

void ClusterManager::table_start(Ctx& ctx) {
  Volatile& v = volatile_;
  v.uuid = fmt::format("{:08x}-{:04x}", ctx.random(0, 0xFFFFFFFFLL), ctx.random(0, 0xFFFF));
  durable_.started_ns = ctx.now();
  // Start: checkin(0), then the heartbeat goroutine's checkin(1) and the loop's first read.
  queue_op(ctx, Op{OpKind::checkin_find, 0, 0, 0});
  v.heartbeat = 1;
  v.poll_queued = true;
  queue_op(ctx, Op{OpKind::poll, 0, 0, 0});
}

void ClusterManager::queue_op(Ctx& ctx, Op op) {
  volatile_.ops.push_back(std::move(op));
  if (!volatile_.in_flight) next_op(ctx);
}

void ClusterManager::next_op(Ctx& ctx) {
  Volatile& v = volatile_;
  if (v.in_flight || v.ops.empty() || v.exited) return;
  v.in_flight = std::move(v.ops.front());
  v.ops.pop_front();
  if (v.conn != 0) return send_op(ctx);
  // database/sql makes a connection when none is idle: a handshake first.
  v.connecting = true;
  std::int64_t session = ctx.random(1, (std::int64_t{1} << 30) - 1);
  v.conn = mysql::connection_id(session, 1) | mysql::k_second_process_bit;
  v.request = 0;
  ctx.send(rt_.db, wire::encode(mysql::DbOpen{v.conn}));
  v.io_timer = ctx.set_timer(rt_.db_connect_timeout_ns,
                             timer_tag::encode(DbIoTimer{durable_.gen & 0xFFFFu, 0}));
}

void ClusterManager::send_op(Ctx& ctx) {
  Volatile& v = volatile_;
  const Op& op = *v.in_flight;
  auto body = std::make_shared<mysql::RequestBody>();
  body->table = std::string(k_table);
  switch (op.kind) {
    case OpKind::checkin_find:
      body->kind = mysql::RequestKind::select_where;
      body->column = "uuid";
      body->value = v.uuid;
      break;
    case OpKind::poll:
      body->kind = mysql::RequestKind::select_all;
      break;
    case OpKind::checkin_write:
    case OpKind::erase:
    case OpKind::save_index: {
      body->kind = mysql::RequestKind::commit;
      mysql::WriteBatch& b = body->batch;
      if (op.kind == OpKind::erase) {
        b.erase(std::string(k_table), op.row);
      } else if (op.kind == OpKind::save_index) {
        b.update(std::string(k_table), op.row, "assigned_index", mysql::to_text(op.index));
        b.update(std::string(k_table), op.row, "requested_index", "0");
      } else if (op.row > 0) {  // the row found: UPDATE its heartbeat
        b.update(std::string(k_table), op.row, "heartbeat", mysql::to_text(op.value));
        b.update(std::string(k_table), op.row, "host_active", v.host_active ? "1" : "0");
      } else {  // no row: INSERT one
        const int requested = rt_.own_index_request ? config_.requested_index : 0;
        b.insert(std::string(k_table), Row{{"uuid", v.uuid},
                                           {"name", member_name(config_.index)},
                                           {"heartbeat", "0"},
                                           {"requested_index", mysql::to_text(requested)},
                                           {"assigned_index", "0"},
                                           {"host_active", v.host_active ? "1" : "0"},
                                           {"version", config_.version}});
      }
      break;
    }
  }
  v.request = ++v.requests;
  ctx.send(rt_.db, wire::encode(mysql::DbRequest{v.conn, v.request, std::move(body)}));
  v.io_timer = ctx.set_timer(
      rt_.db_io_timeout_ns,
      timer_tag::encode(DbIoTimer{durable_.gen & 0xFFFFu,
                                  static_cast<std::uint32_t>(v.request) & 0xFFFFu}));
}

void ClusterManager::on_db_message(Ctx& ctx, const Message& msg) {
  Volatile& v = volatile_;
  if (v.exited || !v.in_flight) return;
  auto cancel = [&] {
    if (v.io_timer != 0) ctx.cancel_timer(v.io_timer);
    v.io_timer = 0;
  };
  wire::dispatch<mysql::DbOpened, mysql::DbRefused, mysql::DbResponse, mysql::DbReset>(
      msg, wire::overloaded{
               [&](const mysql::DbOpened& m) {
                 if (m.conn != v.conn || !v.connecting) return;
                 cancel();
                 v.connecting = false;
                 send_op(ctx);
               },
               [&](const mysql::DbRefused& m) {
                 if (m.conn != v.conn || !v.connecting) return;
                 cancel();
                 db_failed(ctx, mysql::format_error(*m.body->result.error));
               },
               [&](const mysql::DbResponse& m) {
                 if (m.conn != v.conn || m.request != v.request || v.connecting) return;
                 cancel();
                 on_db_answer(ctx, m.body->result);
               },
               [&](const mysql::DbReset& m) {
                 if (m.conn != v.conn || v.connecting) return;
                 if (m.request != 0 && m.request != v.request) return;
                 cancel();
                 // ErrBadConn: database/sql tries the statement again on a new connection.
                 v.conn = 0;
                 v.ops.push_front(*v.in_flight);
                 v.in_flight.reset();
                 next_op(ctx);
               }});
}

void ClusterManager::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  Volatile& v = volatile_;
  if (!rt_.membership_table || peer != rt_.db || v.exited || v.conn == 0) return;
  if (event == ConnectionEvent::refused && v.connecting) {
    if (v.io_timer != 0) ctx.cancel_timer(v.io_timer);
    v.io_timer = 0;
    return db_failed(ctx, "dial tcp db:3306: getsockopt: connection refused");
  }
  if (event != ConnectionEvent::closed || v.connecting) return;
  // The db's EOF: the connection is dead; a statement under way fails with ErrBadConn and is
  // tried again on a new connection, an idle connection is replaced at its next statement.
  v.conn = 0;
  if (!v.in_flight) return;
  if (v.io_timer != 0) ctx.cancel_timer(v.io_timer);
  v.io_timer = 0;
  v.ops.push_front(*v.in_flight);
  v.in_flight.reset();
  next_op(ctx);
}

void ClusterManager::on(Ctx& ctx, const DbIoTimer& t) {
  Volatile& v = volatile_;
  if (!v.in_flight || v.exited) return;
  if (t.request_low != (static_cast<std::uint32_t>(v.connecting ? 0 : v.request) & 0xFFFFu))
    return;
  v.io_timer = 0;
  db_failed(ctx, v.connecting ? "dial tcp db:3306: getsockopt: connection timed out"
                              : "read tcp db:3306: connection timed out");
}

void ClusterManager::db_failed(Ctx& ctx, std::string_view error) {
  const Op op = *volatile_.in_flight;
  if (op.kind == OpKind::erase) {
    // pruneMembers only logs a failed delete (manager.go lines 116-118).
    ctx.event(LogLevel::info, Event("cluster.delete_failed").with("err", std::string(error)),
              fmt::format("failed to delete member: {}", error));
    volatile_.in_flight.reset();
    volatile_.conn = 0;
    return next_op(ctx);
  }
  bool checkin = op.kind == OpKind::checkin_find || op.kind == OpKind::checkin_write;
  exit_process(ctx, fmt::format("{}: {}", checkin ? "failed to do cluster check in"
                                                   : "failed to create manager",
                                error));
}

void ClusterManager::on_db_answer(Ctx& ctx, const DbResult& result) {
  Volatile& v = volatile_;
  if (!result.ok()) return db_failed(ctx, mysql::format_error(*result.error));
  Op op = *v.in_flight;
  v.in_flight.reset();
  switch (op.kind) {
    case OpKind::checkin_find:
      // The UPDATE's count: the row is there (its id), or it is not and the INSERT comes.
      op.kind = OpKind::checkin_write;
      op.row = result.rows.empty() ? 0 : result.rows.front().first;
      v.ops.push_front(op);
      break;
    case OpKind::poll:
      v.poll_queued = false;
      on_rows(ctx, result.rows);
      break;
    default:
      break;
  }
  next_op(ctx);
}

}  // namespace stampede::cm

namespace stampede::cm {

void ClusterManager::on_rows(Ctx& ctx, const std::vector<std::pair<RowId, Row>>& rows) {
  Volatile& v = volatile_;
  table_update_members(rows);
  table_prune(ctx);
  // isMaster (manager.go lines 128-141): this process's row has the lowest id of those seen.
  auto self = v.seen.find(v.uuid);
  bool master = self != v.seen.end() &&
                std::none_of(v.seen.begin(), v.seen.end(), [&](const auto& kv) {
                  return kv.second.id < self->second.id;
                });
  if (master != v.table_master)
    ctx.event(LogLevel::info, Event("cluster.master").with("master", std::int64_t{master}),
              fmt::format("currently master: {}", master));
  v.table_master = master;
  // An index assigned: the loop starts again after its sleep (manager.go lines 221-226).
  if (master && table_assign_index(ctx)) return;
  table_configure(ctx);
  if (!v.slots.empty()) act(ctx);
}

void ClusterManager::table_update_members(const std::vector<std::pair<RowId, Row>>& rows) {
  Volatile& v = volatile_;
  for (auto& [uuid, s] : v.seen) ++s.missed;
  for (const auto& [id, row] : rows) {
    std::string uuid = text_of(row, "uuid");
    std::int64_t beat = as_int(row, "heartbeat");
    auto [it, fresh] = v.seen.try_emplace(uuid);
    Seen& s = it->second;
    if (fresh || s.heartbeat != beat) s.missed = 0;
    s.id = id;
    s.heartbeat = beat;
    std::string name = text_of(row, "name");
    s.server = name.rfind("server-", 0) == 0 ? std::stoi(name.substr(7)) : 0;
    s.index = static_cast<int>(as_int(row, "assigned_index"));
    s.requested = static_cast<int>(as_int(row, "requested_index"));
    s.host_active = as_int(row, "host_active") != 0;
    s.version = text_of(row, "version");
  }
  // The servers with a row, for the model's readers (in_partition, active_hosts).
  std::vector<int> servers;
  for (const auto& [uuid, s] : v.seen)
    if (s.server > 0) servers.push_back(s.server);
  std::sort(servers.begin(), servers.end());
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  v.members = std::move(servers);
}

void ClusterManager::table_prune(Ctx& ctx) {
  Volatile& v = volatile_;
  for (auto it = v.seen.begin(); it != v.seen.end();) {
    if (it->second.missed < rt_.max_missed) {
      ++it;
      continue;
    }
    std::string name = member_name(it->second.server);
    ctx.event(LogLevel::info,
              Event("cluster.member_forgotten").with("member", name),
              fmt::format("forgetting cluster member {} (row {})", name, it->second.id));
    // Forgotten here at once; the real manager forgets it once its DELETE succeeded.
    queue_op(ctx, Op{OpKind::erase, 0, it->second.id, 0});
    it = v.seen.erase(it);
  }
}

bool ClusterManager::table_assign_index(Ctx& ctx) {
  Volatile& v = volatile_;
  std::map<int, const Seen*> by_index;
  std::map<RowId, const Seen*> unassigned;  // by id, as sortedKeys
  for (const auto& [uuid, s] : v.seen) {
    if (s.index > 0) by_index[s.index] = &s;
    else unassigned[s.id] = &s;
  }
  std::vector<const Seen*> assigned;  // logged as they are ("Assigning %s %s to index %d")
  for (auto it = unassigned.begin(); it != unassigned.end();) {
    int want = it->second->requested;
    if (want <= 0 || by_index.count(want) != 0) {
      ++it;
      continue;
    }
    by_index[want] = it->second;
    assigned.push_back(it->second);
    it = unassigned.erase(it);
  }
  // Go ranges over a map here, in no set order; the model takes the lowest id.
  for (int i = 1; i <= config_.cluster_size && !unassigned.empty(); ++i) {
    if (by_index.count(i) != 0) continue;
    by_index[i] = unassigned.begin()->second;
    assigned.push_back(unassigned.begin()->second);
    unassigned.erase(unassigned.begin());
  }
  if (assigned.empty()) return false;
  // SaveIndex writes every index of the map, the ones already assigned included.
  for (const auto& [index, s] : by_index) {
    if (std::find(assigned.begin(), assigned.end(), s) != assigned.end())
      ctx.event(LogLevel::info,
                Event("cluster.index_assigned")
                    .with("member", member_name(s->server))
                    .with("index", std::int64_t{index}),
                fmt::format("assigning {} (row {}) to index {}", member_name(s->server), s->id,
                            index));
    queue_op(ctx, Op{OpKind::save_index, 0, s->id, index});
  }
  return true;
}

void ClusterManager::table_configure(Ctx& ctx) {
  Volatile& v = volatile_;
  std::vector<int> slots(static_cast<std::size_t>(config_.cluster_size), 0);
  int slot = 0;
  for (const auto& [uuid, s] : v.seen) {
    if (s.index < 1 || s.index > config_.cluster_size) continue;
    slots[static_cast<std::size_t>(s.index - 1)] = s.server;
    if (uuid == v.uuid) slot = s.index;
  }
  if (slot == v.slot && slots == v.slots) return;
  v.slots = slots;
  v.slot = slot;
  std::vector<std::string> names;
  for (int server : slots) names.push_back(server > 0 ? member_name(server) : std::string());
  std::string joined = fmt::format("{}", fmt::join(names, ", "));
  ctx.count(rt_.metric_changes, 1);
  ctx.event(LogLevel::notable,
            Event("cluster.changed").with("index", std::int64_t{slot}).with("members", joined),
            fmt::format("cluster changed, index={}, members=[{}]", slot, joined));
  launch_zk_redis(ctx, slot);
}

void ClusterManager::launch_zk_redis(Ctx& ctx, int slot) {
  // configure (service/cluster_service.go lines 235-260) launches the zk and redis containers
  // with INDEX=slot, and none at all while the slot is 0. Launch recreates a container whose
  // environment lacks the new INDEX (docker/docker.go recreate, line 242; shouldDelete, lines
  // 155-192, logging "Container %s is missing env %s=%s" at line 181): a member moved to another
  // slot gets a new ZooKeeper and a new Redis under that slot's identity. The ensemble itself is
  // the fixed nodes zookeeper-1..N here, so the model logs the recreation and stops there.
  const int old = durable_.containers_index;
  if (slot <= 0 || slot == old) return;
  durable_.containers_index = slot;
  if (old == 0) return;
  for (const char* name : {"zk", "redis"})
    ctx.event(LogLevel::notable,
              Event("cluster.container_recreated")
                  .with("container", std::string(name))
                  .with("index", std::int64_t{slot})
                  .with("was", std::int64_t{old}),
              fmt::format("container {} is missing env INDEX={}: recreated (it ran with INDEX={})",
                          name, slot, old));
}

void ClusterManager::exit_process(Ctx& ctx, std::string_view why) {
  ctx.event(LogLevel::notable, Event("cluster.manager_exited").with("why", std::string(why)),
            fmt::format("level=fatal msg=\"{}\": rancher-ha exits", why));
  ctx.signal(k_signal_manager_exited);
  ++durable_.exits;
  // Docker's restart manager, as for Cattle's container (models/cattle/lifecycle.cpp).
  if (ctx.now() - durable_.started_ns >= rt_.restart_reset_after_ns) durable_.restart_wait_ns = 0;
  durable_.restart_wait_ns =
      durable_.restart_wait_ns == 0 ? rt_.restart_backoff_ns : durable_.restart_wait_ns * 2;
  Runtime rt = rt_;
  volatile_ = {};
  volatile_.started = true;
  volatile_.exited = true;
  ++durable_.gen;  // the exited process's timers are stale
  rt_ = rt;
  ctx.set_timer(durable_.restart_wait_ns, tag<RestartTimer>());
}

void ClusterManager::on(Ctx& ctx, const RestartTimer& t) {
  (void)t;
  ctx.event(LogLevel::info,
            Event("cluster.manager_restarted").with("exits", durable_.exits),
            fmt::format("docker restarted rancher-ha (exit {})", durable_.exits));
  volatile_.exited = false;
  start(ctx);
}

}  // namespace stampede::cm
