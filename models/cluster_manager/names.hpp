#pragma once
// The names this model registers (timings, mechanisms, signals, metrics), in one place so that
// the manager and register.cpp cannot drift apart. Defaults and their sources are in register.cpp.
#include <string_view>

namespace stampede::cm {

// Timings.
inline constexpr std::string_view k_heartbeat_interval = "cm_heartbeat_interval";
inline constexpr std::string_view k_loop_interval = "cm_loop_interval";
inline constexpr std::string_view k_max_missed = "cm_max_missed";
inline constexpr std::string_view k_wait_hosts_poll = "cm_wait_hosts_poll";
inline constexpr std::string_view k_wait_hosts_tries = "cm_wait_hosts_tries";
inline constexpr std::string_view k_service_start = "cm_service_start";
inline constexpr std::string_view k_db_connect_timeout = "cm_db_connect_timeout";
inline constexpr std::string_view k_db_io_timeout = "cm_db_io_timeout";
// Docker's restart policy, registered by models/cattle (lifecycle.cpp): rancher-ha's container
// has the same `--restart=always` as Cattle's.
inline constexpr std::string_view k_restart_backoff = "docker_restart_backoff";
inline constexpr std::string_view k_restart_reset_after = "docker_restart_reset_after";

// Mechanisms.
inline constexpr std::string_view k_version_check = "manager_version_check";
inline constexpr std::string_view k_leftover_check = "manager_leftover_check";
inline constexpr std::string_view k_health_check = "manager_health_check";
inline constexpr std::string_view k_memory_limit = "manager_memory_limit";
inline constexpr std::string_view k_membership_table = "cm_membership_table";
inline constexpr std::string_view k_own_index_request = "cm_own_index_request";

// Signals.
inline constexpr std::string_view k_signal_stack_started = "cluster.management_stack_started";
inline constexpr std::string_view k_signal_formed = "cluster.formed";
inline constexpr std::string_view k_signal_version_mismatch = "cluster.version_mismatch";
inline constexpr std::string_view k_signal_server_unavailable = "cluster.server_not_available";
inline constexpr std::string_view k_signal_leftover_state = "cluster.leftover_state";
inline constexpr std::string_view k_signal_out_of_memory = "cluster.node_out_of_memory";
inline constexpr std::string_view k_signal_manager_exited = "cluster.manager_exited";

// Metrics.
inline constexpr std::string_view k_metric_membership_changes = "cm_membership_changes";
inline constexpr std::string_view k_metric_health_failures = "cm_health_check_failures";

// The model fault that removes a node's leftover state files (arg: the node's name).
inline constexpr std::string_view k_fault_clean_state = "clean_state";

// The address the local Cattle server listens on, seen from the manager's container: the gateway
// of Docker's default bridge network 172.17.0.0/16 (rancher/cluster-manager docker.GetBridgeIP
// takes the bridge subnet's first address plus one).
inline constexpr std::string_view k_docker_bridge_gateway = "172.17.0.1";
// rancher/cluster-manager db.RancherServerPort: the port the manager pings the server on.
inline constexpr int k_rancher_server_port = 18080;

}  // namespace stampede::cm
