#include "models/mysql/db_client.hpp"

#include <fmt/format.h>

#include "sim/core/assert.hpp"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace stampede::mysql {

namespace {
DbError server_gone() {
  return DbError{k_error_server_gone, "MySQL server has gone away"};
}
DbError server_lost() {
  return DbError{k_error_server_lost, "Lost connection to MySQL server during query"};
}
DbError handshake_lost() {
  return DbError{k_error_server_lost,
                 "Lost connection to MySQL server at 'reading initial communication packet'"};
}
DbError cannot_connect(std::string_view server, int os_errno) {
  return DbError{k_error_cannot_connect,
                 fmt::format("Can't connect to MySQL server on '{}' ({})", server, os_errno)};
}
// What a statement on a connection whose server end is gone gets: the write fails on a reset
// (2006); it succeeds on an EOF and the read finds the EOF (2013).
DbError dead_error(ConnEnd end) {
  return end == ConnEnd::reset ? server_gone() : server_lost();
}
// What a borrow that waited db_pool_max_wait on a pool at its maximum gets: dbcp's
// PoolingDataSource.getConnection wraps the pool's NoSuchElementException (commons-dbcp DBCP_1_4
// src/java/org/apache/commons/dbcp/PoolingDataSource.java:114; commons-pool POOL_1_6
// GenericObjectPool.java:1174).
DbError pool_exhausted() {
  return DbError{k_error_pool_exhausted,
                 "Cannot get a connection, pool error Timeout waiting for idle object"};
}
constexpr int k_connection_refused = 111;  // ECONNREFUSED
constexpr int k_timed_out = 110;           // ETIMEDOUT
// The evictor looks at this many idle connections a run: numTestsPerEvictionRun, which Cattle
// does not set, so commons-pool POOL_1_6's default (GenericObjectPool.java:322).
constexpr int k_tests_per_eviction_run = 3;
}  // namespace

void DbClient::RequestRef::digest_into(Digest& d) const {
  d.add(body ? 1u : 0u);
  if (body) body->digest_into(d);
}

void DbClient::RequestRef::perturb_for_test() {
  auto changed = std::make_shared<RequestBody>(body ? *body : RequestBody{});
  changed->table += 'x';
  body = std::move(changed);
}

void DbClient::LastError::digest_into(Digest& d) const {
  d.add(error ? 1u : 0u);
  if (error) d.add_signed(error->code).add(error->message);
}

void DbClient::LastError::perturb_for_test() {
  if (error) {
    ++error->code;
  } else {
    error = DbError{};
  }
}

void DbClient::read_config(Ctx& ctx) {
  cfg_.server = ctx.lookup(server_name_);
  cfg_.connect_timeout_ns = ctx.timing(k_connect_timeout);
  cfg_.socket_timeout_ns = ctx.timing(k_socket_timeout);
  cfg_.pool_max_wait_ns = ctx.timing(k_pool_max_wait);
  cfg_.validation_interval_ns = ctx.timing(k_validation_interval);
  cfg_.eviction_interval_ns = ctx.timing(k_eviction_interval);
  cfg_.min_evictable_idle_ns = ctx.timing(k_min_evictable_idle);
  cfg_.max_active = limits_ ? limits_->max_active : ctx.timing(k_pool_max_active);
  cfg_.max_idle = limits_ ? limits_->max_idle : ctx.timing(k_pool_max_idle);
  // A program's own connections (not pooled) are what it opened: no growth, no idle limit.
  cfg_.grow = pooled_ && ctx.mechanism(k_pool_grow);
  cfg_.backoff_min_ns = ctx.timing(k_backoff_min);
  cfg_.backoff_max_ns = ctx.timing(k_backoff_max);
  cfg_.test_on_borrow = pooled_ && ctx.mechanism(k_test_on_borrow);
}

void DbClient::start(Ctx& ctx) {
  read_config(ctx);
}

