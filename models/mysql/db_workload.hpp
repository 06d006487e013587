#pragma once
// A scenario workload, and the model side of the conformance suite's MariaDB client: node
// `dbclient-K` (built when the timing db_clients is K or more, in HA mode) holds one connection
// to the external db, used as it is, without a pool (DbClient not pooled, like a PyMySQL
// connection), and loops forever:
//   1. it reads back the rows it has committed (setting rows whose client is its name) and logs
//      which are present ("rows of dbclient-K present: 1,2");
//   2. it opens a transaction with one INSERT (its next sequence number) and holds it open for
//      db_client_hold;
//   3. it commits and logs the outcome ("transaction 2 committed", or "transaction 2 failed:
//      ERROR 2013 (HY000): ...");
//   4. it waits db_client_idle.
// So a run shows what a db crash does to a transaction that is open (its COMMIT fails, its row
// is gone after the restart) and to one that was committed (its row stays), and what the db's
// wait_timeout does to an idle connection (the next statement fails with 2006).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "models/mysql/db_client.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::mysql {

inline constexpr std::string_view k_db_clients = "db_clients";
inline constexpr std::string_view k_db_client_hold = "db_client_hold";
inline constexpr std::string_view k_db_client_idle = "db_client_idle";

// The workload's timers ("MW"): the next round is due; the open transaction's hold is over.
constexpr TimerKind workload_timer_kind(std::uint64_t kind) {
  return TimerKind{32, (0x4D57ULL << 16) | kind};
}
struct RoundTimer {
  static constexpr TimerKind k_kind = workload_timer_kind(1);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};
struct HoldTimer {
  static constexpr TimerKind k_kind = workload_timer_kind(2);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

class DbWorkload final : public Node {
 public:
  DbWorkload() : client_("db", /*pooled=*/false) {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override {
    client_.on_connection(ctx, peer, event);
  }
  void on_crash() override;
  // db.committed, db.failed (counts since the last start), and the client's db.* keys.
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override {
    return state::digest(durable_, vol_, client_);
  }
  std::string_view message_name(std::uint32_t type) const override { return db_type_name(type); }
  // The client's requests hold continuations into this node, so a copy could not run on: an
  // engine that snapshots worlds re-runs them instead (Node::clone).
  std::unique_ptr<Node> clone() const override { return nullptr; }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, vol_, client_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, vol_, client_);
  }

  const DbClient& client() const { return client_; }

 private:
  // On disk: sequence numbers are never reused, and timers from before a crash never apply.
  struct Durable {
    std::int64_t seq = 0;  // the last transaction's number
    std::uint32_t gen = 0;
    STAMPEDE_FIELDS(seq, gen)
  };
  struct Volatile {
    std::int64_t txn = 0;  // the open transaction's id in the client, 0 when none
    std::int64_t committed = 0;
    std::int64_t failed = 0;
    STAMPEDE_FIELDS(txn, committed, failed)
  };
  // Read at start (the same on every start): not state.
  struct Config {
    std::string name;
    DurationNs hold_ns = 0;
    DurationNs idle_ns = 0;
  };

  template <class T>
  std::uint64_t tag() const {
    return timer_tag::encode(T{durable_.gen});
  }
  void on(Ctx& ctx, const RoundTimer& t);
  void on(Ctx& ctx, const HoldTimer& t);
  void read_back(Ctx& ctx);
  void open_transaction(Ctx& ctx);
  // Logs a failed step of transaction `seq` (0: the read) and waits for the next round.
  void failed(Ctx& ctx, std::string_view step, std::int64_t seq, const DbError& err);
  void next_round(Ctx& ctx);

  Config cfg_;
  Durable durable_;
  Volatile vol_;
  DbClient client_;  // volatile: crash() resets it
};

}  // namespace stampede::mysql
