#include "models/mysql/db_workload.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace stampede::mysql {

namespace {
constexpr std::string_view k_table = "setting";
}  // namespace

void DbWorkload::on_start(Ctx& ctx) {
  cfg_.name = std::string(ctx.name_of(ctx.self()));
  cfg_.hold_ns = ctx.timing(k_db_client_hold);
  cfg_.idle_ns = ctx.timing(k_db_client_idle);
  client_.start(ctx);
  client_.open_pool(ctx, 1);
  ++durable_.gen;
  ctx.set_timer(cfg_.idle_ns, tag<RoundTimer>());
}

void DbWorkload::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (DbClient::owns_message(msg.type)) client_.on_message(ctx, from, msg);
}

void DbWorkload::on_timer(Ctx& ctx, std::uint64_t t) {
  if (DbClient::owns_timer(t)) return client_.on_timer(ctx, t);
  timer_tag::dispatch<RoundTimer, HoldTimer>(t, [&](const auto& timer) {
    if (timer.gen == durable_.gen) on(ctx, timer);  // otherwise from before a crash
  });
}

void DbWorkload::on_crash() {
  client_.crash();
  ++durable_.gen;
  vol_ = Volatile{};
}

void DbWorkload::on(Ctx& ctx, const RoundTimer&) { read_back(ctx); }

void DbWorkload::read_back(Ctx& ctx) {
  client_.select_where(ctx, std::string(k_table), "client", cfg_.name,
                       [this](Ctx& c, const DbResult& r) {
                         if (!r.ok()) return failed(c, "read", 0, *r.error);
                         std::vector<std::string> seqs;
                         for (const auto& [id, row] : r.rows) seqs.push_back(row.at("value"));
                         std::string list = fmt::format("{}", fmt::join(seqs, ","));
                         c.event(LogLevel::info,
                                 Event("mysql.client_rows")
                                     .with("client", cfg_.name)
                                     .with("seqs", list),
                                 fmt::format("rows of {} present: {}", cfg_.name,
                                             list.empty() ? "none" : list));
                         open_transaction(c);
                       });
}

void DbWorkload::open_transaction(Ctx& ctx) {
  const std::int64_t seq = ++durable_.seq;
  WriteBatch insert;
  insert.insert(std::string(k_table), Row{{"name", fmt::format("{}/{}", cfg_.name, seq)},
                                          {"client", cfg_.name},
                                          {"value", to_text(seq)}});
  vol_.txn = client_.begin(ctx, std::move(insert), [this, seq](Ctx& c, const DbResult& r) {
    if (!r.ok()) {
      vol_.txn = 0;
      return failed(c, "begin", seq, *r.error);
    }
    c.set_timer(cfg_.hold_ns, tag<HoldTimer>());
  });
}

void DbWorkload::on(Ctx& ctx, const HoldTimer&) {
  const std::int64_t txn = vol_.txn;
  const std::int64_t seq = durable_.seq;
  vol_.txn = 0;
  client_.finish(ctx, txn, /*commit=*/true, WriteBatch{}, [this, seq](Ctx& c, const DbResult& r) {
    if (!r.ok()) return failed(c, "commit", seq, *r.error);
    ++vol_.committed;
    c.event(LogLevel::info,
            Event("mysql.client_committed").with("client", cfg_.name).with("seq", seq),
            fmt::format("transaction {} committed", seq));
    next_round(c);
  });
}

void DbWorkload::failed(Ctx& ctx, std::string_view step, std::int64_t seq, const DbError& err) {
  ++vol_.failed;
  ctx.event(LogLevel::info,
            Event("mysql.client_failed")
                .with("client", cfg_.name)
                .with("step", step)
                .with("seq", seq)
                .with("code", std::int64_t{err.code}),
            seq == 0 ? fmt::format("read failed: {}", format_error(err))
                     : fmt::format("transaction {} failed ({}): {}", seq, step,
                                   format_error(err)));
  next_round(ctx);
}

void DbWorkload::next_round(Ctx& ctx) {
  ++durable_.gen;
  ctx.set_timer(cfg_.idle_ns, tag<RoundTimer>());
}

std::optional<std::int64_t> DbWorkload::probe(std::string_view key, std::string_view arg) const {
  if (key == "db.committed") return vol_.committed;
  if (key == "db.failed") return vol_.failed;
  return client_.probe(key, arg);
}

}  // namespace stampede::mysql
