#pragma once
// The external MySQL of HA mode, as node `db`: it holds the Cattle store (a mysql::Database),
// accepts pooled connections up to max_connections (beyond that, error 1040), and serves the
// reads and transactions of db_protocol.hpp. Its data is durable (it is on disk, or a managed
// instance with backups): a crash keeps every committed row. Its connections are volatile: a
// crash drops them all, and a client that sends on one afterwards gets a reset and reconnects.
//
// A client that crashed cannot say goodbye; its connections are released when it connects again
// (a new session from the same node replaces the old one). One that never comes back keeps them,
// as a crashed host's connections stay in MySQL until wait_timeout (8 h by default).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "models/mysql/database.hpp"
#include "models/mysql/db_protocol.hpp"
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
  // Every open connection, by (client node, connection id), with the id of the last request it
  // served: a connection carries one request at a time in increasing order, so an older id is a
  // copy the network duplicated (TCP would never deliver it twice).
  struct Volatile {
    std::map<std::pair<NodeId, std::int64_t>, std::int64_t> connections;
    STAMPEDE_FIELDS(connections)
  };

  explicit DbNode(const DatabaseSpec& spec)
      : durable_{StoreField<Database>{Database(spec.max_connections)}} {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
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
  // Open connections, per client node.
  int connections_of(NodeId client) const;

 private:
  void on(Ctx& ctx, NodeId from, const DbOpen& m);
  void on(Ctx& ctx, NodeId from, const DbClose& m);
  void on(Ctx& ctx, NodeId from, const DbRequest& m);
  void close(NodeId from, std::int64_t conn);
  DbResult execute(const RequestBody& req);
  DbResult read(const RequestBody& req);
  DbResult commit(const RequestBody& req);

  // Metric ids, interned at start: not state.
  struct Metrics {
    SeriesId queries = 0;
    SeriesId refused = 0;
  } metrics_;
  Durable durable_;
  Volatile volatile_;
};

}  // namespace stampede::mysql

namespace stampede {

// Timings, log messages, events and metrics of the external DB and its client. No ModelEntry: the lead
// adds node `db` when the Cattle servers go HA (spec.cluster.database.external).
void register_db_node(Registry& registry);

}  // namespace stampede
