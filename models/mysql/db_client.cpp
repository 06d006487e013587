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

std::uint64_t DbClient::tag(TimerKind k, std::uint32_t low) const {
  return k_client_tag_prefix | (static_cast<std::uint64_t>(k) << 32) | low;
}

void DbClient::start(Ctx& ctx) {
  server_ = ctx.lookup(server_name_);
}

void DbClient::crash() {
  Callbacks cb = std::move(cb_);
  *this = DbClient(server_name_);
  cb_ = std::move(cb);
}

void DbClient::open_pool(Ctx& ctx, int n) {
  release_connections(ctx);
  target_ = n;
  backoff_ns_ = 0;
  if (n <= 0) {
    ++gen_;
    state_ = PoolState::idle;
    return;
  }
  attempt(ctx);
}

void DbClient::close_pool(Ctx& ctx) {
  release_connections(ctx);
  ++gen_;
  state_ = PoolState::idle;
  std::vector<Pending> failed;
  for (auto& [id, p] : pending_) failed.push_back(std::move(p));
  pending_.clear();
  queue_.clear();
  fail(ctx, std::move(failed), server_gone());
}

void DbClient::attempt(Ctx& ctx) {
  if (server_ == k_no_node) server_ = ctx.lookup(server_name_);
  ++gen_;
  // A fresh session per attempt: the db drops whatever an earlier attempt of ours left open.
  session_ = ctx.random(1, (std::int64_t{1} << 30) - 1);
  state_ = PoolState::connecting;
  for (int k = 1; k <= target_; ++k)
    ctx.send(server_, Message{db_open, 64, connection_id(session_, k), 0, 0, nullptr});
  ctx.set_timer(ctx.timing(k_connect_timeout), tag(t_connect, gen_));
}

void DbClient::release_connections(Ctx& ctx) {
  for (std::int64_t c : opened_) ctx.send(server_, Message{db_close, 64, c, 0, 0, nullptr});
  opened_.clear();
  free_.clear();
}

void DbClient::became_open(Ctx& ctx) {
  state_ = PoolState::open;
  backoff_ns_ = 0;
  ctx.log(LogLevel::info, fmt::format("database pool of {} connections open", target_));
  ctx.set_timer(ctx.timing(k_validation_interval), tag(t_validate, gen_));
  dispatch(ctx);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::opened);
}

void DbClient::refused(Ctx& ctx, const DbError& err) {
  last_error_ = err;
  ctx.log(LogLevel::notable, format_error(err));
  release_connections(ctx);
  ++gen_;
  state_ = PoolState::refused;
  // Nothing can be served: whoever waits for a connection is told now.
  std::vector<Pending> failed;
  for (auto& [id, p] : pending_) failed.push_back(std::move(p));
  pending_.clear();
  queue_.clear();
  fail(ctx, std::move(failed), err);
  if (cb_.pool) cb_.pool(ctx, PoolEvent::refused);
}

void DbClient::lost(Ctx& ctx, const DbError& err) {
  last_error_ = err;
  release_connections(ctx);
  ++gen_;
  state_ = PoolState::backoff;
  ++reconnects_;
  DurationNs lo = ctx.timing(k_backoff_min);
  backoff_ns_ = backoff_ns_ == 0 ? lo : std::min(backoff_ns_ * 2, ctx.timing(k_backoff_max));
  ctx.set_timer(backoff_ns_, tag(t_reconnect, gen_));
  ctx.log(LogLevel::info, fmt::format("lost the database: {}; reconnecting in {}",
                                      format_error(err), format_duration(backoff_ns_)));
  // Requests in flight died with their connection; those still waiting for one keep waiting
  // (within their timeout) for the reopened pool.
  std::vector<Pending> failed;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.conn != 0) {
      failed.push_back(std::move(it->second));
      it = pending_.erase(it);
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
    if (p.done) p.done(ctx, r);
  }
}

std::int64_t DbClient::submit(Ctx& ctx, std::shared_ptr<RequestBody> body, Done done) {
  std::int64_t id = ++next_id_;
  if (state_ == PoolState::idle || state_ == PoolState::refused) {
    DbResult r;
    r.error = state_ == PoolState::refused && last_error_ ? *last_error_ : server_gone();
    if (done) done(ctx, r);
    return id;
  }
  // Tags keep the id's low 32 bits: a run would need 4 billion requests to wrap them.
  TimerId timer =
      ctx.set_timer(ctx.timing(k_query_timeout), tag(t_request, static_cast<std::uint32_t>(id)));
  pending_.emplace(id, Pending{std::move(body), std::move(done), timer, 0});
  queue_.push_back(id);
  dispatch(ctx);
  return id;
}

