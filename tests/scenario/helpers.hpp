#pragma once
// A small registry of the names the tests refer to (the models' registry is not linked here), and
// helpers that return the one-line error of a bad scenario.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::test {

inline const Registry& registry() {
  static const Registry reg = [] {
    Registry r;
    r.add_timing({"agent_ping_interval", TimingUnit::duration, 5 * k_s, "test", "ping period"});
    r.add_timing({"agent_ping_misses", TimingUnit::count, 3, "test", "misses before reconnecting"});
    r.add_timing({"lock_timeout", TimingUnit::duration, 30 * k_s, "test", "lock lease"});
    r.add_timing({"lease_lock_clients", TimingUnit::count, 0, "test", "lease-lock clients"});
    r.add_mechanism({"agent_resync", "the agent's periodic resync"});
    r.add_mechanism({"lock_fencing", "fencing tokens on locks"});
    r.add_invariant({"lock.mutual_exclusion", "one holder per lock", nullptr});
    r.add_invariant({"service.scale_exceeded", "more containers than the scale", nullptr});
    r.add_signal({"cluster.management_stack_started", "the management stack came up"});
    r.add_event({"cattle.host_state_changed", {"host", "from", "to"}, "a host changed state"});
    return r;
  }();
  return reg;
}

inline ScenarioSpec parse(std::string_view yaml, const std::vector<std::string>& sets = {}) {
  return parse_scenario_with_overrides(yaml, "t.yaml", sets, registry());
}

// The InputError's message, or "(no error)".
inline std::string error_of(std::string_view yaml, const std::vector<std::string>& sets = {}) {
  try {
    parse(yaml, sets);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// A small valid scenario the error tests vary. Line numbers matter: keep it as it is.
inline constexpr std::string_view k_tiny = R"(name: tiny
duration: 60s
cluster:
  agents: 2
stacks:
  - name: wordpress
    services:
      - {name: db, scale: 1}
      - {name: web, scale: 2, links: [db]}
    load_balancer: {name: lb, targets: [web]}
workload:
  - client: {target: wordpress/lb, rate: 5/s}
)";

// k_tiny followed by `tail` (which starts on line 13).
inline std::string tiny_with(std::string_view tail) {
  return std::string(k_tiny) + std::string(tail);
}

// Three servers and an external db; `extra` continues the cluster map (from line 6), `tail`
// follows it (top-level sections).
inline std::string ha(std::string_view extra, std::string_view tail = "") {
  return "name: ha\nduration: 5m\ncluster:\n  servers: 3\n  database: {external: true}\n" +
         std::string(extra) + std::string(tail);
}

// The error starts with `prefix` (the position) and contains `needle`, on one line.
inline void require_error(const std::string& err, const std::string& prefix,
                          const std::string& needle) {
  INFO(err);
  CHECK_THAT(err, Catch::StartsWith(prefix));
  CHECK_THAT(err, Catch::Contains(needle));
  CHECK(err.find('\n') == std::string::npos);
}

}  // namespace stampede::test
