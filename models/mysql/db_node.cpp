#include "models/mysql/db_node.hpp"
#include "models/mysql/db_workload.hpp"

#include "sim/core/assert.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <vector>

namespace stampede::mysql {

// The wire types are defined here, on the server side of the protocol.

std::string_view db_type_name(std::uint32_t type) {
  std::string_view n =
      wire::name_of<DbOpen, DbClose, DbRequest, DbOpened, DbRefused, DbResponse, DbReset>(type);
  return n.empty() ? "db_?" : n;
}

std::string format_error(const DbError& e) {
  // The pool's own error has no MySQL number: dbcp's SQLException says only its message.
  if (e.code == k_error_pool_exhausted) return e.message;
  // SQLSTATE as the mysql client prints it; HY000 is MySQL's catch-all.
  std::string_view state = e.code == k_error_too_many_connections ? "08004"
                           : e.code == k_error_no_such_table      ? "42S02"
                                                                  : "HY000";
  return fmt::format("ERROR {} ({}): {}", e.code, state, e.message);
}

RowId WriteBatch::insert(std::string table, Row row) {
  RowId placeholder = next_placeholder_--;
  writes_.push_back(Write{Kind::insert, std::move(table), placeholder, std::move(row)});
  return placeholder;
}

void WriteBatch::update(std::string table, RowId id, std::string column, std::string value) {
  Row one;
  one.emplace(std::move(column), std::move(value));
  writes_.push_back(Write{Kind::update, std::move(table), id, std::move(one)});
}

void WriteBatch::erase(std::string table, RowId id) {
  writes_.push_back(Write{Kind::erase, std::move(table), id, {}});
}

void WriteBatch::put(std::string table, RowId id, Row row) {
  writes_.push_back(Write{Kind::put, std::move(table), id, std::move(row)});
}

void WriteBatch::append(const WriteBatch& more) {
  // After k inserts here, more's placeholder -1 is this batch's -(k+1).
  const RowId shift = next_placeholder_ + 1;
  for (Write w : more.writes_) {
    if (w.id < 0) w.id += shift;
    writes_.push_back(std::move(w));
  }
  next_placeholder_ += more.next_placeholder_ + 1;
}

WriteBatch WriteBatch::from_resolved(const Transaction& txn) {
  WriteBatch b;
  for (const Transaction::Write& w : txn.writes_) {
    STAMPEDE_ASSERT(w.id > 0, "a resolved transaction holds no placeholders");
    switch (w.kind) {
      case Transaction::Write::Kind::insert:
      case Transaction::Write::Kind::put: b.put(w.table, w.id, w.row); break;
      case Transaction::Write::Kind::update:
        for (const auto& [col, val] : w.row) b.update(w.table, w.id, col, val);
        break;
      case Transaction::Write::Kind::erase: b.erase(w.table, w.id); break;
    }
  }
  return b;
}

Transaction WriteBatch::to_transaction() const {
  // Replayed in order, the inserts get the same placeholders from the Transaction as they got
  // here, so ids that refer to them need no translation.
  Transaction txn;
  for (const Write& w : writes_) {
    switch (w.kind) {
      case Kind::insert:
        txn.insert(w.table, w.row);
        break;
      case Kind::put:
        txn.put(w.table, w.id, w.row);
        break;
      case Kind::update:
        for (const auto& [col, val] : w.row) txn.update(w.table, w.id, col, val);
        break;
      case Kind::erase:
        txn.erase(w.table, w.id);
        break;
    }
  }
  return txn;
}

namespace {
void digest_row(Digest& d, const Row& row) {
  d.add(row.size());
  for (const auto& [col, val] : row) d.add(col).add(val);
}
}  // namespace

void WriteBatch::digest_into(Digest& d) const {
  d.add(writes_.size());
  for (const Write& w : writes_) {
    d.add(static_cast<std::uint64_t>(w.kind)).add(w.table).add_signed(w.id);
    digest_row(d, w.row);
  }
}

void RequestBody::digest_into(Digest& d) const {
  d.add(static_cast<std::uint64_t>(kind)).add(table).add(column).add(value).add_signed(id);
  batch.digest_into(d);
}

void ResponseBody::digest_into(Digest& d) const {
  d.add_signed(result.error ? result.error->code : 0);
  if (result.error) d.add(result.error->message);
  d.add(result.rows.size());
  for (const auto& [id, row] : result.rows) {
    d.add_signed(id);
    digest_row(d, row);
  }
  d.add(result.ids.size());
  for (RowId id : result.ids) d.add_signed(id);
}

namespace {
DbError no_such_table(std::string_view name) {
  return DbError{k_error_no_such_table, fmt::format("Table 'cattle.{}' doesn't exist", name)};
}

std::shared_ptr<const ResponseBody> answer(DbResult result) {
  auto body = std::make_shared<ResponseBody>();
  body->result = std::move(result);
  return body;
}
}  // namespace

void DbNode::on_start(Ctx& ctx) {
  cfg_.queries = ctx.intern(k_metric_queries);
  cfg_.refused = ctx.intern(k_metric_refused);
  cfg_.wait_timeout_ns = ctx.timing(k_wait_timeout);
  cfg_.keepalive_time_ns = ctx.timing(k_tcp_keepalive_time);
  cfg_.keepalive = ctx.mechanism(k_tcp_keepalive);
  ctx.event(LogLevel::info, Event("mysql.ready").with("port", std::int64_t{3306}),
            "mysqld: ready for connections. port: 3306");
}

void DbNode::on_crash() {
  volatile_ = {};
  durable_.store.db.drop_all_connections();
}

void DbNode::on_timer(Ctx& ctx, std::uint64_t tag) {
  timer_tag::dispatch<IdleSweepTimer, KeepaliveTimer>(tag, [&](const auto& t) { on(ctx, t); });
}

void DbNode::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<DbOpen, DbClose, DbRequest>(msg, [&](const auto& m) { on(ctx, from, m); });
}

