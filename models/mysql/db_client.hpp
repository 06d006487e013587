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
#include "sim/core/state.hpp"

namespace stampede::mysql {

enum class PoolState : std::uint8_t { idle, connecting, open, backoff, refused };
enum class PoolEvent : std::uint8_t { opened, lost, refused };

class DbClient {
 public:
  using Done = std::function<void(Ctx&, const DbResult&)>;
  struct Callbacks {
    std::function<void(Ctx&, PoolEvent)> pool;
  };

  // A request's body as a field of the state: digested by its content, changed by a test into
  // a request for another table.
  struct RequestRef {
    std::shared_ptr<const RequestBody> body;
    void digest_into(Digest& d) const;
    void perturb_for_test();
  };
  // The last error as a field of the state (DbError is the store's type, without a field list).
  struct LastError {
    std::optional<DbError> error;
    void digest_into(Digest& d) const;
    void perturb_for_test();
  };
  // A request waiting for a connection (conn 0) or for its answer.
  struct Pending {
    RequestRef request;
    Untracked<Done> done;      // the caller's continuation: code, not state
    Untracked<TimerId> timer;  // engine-assigned
    std::int64_t conn = 0;     // 0 while waiting for a free connection
    STAMPEDE_FIELDS(request, done, timer, conn)
  };
  // Everything the client holds lives in the server's process: a crash loses all of it.
  struct Volatile {
    PoolState state = PoolState::idle;
    int target = 0;
    std::int64_t session = 0;
    std::uint32_t gen = 0;  // pool timers of an earlier attempt carry an older generation
    std::set<std::int64_t> opened;
    std::deque<std::int64_t> free_conns;
    std::deque<std::int64_t> queue;  // request ids waiting for a connection
    std::map<std::int64_t, Pending> pending;
    std::int64_t next_id = 0;
    DurationNs backoff_ns = 0;
    LastError last_error;
    std::int64_t reconnects = 0;
    STAMPEDE_FIELDS(state, target, session, gen, opened, free_conns, queue, pending, next_id,
                    backoff_ns, last_error, reconnects)
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

  PoolState state() const { return volatile_.state; }
  bool connected() const { return volatile_.state == PoolState::open; }
  // Connections held.
  int pool_size() const { return static_cast<int>(volatile_.opened.size()); }
  int pool_target() const { return volatile_.target; }
  const std::optional<DbError>& last_error() const { return volatile_.last_error.error; }
  std::int64_t reconnects() const { return volatile_.reconnects; }
  std::size_t pending() const { return volatile_.pending.size(); }
  std::uint64_t digest() const;
  // The state::Component trio, so that the owner's digest and perturbation reach in here.
  void digest_into(Digest& d) const { state::add(d, volatile_); }
  std::size_t state_field_count() const { return state::field_total(volatile_); }
  std::string perturb_state_field(std::size_t i) { return state::perturb_field(i, volatile_); }
  // For an owner to forward: db.pool_size, db.connected (0/1), db.last_error (code, 0 if none).
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const;

 private:
  // Read at start, the same on every start: not state.
  struct Config {
    NodeId server = k_no_node;
    DurationNs connect_timeout_ns = 0;
    DurationNs query_timeout_ns = 0;
    DurationNs validation_interval_ns = 0;
    DurationNs backoff_min_ns = 0;
    DurationNs backoff_max_ns = 0;
  };

  void read_config(Ctx& ctx);
  bool current(std::int64_t conn) const;
  void on(Ctx& ctx, const DbOpened& m);
  void on(Ctx& ctx, const DbRefused& m);
  void on(Ctx& ctx, const DbResponse& m);
  void on(Ctx& ctx, const DbReset& m);
  void on(Ctx& ctx, const ConnectTimer& t);
  void on(Ctx& ctx, const ReconnectTimer& t);
  void on(Ctx& ctx, const ValidateTimer& t);
  void on(Ctx& ctx, const RequestTimer& t);
  void attempt(Ctx& ctx);
  void became_open(Ctx& ctx);
  void refused(Ctx& ctx, const DbError& err);
  void lost(Ctx& ctx, const DbError& err);
  void release_connections(Ctx& ctx);
  // Takes every pending request out of pending (and the queue), to fail them.
  std::vector<Pending> take_all_pending();
  std::int64_t submit(Ctx& ctx, std::shared_ptr<RequestBody> body, Done done);
  // Sends waiting requests on free connections while both last.
  void serve_queue(Ctx& ctx);
  void request_timed_out(Ctx& ctx, std::int64_t id);
  // Fails the given requests (already removed from pending) with err.
  void fail(Ctx& ctx, std::vector<Pending> failed, const DbError& err);

  std::string server_name_;
  Callbacks cb_;
  Config cfg_;
  Volatile volatile_;
};

// The owner's digest and perturbation reach in here (sim/core/state.hpp).
static_assert(state::Component<DbClient>);

}  // namespace stampede::mysql