void DbClient::crash() {
  // The process died: the pool and its requests with it; the configuration is read again at the
  // next start. The owner's callbacks are code, and stay.
  volatile_ = Cow<Volatile>();
  cfg_ = {};
}

void DbClient::open_pool(Ctx& ctx, int n, int initial) {
  release_connections(ctx);
  volatile_.mut().target = n;
  volatile_.mut().backoff_ns = 0;
  if (n <= 0) {
    volatile_.mut().initial = 0;
    ++volatile_.mut().gen;
    volatile_.mut().state = PoolState::idle;
    return;
  }
  // At least one connection: the first borrow's, which makes the pool.
  volatile_.mut().initial = std::clamp(initial, 1, n);
  attempt(ctx);
}

std::vector<DbClient::Pending> DbClient::take_all_pending() {
  std::vector<Pending> taken;
  for (auto& [id, p] : volatile_.mut().pending) taken.push_back(std::move(p));
  volatile_.mut().pending.clear();
  volatile_.mut().queue.clear();
  return taken;
}

void DbClient::close_pool(Ctx& ctx) {
  release_connections(ctx);
  ++volatile_.mut().gen;
  volatile_.mut().state = PoolState::idle;
  fail(ctx, take_all_pending(), server_gone());
}

void DbClient::attempt(Ctx& ctx) {
  // An owner that opens its pool without having started the client: read the configuration now.
  if (cfg_.server == k_no_node) read_config(ctx);
  Volatile& v = volatile_.mut();
  ++v.gen;
  // A fresh session per attempt: the db drops whatever an earlier attempt of ours left open.
  v.session = ctx.random(1, (std::int64_t{1} << 30) - 1);
  v.state = PoolState::connecting;
  for (int k = 1; k <= v.initial; ++k) {
    std::int64_t c = conn_id(v.session, k);
    v.conns.emplace(c, Conn{});
    ctx.send(cfg_.server, wire::encode(DbOpen{c}));
  }
  v.next_k = v.initial + 1;
  ctx.set_timer(cfg_.connect_timeout_ns, tag(ConnectTimer{v.gen}));
}

void DbClient::release_connections(Ctx& ctx) {
  // COM_QUIT on each live connection; a dead one's socket is closed already, and a handshake
  // still under way is given back when its answer comes (on(DbOpened)).
  for (const auto& [c, conn] : volatile_.mut().conns)
    if (conn.use != ConnUse::handshake && conn.end == ConnEnd::open)
      ctx.send(cfg_.server, wire::encode(DbClose{c}));
  volatile_.mut().conns.clear();
  volatile_.mut().free_conns.clear();
  volatile_.mut().txns.clear();
}

int DbClient::open_count() const {
  int n = 0;
  for (const auto& [c, conn] : volatile_->conns) n += conn.use != ConnUse::handshake;
  return n;
}

int DbClient::handshakes() const {
  return static_cast<int>(volatile_->conns.size()) - open_count();
}

int DbClient::pool_size() const { return open_count(); }

int DbClient::limit() const {
  const int target = volatile_->target;
  if (!cfg_.grow) return target;
  return static_cast<int>(std::max<std::int64_t>(cfg_.max_active, target));
}

void DbClient::became_open(Ctx& ctx) {
  volatile_.mut().state = PoolState::open;
  volatile_.mut().backoff_ns = 0;
  const int n = volatile_.mut().initial;
  // A data source besides the main pool names itself, so that a search for the pool's line
  // finds the pool's.
  ctx.event(
      LogLevel::info, Event("mysql.pool_open").with("connections", std::int64_t{n}),
      label_.empty()
          ? fmt::format("database pool of {} connection{} open", n, n == 1 ? "" : "s")
          : fmt::format("{} data source: {} connection{} open", label_, n, n == 1 ? "" : "s"));
  if (pooled_) {
    ctx.set_timer(cfg_.validation_interval_ns, tag(ValidateTimer{volatile_.mut().gen}));
    ctx.set_timer(cfg_.eviction_interval_ns, tag(EvictTimer{volatile_.mut().gen}));
  }
  serve_queue(ctx);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::opened);
}