void DbNode::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  if (event != ConnectionEvent::closed) return;  // the db connects to no one
  auto& connections = volatile_.connections;
  const std::uint32_t socket = ctx.stream_connection();
  std::vector<std::int64_t> gone;
  for (auto it = connections.lower_bound({peer, INT64_MIN});
       it != connections.end() && it->first.first == peer; ++it)
    if (!half_open(ctx, it->second, socket)) gone.push_back(it->first.second);
  for (std::int64_t c : gone) close(peer, c);
  if (gone.empty()) return;
  ctx.event(LogLevel::debug,
            Event("mysql.client_gone")
                .with("client", std::string(ctx.name_of(peer)))
                .with("connections", static_cast<std::int64_t>(gone.size())),
            fmt::format("{} connections of {} closed by the client (Got an error reading "
                        "communication packets)",
                        gone.size(), ctx.name_of(peer)));
}

void DbNode::on(Ctx& ctx, NodeId from, const DbRequest& m) {
  auto conn = volatile_.connections.find({from, m.conn});
  if (conn == volatile_.connections.end()) {
    ctx.send(from, wire::encode(DbReset{m.conn, m.request}));
    return;
  }
  Session& session = conn->second;
  if (m.request <= session.last_request) return;
  session.last_request = m.request;
  session.last_active_ns = ctx.now();
  ctx.count(cfg_.queries, 1);
  ctx.send(from, wire::encode(DbResponse{m.conn, m.request, answer_for(session, *m.body)}));
}

std::shared_ptr<const ResponseBody> DbNode::answer_for(Session& session, const RequestBody& req) {
  const std::uint64_t stamp = durable_.store.db.stamp(req.table);
  if (req.kind != RequestKind::select_all || stamp == 0) return answer(execute(session, req));
  auto kept = select_all_answers_->find(req.table);
  if (kept != select_all_answers_->end() && kept->second.first == stamp) return kept->second.second;
  std::shared_ptr<const ResponseBody> fresh = answer(execute(session, req));
  (*select_all_answers_)[req.table] = {stamp, fresh};
  return fresh;
}

