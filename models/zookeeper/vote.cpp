#include "models/zookeeper/vote.hpp"

namespace stampede::zk {

bool total_order_predicate(const Vote& next, const Vote& current, bool correct_order) {
  if (correct_order) {
    return next.peer_epoch > current.peer_epoch ||
           (next.peer_epoch == current.peer_epoch &&
            (next.zxid > current.zxid ||
             (next.zxid == current.zxid && next.leader > current.leader)));
  }
  // ZOOKEEPER-1419: the last clause lacks `next.peer_epoch == current.peer_epoch`.
  return next.peer_epoch > current.peer_epoch ||
         (next.peer_epoch == current.peer_epoch && next.zxid > current.zxid) ||
         (next.zxid == current.zxid && next.leader > current.leader);
}

}  // namespace stampede::zk
