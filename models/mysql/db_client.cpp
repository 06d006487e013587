#include "models/mysql/db_client.hpp"

#include <fmt/format.h>

#include <algorithm>
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
  cfg_.query_timeout_ns = ctx.timing(k_query_timeout);
  cfg_.validation_interval_ns = ctx.timing(k_validation_interval);
  cfg_.backoff_min_ns = ctx.timing(k_backoff_min);
  cfg_.backoff_max_ns = ctx.timing(k_backoff_max);
}

void DbClient::start(Ctx& ctx) {
  read_config(ctx);
}

void DbClient::crash() {
  // The process died: the pool and its requests with it; the configuration is read again at the
  // next start. The owner's callbacks are code, and stay.
  volatile_ = {};
  cfg_ = {};
}

void DbClient::open_pool(Ctx& ctx, int n) {
  release_connections(ctx);
  volatile_.target = n;
  volatile_.backoff_ns = 0;
  if (n <= 0) {
    ++volatile_.gen;
    volatile_.state = PoolState::idle;
    return;
  }
  attempt(ctx);
}

std::vector<DbClient::Pending> DbClient::take_all_pending() {
  std::vector<Pending> taken;
  for (auto& [id, p] : volatile_.pending) taken.push_back(std::move(p));
  volatile_.pending.clear();
  volatile_.queue.clear();
  return taken;
}

void DbClient::close_pool(Ctx& ctx) {
  release_connections(ctx);
  ++volatile_.gen;
  volatile_.state = PoolState::idle;
  fail(ctx, take_all_pending(), server_gone());
}

void DbClient::attempt(Ctx& ctx) {
  // An owner that opens its pool without having started the client: read the configuration now.
  if (cfg_.server == k_no_node) read_config(ctx);
  Volatile& v = volatile_;
  ++v.gen;
  // A fresh session per attempt: the db drops whatever an earlier attempt of ours left open.
  v.session = ctx.random(1, (std::int64_t{1} << 30) - 1);
  v.state = PoolState::connecting;
  for (int k = 1; k <= v.target; ++k)
    ctx.send(cfg_.server, wire::encode(DbOpen{connection_id(v.session, k)}));
  ctx.set_timer(cfg_.connect_timeout_ns, timer_tag::encode(ConnectTimer{v.gen}));
}

void DbClient::release_connections(Ctx& ctx) {
  for (std::int64_t c : volatile_.opened) ctx.send(cfg_.server, wire::encode(DbClose{c}));
  volatile_.opened.clear();
  volatile_.free_conns.clear();
}

void DbClient::became_open(Ctx& ctx) {
  volatile_.state = PoolState::open;
  volatile_.backoff_ns = 0;
  ctx.event(LogLevel::info,
            Event("mysql.pool_open").with("connections", std::int64_t{volatile_.target}),
            fmt::format("database pool of {} connections open", volatile_.target));
  ctx.set_timer(cfg_.validation_interval_ns, timer_tag::encode(ValidateTimer{volatile_.gen}));
  serve_queue(ctx);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::opened);
}

void DbClient::refused(Ctx& ctx, const DbError& err) {
  volatile_.last_error.error = err;
  ctx.event(LogLevel::notable,
            Event("mysql.too_many_connections")
                .with("code", std::int64_t{err.code})
                .with("connections", std::int64_t{volatile_.target}),
            format_error(err));
  release_connections(ctx);
  ++volatile_.gen;
  volatile_.state = PoolState::refused;
  // Nothing can be served: whoever waits for a connection is told now.
  fail(ctx, take_all_pending(), err);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::refused);
}

void DbClient::lost(Ctx& ctx, const DbError& err) {
  Volatile& v = volatile_;
  v.last_error.error = err;
  release_connections(ctx);
  ++v.gen;
  v.state = PoolState::backoff;
  ++v.reconnects;
  v.backoff_ns = v.backoff_ns == 0 ? cfg_.backoff_min_ns
                                   : std::min(v.backoff_ns * 2, cfg_.backoff_max_ns);
  ctx.set_timer(v.backoff_ns, timer_tag::encode(ReconnectTimer{v.gen}));
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
    ctx.cancel_timer(p.timer);
    if (p.done.value) p.done.value(ctx, r);
  }
}

std::int64_t DbClient::submit(Ctx& ctx, std::shared_ptr<RequestBody> body, Done done) {
  Volatile& v = volatile_;
  std::int64_t id = ++v.next_id;
  if (v.state == PoolState::idle || v.state == PoolState::refused) {
    DbResult r;
    const std::optional<DbError>& last = v.last_error.error;
    r.error = v.state == PoolState::refused && last ? *last : server_gone();
    if (done) done(ctx, r);
    return id;
  }
  TimerId timer = ctx.set_timer(cfg_.query_timeout_ns,
                                timer_tag::encode(RequestTimer{static_cast<std::uint32_t>(id)}));
  v.pending.emplace(id, Pending{RequestRef{std::move(body)}, std::move(done), timer, 0});
  v.queue.push_back(id);
  serve_queue(ctx);
  return id;
}

