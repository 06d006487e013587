#pragma once
// What every engine offers the run driver: building the world, scheduling faults and checks,
// running, injecting faults, and the recorded results. The kernel implements it; the SimGrid
// engine implements it with actors, mailboxes and host and link state.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sim/core/node.hpp"
#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"

namespace stampede {

class Network;

// What every engine is configured with: the seed, the network, and the run's resolved timings and
// mechanism switches (sim/run builds it from a scenario: engine_options()).
struct EngineOptions {
  std::uint64_t seed = 1;
  NetworkSpec network;
  TimingMap timings;        // every registered timing, resolved
  MechanismMap mechanisms;  // every registered mechanism, resolved
  bool keep_debug_logs = false;
};

class Engine : public WorldView, public RunRecord {
 public:
  virtual std::string_view engine_name() const = 0;
  virtual NodeId add_node(std::string name, std::unique_ptr<Node> node) = 0;
  virtual void add_observer(StepObserver* obs) = 0;
  // Runs `fn` as a step of `kind` (fault or check) at instant `t`: faults before other events of
  // that instant, checks after them.
  virtual void at(TimeNs t, StepKind kind, std::function<void()> fn) = 0;
  virtual void run_until(TimeNs until_ns) = 0;

  virtual void crash(NodeId id) = 0;
  virtual void restart(NodeId id) = 0;
  // The node's host loses power: its process dies like a crash, but silently (no connection
  // closes, so peers learn only by their own timeouts); power_on restores power and boots it.
  virtual void power_off(NodeId id) = 0;
  virtual void power_on(NodeId id) = 0;
  virtual void pause(NodeId id, DurationNs for_ns) = 0;
  virtual void set_clock_skew(NodeId id, DurationNs skew_ns) = 0;
  virtual bool model_fault(const ModelFault& f) = 0;
  virtual Network& network() = 0;

  virtual std::uint64_t steps() const = 0;
  virtual std::uint64_t digest() const = 0;
  virtual std::uint64_t messages_delivered() const = 0;
};

}  // namespace stampede
