#pragma once
// Registers the cluster manager (rancher-ha): its timings, mechanisms, signals, metrics and log
// messages. No ModelEntry: the manager is a library embedded in the Cattle server node (see
// cluster_manager.hpp); ManagerNode / make_manager_node run it alone.
#include "sim/core/registry.hpp"

namespace stampede {

void register_cluster_manager(Registry& registry);

}  // namespace stampede