void DbClient::serve_queue(Ctx& ctx) {
  Volatile& v = volatile_;
  while (v.state == PoolState::open && !v.free_conns.empty() && !v.queue.empty()) {
    std::int64_t id = v.queue.front();
    v.queue.pop_front();
    Pending& p = v.pending.at(id);
    p.conn = v.free_conns.front();
    v.free_conns.pop_front();
    ctx.send(cfg_.server, wire::encode(DbRequest{p.conn, id, p.request.body}));
  }
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

void DbClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (from != cfg_.server) return;
  wire::dispatch<DbOpened, DbRefused, DbResponse, DbReset>(msg,
                                                          [&](const auto& m) { on(ctx, m); });
}

bool DbClient::current(std::int64_t conn) const {
  return volatile_.state == PoolState::connecting && session_of(conn) == volatile_.session;
}

void DbClient::on(Ctx& ctx, const DbOpened& m) {
  Volatile& v = volatile_;
  if (v.opened.count(m.conn) != 0) return;  // a duplicate
  if (!current(m.conn)) {
    // Too late for its attempt: give it back so it does not count against max_connections.
    ctx.send(cfg_.server, wire::encode(DbClose{m.conn}));
    return;
  }
  v.opened.insert(m.conn);
  v.free_conns.push_back(m.conn);
  if (static_cast<int>(v.opened.size()) == v.target) became_open(ctx);
}

void DbClient::on(Ctx& ctx, const DbRefused& m) {
  if (!current(m.conn)) return;
  refused(ctx, *m.body->result.error);
}

void DbClient::on(Ctx& ctx, const DbReset& m) {
  if (volatile_.opened.count(m.conn) != 0) lost(ctx, server_gone());
}

void DbClient::on(Ctx& ctx, const DbResponse& m) {
  Volatile& v = volatile_;
  auto it = v.pending.find(m.request);
  if (it == v.pending.end() || it->second.conn != m.conn) return;  // failed already
  Pending p = std::move(it->second);
  v.pending.erase(it);
  ctx.cancel_timer(p.timer);
  if (v.opened.count(p.conn) != 0) v.free_conns.push_back(p.conn);
  DbResult r = m.body->result;
  serve_queue(ctx);
  if (p.done.value) p.done.value(ctx, r);
}

void DbClient::request_timed_out(Ctx& ctx, std::int64_t id) {
  Volatile& v = volatile_;
  auto it = v.pending.find(id);
  if (it == v.pending.end()) return;
  // An unanswered request means the db or the way to it is gone (it answers at once when up).
  if (it->second.conn != 0) return lost(ctx, server_lost());
  Pending p = std::move(it->second);
  v.pending.erase(it);
  v.queue.erase(std::find(v.queue.begin(), v.queue.end(), id));
  std::vector<Pending> one;
  one.push_back(std::move(p));
  const std::optional<DbError>& last = v.last_error.error;
  fail(ctx, std::move(one), last ? *last : server_gone());
}

void DbClient::on_timer(Ctx& ctx, std::uint64_t tag) {
  timer_tag::dispatch<RequestTimer, ConnectTimer, ReconnectTimer, ValidateTimer>(
      tag, [&](const auto& t) { on(ctx, t); });
}

void DbClient::on(Ctx& ctx, const RequestTimer& t) {
  request_timed_out(ctx, t.request_low);
}

void DbClient::on(Ctx& ctx, const ConnectTimer& t) {
  if (t.gen != volatile_.gen || volatile_.state != PoolState::connecting) return;
  lost(ctx, DbError{k_error_cannot_connect,
                    fmt::format("Can't connect to MySQL server on '{}' (110)", server_name_)});
}

void DbClient::on(Ctx& ctx, const ReconnectTimer& t) {
  if (t.gen == volatile_.gen && volatile_.state == PoolState::backoff) attempt(ctx);
}

void DbClient::on(Ctx& ctx, const ValidateTimer& t) {
  Volatile& v = volatile_;
  if (t.gen != v.gen || v.state != PoolState::open) return;
  // Busy connections prove themselves through their own timeouts; an idle pool asks.
  if (v.queue.empty() && !v.free_conns.empty())
    submit(ctx, std::make_shared<RequestBody>(), nullptr);
  ctx.set_timer(cfg_.validation_interval_ns, timer_tag::encode(ValidateTimer{v.gen}));
}

std::optional<std::int64_t> DbClient::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "db.pool_size") return pool_size();
  if (key == "db.connected") return connected() ? 1 : 0;
  const std::optional<DbError>& last = volatile_.last_error.error;
  if (key == "db.last_error") return last ? last->code : 0;
  return std::nullopt;
}

std::uint64_t DbClient::digest() const {
  Digest d;
  digest_into(d);
  return d.value();
}

}  // namespace stampede::mysql
