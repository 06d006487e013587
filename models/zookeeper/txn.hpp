#pragma once
// A ZooKeeper transaction and the replicated log of them. A txn is immutable once proposed and is
// shared (not copied) between the histories of the servers that log it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/digest.hpp"
#include "sim/core/message.hpp"
#include "sim/core/time.hpp"

namespace stampede::zk {

enum class TxnOp : std::uint8_t { create_session, close_session, create, remove };

// Flags of a create.
inline constexpr std::int64_t k_ephemeral = 1;
inline constexpr std::int64_t k_sequential = 2;
// Creates missing ancestors as persistent nodes (what Curator's creatingParentsIfNeeded does
// with several requests, folded into one txn here).
inline constexpr std::int64_t k_parents = 4;

struct Txn {
  TxnOp op = TxnOp::create;
  std::string path;
  std::int64_t session = 0;  // the session that asked (the owner of an ephemeral)
  std::int64_t flags = 0;
  std::int64_t timeout_ns = 0;  // create_session: the negotiated timeout
  bool expired = false;         // close_session: the leader expired the session
  TimeNs expired_at_ns = 0;     // close_session when expired: the leader's clock when it decided
  // Who is answered once the txn is applied: the server the client is connected to.
  int origin_sid = 0;
  NodeId client = k_no_node;
  std::int64_t client_conn = 0;
  std::int64_t xid = 0;
  // A write of the availability probe (ZkProbe): answered with probe_committed, not as a client's.
  bool probe = false;

  std::uint64_t digest() const;
};

struct LoggedTxn {
  std::int64_t zxid = 0;
  std::shared_ptr<const Txn> txn;
};

using History = std::vector<LoggedTxn>;

inline std::int64_t make_zxid(std::int64_t epoch, std::int64_t counter) {
  return (epoch << 32) | counter;
}
inline std::int64_t epoch_of(std::int64_t zxid) {
  return zxid >> 32;
}

std::uint64_t entry_digest(const LoggedTxn& e);

}  // namespace stampede::zk
