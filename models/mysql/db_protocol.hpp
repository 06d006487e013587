#pragma once
// The wire protocol between a DbClient (embedded in a Cattle server) and the external MySQL node
// `db`, with the names the two register. Types live in a reserved range and client timer tags
// carry a prefix, so that a node embedding a DbClient can route what is the client's.
//
// Every message names its connection first (a on the wire). A client names its connections itself:
// (session << 20) | k for the k-th connection of a pool attempt, with a fresh random session per
// attempt, so that the db can tell a client's live connections from those of its earlier
// attempts (or of its previous incarnation) and drop the stale ones, as the client's kernel
// would have reset those sockets.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/mysql/database.hpp"
#include "models/protocols.hpp"
#include "sim/core/message.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede::mysql {

inline constexpr ProtocolRange k_protocol = protocols::k_mysql;  // "M"
inline constexpr std::uint32_t k_type_first = k_protocol.first;
inline constexpr std::uint32_t k_type_end = k_protocol.end;

inline bool is_db_type(std::uint32_t t) {
  return k_protocol.contains(t);
}
std::string_view db_type_name(std::uint32_t type);

inline constexpr int k_session_shift = 20;
inline std::int64_t connection_id(std::int64_t session, int k) {
  return (session << k_session_shift) | k;
}
inline std::int64_t session_of(std::int64_t connection) {
  return connection >> k_session_shift;
}
// A node may run a second process with connections of its own: an HA node's cluster manager
// (rancher-ha, a container beside Cattle's) names its connections with this bit set in k. The
// db counts each process's sessions apart: a new session of one process does not make the
// other's connections stale.
inline constexpr std::int64_t k_second_process_bit = std::int64_t{1} << (k_session_shift - 1);
inline bool second_process(std::int64_t connection) {
  return (connection & k_second_process_bit) != 0;
}
// One process may hold several data sources, each a pool of its own: a Cattle 1.1 server has,
// besides its pool, Liquibase's and Archaius's configuration source (models/cattle/server.hpp).
// Each names its connections with its number in these two bits of k, below the second process's
// bit, and the db counts each source's sessions apart as it does each process's.
inline constexpr int k_source_shift = k_session_shift - 3;
inline constexpr std::int64_t k_source_mask = std::int64_t{3} << k_source_shift;
inline int source_of(std::int64_t connection) {
  return static_cast<int>((connection & k_source_mask) >> k_source_shift);
}
// The client a connection belongs to: its process and its data source.
inline std::int64_t client_of(std::int64_t connection) {
  return connection & (k_second_process_bit | k_source_mask);
}

// The writes of one transaction as they travel. It hands out the same placeholder ids as
// mysql::Transaction (-1, -2, ... in insertion order), so later writes of the batch can refer to
// rows it inserts; the db replays it into a Transaction and commits that. A separate type because
// a Transaction's writes are private and a Payload must be digestible.
class WriteBatch {
 public:
  enum class Kind : std::uint8_t { insert, update, erase, put };
  struct Write {
    Kind kind = Kind::insert;
    std::string table;
    RowId id = 0;  // insert: its placeholder
    Row row;       // insert: the row; update: one column
  };
  RowId insert(std::string table, Row row);
  void update(std::string table, RowId id, std::string column, std::string value);
  void erase(std::string table, RowId id);
  // A whole row under a chosen id (see Transaction::put).
  void put(std::string table, RowId id, Row row);
  // The writes of `more` after these, its placeholders renumbered to follow these ones (a
  // transaction's later statements).
  void append(const WriteBatch& more);
  // The writes of a transaction that holds no placeholders (Database::commit's `resolved`).
  static WriteBatch from_resolved(const Transaction& txn);
  bool empty() const { return writes_.empty(); }
  const std::vector<Write>& writes() const { return writes_; }
  Transaction to_transaction() const;
  void digest_into(Digest& d) const;

 private:
  std::vector<Write> writes_;
  RowId next_placeholder_ = -1;
};

enum class RequestKind : std::uint8_t {
  select_where,  // table, column, value: every row whose column equals value, in id order
  select_id,     // table, id: that row, or none
  select_all,    // table: every row, in id order
  // batch: all of it or nothing; the answer lists the inserted ids in order. On a connection
  // with an open transaction (begin), that transaction's writes come first and COMMIT ends it.
  commit,
  ping,          // nothing: the pool's validation query (SELECT 1)
  // START TRANSACTION, then the batch's writes into it: they stay with the connection, in the
  // db's memory, until a commit on it applies them (a crash or a closed connection loses them,
  // as InnoDB rolls an unfinished transaction back).
  begin,
  rollback,      // nothing: ROLLBACK of the connection's open transaction
};