void DbNode::on(Ctx& ctx, NodeId from, const DbOpen& m) {
  auto& connections = volatile_.connections;
  if (connections.count({from, m.conn}) != 0) {  // a duplicated handshake
    ctx.send(from, wire::encode(DbOpened{m.conn}));
    return;
  }
  // A new session from a node's client (a process's data source) means that client's earlier
  // connections are dead (its process restarted or gave them up): their sockets would have been
  // reset, so they no longer count.
  // Not so for sessions on a connection that an earlier incarnation of the client's host left
  // half-open (tcp_socket_per_process): MariaDB knows nothing of them until its wait_timeout.
  const std::uint32_t socket = ctx.stream_connection();
  std::vector<std::int64_t> stale;
  for (auto it = connections.lower_bound({from, INT64_MIN});
       it != connections.end() && it->first.first == from; ++it)
    if (session_of(it->first.second) != session_of(m.conn) &&
        client_of(it->first.second) == client_of(m.conn) && !half_open(ctx, it->second, socket))
      stale.push_back(it->first.second);
  for (std::int64_t c : stale) close(from, c);
  mark_peer_gone(ctx, from, socket);

  if (auto err = durable_.store.db.connect()) {
    ctx.count(cfg_.refused, 1);
    DbResult r;
    r.error = *err;
    ctx.send(from, wire::encode(DbRefused{m.conn, answer(std::move(r))}));
    return;
  }
  connections.emplace(std::pair{from, m.conn}, Session{0, ctx.now(), std::nullopt, socket, {}});
  if (!volatile_.sweep_set) set_sweep(ctx, cfg_.wait_timeout_ns);
  ctx.send(from, wire::encode(DbOpened{m.conn}));
}

bool DbNode::half_open(const Ctx& ctx, const Session& session, std::uint32_t socket) {
  const std::uint32_t opened_on = session.socket;
  return socket != 0 && opened_on != 0 && opened_on < socket &&
         ctx.mechanism(k_tcp_socket_per_process);
}

void DbNode::on(Ctx& ctx, NodeId from, const DbClose& m) {
  (void)ctx;
  close(from, m.conn);
}

void DbNode::close(NodeId from, std::int64_t conn) {
  // An open transaction goes with its connection: it was never committed.
  if (volatile_.connections.erase({from, conn}) != 0) durable_.store.db.disconnect();
}

void DbNode::set_sweep(Ctx& ctx, DurationNs after_ns) {
  volatile_.sweep_set = true;
  ctx.set_timer(after_ns, timer_tag::encode(IdleSweepTimer{}));
}

void DbNode::on(Ctx& ctx, const IdleSweepTimer&) {
  // MariaDB reads the next command of an idle connection with wait_timeout as its read timeout
  // (sql/sql_parse.cc sets net_wait_timeout before do_command reads); when it expires the
  // connection is closed with a reset (see DbReset).
  volatile_.sweep_set = false;
  const TimeNs now = ctx.now();
  std::vector<std::pair<NodeId, std::int64_t>> expired;
  TimeNs next_ns = 0;
  for (const auto& [key, session] : volatile_.connections) {
    const TimeNs due_ns = session.last_active_ns + cfg_.wait_timeout_ns;
    if (due_ns <= now) {
      expired.push_back(key);
    } else if (next_ns == 0 || due_ns < next_ns) {
      next_ns = due_ns;
    }
  }
  for (const auto& [client, conn] : expired) {
    close(client, conn);
    ctx.send(client, wire::encode(DbReset{conn, 0}));
    ctx.event(LogLevel::info,
              Event("mysql.connection_timed_out").with("client", std::string(ctx.name_of(client))),
              fmt::format("Aborted connection {} to db: 'cattle' user: 'cattle' host: '{}' (Got "
                          "timeout reading communication packets)",
                          conn & ((std::int64_t{1} << k_session_shift) - 1),
                          ctx.name_of(client)));
  }
  if (next_ns != 0) set_sweep(ctx, next_ns - now);
}

void DbNode::mark_peer_gone(Ctx& ctx, NodeId from, std::uint32_t socket) {
  // mysqld turns TCP keepalive on for every client connection (check_connection() in
  // sql/sql_connect.cc calls vio_keepalive(net->vio, TRUE), in MySQL 5.5 and MariaDB alike), so
  // the kernel probes a socket idle for net.ipv4.tcp_keepalive_time (db_tcp_keepalive_time).
  // A probe to a host whose process is gone is answered with a reset, and mysqld's read fails:
  // the session is aborted then, long before wait_timeout. A probe that a live peer acknowledges
  // changes nothing, so only half-open sessions are watched.
  if (!cfg_.keepalive) return;
  auto& connections = volatile_.connections;
  for (auto it = connections.lower_bound({from, INT64_MIN});
       it != connections.end() && it->first.first == from; ++it) {
    Session& s = it->second;
    if (s.peer_gone.value || !half_open(ctx, s, socket)) continue;
    s.peer_gone.value = true;
    const TimeNs due_ns = s.last_active_ns + cfg_.keepalive_time_ns;
    ctx.set_timer(due_ns > ctx.now() ? due_ns - ctx.now() : 0, timer_tag::encode(KeepaliveTimer{}));
  }
}

