#pragma once
// Registers the lease-lock model (models/lease_lock): its timings, mechanisms, invariants and a
// ModelEntry that builds `lock`, `storage` and `client-1..N` when the scenario sets the timing
// `lease_lock_clients` above 0 (its default 0 adds nothing to other scenarios).
#include "sim/core/registry.hpp"

namespace stampede {

void register_lease_lock(Registry& registry);

}  // namespace stampede
