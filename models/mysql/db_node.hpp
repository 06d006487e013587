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
#include <optional>
#include <string_view>
#include <utility>

#include "models/mysql/database.hpp"
#include "models/mysql/db_protocol.hpp"
#include "sim/core/node.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"

namespace stampede::mysql {

class DbNode final : public Node {
 public:
  explicit DbNode(const DatabaseSpec& spec) : db_(spec.max_connections) {}

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  // "truncate" (args: tables), with foreign-key checks off as in the field report.
  bool on_fault(Ctx& ctx, const ModelFault& fault) override;
  // db.connections; db.rows (arg: table).
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override { return db_type_name(type); }

  const Database& database() const { return db_; }
  // Open connections, per client node.
  int connections_of(NodeId client) const;

 private:
  void open(Ctx& ctx, NodeId from, std::int64_t conn);
  void close(NodeId from, std::int64_t conn);
  DbResult execute(const RequestBody& req);

  Database db_;  // durable
  // Volatile: every open connection, by (client node, connection id), with the id of the last
  // request it served: a connection carries one request at a time in increasing order, so an
  // older id is a copy the network duplicated (TCP would never deliver it twice).
  std::map<std::pair<NodeId, std::int64_t>, std::int64_t> connections_;
  SeriesId queries_ = 0;
  SeriesId refused_ = 0;
};

}  // namespace stampede::mysql

namespace stampede {

// Timings, log messages and metrics of the external DB and its client. No ModelEntry: the lead
// adds node `db` when the Cattle servers go HA (spec.cluster.database.external).
void register_db_node(Registry& registry);

}  // namespace stampede
