#pragma once
// The management stack rancher-ha launches once the cluster has formed: ten services declared
// with the services each one needs, and started in a topological order of that graph
// (Boost.Graph), so that no service starts before what it needs.
#include <string>
#include <string_view>
#include <vector>

namespace stampede::cm {

struct ServiceDef {
  std::string name;
  std::vector<std::string> needs;  // services of the stack that must be up first
};

// The ten services, in the order rancher-ha lists them, with their declared dependencies.
const std::vector<ServiceDef>& management_stack();

// A start order of `services` in which every service comes after all it needs: Boost.Graph's
// topological_sort over edges service -> needed service (its output, dependencies first, is the
// start order). Deterministic for a given declaration order. Empty when the declaration has a
// cycle or names an undeclared service (a stack that cannot be started).
std::vector<std::string> stack_order(const std::vector<ServiceDef>& services);

}  // namespace stampede::cm