void DbClient::refused(Ctx& ctx, const DbError& err) {
  volatile_.mut().last_error.error = err;
  ctx.event(LogLevel::notable,
            Event("mysql.too_many_connections")
                .with("code", std::int64_t{err.code})
                .with("connections", std::int64_t{volatile_.mut().initial}),
            label_.empty() ? format_error(err)
                           : fmt::format("{} data source: {}", label_, format_error(err)));
  release_connections(ctx);
  ++volatile_.mut().gen;
  volatile_.mut().state = PoolState::refused;
  // Nothing can be served: whoever waits for a connection is told now. The next borrow opens
  // the pool again.
  fail(ctx, take_all_pending(), err);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::refused);
}

void DbClient::lost(Ctx& ctx, const DbError& err) {
  Volatile& v = volatile_.mut();
  v.last_error.error = err;
  release_connections(ctx);
  ++v.gen;
  v.state = PoolState::backoff;
  ++v.reconnects;
  v.backoff_ns = v.backoff_ns == 0 ? cfg_.backoff_min_ns
                                   : std::min(v.backoff_ns * 2, cfg_.backoff_max_ns);
  ctx.set_timer(v.backoff_ns, tag(ReconnectTimer{v.gen}));
  ctx.event(LogLevel::info,
            Event("mysql.pool_lost")
                .with("code", std::int64_t{err.code})
                .with("backoff_ns", v.backoff_ns),
            fmt::format("lost the database: {}; reconnecting in {}", format_error(err),
                        format_duration(v.backoff_ns)));
  // Requests in flight died with their connection; those still waiting for one keep waiting
  // (within their timeout) for the reopened pool.
  std::vector<Pending> failed;
  for (auto it = v.pending.begin(); it != v.pending.end();) {
    if (it->second.conn != 0) {
      failed.push_back(std::move(it->second));
      it = v.pending.erase(it);
    } else {
      ++it;
    }
  }
  fail(ctx, std::move(failed), err);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::lost);
}

void DbClient::fail(Ctx& ctx, std::vector<Pending> failed, const DbError& err) {
  DbResult r;
  r.error = err;
  for (Pending& p : failed) {
    if (p.timer.value != 0) ctx.cancel_timer(p.timer);
    if (p.done.value) p.done.value(ctx, r);
  }
}

void DbClient::fail_one(Ctx& ctx, std::int64_t id, const DbError& err) {
  Volatile& v = volatile_.mut();
  auto it = v.pending.find(id);
  if (it == v.pending.end()) return;
  std::vector<Pending> one;
  one.push_back(std::move(it->second));
  v.pending.erase(it);
  if (one.front().conn != 0) v.conns.erase(one.front().conn);
  fail(ctx, std::move(one), err);
}

std::int64_t DbClient::submit(Ctx& ctx, std::shared_ptr<RequestBody> body, Done done) {
  Volatile& v = volatile_.mut();
  std::int64_t id = ++v.next_id;
  if (v.state == PoolState::idle) {
    DbResult r;
    r.error = server_gone();
    if (done) done(ctx, r);
    return id;
  }
  // The pool is at its maximum when this borrow finds no idle connection and may not make one
  // (GenericObjectPool.allocate, commons-pool POOL_1_6 GenericObjectPool.java:1267).
  const bool exhausted = v.state == PoolState::open && v.free_conns.empty() &&
                         static_cast<int>(v.conns.size()) >= limit();
  v.pending.emplace(id, Pending{RequestRef{std::move(body)}, std::move(done), 0, 0, exhausted});
  v.queue.push_back(id);
  // A refused pool holds no connection, and dbcp remembers nothing of the refusal: this borrow
  // connects again.
  if (v.state == PoolState::refused) {
    attempt(ctx);
  } else {
    serve_queue(ctx);
  }
  start_waiting(ctx, id);
  return id;
}