void DbClient::dispatch(Ctx& ctx) {
  while (state_ == PoolState::open && !free_.empty() && !queue_.empty()) {
    std::int64_t id = queue_.front();
    queue_.pop_front();
    Pending& p = pending_.at(id);
    p.conn = free_.front();
    free_.pop_front();
    std::uint32_t size = 128;
    for (const auto& w : p.body->batch.writes()) size += 32 + 16 * w.row.size();
    ctx.send(server_, Message{db_request, size, p.conn, id, 0, p.body});
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
  if (from != server_) return;
  std::int64_t conn = msg.a;
  bool current = state_ == PoolState::connecting && session_of(conn) == session_;
  switch (msg.type) {
    case db_opened:
      if (opened_.count(conn) != 0) return;  // a duplicate
      if (!current) {
        // Too late for its attempt: give it back so it does not count against max_connections.
        ctx.send(server_, Message{db_close, 64, conn, 0, 0, nullptr});
        return;
      }
      opened_.insert(conn);
      free_.push_back(conn);
      if (static_cast<int>(opened_.size()) == target_) became_open(ctx);
      return;
    case db_refused: {
      if (!current) return;
      const auto* body = dynamic_cast<const ResponseBody*>(msg.body.get());
      DbError err = body && body->result.error
                        ? *body->result.error
                        : DbError{k_error_too_many_connections, "Too many connections"};
      return refused(ctx, err);
    }
    case db_response:
      return on_response(ctx, msg);
    case db_reset:
      if (opened_.count(conn) != 0) lost(ctx, server_gone());
      return;
    default:
      return;
  }
}

void DbClient::on_response(Ctx& ctx, const Message& msg) {
  auto it = pending_.find(msg.b);
  if (it == pending_.end() || it->second.conn != msg.a) return;  // failed already
  Pending p = std::move(it->second);
  pending_.erase(it);
  ctx.cancel_timer(p.timer);
  if (opened_.count(p.conn) != 0) free_.push_back(p.conn);
  const auto* body = dynamic_cast<const ResponseBody*>(msg.body.get());
  DbResult r = body ? body->result : DbResult{server_lost(), {}, {}};
  dispatch(ctx);
  if (p.done) p.done(ctx, r);
}

void DbClient::request_timed_out(Ctx& ctx, std::int64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  // An unanswered request means the db or the way to it is gone (it answers at once when up).
  if (it->second.conn != 0) return lost(ctx, server_lost());
  Pending p = std::move(it->second);
  pending_.erase(it);
  queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  std::vector<Pending> one;
  one.push_back(std::move(p));
  fail(ctx, std::move(one), last_error_ ? *last_error_ : server_gone());
}

void DbClient::on_timer(Ctx& ctx, std::uint64_t t) {
  if (!owns_timer(t)) return;
  auto kind = static_cast<TimerKind>((t >> 32) & 0xFFFF);
  auto low = static_cast<std::uint32_t>(t);
  if (kind == t_request) return request_timed_out(ctx, low);
  if (low != gen_) return;
  switch (kind) {
    case t_connect:
      if (state_ == PoolState::connecting)
        lost(ctx,
             DbError{k_error_cannot_connect,
                     fmt::format("Can't connect to MySQL server on '{}' (110)", server_name_)});
      return;
    case t_reconnect:
      if (state_ == PoolState::backoff) attempt(ctx);
      return;
    case t_validate:
      if (state_ != PoolState::open) return;
      // Busy connections prove themselves through their own timeouts; an idle pool asks.
      if (queue_.empty() && !free_.empty()) submit(ctx, std::make_shared<RequestBody>(), nullptr);
      ctx.set_timer(ctx.timing(k_validation_interval), tag(t_validate, gen_));
      return;
    default:
      return;
  }
}

std::optional<std::int64_t> DbClient::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "db.pool_size") return pool_size();
  if (key == "db.connected") return connected() ? 1 : 0;
  if (key == "db.last_error") return last_error_ ? last_error_->code : 0;
  return std::nullopt;
}

std::uint64_t DbClient::digest() const {
  Digest d;
  d.add(static_cast<std::uint64_t>(state_)).add_signed(target_).add_signed(session_).add(gen_);
  for (std::int64_t c : opened_) d.add_signed(c);
  d.add(free_.size());
  for (std::int64_t c : free_) d.add_signed(c);
  d.add(queue_.size());
  for (std::int64_t id : queue_) d.add_signed(id);
  for (const auto& [id, p] : pending_) d.add_signed(id).add_signed(p.conn);
  d.add_signed(next_id_).add_signed(backoff_ns_).add_signed(reconnects_);
  d.add_signed(last_error_ ? last_error_->code : 0);
  return d.value();
}

}  // namespace stampede::mysql
