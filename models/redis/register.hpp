#pragma once
// Registers the Redis model: its timings and metrics, and a ModelEntry that adds redis-1..K,
// K = spec.cluster.redis.
#include "sim/core/registry.hpp"

namespace stampede {

void register_redis(Registry& registry);

}  // namespace stampede
