#pragma once
// The external MySQL of HA mode, as node `db`: it holds the Cattle store (a mysql::Database),
// accepts pooled connections up to max_connections (beyond that, error 1040), and serves the
// reads and transactions of db_protocol.hpp. Its data is durable (it is on disk, or a managed
// instance with backups): a crash keeps every committed row. Its connections are volatile, and
// so is what a transaction opened on one (begin) has written and not committed: a crash drops
// them all, as InnoDB rolls back at recovery what no COMMIT reached; a client then finds its
// connections closed (sim/net/connections.hpp) and makes new ones.
//
// A client whose process dies closes its connections: the db reads the EOF one latency later
// and frees them (and rolls their transactions back). One that loses power, or is cut off,
// says nothing: its connections stay until they have been idle for wait_timeout
// (db_wait_timeout, MariaDB's default 28800 s), when the db closes them with a reset (see
// DbReset) and logs "Aborted connection ... (Got timeout reading communication packets)", as
// mariadbd 10.11 does. When its host's power returns, its new process connects on new sockets
// (the mechanism tcp_socket_per_process, sim/net/connections.hpp): the old sessions stay,
// half-open, and count against max_connections until that timeout. Without the mechanism the
// first send of the new process resets the node pair's one connection and the db frees every
// session of that client at once. Either way, a new session from a client whose old ones came on
// the same connection replaces them (a pool its process made again: its old sockets are dead).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "models/mysql/database.hpp"
#include "models/mysql/db_protocol.hpp"
#include "sim/core/engine_mechanisms.hpp"
#include "sim/core/node.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"

namespace stampede::mysql {

// The store as a field of the db's state: digested and perturbed by the store itself when it is
// a state::Component, else through its digest() and its connection count. (A template only so
// that the branch the store does not need is never compiled.)
template <class Db>
struct StoreField {
  Db db;
  void digest_into(Digest& d) const {
    if constexpr (state::SelfDigesting<Db>) {
      db.digest_into(d);
    } else {
      d.add(db.digest());
    }
  }
  std::size_t state_field_count() const {
    if constexpr (state::Component<Db>) {
      return db.state_field_count();
    } else {
      return 1;
    }
  }
  std::string perturb_state_field(std::size_t i) {
    if constexpr (state::Component<Db>) {
      return db.perturb_state_field(i);
    } else {
      (void)i;
      if (db.connect()) db.disconnect();  // one connection more, or one fewer when full
      return "connections";
    }
  }
};

class DbNode final : public Node {
 public:
  // The tables are on disk (the Database also counts the open connections, which a crash drops).
  struct Durable {
    StoreField<Database> store;
    STAMPEDE_FIELDS(store)
  };
  // One open connection: the id of the last request it served (a connection carries one
  // request at a time in increasing order, so an older id is a copy the network duplicated,
  // which TCP would never deliver twice), when it was last active, and its open transaction.
  struct Session {
    std::int64_t last_request = 0;
    TimeNs last_active_ns = 0;
    std::optional<WriteBatch> txn;
    // The node pair's connection it was opened on (Ctx::stream_connection; 0 when the engine does
    // not say). Untracked, as the connection table leaves generations out of its digest
    // (sim/net/connections.hpp digest_into): what it decides, whether a session outlives its
    // connection's replacement, shows in the sessions the db keeps, which are digested.
    Untracked<std::uint32_t> socket;
    // Whether its client has since connected on a newer socket, so this one is half-open and a
    // keepalive probe on it will meet a reset (db_tcp_keepalive). Untracked for the same reason
    // as `socket`, from which it follows.
    Untracked<bool> peer_gone;
    STAMPEDE_FIELDS(last_request, last_active_ns, txn, socket, peer_gone)
  };
  // Every open connection, by (client node, connection id); whether the wait_timeout sweep's
  // timer is set.
  struct Volatile {
    std::map<std::pair<NodeId, std::int64_t>, Session> connections;
    bool sweep_set = false;
    STAMPEDE_FIELDS(connections, sweep_set)
  };

