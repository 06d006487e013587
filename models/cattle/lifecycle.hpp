#pragma once
// The HA server's process lifecycle as Rancher 1.1 runs it (lifecycle.cpp): Cattle exits when
// Curator reports LOST, Docker restarts its container after its restart back-off, and the new
// process boots. This header registers the timings and the mechanism those steps read.
#include "sim/core/registry.hpp"

namespace stampede::cattle {

void register_lifecycle(Registry& r);

}  // namespace stampede::cattle
