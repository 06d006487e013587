#pragma once
#include "sim/core/registry.hpp"

namespace stampede {

// The range a scenario may give each registered timing (TimingDef::min_value, max_value). Called
// by register_models once every model has registered its timings.
void bound_timings(Registry& registry);

}  // namespace stampede