void DbNode::on(Ctx& ctx, const KeepaliveTimer&) {
  const TimeNs now = ctx.now();
  std::vector<std::pair<NodeId, std::int64_t>> reset;
  for (const auto& [key, session] : volatile_.connections)
    if (session.peer_gone.value && session.last_active_ns + cfg_.keepalive_time_ns <= now)
      reset.push_back(key);
  for (const auto& [client, conn] : reset) {
    close(client, conn);
    ctx.event(
        LogLevel::info,
        Event("mysql.connection_reset_by_peer").with("client", std::string(ctx.name_of(client))),
        fmt::format("Aborted connection {} to db: 'cattle' user: 'cattle' host: '{}' (Got "
                    "an error reading communication packets)",
                    conn & ((std::int64_t{1} << k_session_shift) - 1), ctx.name_of(client)));
  }
}

DbResult DbNode::execute(Session& session, const RequestBody& req) {
  switch (req.kind) {
    case RequestKind::ping:
      return DbResult{};
    case RequestKind::commit:
      return commit(session, req);
    case RequestKind::begin:
      return begin(session, req);
    case RequestKind::rollback:
      session.txn.reset();
      return DbResult{};
    case RequestKind::select_where:
    case RequestKind::select_id:
    case RequestKind::select_all:
      // A read does not see its own connection's uncommitted writes: no model client reads
      // inside its transaction.
      return read(req);
  }
  return DbResult{};
}

DbResult DbNode::read(const RequestBody& req) {
  const Database& db = durable_.store.db;
  DbResult r;
  const Table* t = db.table(req.table);
  if (t == nullptr) {
    r.error = no_such_table(req.table);
    return r;
  }
  switch (req.kind) {
    case RequestKind::select_where:
      for (RowId id : db.where(req.table, req.column, req.value))
        r.rows.emplace_back(id, *db.find(req.table, id));
      break;
    case RequestKind::select_all:
      for (const auto& [id, row] : *t) r.rows.emplace_back(id, row);
      break;
    case RequestKind::select_id:
      if (const Row* row = db.find(req.table, req.id)) r.rows.emplace_back(req.id, *row);
      break;
    default:
      break;
  }
  return r;
}

namespace {
std::optional<DbError> bad_table(const Database& db, const WriteBatch& batch) {
  for (const auto& w : batch.writes())
    if (db.table(w.table) == nullptr) return no_such_table(w.table);
  return std::nullopt;
}
}  // namespace

DbResult DbNode::commit(Session& session, const RequestBody& req) {
  Database& db = durable_.store.db;
  DbResult r;
  WriteBatch all = session.txn ? std::move(*session.txn) : WriteBatch{};
  session.txn.reset();
  all.append(req.batch);
  // The whole batch is checked before any of it is applied: a bad table aborts it all.
  if ((r.error = bad_table(db, all))) return r;
  Transaction txn = all.to_transaction();
  r.ids = db.commit(txn);
  return r;
}

DbResult DbNode::begin(Session& session, const RequestBody& req) {
  // START TRANSACTION commits a transaction still open on the connection (MySQL's implicit
  // commit), then the batch's writes wait in the new one for its COMMIT.
  if (session.txn) {
    DbResult implicit = commit(session, RequestBody{});
    if (!implicit.ok()) return implicit;
  }
  DbResult r;
  if ((r.error = bad_table(durable_.store.db, req.batch))) return r;
  session.txn = req.batch;
  return r;
}

bool DbNode::on_fault(Ctx& ctx, const ModelFault& fault) {
  if (fault.kind != "truncate") return false;
  // The field report's operator switched foreign-key checks off first (SET FOREIGN_KEY_CHECKS=0).
  if (auto err = durable_.store.db.truncate(fault.args, /*foreign_key_checks=*/false)) {
    ctx.event(LogLevel::notable,
              Event("mysql.truncate_failed")
                  .with("code", std::int64_t{err->code})
                  .with("message", err->message),
              fmt::format("TRUNCATE failed: error {}: {}", err->code, err->message));
  } else {
    std::string tables = fmt::format("{}", fmt::join(fault.args, ", "));
    ctx.event(LogLevel::notable, Event("mysql.truncated").with("tables", tables),
              fmt::format("tables {} truncated (foreign_key_checks=0)", tables));
    ctx.signal("mysql.truncated");
  }
  return true;
}

