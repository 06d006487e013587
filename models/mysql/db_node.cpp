#include "models/mysql/db_node.hpp"

#include "sim/core/assert.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace stampede::mysql {

// The wire types are defined here, on the server side of the protocol.

std::string_view db_type_name(std::uint32_t type) {
  std::string_view n =
      wire::name_of<DbOpen, DbClose, DbRequest, DbOpened, DbRefused, DbResponse, DbReset>(type);
  return n.empty() ? "db_?" : n;
}

std::string format_error(const DbError& e) {
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
  metrics_.queries = ctx.intern(k_metric_queries);
  metrics_.refused = ctx.intern(k_metric_refused);
  ctx.event(LogLevel::info, Event("mysql.ready").with("port", std::int64_t{3306}),
            "mysqld: ready for connections. port: 3306");
}

void DbNode::on_crash() {
  volatile_ = {};
  durable_.store.db.drop_all_connections();
}

void DbNode::on_timer(Ctx& ctx, std::uint64_t tag) {
  (void)ctx;
  (void)tag;
}

void DbNode::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<DbOpen, DbClose, DbRequest>(msg, [&](const auto& m) { on(ctx, from, m); });
}

void DbNode::on(Ctx& ctx, NodeId from, const DbRequest& m) {
  auto conn = volatile_.connections.find({from, m.conn});
  if (conn == volatile_.connections.end()) {
    ctx.send(from, wire::encode(DbReset{m.conn, m.request}));
    return;
  }
  if (m.request <= conn->second) return;
  conn->second = m.request;
  ctx.count(metrics_.queries, 1);
  ctx.send(from, wire::encode(DbResponse{m.conn, m.request, answer(execute(*m.body))}));
}

void DbNode::on(Ctx& ctx, NodeId from, const DbOpen& m) {
  auto& connections = volatile_.connections;
  if (connections.count({from, m.conn}) != 0) {  // a duplicated handshake
    ctx.send(from, wire::encode(DbOpened{m.conn}));
    return;
  }
  // A new session from a node means its earlier connections are dead (its process restarted or
  // gave them up): their sockets would have been reset, so they no longer count.
  std::vector<std::int64_t> stale;
  for (auto it = connections.lower_bound({from, INT64_MIN});
       it != connections.end() && it->first.first == from; ++it)
    if (session_of(it->first.second) != session_of(m.conn)) stale.push_back(it->first.second);
  for (std::int64_t c : stale) close(from, c);

  if (auto err = durable_.store.db.connect()) {
    ctx.count(metrics_.refused, 1);
    DbResult r;
    r.error = *err;
    ctx.send(from, wire::encode(DbRefused{m.conn, answer(std::move(r))}));
    return;
  }
  connections.emplace(std::pair{from, m.conn}, 0);
  ctx.send(from, wire::encode(DbOpened{m.conn}));
}

void DbNode::on(Ctx& ctx, NodeId from, const DbClose& m) {
  (void)ctx;
  close(from, m.conn);
}

void DbNode::close(NodeId from, std::int64_t conn) {
  if (volatile_.connections.erase({from, conn}) != 0) durable_.store.db.disconnect();
}

DbResult DbNode::execute(const RequestBody& req) {
  switch (req.kind) {
    case RequestKind::ping:
      return DbResult{};
    case RequestKind::commit:
      return commit(req);
    case RequestKind::select_where:
    case RequestKind::select_id:
    case RequestKind::select_all:
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

DbResult DbNode::commit(const RequestBody& req) {
  Database& db = durable_.store.db;
  DbResult r;
  // The whole batch is checked before any of it is applied: a bad table aborts it all.
  for (const auto& w : req.batch.writes())
    if (db.table(w.table) == nullptr) {
      r.error = no_such_table(w.table);
      return r;
    }
  Transaction txn = req.batch.to_transaction();
  r.ids = db.commit(txn);
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
  r.add_event({"mysql.truncated", {"tables"},
               "a truncate fault emptied these tables (comma-separated) of the external db"});
  r.add_event({"mysql.truncate_failed", {"code", "message"},
               "a truncate fault on the external db failed with this error"});
}

}  // namespace

void register_db_node(Registry& r) {
  using namespace mysql;
  r.add_timing({std::string(k_connect_timeout), TimingUnit::duration, 10 * k_s,
                "MySQL Reference Manual, Server System Variables: connect_timeout, default 10 s",
                "how long a client waits for its pool's handshakes before it gives up with error "
                "2003 and retries after a backoff"});
  r.add_timing({std::string(k_query_timeout), TimingUnit::duration, 10 * k_s,
                fmt::format("{}JDBC sets no query timeout by default; 10 s bounds how long a "
                            "Cattle thread waits for an answer lost with the db",
                            k_model_choice),
                "a request not answered within this fails with error 2013 and the client "
                "reopens its pool"});
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
  r.add_metric({std::string(k_metric_queries), "requests the external db answered"});
  r.add_metric({std::string(k_metric_refused),
                "connections the external db refused with error 1040 (max_connections reached)"});
  r.add_log_message({"ERROR 1040 (08004): Too many connections",
                     "a server's pool could not open: the db's max_connections is used up "
                     "(notable)"});
  r.add_log_message({"mysqld: ready for connections", "the external db booted or restarted"});
  r.add_log_message({"database pool of N connections open", "a server's pool is open"});
  r.add_log_message({"lost the database: ERROR ...; reconnecting in D",
                     "a server lost its pool (db crash, reset or timeout) and will reopen it"});
  register_db_events(r);
}

}  // namespace stampede
