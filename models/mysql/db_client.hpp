#pragma once
// A sans-I/O client of the external MySQL (node `db`) for embedding in a Cattle server: a pool
// of connections and requests with callbacks. It is not a Node: its owner forwards the messages,
// timers and connection events that are its own (owns_message / owns_timer / on_connection) and
// passes its Ctx along, starts it from on_start and resets it from on_crash.
//
// The pool is the one Cattle v0.165.8 configures: commons-dbcp 1.4's BasicDataSource over the
// MariaDB driver (code/framework/db-loader/.../DefaultDataSourceFactoryImpl.java:20-22 reads
// every property from db.cattle.mysql.*, db.cattle.*, db.* and global.pool.*; the defaults are
// global.pool.testonborrow=true, testwhileidle=true, maxidle=50
// (code/packaging/app-config/src/main/resources/META-INF/cattle/defaults/defaults.properties:
// 19-26) and db.cattle.mysql.validationquery=SELECT 1 (resources/content/cattle-global.properties:
// 90)).
//   - open_pool(n, initial) opens `initial` connections at once and counts as open when every
//     one is: a Cattle server opens one, its boot's first borrow, as dbcp with Cattle's settings
//     does (no initialSize; mechanism cattle_pool_on_demand, models/cattle/server.cpp), or n
//     with that mechanism off (the server's threads borrowing as it boots). The first refusal
//     (error 1040: the db's max_connections is used up) logs "ERROR 1040 (08004): Too many
//     connections", gives back what was opened and leaves the pool refused until its next borrow,
//     which opens it again: dbcp keeps no state about a failed connect and makes a connection
//     whenever a borrow finds none idle (GenericObjectPool.borrowObject,
//     GenericObjectPool.java:1146-1148 at commons-pool POOL_1_5_4, the version dbcp 1.4 uses).
//   - A request borrows an idle connection, the one returned last first (GenericObjectPool's
//     default lifo=true, GenericObjectPool.java:271 at commons-pool POOL_1_6, the version
//     Cattle's code/meta-parent/pom.xml:369-370 pins; addObjectToPool puts a returned connection
//     first, lines 1447-1451, and borrowObject takes the first, allocate() line 1255), one
//     request per connection; the others wait in order. The borrow tests the connection first
//     (testOnBorrow, borrowObject's lines 1165-1194: a connection that fails validation is
//     destroyed and the borrow tries the next, or makes one): a connection whose socket already
//     holds the db's EOF or reset fails the test and is discarded. When no idle connection is
//     left and the pool holds fewer than n, the borrow makes a new one (a handshake); a refused
//     handshake fails that borrow with its error. The pool grows so on demand up to
//     db_pool_max_active (global.pool.maxtotal=1000, read as dbcp 1.4's maxActive through
//     PoolConfig's TRY_ALSO, code/framework/pool/src/main/java/io/cattle/platform/pool/
//     PoolConfig.java:22-23; db.maxtotal=1000 in resources/content/cattle-global.properties:88;
//     mechanism db_pool_grow, off: never past the n connections open_pool opened). Only a borrow
//     that finds the pool at its maximum waits for a connection given back, at most
//     db_pool_max_wait (global.pool.maxwait=1000, defaults.properties:21, dbcp 1.4's maxWait),
//     then fails with "Cannot get a connection, pool error Timeout waiting for idle object"
//     (GenericObjectPool.java:1163-1174; PoolingDataSource.java:114 at DBCP_1_4). A borrow that
//     makes a connection waits for its handshake, at most db_connect_timeout (the JDBC URL's
//     connectTimeout=60000, cattle-global.properties:63). A connection given back when
//     db_pool_max_idle connections are idle already is closed (global.pool.maxidle=50,
//     defaults.properties:19; addObjectToPool, GenericObjectPool.java:1442-1443), and the
//     evictor closes idle connections: every db_eviction_interval (global.pool.
//     timebetweenevictionrunsmillis=60000, defaults.properties:26) it looks at the 3 idle longest
//     (numTestsPerEvictionRun, which Cattle leaves at GenericObjectPool.java:322's 3) and closes
//     those idle more than db_min_evictable_idle (global.pool.minevictableidletimemillis=300000,
//     defaults.properties:25; evict(), GenericObjectPool.java:1553-1586). Its testWhileIdle
//     validation is not modelled: the idle pool's own check (db_validation_interval) stands for
//     it. The test costs no round trip here: on a
//     healthy connection SELECT 1 answers one round trip later and changes nothing, so the
//     model skips it; a connection that died silently (power loss, a cut link) passes it here
//     where the real SELECT 1 would wait for the driver's timeout, and the request waits for
//     its db_socket_timeout instead. With the mechanism db_test_on_borrow off, a dead connection is
//     lent as it is and the request fails at once with the error its socket gives.
//   - What the socket tells: when the db's process dies, the kernel closes the client's one
//     connection to it (sim/net/connections.hpp), which carries every pooled connection: each
//     gets the db's FIN. A request outstanding fails at once with 2013 ("Lost connection to
//     MySQL server during query": its read finds EOF). An idle connection does not know yet:
//     its next statement goes out (the write succeeds) and its read finds EOF, so it fails with
//     2013 too (PyMySQL against mariadbd 10.11.19 on loopback, a statement after SIGKILL:
//     2013). A connection the db reset (wait_timeout, see DbReset) fails its next statement
//     with 2006 ("MySQL server has gone away": the write itself fails; same measurement). A
//     connect the kernel refuses (the db's process is down) fails with 2003.
//   - A lost db (no connection left after a refused or failed handshake, a request or
//     validation query unanswered within db_socket_timeout (the JDBC URL's socketTimeout=60000,
//     cattle-global.properties:63: the driver's read gives up), handshakes unanswered within
//     db_connect_timeout) fails the requests in flight and reopens the pool after a doubling
//     backoff. When the pool's last handshake fails with none left alive, every request waiting
//     for a connection fails with that error too: each borrower made its own connection (dbcp's
//     makeObject) and none is kept for a pool that reopens later. A commit that failed this way may
//     or may not have been applied, as with a real connection.
//   - begin() holds a connection for a transaction until finish(); a statement of the
//     transaction is not borrowed, so not tested: on a connection the db has closed it fails at
//     once with the error its socket gives, as a real transaction's COMMIT after a db crash.
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
#include "sim/core/cow.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::mysql {

