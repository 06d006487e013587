#pragma once
// The Cattle store as MySQL tables: rows keyed by an auto-increment id, transactions applied
// atomically on commit, a connection limit (error 1040) and TRUNCATE with or without
// foreign-key checks (error 1701). A plain library: in single mode the Cattle server embeds it,
// so it lives and dies with server-1, but its data is durable (it is on disk).
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/cow.hpp"
#include "sim/core/digest.hpp"
#include "sim/core/state.hpp"

namespace stampede::mysql {

using RowId = std::int64_t;
// Column name to value. Numbers are stored as their decimal text, as a wire protocol would.
using Row = std::map<std::string, std::string>;
using Table = std::map<RowId, Row>;

struct DbError {
  int code = 0;  // MySQL's error number
  std::string message;
};

inline constexpr int k_error_too_many_connections = 1040;
inline constexpr int k_error_truncate_referenced = 1701;
inline constexpr int k_error_no_such_table = 1146;

// A column of one table that refers to the id of another table.
struct ForeignKey {
  std::string table;
  std::string column;
  std::string references;
  STAMPEDE_FIELDS(table, column, references)
};

// The writes of one transaction, kept aside until commit.
class Transaction {
 public:
  // Inserts a row and returns the id it will have once committed.
  RowId insert(std::string table, Row row);
  void update(std::string table, RowId id, std::string column, std::string value);
  void erase(std::string table, RowId id);
  // Writes a whole row under an id the caller chose (a replica applying a row it read or a write
  // another copy made): the row is replaced if it exists, and the table's AUTO_INCREMENT counter
  // does not move, so that a copy keeps handing out ids from its own range.
  void put(std::string table, RowId id, Row row);
  bool empty() const { return writes_.empty(); }

 private:
  friend class Database;
  friend class WriteBatch;  // carries a resolved transaction to the external database
  struct Write {
    enum class Kind { insert, update, erase, put } kind;
    std::string table;
    RowId id = 0;  // for insert: a placeholder (negative) until commit assigns the real id
    Row row;       // insert: the row; update: one column
  };
  std::vector<Write> writes_;
  RowId next_placeholder_ = -1;
};

class Database {
 public:
  // Creates the Cattle schema (stack, service, instance, host, network, process_instance,
  // setting, and Liquibase's databasechangeloglock) and its foreign keys.
  explicit Database(int max_connections);
  // CREATE TABLE IF NOT EXISTS: a table outside Cattle's schema (rancher-ha's `cluster`, which
  // the external db node holds; models/mysql/db_node.hpp). An existing table is left as it is.
  void add_table(std::string name);
  // With MySQL's own default max_connections, 151 (a default member of a state struct).
  Database() : Database(151) {}

  // Connections. A server opens its pool at boot; a crash of the embedded server drops them all.
  std::optional<DbError> connect();
  void disconnect();
  void drop_all_connections() { connections_ = 0; }
  int connections() const { return connections_; }
  int max_connections() const { return max_connections_; }

  // Applies every write of `txn` or none. Returns the ids given to inserted rows, in insertion
  // order. An update or erase of a missing row is skipped (as an UPDATE that matches no row).
  std::vector<RowId> commit(Transaction& txn);
  // The same, and appends to `resolved` the writes as they were applied, with real ids: inserts
  // become puts of the whole row. HA Cattle sends that to the external database.
  std::vector<RowId> commit(Transaction& txn, Transaction& resolved);
  // Rows inserted from now on get ids of at least `floor` (a copy's own id range).
  void raise_next_ids(RowId floor);
  // Replaces every row of a table with `rows` (a fresh read of another copy); ids stay as read.
  // (Taken by value: a caller done with its rows moves them in.)
  void replace_rows(std::string_view table, std::vector<std::pair<RowId, Row>> rows);
  // Discards the writes.
  void rollback(Transaction& txn) { txn.writes_.clear(); }

  const Table* table(std::string_view name) const;
  // A number that changes whenever the table does (any write, read-back or TRUNCATE) and that no
  // other table of any store has had: a reader that keeps a parsed copy of a table (the Cattle
  // server's typed rows) parses it again only when its stamp differs. 0 for an unknown table.
  std::uint64_t stamp(std::string_view name) const;
  // The same for the store as a whole: it changes whenever any table does.
  std::uint64_t stamp() const { return stamp_.value; }
  // Calls fn(id) for every row written since the table had stamp `since` (an id may come more
  // than once; the row may since be gone) and returns true, so that a reader's parsed copy takes
  // only what changed (the Cattle server's row cache: a full parse per write made a wave of host
  // activations cost O(hosts^2), issue 15). Returns false, calling nothing, when the table's
  // journal does not reach back to `since` (a re-read, a TRUNCATE, a stamp of another table or
  // one too old): the reader then parses the whole table.
  template <class F>
  bool changed_since(std::string_view name, std::uint64_t since, F&& fn) const {
    const TableState* t = tables_.find(name);
    if (t == nullptr) return false;
    const Journal& j = t->journal;
    std::size_t from = 0;
    if (since != j.base) {
      auto w = std::lower_bound(j.writes.begin(), j.writes.end(), since,
                                [](const auto& e, std::uint64_t s) { return e.first < s; });
      if (w == j.writes.end() || w->first != since) return false;
      from = static_cast<std::size_t>(w - j.writes.begin()) + 1;
    }
    for (std::size_t i = from; i < j.writes.size(); ++i) fn(j.writes[i].second);
    return true;
  }
  const Row* find(std::string_view table, RowId id) const;
  // The value of a column, or "" when the row or the column is absent.
  std::string get(std::string_view table, RowId id, std::string_view column) const;
  std::int64_t get_int(std::string_view table, RowId id, std::string_view column) const;
  // The ids of the rows whose column has this value, in id order.
  std::vector<RowId> where(std::string_view table, std::string_view column,
                           std::string_view value) const;

