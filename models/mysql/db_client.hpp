#pragma once
// A sans-I/O client of the external MySQL (node `db`) for embedding in a Cattle server: a pool
// of connections and requests with callbacks. It is not a Node: its owner forwards the messages
// and timers that are its own (owns_message / owns_timer) and passes its Ctx along, starts it
// from on_start and resets it from on_crash.
//
// The pool opens all its connections at once and counts as open when every one is; the first
// refusal (error 1040: the db's max_connections is used up) logs
// "ERROR 1040 (08004): Too many connections", gives back what was opened and leaves the pool
// refused: like a server whose pool cannot fill, it does not retry by itself (its owner may call
// open_pool again). A lost db (a reset on a connection after a db restart, a request or
// validation query unanswered within db_query_timeout, handshakes unanswered within
// db_connect_timeout) fails the requests in flight and reopens the pool after a doubling backoff.
// A commit that failed this way may or may not have been applied, as with a real connection.
//
// Requests borrow a free connection, one request per connection; the others wait in order for
// one, bounded by the same timeout.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/mysql/db_protocol.hpp"
#include "sim/core/node.hpp"

namespace stampede::mysql {

enum class PoolState : std::uint8_t { idle, connecting, open, backoff, refused };
enum class PoolEvent : std::uint8_t { opened, lost, refused };

class DbClient {
 public:
  using Done = std::function<void(Ctx&, const DbResult&)>;
  struct Callbacks {
    std::function<void(Ctx&, PoolEvent)> pool;
  };

  explicit DbClient(std::string server = "db") : server_name_(std::move(server)) {}
  void set_callbacks(Callbacks cb) { cb_ = std::move(cb); }

  // From the owner's on_start (also after a restart).
  void start(Ctx& ctx);
  // From the owner's on_crash: everything here is volatile.
  void crash();
  static bool owns_message(std::uint32_t type) { return is_db_type(type); }
  static bool owns_timer(std::uint64_t tag) {
    return (tag & k_tag_prefix_mask) == k_client_tag_prefix;
  }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);

  // Opens n connections (a Cattle server: pool_per_server), replacing any pool held.
  void open_pool(Ctx& ctx, int n);
  void close_pool(Ctx& ctx);

  // Requests return their id. While the pool is idle or refused they fail at once: `done` runs
  // before the call returns. Otherwise `done` runs exactly once, with the answer or an error.
  std::int64_t select_where(Ctx& ctx, std::string table, std::string column, std::string value,
                            Done done);
  std::int64_t select_id(Ctx& ctx, std::string table, RowId id, Done done);
  std::int64_t select_all(Ctx& ctx, std::string table, Done done);
  std::int64_t commit(Ctx& ctx, WriteBatch batch, Done done);

  PoolState state() const { return state_; }
  bool connected() const { return state_ == PoolState::open; }
  int pool_size() const { return static_cast<int>(opened_.size()); }  // connections held
  int pool_target() const { return target_; }
  const std::optional<DbError>& last_error() const { return last_error_; }
  std::int64_t reconnects() const { return reconnects_; }
  std::size_t pending() const { return pending_.size(); }
  std::uint64_t digest() const;
  // For an owner to forward: db.pool_size, db.connected (0/1), db.last_error (code, 0 if none).
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const;

 private:
  enum TimerKind : std::uint32_t { t_connect = 1, t_reconnect, t_validate, t_request };
  struct Pending {
    std::shared_ptr<const RequestBody> body;
    Done done;
    TimerId timer = 0;
    std::int64_t conn = 0;  // 0 while waiting for a free connection
  };

  std::uint64_t tag(TimerKind k, std::uint32_t low) const;
  void attempt(Ctx& ctx);
  void became_open(Ctx& ctx);
  void refused(Ctx& ctx, const DbError& err);
  void lost(Ctx& ctx, const DbError& err);
  void release_connections(Ctx& ctx);
  std::int64_t submit(Ctx& ctx, std::shared_ptr<RequestBody> body, Done done);
  void dispatch(Ctx& ctx);
  void on_response(Ctx& ctx, const Message& msg);
  void request_timed_out(Ctx& ctx, std::int64_t id);
  // Fails the given requests (already removed from pending_) with err.
  void fail(Ctx& ctx, std::vector<Pending> failed, const DbError& err);

  std::string server_name_;
  Callbacks cb_;
  NodeId server_ = k_no_node;
  PoolState state_ = PoolState::idle;
  int target_ = 0;
  std::int64_t session_ = 0;
  std::uint32_t gen_ = 0;  // pool timers of an earlier attempt carry an older generation
  std::set<std::int64_t> opened_;
  std::deque<std::int64_t> free_;
  std::deque<std::int64_t> queue_;  // request ids waiting for a connection
  std::map<std::int64_t, Pending> pending_;
  std::int64_t next_id_ = 0;
  DurationNs backoff_ns_ = 0;
  std::optional<DbError> last_error_;
  std::int64_t reconnects_ = 0;
};

}  // namespace stampede::mysql
