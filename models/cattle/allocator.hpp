#pragma once
// Cattle 1.1's allocator: where a new container goes. rancher/cattle v0.165.8 places an instance
// with its SimpleAllocator (code/iaas/simple-allocator/src/main/java/io/cattle/platform/simple/
// allocator/SimpleAllocator.java) on top of AbstractAllocator (code/iaas/allocator/src/main/java/
// io/cattle/platform/allocator/service/AbstractAllocator.java):
//
// - The candidates are the active hosts, ordered by compute_free, most free first, then by host
//   id (SimpleAllocatorDaoImpl.java:61, simple.allocator.spread=true in allocator-server/
//   defaults.properties:4; false orders compute_free ascending, packing hosts). A host starts with
//   compute_free 1000000 (resources/content/schema/defaults/host.json:2) and each instance placed
//   on it takes instance.compute.default = 1 (defaults.properties:1, AllocatorDaoImpl.java:157-178,
//   called from recordCandidate at line 242); only the instance's purge gives it back
//   (InstancePurge.java:49), which the model does not have, so a removed instance keeps its unit.
//   Spread therefore means: the host with the fewest instances ever placed, then the lowest id.
// - The constraints: the ports the instance publishes (PortsConstraintProvider.java,
//   PortsConstraint.java: no other starting or running instance of the host publishes the same
//   public port and protocol, AllocatorDaoImpl.java:433-451), and the affinity labels
//   io.rancher.scheduler.affinity:{host_label, container_label, container}[_ne][_soft]
//   (AffinityConstraintsProvider.java, AllocatorServiceImpl.java:233-276 and 336-367,
//   HostAffinityConstraint.java, ContainerLabelAffinityConstraint.java,
//   ContainerAffinityConstraint.java). Without `_soft` a constraint is hard.
// - The first candidate that meets every constraint wins (AbstractAllocator.java:281-331). When
//   none does, the candidate whose failed constraints are the weakest (fewest hard, then fewest
//   soft; lines 334-372) gives up its first soft constraint and the allocator tries again (lines
//   236-255); when that set has no soft one left the allocation fails with "Scheduling failed: "
//   and the constraints (AllocatorEventListenerImpl.java:64-66), and with no candidate at all
//   "No candidates available" (AbstractAllocator.java:322-324). The process fails and is retried
//   for ever (process_engine.cpp's replay; rancher/rancher#820 and #4771).
//
// This file holds the allocator's decision as pure functions of plain data, so that a test can
// hold it to the classes above; allocator.cpp also builds that data from the server's tables.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/cattle/ids.hpp"
#include "sim/core/spec.hpp"

namespace stampede::cattle::alloc {

// A host's compute_free before anything is placed on it (rancher/cattle v0.165.8 resources/content/
// schema/defaults/host.json:2); each instance placed takes one unit.
inline constexpr std::int64_t k_host_compute_units = 1'000'000;

// ASCII lowercase: Cattle lowercases scheduling labels before it compares them.
std::string lower_text(std::string_view s);

// AffinityConstraintDefinition.AffinityOps (lines 4-25): the label suffix says which.
enum class Op : std::uint8_t { eq, ne, soft_eq, soft_ne };
enum class Kind : std::uint8_t { ports, host_label, container_label, container };

struct Constraint {
  Kind kind = Kind::ports;
  Op op = Op::eq;
  std::string key;    // a label's key (lowercase); empty for ports and container
  std::string value;  // a label's value (lowercase), or a container's name
  std::vector<PortSpec> ports;  // Kind::ports: the public ports the instance asks for
  bool hard() const { return kind == Kind::ports || op == Op::eq || op == Op::ne; }
  // The constraint as Cattle's message names it (its toString).
  std::string describe() const;
};

// A container already on a candidate host, as the constraints see it.
struct Resident {
  std::string name;  // "stack/service/index"
  std::map<std::string, std::string> labels;  // lowercase keys and values
  std::vector<PortSpec> ports;  // its published ports, when it holds them (starting/running)
};

struct Candidate {
  HostId host;
  std::int64_t compute_free = 0;
  std::map<std::string, std::string> labels;  // the host's labels, lowercase
  std::vector<Resident> residents;
};

// The instance's constraints: its ports, then its scheduling labels (keys and values lowercased,
// ${stack_name} and ${service_name} replaced, a value split at commas into one constraint each),
// hard ones first (AbstractAllocator.java:438-448). `affinity` false leaves the labels out.
std::vector<Constraint> constraints_for(const ServiceSpec& service, std::string_view stack,
                                        bool ports, bool affinity);

// The labels every container of a service carries: Rancher's stack and service labels
// (DeploymentUnit.java:405-406) and the service's own, lowercased as the allocator compares them.
std::map<std::string, std::string> container_labels(const ServiceSpec& service,
                                                    std::string_view stack);

bool matches(const Constraint& c, const Candidate& candidate);

// Orders candidates as SimpleAllocatorDaoImpl does: compute_free descending when spreading,
// ascending otherwise, then host id ascending.
void order(std::vector<Candidate>& candidates, bool spread);

struct Decision {
  HostId host;        // none when the allocation failed
  std::string error;  // "Scheduling failed: ..." when it failed
  std::vector<std::string> dropped;  // soft constraints given up on the way, described
};

// AbstractAllocator.acquireLockAndAllocate over ordered candidates. `drop_soft` false keeps soft
// constraints (they then act as hard ones; the mechanism cattle_soft_constraints off).
Decision allocate(const std::vector<Candidate>& candidates, std::vector<Constraint> constraints,
                  bool drop_soft);

}  // namespace stampede::cattle::alloc
