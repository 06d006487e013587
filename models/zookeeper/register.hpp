#pragma once
// Registers the ZooKeeper model: its timings, mechanism, invariants, signals, metrics and log
// messages, and a ModelEntry that adds zookeeper-1..N when spec.cluster.zookeeper > 0 (plus
// zkclient-1..K lock clients when the scenario sets the timing zk_lock_clients to K).
#include "sim/core/registry.hpp"

namespace stampede {

void register_zookeeper(Registry& registry);

}  // namespace stampede