void DbClient::start_waiting(Ctx& ctx, std::int64_t id) {
  auto it = volatile_.mut().pending.find(id);
  if (it == volatile_.mut().pending.end() || it->second.conn != 0) return;  // served, or failed
  // On a pool at its maximum the borrower waits maxWait for a connection given back; otherwise
  // it makes a connection (now, or when the pool reopens) and waits for its handshake.
  const DurationNs wait_ns =
      it->second.exhausted ? cfg_.pool_max_wait_ns : cfg_.connect_timeout_ns;
  it->second.timer = ctx.set_timer(wait_ns, tag(RequestTimer{static_cast<std::uint32_t>(id)}));
}

std::int64_t DbClient::borrow(Ctx& ctx) {
  Volatile& v = volatile_.mut();
  while (!v.free_conns.empty()) {
    std::int64_t c = v.free_conns.front();
    v.free_conns.pop_front();
    const ConnEnd end = v.conns.at(c).end;
    if (end == ConnEnd::open || !cfg_.test_on_borrow) return c;
    // testOnBorrow: SELECT 1 fails on what the socket holds, and dbcp destroys the connection.
    DbError err = dead_error(end);
    ctx.event(LogLevel::debug, Event("mysql.connection_discarded").with("code", std::int64_t{err.code}),
              fmt::format("connection {} failed validation: {}; discarded",
                          c & ((std::int64_t{1} << k_session_shift) - 1), format_error(err)));
    v.conns.erase(c);
  }
  return 0;
}

void DbClient::serve_queue(Ctx& ctx) {
  Volatile& v = volatile_.mut();
  while (v.state == PoolState::open && !v.queue.empty()) {
    std::int64_t c = borrow(ctx);
    if (c == 0) return make_connections(ctx);
    std::int64_t id = v.queue.front();
    v.queue.pop_front();
    Pending& p = v.pending.at(id);
    p.conn = c;
    Conn& conn = v.conns.at(c);
    conn.use = ConnUse::busy;
    // Lent untested (db_test_on_borrow off): the statement meets what the socket holds.
    if (conn.end != ConnEnd::open) {
      fail_one(ctx, id, dead_error(conn.end));
      continue;
    }
    // From here the driver's read waits for the answer, at most socketTimeout.
    if (p.timer.value != 0) ctx.cancel_timer(p.timer);
    p.timer =
        ctx.set_timer(cfg_.socket_timeout_ns, tag(RequestTimer{static_cast<std::uint32_t>(id)}));
    ctx.send(cfg_.server, wire::encode(DbRequest{c, id, p.request.body}));
  }
}

void DbClient::make_connections(Ctx& ctx) {
  Volatile& v = volatile_.mut();
  // One handshake per borrower waiting, within the pool's limit (dbcp's makeObject, called by
  // each borrow that finds nothing idle while the pool is under maxActive).
  while (handshakes() < static_cast<int>(v.queue.size()) &&
         static_cast<int>(v.conns.size()) < limit()) {
    STAMPEDE_ASSERT(v.next_k < (std::int64_t{1} << k_source_shift),
                    "a session ran out of connection ids");
    std::int64_t c = conn_id(v.session, v.next_k);
    v.conns.emplace(c, Conn{});
    ctx.send(cfg_.server, wire::encode(DbOpen{c}));
    ctx.set_timer(cfg_.connect_timeout_ns,
                  tag(CreateTimer{v.gen & 0xFFFu, static_cast<std::uint32_t>(v.next_k)}));
    ++v.next_k;
  }
}