  // The db holds rancher-ha's `cluster` table besides Cattle's schema: each cluster manager
  // creates it at its start when it is missing (rancher/cluster-manager v0.1.5 db/db.go
  // Migrate, lines 81-99, CREATE TABLE IF NOT EXISTS); the model has it from the db's start.
  explicit DbNode(const DatabaseSpec& spec)
      : durable_{StoreField<Database>{Database(spec.max_connections)}} {
    durable_.store.db.add_table("cluster");
  }

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  // A client's process died (or reset its connection): MariaDB's threads read the EOF and free
  // that client's connections.
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override;
  void on_crash() override;
  // "truncate" (args: tables), with foreign-key checks off as in the field report.
  bool on_fault(Ctx& ctx, const ModelFault& fault) override;
  // db.connections; db.rows (arg: table).
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
  std::string_view message_name(std::uint32_t type) const override { return db_type_name(type); }
  std::unique_ptr<Node> clone() const override { return std::make_unique<DbNode>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, volatile_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, volatile_);
  }

  const Database& database() const { return durable_.store.db; }
  // A table of the schema that only some scenarios use (Cattle's health-check tables: the
  // world adds them before the run when a service has a health check), so that the others keep
  // their digests.
  void add_table(std::string name) { durable_.store.db.add_table(std::move(name)); }
  // Open connections, per client node.
  int connections_of(NodeId client) const;

 private:
  void on(Ctx& ctx, NodeId from, const DbOpen& m);
  void on(Ctx& ctx, NodeId from, const DbClose& m);
  void on(Ctx& ctx, NodeId from, const DbRequest& m);
  void close(NodeId from, std::int64_t conn);
  // Whether `session` came on a connection older than `socket` that its client's new
  // incarnation left half-open (tcp_socket_per_process): nothing sent or closed on `socket`
  // concerns it.
  static bool half_open(const Ctx& ctx, const Session& session, std::uint32_t socket);
  DbResult execute(Session& session, const RequestBody& req);
  DbResult read(const RequestBody& req);
  // The answer to `req`: a select_all of a table unchanged since the last one shares that one's
  // answer (select_all_answers_).
  std::shared_ptr<const ResponseBody> answer_for(Session& session, const RequestBody& req);
  // Applies `batch` (after the connection's open transaction, if any) all or nothing.
  DbResult commit(Session& session, const RequestBody& req);
  DbResult begin(Session& session, const RequestBody& req);
  // The sweep: closes every connection idle for wait_timeout and sets itself for the next.
  void on(Ctx& ctx, const IdleSweepTimer& t);
  void set_sweep(Ctx& ctx, DurationNs after_ns);
  // Marks the sessions of `from` that a connection on `socket` leaves half-open, each with its
  // keepalive probe's timer (db_tcp_keepalive).
  void mark_peer_gone(Ctx& ctx, NodeId from, std::uint32_t socket);
  // Keepalive: aborts the half-open sessions whose first probe is due (the peer's reset).
  void on(Ctx& ctx, const KeepaliveTimer& t);

  // Read at start, the same on every start: not state.
  struct Config {
    SeriesId queries = 0;
    SeriesId refused = 0;
    DurationNs wait_timeout_ns = 0;
    DurationNs keepalive_time_ns = 0;
    bool keepalive = false;
  } cfg_;
  Durable durable_;
  Volatile volatile_;
  // The last answer to a select_all of each table, with the table's stamp when it was read
  // (Database::stamp, which no other content of the table ever has, in this store or a copy):
  // the HA servers read every table back at each replay tick and Redis event, and copying an
  // unchanged table into a fresh answer for each was 4% of the HA hour (bench/RESULTS.md,
  // session 22). Answers are immutable once sent, so one can go out many times; the same rows
  // give the same message digest. A cache, not state: never digested. A copy of the node (the
  // explorer clones the db before nearly every step it takes while a snapshot holds it) shares
  // the map with the original: an answer is found by the stamp its rows had, which no other
  // content has had, so each copy may use the answers the other kept. Copying the map with the
  // node was 1% of known bug (b)'s plain dfs (callgrind).
  using SelectAllAnswers =
      std::map<std::string, std::pair<std::uint64_t, std::shared_ptr<const ResponseBody>>,
               std::less<>>;
  std::shared_ptr<SelectAllAnswers> select_all_answers_ = std::make_shared<SelectAllAnswers>();
};

}  // namespace stampede::mysql

namespace stampede {

// Timings, log messages, events and metrics of the external DB and its client. No ModelEntry: the lead
// adds node `db` when the Cattle servers go HA (spec.cluster.database.external).
void register_db_node(Registry& registry);

}  // namespace stampede
