#pragma once
// Scripted faults (the scenario's `faults:` list) and the seeded nemesis (`random_faults:`).
#include <cstdint>
#include <deque>

#include "sim/core/random.hpp"
#include "sim/core/spec.hpp"
#include "sim/fault/fault_target.hpp"

namespace stampede {

class FaultInjector {
 public:
  // `root_seed` is the run's: the list form of `random_faults.crash` derives a stream per node
  // from it (the other random faults draw through the target's Chooser).
  FaultInjector(const ScenarioSpec& spec, FaultTarget& target, std::uint64_t root_seed)
      : spec_(spec), target_(target), root_seed_(root_seed) {}
  // Schedules every scripted fault and starts the nemesis.
  void arm();
  // The instant of the latest fault so far (0 before any), for convergence measurements.
  TimeNs last_fault_ns() const { return last_fault_ns_; }
  int faults_injected() const { return injected_; }

 private:
  void apply(const FaultSpec& f);
  bool apply_to_nodes(const FaultSpec& f);
  void schedule_random_crash(NodeId id, TimeNs from_ns);
  void schedule_random_partition(TimeNs from_ns);
  void schedule_class_failure(const RandomCrashSpec& c, NodeId id, RandomStream& stream,
                              TimeNs from_ns);
  void mark();
  std::vector<std::vector<NodeId>> resolve_groups(
      const std::vector<std::vector<std::string>>& groups) const;
  std::string describe_groups(const std::vector<std::vector<NodeId>>& groups) const;

  const ScenarioSpec& spec_;
  FaultTarget& target_;
  std::uint64_t root_seed_;
  std::deque<RandomStream> streams_;  // one per (class, node) of the list form; stable addresses
  TimeNs last_fault_ns_ = 0;
  int injected_ = 0;
};

}  // namespace stampede