void DbClient::create_failed(Ctx& ctx, const DbError& err) {
  Volatile& v = volatile_.mut();
  bool live = false;
  for (const auto& [c, conn] : v.conns) live |= conn.end == ConnEnd::open;
  if (!live) {
    if (err.code == k_error_too_many_connections) return refused(ctx, err);
    // Every borrower that found no connection made one (dbcp's makeObject) and gets its error,
    // as below: none is kept waiting for a pool that reopens later.
    fail(ctx, take_all_pending(), err);
    return lost(ctx, err);
  }
  if (v.queue.empty()) return;
  // The borrower that made the connection gets its error (GenericObjectPool.borrowObject
  // rethrows what makeObject threw); the others keep waiting for a connection.
  std::int64_t id = v.queue.front();
  v.queue.pop_front();
  v.last_error.error = err;
  ctx.event(LogLevel::info,
            Event("mysql.connection_refused")
                .with("code", std::int64_t{err.code})
                .with("connections", std::int64_t{open_count()}),
            fmt::format("a new pooled connection failed (pool of {}): {}", open_count(),
                        format_error(err)));
  fail_one(ctx, id, err);
}

std::int64_t DbClient::select_where(Ctx& ctx, std::string table, std::string column,
                                    std::string value, Done done) {
  auto b = std::make_shared<RequestBody>();
  b->kind = RequestKind::select_where;
  b->table = std::move(table);
  b->column = std::move(column);
  b->value = std::move(value);
  return submit(ctx, std::move(b), std::move(done));
}

std::int64_t DbClient::select_id(Ctx& ctx, std::string table, RowId id, Done done) {
  auto b = std::make_shared<RequestBody>();
  b->kind = RequestKind::select_id;
  b->table = std::move(table);
  b->id = id;
  return submit(ctx, std::move(b), std::move(done));
}

std::int64_t DbClient::select_all(Ctx& ctx, std::string table, Done done) {
  auto b = std::make_shared<RequestBody>();
  b->kind = RequestKind::select_all;
  b->table = std::move(table);
  return submit(ctx, std::move(b), std::move(done));
}

std::int64_t DbClient::commit(Ctx& ctx, WriteBatch batch, Done done) {
  auto b = std::make_shared<RequestBody>();
  b->kind = RequestKind::commit;
  b->batch = std::move(batch);
  return submit(ctx, std::move(b), std::move(done));
}

std::int64_t DbClient::select_unmodelled(Ctx& ctx, Done done) {
  // On the wire a ping: the db answers it at once with no rows, as the real lookup's one row
  // would cost the same round trip.
  return submit(ctx, std::make_shared<RequestBody>(), std::move(done));
}

std::int64_t DbClient::begin(Ctx& ctx, WriteBatch batch, Done done) {
  auto b = std::make_shared<RequestBody>();
  b->kind = RequestKind::begin;
  b->batch = std::move(batch);
  return submit(ctx, std::move(b), std::move(done));
}

void DbClient::finish(Ctx& ctx, std::int64_t txn, bool commit, WriteBatch batch, Done done) {
  Volatile& v = volatile_.mut();
  auto b = std::make_shared<RequestBody>();
  b->kind = commit ? RequestKind::commit : RequestKind::rollback;
  b->batch = std::move(batch);
  std::int64_t id = ++v.next_id;
  DbResult r;
  auto t = v.txns.find(txn);
  if (t == v.txns.end()) {
    r.error = server_gone();  // the pool gave its connections up since (or never began it)
  } else {
    const std::int64_t c = t->second;
    v.txns.erase(t);
    Conn& conn = v.conns.at(c);
    if (conn.end == ConnEnd::open) {
      conn.use = ConnUse::busy;
      TimerId timer =
          ctx.set_timer(cfg_.socket_timeout_ns, tag(RequestTimer{static_cast<std::uint32_t>(id)}));
      v.pending.emplace(id, Pending{RequestRef{b}, std::move(done), timer, c, false});
      ctx.send(cfg_.server, wire::encode(DbRequest{c, id, b}));
      return;
    }
    // Not borrowed, so not tested: the statement meets what the socket holds.
    r.error = dead_error(conn.end);
    v.conns.erase(c);
  }
  if (done) done(ctx, r);
}

void DbClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (from != cfg_.server) return;
  wire::dispatch<DbOpened, DbRefused, DbResponse, DbReset>(msg,
                                                          [&](const auto& m) { on(ctx, m); });
}

int DbClient::source_of_message(const Message& msg) {
  std::int64_t conn = 0;
  wire::dispatch<DbOpened, DbRefused, DbResponse, DbReset>(msg,
                                                           [&](const auto& m) { conn = m.conn; });
  return source_of(conn);
}

bool DbClient::current(std::int64_t conn) const {
  const PoolState s = volatile_->state;
  return (s == PoolState::connecting || s == PoolState::open) &&
         session_of(conn) == volatile_->session;
}

void DbClient::on(Ctx& ctx, const DbOpened& m) {
  Volatile& v = volatile_.mut();
  auto it = v.conns.find(m.conn);
  if (it != v.conns.end() && it->second.use != ConnUse::handshake) return;  // a duplicate
  if (it == v.conns.end() || !current(m.conn)) {
    // Too late for its attempt: give it back so it does not count against max_connections.
    ctx.send(cfg_.server, wire::encode(DbClose{m.conn}));
    return;
  }
  it->second.use = ConnUse::idle;
  it->second.idle_since_ns = ctx.now();
  v.free_conns.push_front(m.conn);
  if (v.state == PoolState::open) return serve_queue(ctx);
  if (open_count() == v.initial) became_open(ctx);
}

void DbClient::on(Ctx& ctx, const DbRefused& m) {
  Volatile& v = volatile_.mut();
  auto it = v.conns.find(m.conn);
  if (it == v.conns.end() || it->second.use != ConnUse::handshake || !current(m.conn)) return;
  const DbError& err = *m.body->result.error;
  if (v.state == PoolState::connecting) return refused(ctx, err);
  v.conns.erase(it);
  create_failed(ctx, err);
}

void DbClient::on(Ctx& ctx, const DbReset& m) {
  Volatile& v = volatile_.mut();
  auto it = v.conns.find(m.conn);
  if (it == v.conns.end()) return;
  if (m.request == 0) {
    // The db closed the connection after wait_timeout. A request that crossed the reset fails
    // now (its read gets ECONNRESET); an idle connection learns it at its next statement.
    if (it->second.use != ConnUse::busy) {
      it->second.end = ConnEnd::reset;
      return;
    }
    for (const auto& [id, p] : v.pending)
      if (p.conn == m.conn) return fail_one(ctx, id, server_lost());
    return;
  }
  // The db does not know the connection: it restarted since, and lost every one of ours.
  for (auto& [c, conn] : v.conns)
    if (conn.use != ConnUse::handshake && conn.end == ConnEnd::open) conn.end = ConnEnd::eof;
  auto p = v.pending.find(m.request);
  if (p != v.pending.end() && p->second.conn == m.conn) fail_one(ctx, m.request, server_lost());
}

void DbClient::on(Ctx& ctx, const DbResponse& m) {
  Volatile& v = volatile_.mut();
  auto it = v.pending.find(m.request);
  if (it == v.pending.end() || it->second.conn != m.conn) return;  // failed already
  Pending p = std::move(it->second);
  v.pending.erase(it);
  ctx.cancel_timer(p.timer);
  // The message's own result, not a copy: it lives as long as this call, and copying its rows
  // (a map per row) at every answer cost 1.5% of the HA hour (issue 13, callgrind).
  const DbResult& r = m.body->result;
  if (auto c = v.conns.find(p.conn); c != v.conns.end()) {
    // A transaction's connection stays with it until finish(); any other goes back.
    if (p.request.body->kind == RequestKind::begin && r.ok()) {
      c->second.use = ConnUse::held;
      v.txns.emplace(m.request, p.conn);
    } else {
      give_back(ctx, p.conn);
    }
  }
  serve_queue(ctx);
  if (p.done.value) p.done.value(ctx, r);
}

