#pragma once
// The HA server's process lifecycle as Rancher 1.1 runs it (lifecycle.cpp): Cattle exits when
// Curator reports LOST, Docker restarts its container after its restart back-off, and the new
// process boots, first taking Liquibase's changelog lock (migration.cpp). This header registers
// the timings, mechanisms, signals and events of both.
#include "sim/core/registry.hpp"

namespace stampede::cattle {

void register_lifecycle(Registry& r);

}  // namespace stampede::cattle
