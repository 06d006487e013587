#pragma once
// What an engine offers the fault injector. Faults are written once, against this interface, and
// run on every engine (the kernel now, SimGrid next, the explorer's replays).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/chooser.hpp"
#include "sim/core/node.hpp"
#include "sim/net/network.hpp"

namespace stampede {

class FaultTarget {
 public:
  virtual ~FaultTarget() = default;
  virtual TimeNs now() const = 0;
  // Nodes whose names match a pattern ("server-1", "agent-*", "all"), in id order.
  virtual std::vector<NodeId> resolve(std::string_view pattern) const = 0;
  virtual std::string_view node_name(NodeId id) const = 0;
  // Runs `fn` as a fault step at instant `at` (before other events of that instant).
  virtual void schedule(TimeNs at, std::function<void()> fn) = 0;
  virtual void crash(NodeId id) = 0;
  virtual void restart(NodeId id) = 0;
  virtual void power_off(NodeId id) = 0;
  virtual void power_on(NodeId id) = 0;
  virtual bool is_up(NodeId id) const = 0;
  virtual void pause(NodeId id, DurationNs for_ns) = 0;
  virtual void set_clock_skew(NodeId id, DurationNs skew_ns) = 0;
  virtual bool model_fault(const ModelFault& fault) = 0;
  virtual Network& network() = 0;
  virtual Chooser& chooser() = 0;
  // A line for the run's timeline.
  virtual void note(std::string text) = 0;
};

}  // namespace stampede