void DbClient::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  if (peer != cfg_.server || cfg_.server == k_no_node) return;
  if (event == ConnectionEvent::refused) {
    // One event per message sent while the db's process is down: only the first finds
    // handshakes to fail (the connections it held were gone already).
    if (handshakes() == 0 && volatile_->state != PoolState::open) return;
    return connection_gone(ctx, cannot_connect(server_name_, k_connection_refused));
  }
  connection_gone(ctx, handshake_lost());
}

void DbClient::connection_gone(Ctx& ctx, const DbError& handshake_err) {
  Volatile& v = volatile_.mut();
  if (v.state == PoolState::connecting) return lost(ctx, handshake_err);
  if (v.state != PoolState::open) return;
  bool handshake = false;
  int closed = 0;
  for (auto it = v.conns.begin(); it != v.conns.end();) {
    if (it->second.use == ConnUse::handshake) {
      handshake = true;
      it = v.conns.erase(it);
      continue;
    }
    if (it->second.end == ConnEnd::open) {
      it->second.end = ConnEnd::eof;
      ++closed;
    }
    ++it;
  }
  // The requests outstanding read the EOF now; their connections are discarded.
  std::vector<Pending> outstanding;
  for (auto it = v.pending.begin(); it != v.pending.end();) {
    auto c = it->second.conn == 0 ? v.conns.end() : v.conns.find(it->second.conn);
    if (c == v.conns.end() || c->second.use != ConnUse::busy) {
      ++it;
      continue;
    }
    v.conns.erase(c);
    outstanding.push_back(std::move(it->second));
    it = v.pending.erase(it);
  }
  if (closed > 0)
    ctx.event(LogLevel::info, Event("mysql.connections_closed").with("connections", std::int64_t{closed}),
              fmt::format("the database closed {} pooled connections", closed));
  fail(ctx, std::move(outstanding), server_lost());
  if (handshake) create_failed(ctx, handshake_err);
}

void DbClient::request_timed_out(Ctx& ctx, std::int64_t id) {
  Volatile& v = volatile_.mut();
  auto it = v.pending.find(id);
  if (it == v.pending.end()) return;
  // An unanswered request means the db or the way to it is gone (it answers at once when up).
  if (it->second.conn != 0) return lost(ctx, server_lost());
  Pending p = std::move(it->second);
  v.pending.erase(it);
  v.queue.erase(std::find(v.queue.begin(), v.queue.end(), id));
  std::vector<Pending> one;
  one.push_back(std::move(p));
  if (one.front().exhausted) return fail(ctx, std::move(one), pool_exhausted());
  const std::optional<DbError>& last = v.last_error.error;
  fail(ctx, std::move(one), last ? *last : server_gone());
}

void DbClient::destroy(Ctx& ctx, std::int64_t c) {
  auto it = volatile_.mut().conns.find(c);
  if (it == volatile_.mut().conns.end()) return;
  if (it->second.use != ConnUse::handshake && it->second.end == ConnEnd::open)
    ctx.send(cfg_.server, wire::encode(DbClose{c}));
  volatile_.mut().conns.erase(it);
}

void DbClient::give_back(Ctx& ctx, std::int64_t c) {
  Volatile& v = volatile_.mut();
  // A pool that keeps maxIdle idle connections already closes this one (addObjectToPool,
  // GenericObjectPool.java:1442-1443); a program's own connection is always kept.
  if (pooled_ && static_cast<std::int64_t>(v.free_conns.size()) >= cfg_.max_idle)
    return destroy(ctx, c);
  Conn& conn = v.conns.at(c);
  conn.use = ConnUse::idle;
  conn.idle_since_ns = ctx.now();
  v.free_conns.push_front(c);
}

void DbClient::on_timer(Ctx& ctx, std::uint64_t tag) {
  timer_tag::dispatch<RequestTimer, ConnectTimer, ReconnectTimer, ValidateTimer, CreateTimer,
                      EvictTimer>(tag & ~k_timer_source_mask, [&](const auto& t) { on(ctx, t); });
}

