#pragma once
// Fills the registry with every model of the single-server cluster: the nodes each builds from a
// scenario, and the timings, mechanisms, invariants, metrics, signals and log messages they use.
#include "sim/core/registry.hpp"

namespace stampede {

void register_models(Registry& registry);

}  // namespace stampede