  // TRUNCATE TABLE for each name, in order. With foreign-key checks on, a table that another
  // table refers to is refused with error 1701 and nothing after it is truncated. TRUNCATE also
  // resets the table's AUTO_INCREMENT counter.
  std::optional<DbError> truncate(const std::vector<std::string>& tables, bool foreign_key_checks);

  std::uint64_t digest() const { return state::digest(*this); }

  // The state of a store: a field list, so that the server that embeds it digests and perturbs
  // it with its own state (sim/core/state.hpp).
  // The rows of an indexed column by value, in id order: derived from the rows (a cache, so
  // untracked), kept up to date by every write.
  using ColumnIndex = std::map<std::string, std::set<RowId>, std::less<>>;
  // The rows a table's recent writes touched, each with the stamp the table had after it, from
  // the stamp `base` on (see changed_since). Stamps only grow, so the list is in stamp order.
  struct Journal {
    std::uint64_t base = 0;
    std::vector<std::pair<std::uint64_t, RowId>> writes;
  };
  // The words a table folds into a digest (its name's hash, then its rows and next_id as
  // state::add folds them), kept from one digest to the next until the table is written. The
  // explorer digests a node at every step that changes it, and the tables, mostly unchanged
  // and shared between a server's copies, were a tenth of known bug (b)'s plain dfs (their
  // strings hashed byte by byte at every step; bench/RESULTS.md, session 26, dfsclone). A copy
  // starts empty: the only copy of a table is made to write to it (Tables::write).
  struct DigestWords {
    std::vector<std::uint64_t> words;
    bool valid = false;
    DigestWords() = default;
    DigestWords(const DigestWords&) {}
    DigestWords& operator=(const DigestWords&) {
      valid = false;
      return *this;
    }
  };
  struct TableState {
    Table rows;
    RowId next_id = 1;
    Untracked<std::map<std::string, ColumnIndex, std::less<>>> indexes;  // by column
    Untracked<std::uint64_t> stamp = new_stamp();  // see stamp(): not state, a cache key
    Untracked<Journal> journal = Journal{stamp.value, {}};  // see changed_since(): a cache key too
    // See DigestWords: filled by a digest of the (possibly shared) table, hence mutable.
    mutable Untracked<DigestWords> digest_words;
    STAMPEDE_FIELDS(rows, next_id, indexes, stamp, journal, digest_words)
  };
  using TableMap = std::map<std::string, std::shared_ptr<TableState>, std::less<>>;
  // The tables, copy-on-write: a copy of a store (a snapshot of the server that holds it, which
  // dfs takes at nearly every state and assigns back at every backtrack) shares the map and every
  // table with the original, and a write copies the map and then only the table it changes, if
  // another copy still shares them. On known bug (b)'s plain dfs the copies of the HA servers'
  // tables, and their frees, were most of the cost of a snapshot and of a restore
  // (bench/RESULTS.md, session 25, cowdfs). Digested as the plain map of tables it stands for.
  class Tables {
   public:
    Tables() : map_(std::make_shared<TableMap>()) {}
    const TableMap& get() const { return *map_; }
    const TableState* find(std::string_view name) const {
      auto it = map_->find(name);
      return it == map_->end() ? nullptr : it->second.get();
    }
    // The table `name` to write to (null when there is none), not shared with any other copy.
    TableState* write(std::string_view name);
    // Adds an empty table unless there is one by that name; returns it, not shared.
    TableState& add(std::string name);
    void digest_into(Digest& d) const;
    void perturb_for_test();

   private:
    static void fill_digest_words(std::string_view name, const TableState& t);
    TableMap& own_map();
    std::shared_ptr<TableMap> map_;  // never null
    // The digest value before and after the tables were last folded in, until a write: a
    // digest that reaches the tables with the same value as then leaves them with the same
    // value (the store comes first in a db node's state and in a Cattle server's, so that is
    // nearly every digest of a node whose tables did not change). A cache, copied with the
    // tables it describes.
    mutable std::uint64_t memo_in_ = 0;
    mutable std::uint64_t memo_out_ = 0;
    mutable bool memo_valid_ = false;
  };
  STAMPEDE_FIELDS(tables_, foreign_keys_, max_connections_, connections_, stamp_)

 private:
  std::vector<RowId> commit(Transaction& txn, Transaction& resolved, bool record);
  TableState* state(std::string_view name);
  // Keep a table's indexes in step with a row that is about to change or has changed.
  static void unindex(TableState& t, RowId id);
  static void index(TableState& t, RowId id);
  // A new stamp for the table (and the store) after a write to row `id`, kept in its journal.
  void stamp_write(TableState& t, RowId id);
  // A new stamp after a change of the whole table: its journal starts again from there.
  void stamp_all(TableState& t);
  // A stamp no table has had before (process-wide, so that a copy of a store and the original
  // never give the same stamp to different contents).
  static std::uint64_t new_stamp();

  Tables tables_;
  // The schema's constraints, the same in every copy of a store: shared by the copies (an HA
  // server holds three stores, and copying their strings with every saved copy of the server
  // and back was 2% of known bug (b)'s plain dfs, callgrind).
  Cow<std::vector<ForeignKey>> foreign_keys_;
  int max_connections_;
  int connections_ = 0;
  Untracked<std::uint64_t> stamp_ = new_stamp();  // see stamp()
};

// The value as a decimal string, for rows.
std::string to_text(std::int64_t v);

}  // namespace stampede::mysql
