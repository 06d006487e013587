#pragma once
// Fills the registry with every model of the single-server cluster: the nodes each builds from a
// scenario, and the timings, mechanisms, invariants, metrics, signals and log messages they use.
#include <optional>
#include <string>

#include "sim/core/registry.hpp"

namespace stampede {

void register_models(Registry& registry);

// lock.no_stale_holder_action found afresh from the world, without the answers the run's
// check keeps between steps: what the check must always give (tests compare the two).
std::optional<std::string> stale_holder_action_full(const WorldView& world);

}  // namespace stampede
