#pragma once
// A leader-election vote and the order votes are compared in (FastLeaderElection's
// totalOrderPredicate).
#include <cstdint>

#include "sim/core/fields.hpp"

namespace stampede::zk {

enum class ServerState : std::uint8_t { looking = 0, following = 1, leading = 2 };

struct Vote {
  std::int64_t leader = 0;      // proposed leader's server id
  std::int64_t zxid = 0;        // proposed leader's last logged zxid
  std::int64_t peer_epoch = 0;  // proposed leader's current epoch
  bool operator==(const Vote&) const = default;
  STAMPEDE_FIELDS(leader, zxid, peer_epoch)
};

// Whether the vote `next` beats `current`: by peer epoch, then zxid, then server id. With
// `correct_order` false this is the comparison of ZooKeeper 3.3/3.4 before ZOOKEEPER-1419, whose
// id tie-break ignored the epoch: a vote with a lower epoch but the same zxid and a higher id
// then beats a vote with a higher epoch, the order is no longer total, and an election can cycle
// between votes without settling ("Leader election never settles for a 5-node cluster").
bool total_order_predicate(const Vote& next, const Vote& current, bool correct_order);

}  // namespace stampede::zk