void DbClient::on(Ctx& ctx, const RequestTimer& t) {
  request_timed_out(ctx, t.request_low);
}

void DbClient::on(Ctx& ctx, const ConnectTimer& t) {
  if (t.gen != volatile_->gen || volatile_->state != PoolState::connecting) return;
  lost(ctx, cannot_connect(server_name_, k_timed_out));
}

void DbClient::on(Ctx& ctx, const CreateTimer& t) {
  Volatile& v = volatile_.mut();
  if ((v.gen & 0xFFFu) != t.gen_low || v.state != PoolState::open) return;
  auto it = v.conns.find(conn_id(v.session, static_cast<int>(t.k)));
  if (it == v.conns.end() || it->second.use != ConnUse::handshake) return;  // answered in time
  v.conns.erase(it);
  create_failed(ctx, cannot_connect(server_name_, k_timed_out));
}

void DbClient::on(Ctx& ctx, const ReconnectTimer& t) {
  if (t.gen == volatile_->gen && volatile_->state == PoolState::backoff) attempt(ctx);
}

void DbClient::on(Ctx& ctx, const ValidateTimer& t) {
  Volatile& v = volatile_.mut();
  if (t.gen != v.gen || v.state != PoolState::open) return;
  // Busy connections prove themselves through their own timeouts; an idle pool asks.
  if (v.queue.empty() && !v.free_conns.empty())
    submit(ctx, std::make_shared<RequestBody>(), nullptr);
  ctx.set_timer(cfg_.validation_interval_ns, tag(ValidateTimer{v.gen}));
}

void DbClient::on(Ctx& ctx, const EvictTimer& t) {
  Volatile& v = volatile_.mut();
  if (t.gen != v.gen || v.state != PoolState::open) return;
  // The evictor walks the idle list from its tail, where the connections idle longest are
  // (lifo), and closes those idle more than minEvictableIdleTimeMillis (GenericObjectPool.evict,
  // lines 1564-1586; a value of 0 or less evicts none). The real cursor goes on from where the
  // last run stopped; the model starts each run at the tail, which is the same whenever the
  // oldest connections are the ones evicted.
  int evicted = 0;
  const int tests = std::min<int>(k_tests_per_eviction_run, static_cast<int>(v.free_conns.size()));
  std::vector<std::int64_t> old;
  for (int i = 0; i < tests; ++i) {
    const std::int64_t c = v.free_conns[v.free_conns.size() - 1 - static_cast<std::size_t>(i)];
    const DurationNs idle_ns = ctx.now() - v.conns.at(c).idle_since_ns;
    if (cfg_.min_evictable_idle_ns > 0 && idle_ns > cfg_.min_evictable_idle_ns) old.push_back(c);
  }
  for (std::int64_t c : old) {
    v.free_conns.erase(std::find(v.free_conns.begin(), v.free_conns.end(), c));
    destroy(ctx, c);
    ++evicted;
  }
  if (evicted > 0)
    ctx.event(LogLevel::debug,
              Event("mysql.connections_evicted")
                  .with("connections", std::int64_t{evicted})
                  .with("pool", std::int64_t{open_count()}),
              fmt::format("evicted {} idle connections; {} left in the pool", evicted,
                          open_count()));
  ctx.set_timer(cfg_.eviction_interval_ns, tag(EvictTimer{v.gen}));
}

std::optional<std::int64_t> DbClient::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "db.pool_size") return pool_size();
  if (key == "db.connected") return connected() ? 1 : 0;
  const std::optional<DbError>& last = volatile_->last_error.error;
  if (key == "db.last_error") return last ? last->code : 0;
  return std::nullopt;
}

std::uint64_t DbClient::digest() const {
  Digest d;
  digest_into(d);
  return d.value();
}

}  // namespace stampede::mysql