struct RequestBody final : Payload {
  RequestKind kind = RequestKind::ping;
  std::string table;
  std::string column;
  std::string value;
  RowId id = 0;
  WriteBatch batch;
  void digest_into(Digest& d) const override;
};

// What a request (or a pool) gets back: an error, or rows (reads) and ids (commits).
struct DbResult {
  std::optional<DbError> error;
  std::vector<std::pair<RowId, Row>> rows;
  std::vector<RowId> ids;
  bool ok() const { return !error.has_value(); }
};

struct ResponseBody final : Payload {
  DbResult result;
  void digest_into(Digest& d) const override;
};

// Client-side errors, with the numbers and texts of the MySQL client library.
inline constexpr int k_error_server_gone = 2006;     // CR_SERVER_GONE_ERROR
inline constexpr int k_error_server_lost = 2013;     // CR_SERVER_LOST
inline constexpr int k_error_cannot_connect = 2003;  // CR_CONN_HOST_ERROR
// A borrow that waited db_pool_max_wait for a connection of an exhausted pool: dbcp's
// SQLException carries no vendor code (getErrorCode() is 0), only its message.
inline constexpr int k_error_pool_exhausted = 0;
// "ERROR 1040 (08004): Too many connections", as the mysql client prints it.
std::string format_error(const DbError& e);

// --- The messages, in the mysql block of models/protocols.hpp ---------------------------------

// The wire size of an answer: a header and, per row, its id and columns.
inline std::uint32_t response_size_bytes(const ResponseBody& body) {
  std::uint32_t size = 64;
  for (const auto& [id, row] : body.result.rows) size += 16 * (1 + row.size());
  return size;
}

// Client to db: the handshake of one pooled connection.
struct DbOpen {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "db_open";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return session_of(conn) > 0; }
};

// Client to db: give back a connection (the db ignores ids it does not know).
struct DbClose {
  static constexpr std::uint32_t k_type = k_protocol.type(1);
  static constexpr std::string_view k_name = "db_close";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return session_of(conn) > 0; }
};

// Client to db: request `request` on connection `conn`.
struct DbRequest {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "db_request";
  std::int64_t conn = 0;
  std::int64_t request = 0;
  std::shared_ptr<const RequestBody> body;
  STAMPEDE_FIELDS(conn, request, body)
  bool valid() const { return session_of(conn) > 0 && request > 0 && body != nullptr; }
  // A header, and the writes of a commit with their columns.
  std::uint32_t size_bytes() const {
    std::uint32_t size = 128;
    for (const auto& w : body->batch.writes()) size += 32 + 16 * w.row.size();
    return size;
  }
};

// Db to client: the connection is open.
struct DbOpened {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "db_opened";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return session_of(conn) > 0; }
};

// Db to client: the connection was refused, with the error (1040: max_connections used up).
struct DbRefused {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "db_refused";
  std::int64_t conn = 0;
  std::shared_ptr<const ResponseBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return session_of(conn) > 0 && body != nullptr && !body->result.ok(); }
  std::uint32_t size_bytes() const { return response_size_bytes(*body); }
};

// Db to client: the answer to `request`.
struct DbResponse {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "db_response";
  std::int64_t conn = 0;
  std::int64_t request = 0;
  std::shared_ptr<const ResponseBody> body;
  STAMPEDE_FIELDS(conn, request, body)
  bool valid() const { return session_of(conn) > 0 && request > 0 && body != nullptr; }
  std::uint32_t size_bytes() const { return response_size_bytes(*body); }
};

// Db to client: a TCP reset of connection `conn`. Either the answer to request `request` on a
// connection the db does not know (it restarted since the connection was opened), or, with
// request 0, the db closing an idle connection after wait_timeout: MariaDB sets SO_LINGER to 0
// before it closes a connection whose read timed out (vio_socket_io_wait in vio/viosocket.c of
// MariaDB/server; strace of mariadbd 10.11.19 on loopback shows setsockopt(SO_LINGER,
// {l_onoff=1, l_linger=0}) then close), so the client's socket holds a reset, not an EOF.
struct DbReset {
  static constexpr std::uint32_t k_type = k_protocol.type(6);
  static constexpr std::string_view k_name = "db_reset";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t request = 0;
  STAMPEDE_FIELDS(conn, request)
};

