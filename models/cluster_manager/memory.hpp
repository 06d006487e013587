#pragma once
// The memory of an HA node (docs/field-notes.md observation 10: "HA runs several JVMs per node; under
// about 4 GB a node becomes unresponsive"). Each process the node runs has a resident footprint,
// sized the way its start script sizes it for a node of that memory; the node thrashes when the
// footprints add up to more than its memory less an OS reserve. The figures and their sources
// are in memory.cpp and the README ("HA mode").
//
// The simplification: every JVM counts with its whole maximum heap plus its non-heap defaults
// (permanent generation and code cache), as a JVM under steady allocation grows its heap up to
// -Xmx before a full collection gives anything back; the node either fits or thrashes, with
// nothing in between (no slow-down that grows with the overcommit, no OOM killer).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stampede::cm {

struct Footprint {
  std::string_view process;
  std::int64_t memory_mib = 0;
};

// What the kernel, the Docker daemon and the host's own services keep for themselves.
std::int64_t os_reserve_mib();

// The Cattle server's maximum heap: rancher/server's cattle.sh picks -Xmx from the node's
// memory in whole GB (`free -g --si`): 4g above 6 GB, 2g above 2 GB, 1g otherwise.
std::int64_t cattle_heap_mib(std::int64_t node_memory_mib);

// ZooKeeper's maximum heap: rancher/server starts it without -Xmx, so the JVM's default, a
// quarter of the node's memory.
std::int64_t zookeeper_heap_mib(std::int64_t node_memory_mib);

// What a node runs from its manager's start, before the management stack: the Cattle server's
// JVM, the cluster manager and the Rancher agent.
std::vector<Footprint> base_processes(std::int64_t node_memory_mib);

// One service of the management stack on a node of that memory (0 for "cattle": the model's
// Cattle server runs from boot and is counted in base_processes already).
std::int64_t service_footprint_mib(std::string_view service, std::int64_t node_memory_mib);

// The resident total of base_processes and the first `services` services of `order`.
std::int64_t node_demand_mib(std::int64_t node_memory_mib, const std::vector<std::string>& order,
                             int services);

}  // namespace stampede::cm