enum class PoolState : std::uint8_t { idle, connecting, open, backoff, refused };
// What a pooled connection is doing, and what its socket holds from the db.
enum class ConnUse : std::uint8_t { handshake, idle, busy, held };
enum class ConnEnd : std::uint8_t {
  open,
  eof,    // the db's FIN, or it lost the connection at a restart: the next statement gets 2013
  reset,  // the db's reset (wait_timeout): the next statement gets 2006
};
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
    // Waiting on a pool at its maximum: its timer is db_pool_max_wait, not the connect timeout.
    bool exhausted = false;
    STAMPEDE_FIELDS(request, done, timer, conn, exhausted)
  };
  struct Conn {
    ConnUse use = ConnUse::handshake;
    ConnEnd end = ConnEnd::open;
    TimeNs idle_since_ns = 0;  // when it last went back to the pool (the evictor's clock)
    STAMPEDE_FIELDS(use, end, idle_since_ns)
  };
  // Everything the client holds lives in the server's process: a crash loses all of it.
  struct Volatile {
    PoolState state = PoolState::idle;
    int target = 0;   // the pool's size when it does not grow on demand (db_pool_grow off)
    int initial = 0;  // how many connections an attempt opens; the pool is open once they are
    std::int64_t session = 0;
    std::uint32_t gen = 0;  // pool timers of an earlier attempt carry an older generation
    std::map<std::int64_t, Conn> conns;  // the session's connections, handshakes included
    int next_k = 0;                      // the index of the next connection made on demand
    std::deque<std::int64_t> free_conns;  // idle, the one given back last first
    std::deque<std::int64_t> queue;  // request ids waiting for a connection
    std::map<std::int64_t, Pending> pending;
    std::map<std::int64_t, std::int64_t> txns;  // an open transaction's id -> its connection
    std::int64_t next_id = 0;
    DurationNs backoff_ns = 0;
    LastError last_error;
    std::int64_t reconnects = 0;
    STAMPEDE_FIELDS(state, target, initial, session, gen, conns, next_k, free_conns, queue, pending,
                    txns, next_id, backoff_ns, last_error, reconnects)
  };

  // `pooled`: Cattle's dbcp pool, which tests connections on borrow (db_test_on_borrow) and
  // validates an idle pool every db_validation_interval. Not pooled: a program's own
  // connections, used as they are (PyMySQL, the conformance suite's client), neither tested nor
  // validated.
  explicit DbClient(std::string server = "db", bool pooled = true)
      : server_name_(std::move(server)), pooled_(pooled) {}
  // A further data source of the same process: its number (1-3) goes into its connection ids
  // and timer tags (db_protocol.hpp, source_of and timer_source), so that the owner can route
  // each to its client and the db counts its sessions apart; `label` names it in its log lines.
  DbClient(std::string server, int source, std::string label)
      : server_name_(std::move(server)), source_(source), label_(std::move(label)) {}
  // A pool whose own properties set maxActive and maxIdle (dbcp's BasicDataSource reads them per
  // data source, code/framework/pool/.../PoolConfig.java): they replace db_pool_max_active and
  // db_pool_max_idle. Read at start, as the configuration is.
  void set_limits(std::int64_t max_active, std::int64_t max_idle) {
    limits_ = Limits{max_active, max_idle};
  }
  int source() const { return source_; }
  void set_callbacks(Callbacks cb) { cb_ = std::move(cb); }

  // From the owner's on_start (also after a restart).
  void start(Ctx& ctx);
  // From the owner's on_crash: everything here is volatile.
  void crash();
  static bool owns_message(std::uint32_t type) { return is_db_type(type); }
  // The data source a message of owns_message is for (its connection's, source_of).
  static int source_of_message(const Message& msg);
  static bool owns_timer(std::uint64_t tag) {
    return (tag & k_tag_prefix_mask) == k_client_tag_prefix;
  }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);
  // The owner's Node::on_connection; events about other peers are ignored.
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event);

  // Opens n connections (a Cattle server: pool_per_server), replacing any pool held.
  void open_pool(Ctx& ctx, int n) { open_pool(ctx, n, n); }
  // Opens `initial` connections of a pool of n, replacing any pool held: the pool counts as open
  // once those are, and holds n when it does not grow on demand (db_pool_grow off). Cattle's
  // pool as dbcp opens it (mechanism cattle_pool_on_demand) has initial 1: the boot's first
  // borrow makes the first connection, and later borrows make the others.
  void open_pool(Ctx& ctx, int n, int initial);
  void close_pool(Ctx& ctx);

  // Requests return their id. While the pool is idle or refused they fail at once: `done` runs
  // before the call returns. Otherwise `done` runs exactly once, with the answer or an error.
  std::int64_t select_where(Ctx& ctx, std::string table, std::string column, std::string value,
                            Done done);
  std::int64_t select_id(Ctx& ctx, std::string table, RowId id, Done done);
  std::int64_t select_all(Ctx& ctx, std::string table, Done done);
  std::int64_t commit(Ctx& ctx, WriteBatch batch, Done done);
  // A read whose rows the model does not keep (an API request's credential lookup): it borrows a
  // connection and costs a round trip like any statement, and answers no rows.
  std::int64_t select_unmodelled(Ctx& ctx, Done done);
  // A transaction across requests: begin() borrows a connection, runs START TRANSACTION and the
  // batch's writes, and returns the transaction's id; once `done` has reported success, the
  // connection stays with the transaction until finish() commits (with `batch` last) or rolls it
  // back. finish() on a transaction that is not open, or whose connection the db has closed,
  // fails at once (`done` runs before it returns).
  std::int64_t begin(Ctx& ctx, WriteBatch batch, Done done);
  void finish(Ctx& ctx, std::int64_t txn, bool commit, WriteBatch batch, Done done);

  PoolState state() const { return volatile_->state; }
  bool connected() const { return volatile_->state == PoolState::open; }
  // Connections held (their handshake done), whether or not the db has closed them since.
  int pool_size() const;
  int pool_target() const { return volatile_->target; }
  const std::optional<DbError>& last_error() const { return volatile_->last_error.error; }
  std::int64_t reconnects() const { return volatile_->reconnects; }
  std::size_t pending() const { return volatile_->pending.size(); }
  std::uint64_t digest() const;
  // The state::Component trio, so that the owner's digest and perturbation reach in here.
  void digest_into(Digest& d) const { state::add(d, *volatile_); }
  std::size_t state_field_count() const { return state::field_total(*volatile_); }
  std::string perturb_state_field(std::size_t i) {
    return state::perturb_field(i, volatile_.mut());
  }
  // For an owner to forward: db.pool_size, db.connected (0/1), db.last_error (code, 0 if none).
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const;

 private:
  // Read at start, the same on every start: not state.
  struct Config {
    NodeId server = k_no_node;
    DurationNs connect_timeout_ns = 0;
    DurationNs socket_timeout_ns = 0;
    DurationNs pool_max_wait_ns = 0;
    DurationNs validation_interval_ns = 0;
    DurationNs eviction_interval_ns = 0;
    DurationNs min_evictable_idle_ns = 0;
    std::int64_t max_active = 0;
    std::int64_t max_idle = 0;
    bool grow = true;
    DurationNs backoff_min_ns = 0;
    DurationNs backoff_max_ns = 0;
    bool test_on_borrow = true;
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
  void on(Ctx& ctx, const CreateTimer& t);
  void on(Ctx& ctx, const EvictTimer& t);
  void attempt(Ctx& ctx);
  void became_open(Ctx& ctx);
  void refused(Ctx& ctx, const DbError& err);
  void lost(Ctx& ctx, const DbError& err);
  void release_connections(Ctx& ctx);
  // Our one connection to the db is gone (its process died, or it was down when we connected):
  // every pooled connection has its EOF, a request outstanding fails with 2013 and a handshake
  // under way with handshake_err.
  void connection_gone(Ctx& ctx, const DbError& handshake_err);
  // Connections whose handshake is done.
  int open_count() const;
  // How many connections the pool may hold, handshakes included: db_pool_max_active when it
  // grows on demand, else the n it opened.
  int limit() const;
  // A connection back from its request: idle again (first in line), or closed when
  // db_pool_max_idle connections are idle already.
  void give_back(Ctx& ctx, std::int64_t conn);
  // Closes connection c (COM_QUIT when the db has not closed it already) and forgets it.
  void destroy(Ctx& ctx, std::int64_t c);
  // The request waits for a connection: its timer is the pool wait or the connect timeout.
  void start_waiting(Ctx& ctx, std::int64_t id);
  int handshakes() const;
  // A handshake made on demand failed with err: the borrower waiting longest gets the error,
  // or, when the pool has no connection left, the pool is refused (1040) or lost.
  void create_failed(Ctx& ctx, const DbError& err);
  // Takes every pending request out of pending (and the queue), to fail them.
  std::vector<Pending> take_all_pending();
  std::int64_t submit(Ctx& ctx, std::shared_ptr<RequestBody> body, Done done);
  // An idle connection for the queue's first request (tested on borrow), or 0 when none is left.
  std::int64_t borrow(Ctx& ctx);
  // Sends waiting requests on free connections while both last; makes connections for the rest.
  void serve_queue(Ctx& ctx);
  void make_connections(Ctx& ctx);
  // The request `id` (pending, conn set) fails at once with err; its connection is discarded.
  void fail_one(Ctx& ctx, std::int64_t id, const DbError& err);
  void request_timed_out(Ctx& ctx, std::int64_t id);
  // Fails the given requests (already removed from pending) with err.
  void fail(Ctx& ctx, std::vector<Pending> failed, const DbError& err);

  // This client's connection id and timer tag: its data source's number added.
  std::int64_t conn_id(std::int64_t session, int k) const {
    return connection_id(session, k) | (std::int64_t{source_} << k_source_shift);
  }
  template <class T>
  std::uint64_t tag(const T& timer) const {
    return timer_tag::encode(timer) | (std::uint64_t(source_) << k_timer_source_shift);
  }

  struct Limits {
    std::int64_t max_active = 0;
    std::int64_t max_idle = 0;
  };

  std::string server_name_;
  bool pooled_ = true;
  int source_ = 0;
  std::string label_;
  std::optional<Limits> limits_;
  Callbacks cb_;
  Config cfg_;
  // Shared by the copies of the client until one of them writes. An HA Cattle server holds
  // three clients and the explorer copies the server whole at every save and assigns it back at
  // every restore, though most steps change one client at most: copying each pool state (two
  // deques, which allocate even when empty, and the maps) was a fifth of the HA server's saved
  // copies on known bug (b)'s plain dfs. Every write goes through mut(), reads through ->.
  Cow<Volatile> volatile_;
};

// The owner's digest and perturbation reach in here (sim/core/state.hpp).
static_assert(state::Component<DbClient>);

}  // namespace stampede::mysql