// Timer tags of DbClient: the high 16 bits name it ("MC"), the next 16 the timer's kind (its high
// 8 bits the client's data source, k_timer_source_shift), the low 32 bits the pool attempt's
// generation (or a request's id).
inline constexpr std::uint64_t k_client_tag_prefix = 0x4D43ULL << 48;
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;
inline constexpr unsigned k_timer_source_shift = 40;
inline constexpr std::uint64_t k_timer_source_mask = 0xFFULL << k_timer_source_shift;
inline int timer_source(std::uint64_t tag) {
  return static_cast<int>((tag & k_timer_source_mask) >> k_timer_source_shift);
}

constexpr TimerKind client_timer_kind(std::uint64_t kind) {
  return TimerKind{32, (k_client_tag_prefix >> 32) | kind};
}

// The handshakes of attempt `gen` are overdue.
struct ConnectTimer {
  static constexpr TimerKind k_kind = client_timer_kind(1);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The backoff after losing the db (in attempt `gen`) is over: reopen the pool.
struct ReconnectTimer {
  static constexpr TimerKind k_kind = client_timer_kind(2);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// Time for an idle pool of attempt `gen` to validate itself.
struct ValidateTimer {
  static constexpr TimerKind k_kind = client_timer_kind(3);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The request whose id has these low 32 bits is overdue (a run would need 4 billion requests to
// wrap them).
struct RequestTimer {
  static constexpr TimerKind k_kind = client_timer_kind(4);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t request_low = 0;
  STAMPEDE_FIELDS(request_low)
};

// The handshake of connection k of the current session, made on demand in attempt `gen` (its
// low 12 bits), is overdue.
struct CreateTimer {
  static constexpr TimerKind k_kind = client_timer_kind(5);
  static constexpr std::array<unsigned, 2> k_bits{12, 20};
  std::uint32_t gen_low = 0;
  std::uint32_t k = 0;
  STAMPEDE_FIELDS(gen_low, k)
};

// Time for the pool of attempt `gen` to run its idle-connection evictor.
struct EvictTimer {
  static constexpr TimerKind k_kind = client_timer_kind(6);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The db node's timer: time to close the connections idle for wait_timeout ("MD" in the top 16
// bits; the db node has no other timer).
struct IdleSweepTimer {
  static constexpr TimerKind k_kind{16, 0x4D44};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// The db node's keepalive timer: a probe of a half-open session's socket is due (db_node.cpp,
// mechanism db_tcp_keepalive; "MK" in the top 16 bits).
struct KeepaliveTimer {
  static constexpr TimerKind k_kind{16, 0x4D4B};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// Registered names (see db_node.cpp for defaults and sources).
inline constexpr std::string_view k_connect_timeout = "db_connect_timeout";
inline constexpr std::string_view k_socket_timeout = "db_socket_timeout";
inline constexpr std::string_view k_pool_max_wait = "db_pool_max_wait";
inline constexpr std::string_view k_pool_max_active = "db_pool_max_active";
inline constexpr std::string_view k_pool_max_idle = "db_pool_max_idle";
inline constexpr std::string_view k_eviction_interval = "db_eviction_interval";
inline constexpr std::string_view k_min_evictable_idle = "db_min_evictable_idle";
inline constexpr std::string_view k_pool_grow = "db_pool_grow";
inline constexpr std::string_view k_validation_interval = "db_validation_interval";
inline constexpr std::string_view k_backoff_min = "db_reconnect_backoff_min";
inline constexpr std::string_view k_backoff_max = "db_reconnect_backoff_max";
inline constexpr std::string_view k_wait_timeout = "db_wait_timeout";
inline constexpr std::string_view k_tcp_keepalive = "db_tcp_keepalive";
inline constexpr std::string_view k_tcp_keepalive_time = "db_tcp_keepalive_time";
inline constexpr std::string_view k_test_on_borrow = "db_test_on_borrow";
inline constexpr std::string_view k_metric_queries = "db_queries";
inline constexpr std::string_view k_metric_refused = "db_connections_refused";

}  // namespace stampede::mysql
