#pragma once
// Registers the Redis model: its timings and metrics, and a ModelEntry that adds redis-1 when
// spec.cluster.redis is true.
#include "sim/core/registry.hpp"

namespace stampede {

void register_redis(Registry& registry);

}  // namespace stampede
