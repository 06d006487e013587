#pragma once
// The wire protocol between a DbClient (embedded in a Cattle server) and the external MySQL node
// `db`, with the names the two register. Types live in a reserved range and client timer tags
// carry a prefix, so that a node embedding a DbClient can route what is the client's.
//
// Every message carries a = connection id. A client names its connections itself:
// (session << 20) | k for the k-th connection of a pool attempt, with a fresh random session per
// attempt, so that the db can tell a client's live connections from those of its earlier
// attempts (or of its previous incarnation) and drop the stale ones, as the client's kernel
// would have reset those sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/mysql/database.hpp"
#include "sim/core/message.hpp"

namespace stampede::mysql {

inline constexpr std::uint32_t k_type_first = 0x4D00;  // "M"
inline constexpr std::uint32_t k_type_end = 0x4D20;

enum MsgType : std::uint32_t {
  // Client to db.
  db_open = k_type_first,  // a = connection id: the handshake of one pooled connection
  db_close,                // a = connection id (unknown ids are ignored)
  db_request,              // a = connection id, b = request id, body RequestBody
  // Db to client.
  db_opened,    // a = connection id
  db_refused,   // a = connection id, body ResponseBody with the error (1040)
  db_response,  // a = connection id, b = request id, body ResponseBody
  db_reset,     // a = connection id the db does not know (it restarted): a TCP reset
};

inline bool is_db_type(std::uint32_t t) {
  return t >= k_type_first && t < k_type_end;
}
std::string_view db_type_name(std::uint32_t type);

inline constexpr int k_session_shift = 20;
inline std::int64_t connection_id(std::int64_t session, int k) {
  return (session << k_session_shift) | k;
}
inline std::int64_t session_of(std::int64_t connection) {
  return connection >> k_session_shift;
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
  commit,        // batch: all of it or nothing; the answer lists the inserted ids in order
  ping,          // nothing: the pool's validation query (SELECT 1)
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
// "ERROR 1040 (08004): Too many connections", as the mysql client prints it.
std::string format_error(const DbError& e);

// Timer tags of DbClient: the high 16 bits name it ("MC").
inline constexpr std::uint64_t k_client_tag_prefix = 0x4D43ULL << 48;
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

// Registered names (see db_node.cpp for defaults and sources).
inline constexpr std::string_view k_connect_timeout = "db_connect_timeout";
inline constexpr std::string_view k_query_timeout = "db_query_timeout";
inline constexpr std::string_view k_validation_interval = "db_validation_interval";
inline constexpr std::string_view k_backoff_min = "db_reconnect_backoff_min";
inline constexpr std::string_view k_backoff_max = "db_reconnect_backoff_max";
inline constexpr std::string_view k_metric_queries = "db_queries";
inline constexpr std::string_view k_metric_refused = "db_connections_refused";

}  // namespace stampede::mysql
