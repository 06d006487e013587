#pragma once
// Every protocol's block of message type numbers, in one table. A message struct takes its type
// from its protocol's block (`k_protocol.type(n)`, which does not compile outside the block), and
// the static_assert below fails the build when two blocks overlap, so two protocols can never
// share a type number by accident.
#include "sim/core/wire.hpp"

namespace stampede::protocols {

inline constexpr ProtocolRange k_cattle{"cattle", 1, 20};  // server, agents, balancers, API
inline constexpr ProtocolRange k_app{"app", 20, 40};       // clients, balancers, containers
inline constexpr ProtocolRange k_cluster_manager{"cluster_manager", 0x4300, 0x4310};
inline constexpr ProtocolRange k_lease_lock{"lease_lock", 0x4C00, 0x4C10};
inline constexpr ProtocolRange k_mysql{"mysql", 0x4D00, 0x4D20};
inline constexpr ProtocolRange k_redis{"redis", 0x5200, 0x5220};
inline constexpr ProtocolRange k_zookeeper{"zookeeper", 0x5A00, 0x5A80};

inline constexpr ProtocolRange k_all[] = {k_cattle, k_app,   k_cluster_manager, k_lease_lock,
                                          k_mysql,  k_redis, k_zookeeper};
static_assert(ranges_disjoint(k_all), "two protocols' message type blocks overlap");

}  // namespace stampede::protocols
