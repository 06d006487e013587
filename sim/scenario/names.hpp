#pragma once
// Internal to sim/scenario: the node, container, service and load balancer names a scenario
// defines, so that faults and expectations referring to anything else are caught with the file
// position and a suggestion rather than silently matching nothing at run time.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/spec.hpp"

namespace stampede::scenario_detail {

class Names {
 public:
  explicit Names(const ScenarioSpec& spec);

  // Each returns nullopt when the name is valid, else the message to fail with.
  // A node name, or (when `pattern_ok`) a group pattern: agent-*, server-*, zookeeper-*,
  // client-*, all.
  std::optional<std::string> check_node(std::string_view name, bool pattern_ok) const;
  std::optional<std::string> check_host(std::string_view name) const;       // agent-N
  std::optional<std::string> check_container(std::string_view name) const;  // STACK/SERVICE/I
  std::optional<std::string> check_service(std::string_view name) const;    // STACK/SERVICE
  std::optional<std::string> check_lb(std::string_view name) const;         // STACK/LB

  // Every concrete node name, in the order the models build them.
  std::vector<std::string> node_names() const;

 private:
  struct Stack {
    std::string name;
    std::vector<std::string> services;
    std::vector<int> scales;
    std::string lb;  // "" when the stack has none
  };
  const Stack* find_stack(std::string_view name) const;
  std::optional<std::string> unknown_stack(std::string_view stack, std::string_view whole) const;
  std::string summary(bool pattern_ok) const;

  int servers_ = 1;
  int agents_ = 0;
  int zookeeper_ = 0;
  int clients_ = 0;
  // lease-lock, lease-storage and lease-client-1..N, which the lease-lock model builds when the
  // scenario's timing lease_lock_clients is positive (models/lease_lock/register.cpp).
  int lease_clients_ = 0;
  int db_clients_ = 0;     // dbclient-N (timing db_clients, in HA mode)
  int zk_clients_ = 0;     // zkclient-N (timing zk_lock_clients, with a zookeeper ensemble)
  bool zk_probe_ = false;  // zkprobe (timing zk_probe_interval above 0)
  int redis_ = 0;          // redis-1..N
  bool external_db_ = false;
  std::vector<Stack> stacks_;
};

// Splits "a/b/c" at '/'.
std::vector<std::string> split_slash(std::string_view s);

}  // namespace stampede::scenario_detail