int DbNode::connections_of(NodeId client) const {
  const auto& connections = volatile_.connections;
  int n = 0;
  for (auto it = connections.lower_bound({client, INT64_MIN});
       it != connections.end() && it->first.first == client; ++it)
    ++n;
  return n;
}

std::optional<std::int64_t> DbNode::probe(std::string_view key, std::string_view arg) const {
  const Database& db = durable_.store.db;
  if (key == "db.connections") return db.connections();
  if (key == "db.rows") {
    const Table* t = db.table(arg);
    return t == nullptr ? 0 : static_cast<std::int64_t>(t->size());
  }
  return std::nullopt;
}

}  // namespace stampede::mysql

namespace stampede {

namespace {
constexpr const char* k_model_choice = "model choice: ";

void register_db_events(Registry& r) {
  r.add_event({"mysql.ready", {"port"}, "the external db booted or restarted"});
  r.add_event({"mysql.too_many_connections", {"code", "connections"},
               "a server's pool of this many connections could not open: the db refused one "
               "with this error (1040: max_connections is used up)"});
  r.add_event({"mysql.pool_open", {"connections"}, "a server's pool of this many connections is "
                                                   "open"});
  r.add_event({"mysql.pool_lost", {"code", "backoff_ns"},
               "a server lost its pool with this client error (2003, 2006 or 2013) and reopens "
               "it after the backoff"});
  r.add_event({"mysql.connections_closed", {"connections"},
               "a client's connection to the db closed (the db's process died, or was down when "
               "the client connected): this many pooled connections hold the db's EOF"});
  r.add_event({"mysql.connection_discarded", {"code"},
               "a pool's test on borrow (SELECT 1) failed on a connection the db had closed, "
               "with this error (2013 after an EOF, 2006 after a reset), and the connection was "
               "discarded (debug)"});
  r.add_event({"mysql.connection_timed_out", {"client"},
               "the db closed a connection of this client idle for wait_timeout"});
  r.add_event({"mysql.connection_reset_by_peer",
               {"client"},
               "a keepalive probe on a connection that this client's earlier process left "
               "half-open met a reset, and the db aborted the session (db_tcp_keepalive)"});
  r.add_event({"mysql.client_gone", {"client", "connections"},
               "the db read the EOF of this client's dead process and freed this many "
               "connections (debug)"});
  r.add_event({"mysql.client_rows", {"client", "seqs"},
               "a dbclient-K read back its committed rows: these sequence numbers "
               "(comma-separated) are present"});
  r.add_event({"mysql.client_committed", {"client", "seq"},
               "a dbclient-K committed its transaction with this sequence number"});
  r.add_event({"mysql.client_failed", {"client", "step", "seq", "code"},
               "a dbclient-K's step (read, begin or commit) of transaction seq (0 for the read) "
               "failed with this error"});
  r.add_event({"mysql.connection_refused", {"code", "connections"},
               "a connection a server's open pool made for a borrower was refused with this "
               "error (1040: max_connections is used up) while the pool held this many; that "
               "borrower's statement fails"});
  r.add_event({"mysql.connections_evicted", {"connections", "pool"},
               "a pool's evictor closed this many connections idle more than "
               "db_min_evictable_idle; this many are left (debug)"});
  r.add_event({"mysql.truncated", {"tables"},
               "a truncate fault emptied these tables (comma-separated) of the external db"});
}

}  // namespace

namespace {

// Cattle's JDBC URL for MySQL carries the driver's two socket timeouts (rancher/cattle v0.165.8
// resources/content/cattle-global.properties:63, db.cattle.mysql.url with
// socketTimeout=60000&connectTimeout=60000), and dbcp's pool its own wait and sizes
// (code/packaging/app-config/src/main/resources/META-INF/cattle/defaults/defaults.properties:
// 19-26, read into commons-dbcp 1.4's BasicDataSource by code/framework/db-loader/src/main/java/
// io/cattle/platform/datasource/DefaultDataSourceFactoryImpl.java:20-22 and PoolConfig.setConfig,
// which matches each bean property by its lower-cased name: dbcp 1.4 has maxWait, so
// global.pool.maxwait is the one read; global.pool.maxwaitmillis, line 22, is commons-pool2's
// name and matches no dbcp 1.4 property).
constexpr const char* k_url_source =
    "rancher/cattle v0.165.8 resources/content/cattle-global.properties:63 (db.cattle.mysql.url";
constexpr const char* k_defaults_source =
    "rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/cattle/"
    "defaults/defaults.properties";

void register_db_pool(Registry& r) {
  using namespace mysql;
  r.add_timing({std::string(k_connect_timeout), TimingUnit::duration, 60 * k_s,
                fmt::format("{}, connectTimeout=60000)", k_url_source),
                "how long a client waits for a connection's handshake (its pool's at open, or one "
                "a borrow makes) before it gives up with error 2003; a request waiting for a "
                "connection being made waits as long"});
  r.add_timing({std::string(k_socket_timeout), TimingUnit::duration, 60 * k_s,
                fmt::format("{}, socketTimeout=60000)", k_url_source),
                "a request sent and not answered within this fails with error 2013 and the "
                "client reopens its pool"});
  r.add_timing({std::string(k_pool_max_wait), TimingUnit::duration, k_s,
                fmt::format("{}:21 (global.pool.maxwait=1000, dbcp 1.4's maxWait)",
                            k_defaults_source),
                "how long a request waits for a connection given back when its pool is at "
                "db_pool_max_active, before it fails with \"Cannot get a connection, pool error "
                "Timeout waiting for idle object\""});
  r.add_timing({std::string(k_pool_max_active), TimingUnit::count, 1000,
                "rancher/cattle v0.165.8 resources/content/cattle-global.properties:88 "
                "(db.maxtotal=1000, read as dbcp 1.4's maxActive through code/framework/pool/src/"
                "main/java/io/cattle/platform/pool/PoolConfig.java:22-23)",
                "HA: the most connections a server's pool holds; it grows past "
                "pool_per_server on demand (mechanism db_pool_grow)"});
  r.add_timing({std::string(k_pool_max_idle), TimingUnit::count, 50,
                fmt::format("{}:19 (global.pool.maxidle=50)", k_defaults_source),
                "HA: a connection given back when this many are idle already is closed"});
  r.add_timing({std::string(k_eviction_interval), TimingUnit::duration, 60 * k_s,
                fmt::format("{}:26 (global.pool.timebetweenevictionrunsmillis=60000)",
                            k_defaults_source),
                "HA: how often a server's pool looks at its 3 longest-idle connections and "
                "closes those idle more than db_min_evictable_idle"});
  r.add_timing({std::string(k_min_evictable_idle), TimingUnit::duration, 300 * k_s,
                fmt::format("{}:25 (global.pool.minevictableidletimemillis=300000)",
                            k_defaults_source),
                "HA: how long a pooled connection may stay idle before the evictor closes it (0: "
                "never)"});
  r.add_mechanism({std::string(k_pool_grow),
                   "HA: a server's pool makes a connection for each borrower that finds none "
                   "idle, up to db_pool_max_active (rancher/cattle v0.165.8 db.maxtotal=1000 "
                   "with commons-dbcp 1.4); off: it stays at pool_per_server and a borrower "
                   "waits db_pool_max_wait for a connection given back"});
}

// The db's TCP keepalive (DbNode::mark_peer_gone says why it matters).
void register_db_keepalive(Registry& r) {
  using namespace mysql;
  r.add_timing({std::string(k_tcp_keepalive_time), TimingUnit::duration, 7200 * k_s,
                "Linux net.ipv4.tcp_keepalive_time, default 7200 s (Documentation/networking/"
                "ip-sysctl.rst); MariaDB's tcp_keepalive_time defaults to 0, the system's value",
                "how long a client connection stays idle before the db host's kernel sends its "
                "first keepalive probe (db_tcp_keepalive)"});
  r.add_mechanism({std::string(k_tcp_keepalive),
                   "mysqld turns TCP keepalive on for every client connection (sql/sql_connect.cc "
                   "check_connection, vio_keepalive(net->vio, TRUE), MySQL 5.5 and MariaDB): a "
                   "session that a client's host left half-open by losing power is aborted when "
                   "the first probe, after db_tcp_keepalive_time idle, meets the rebooted host's "
                   "reset; off: it stays until wait_timeout"});
  r.add_log_message(
      {"Aborted connection N to db: 'cattle' user: 'cattle' host: 'NODE' (Got "
       "an error reading communication packets)",
       "a keepalive probe on a half-open connection met a reset (db_tcp_keepalive)"});
}

}  // namespace

void register_db_node(Registry& r) {
  using namespace mysql;
  register_db_pool(r);
  r.add_timing({std::string(k_validation_interval), TimingUnit::duration, 5 * k_s,
                fmt::format("{}a pool's idle validation query (SELECT 1), as commons-dbcp's "
                            "testWhileIdle; the interval is ours",
                            k_model_choice),
                "how often an idle client checks its pool, so it notices a db restart"});
  r.add_timing(
      {std::string(k_backoff_min), TimingUnit::duration, k_s,
       fmt::format("{}first reconnect delay; it doubles after each failed attempt", k_model_choice),
       "first delay before a client reopens its pool after losing the db"});
  r.add_timing({std::string(k_backoff_max), TimingUnit::duration, 30 * k_s,
                fmt::format("{}cap of the doubling reconnect delay", k_model_choice),
                "longest delay between a client's attempts to reopen its pool"});
  r.add_timing({std::string(k_wait_timeout), TimingUnit::duration, 28800 * k_s,
                "MariaDB wait_timeout, default 28800 s (mariadb.com/docs/server/ref/mdb/"
                "system-variables/wait_timeout)",
                "how long the db keeps an idle connection before it closes it with a reset (the "
                "client's next statement on it gets 2006)"});
  r.add_mechanism({std::string(k_test_on_borrow),
                   "HA: a server's pool tests a connection before lending it and discards one the "
                   "db has closed (rancher/cattle v0.165.8 global.pool.testonborrow=true with "
                   "db.cattle.mysql.validationquery=SELECT 1, commons-dbcp 1.4); off: the "
                   "statement runs on it and fails with 2013 (after the db's EOF) or 2006 (after "
                   "its reset)"});
  r.add_timing({std::string(k_db_clients), TimingUnit::count, 0,
                "stampede workload choice (no upstream default)",
                "HA: number of dbclient-N nodes, each looping on a transaction on its own "
                "connection to the db (models/mysql/db_workload.hpp)"});
  r.add_timing({std::string(k_db_client_hold), TimingUnit::duration, k_s,
                "stampede workload choice (no upstream default)",
                "how long a dbclient-N holds its transaction open before COMMIT"});
  r.add_timing({std::string(k_db_client_idle), TimingUnit::duration, k_s,
                "stampede workload choice (no upstream default)",
                "how long a dbclient-N waits between its transactions"});
  r.add_metric({std::string(k_metric_queries), "requests the external db answered"});
  r.add_metric({std::string(k_metric_refused),
                "connections the external db refused with error 1040 (max_connections reached)"});
  r.add_log_message({"ERROR 1040 (08004): Too many connections",
                     "a server's pool could not open: the db's max_connections is used up "
                     "(notable)"});
  r.add_log_message({"mysqld: ready for connections", "the external db booted or restarted"});
  r.add_log_message({"database pool of N connection(s) open",
                     "a server's pool is open: its first N connections (1 when Cattle's pool opens "
                     "on demand, mechanism cattle_pool_on_demand)"});
  r.add_log_message({"lost the database: ERROR ...; reconnecting in D",
                     "a server lost its pool (db crash, reset or timeout) and will reopen it"});
  r.add_log_message({"rows of dbclient-K present: 1,2", "a dbclient-K read back its rows"});
  r.add_log_message({"transaction N committed", "a dbclient-K committed a transaction"});
  r.add_log_message({"transaction N failed (STEP): ERROR ...",
                     "a dbclient-K's transaction failed (read failed: ERROR ... for its read)"});
  r.add_log_message({"a new pooled connection failed (pool of N): ERROR ...",
                     "a connection made on demand for a borrower was refused or timed out; that "
                     "borrower's statement fails (ERROR 1040: max_connections is used up)"});
  r.add_log_message({"evicted N idle connections; M left in the pool",
                     "a pool's evictor closed connections idle past db_min_evictable_idle "
                     "(debug)"});
  r.add_log_message({"the database closed N pooled connections",
                     "a client's connection to the db closed: its pooled connections hold EOF"});
  r.add_log_message({"Aborted connection N to db: 'cattle' user: 'cattle' host: 'NODE' (Got "
                     "timeout reading communication packets)",
                     "the db closed a connection idle for wait_timeout"});
  register_db_keepalive(r);
  register_db_events(r);
}

}  // namespace stampede
