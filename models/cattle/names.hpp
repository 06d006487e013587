#pragma once
// The names the Cattle model reads from its context: timings (see register.cpp for their defaults
// and sources) and mechanism switches. Its timers are in timers.hpp.
#include <cstdint>
#include <string_view>

namespace stampede::cattle {

inline constexpr std::string_view t_ping_interval = "agent_ping_interval";
inline constexpr std::string_view t_ping_timeout = "agent_ping_timeout";
inline constexpr std::string_view t_ping_instances_every = "agent_ping_instances_every";
inline constexpr std::string_view t_ping_unmanaged_every = "agent_ping_unmanaged_every";
inline constexpr std::string_view t_reconnect_after = "agent_ping_reconnect_after_failed_count";
inline constexpr std::string_view t_replay_interval = "process_replay_interval";
inline constexpr std::string_view t_lock_wait = "lock_wait";
inline constexpr std::string_view t_service_lock_wait = "service_lock_wait";
inline constexpr std::string_view t_retry_max_wait = "process_retry_max_wait";
inline constexpr std::string_view t_agent_reply_timeout = "agent_reply_timeout";
inline constexpr std::string_view t_ha_start_interval = "ha_server_start_interval";
// HA lifecycle (lifecycle.cpp).
inline constexpr std::string_view t_curator_lost_after = "curator_lost_after";
inline constexpr std::string_view t_boot_time = "cattle_boot_time";
inline constexpr std::string_view t_restart_backoff = "docker_restart_backoff";
inline constexpr std::string_view t_restart_reset_after = "docker_restart_reset_after";
// HA schema migration (migration.cpp).
inline constexpr std::string_view t_changelog_lock_wait = "liquibase_lock_wait";
inline constexpr std::string_view t_changelog_lock_poll = "liquibase_lock_poll";
inline constexpr std::string_view t_changelog_update_time = "liquibase_update_time";
// HA: Archaius's poll of the setting table through the configuration data source (server.cpp).
inline constexpr std::string_view t_config_poll_interval = "archaius_poll_interval";

inline constexpr std::string_view m_agent_resync = "agent_resync";
inline constexpr std::string_view m_state_in_store = "state_in_store";
inline constexpr std::string_view m_process_replay = "process_replay";
inline constexpr std::string_view m_zk_stale_holder_check = "zk_stale_holder_check";
inline constexpr std::string_view m_stop_stray_copies = "cattle_stop_stray_copies";
// A service's removal of a running container waits for its agent's answer (process_defs.cpp,
// instance.stop_remove).
inline constexpr std::string_view m_stop_waits_reply = "cattle_stop_waits_reply";
inline constexpr std::string_view m_zk_service_locks = "zk_service_locks";
inline constexpr std::string_view m_exit_on_zk_lost = "cattle_exit_on_zk_lost";
// HA: the external db pool opens as commons-dbcp 1.4 does, one connection per borrow (server.cpp).
inline constexpr std::string_view m_pool_on_demand = "cattle_pool_on_demand";
inline constexpr std::string_view m_changelog_lock = "liquibase_changelog_lock";
inline constexpr std::string_view m_release_change_lock = "cattle_db_release_change_lock";
inline constexpr std::string_view m_config_source = "cattle_config_datasource";
inline constexpr std::string_view m_agent_connection_locks = "agent_connection_locks";
// HA: a server's events go through every Redis of the cluster (ha.cpp, models/redis/eventing.hpp).
inline constexpr std::string_view m_redis_per_node = "cattle_redis_per_node";
// HA: the owner's pings reach the agent as Redis events through the server holding its
// websocket, and the replies come back the same way (agent_bus.cpp).
inline constexpr std::string_view m_agent_events_bus = "cattle_agent_events_over_redis";
// HA: the agent commands (start, stop, deactivate) and their replies take the same way
// (agent_bus.cpp).
inline constexpr std::string_view m_agent_commands_bus = "cattle_agent_commands_over_redis";
// The allocator (allocator.cpp).
inline constexpr std::string_view m_alloc_spread = "cattle_allocator_spread";
inline constexpr std::string_view m_alloc_ports = "cattle_allocator_ports";
inline constexpr std::string_view m_alloc_affinity = "cattle_allocator_affinity";
inline constexpr std::string_view m_alloc_soft = "cattle_allocator_soft_constraints";
inline constexpr std::string_view m_alloc_lock = "cattle_allocator_lock";
// HA: each process instance runs under its ZooKeeper lock PROCESS.INSTANCE.<id> (process_lock.cpp).
inline constexpr std::string_view m_process_lock = "cattle_process_lock";
// Health checks (healthcheck.cpp).
inline constexpr std::string_view m_health_checks = "cattle_health_checks";
inline constexpr std::string_view m_health_read_back = "cattle_health_read_back";
inline constexpr std::string_view m_config_item_triggers = "cattle_config_item_triggers";
inline constexpr std::string_view m_health_register_lock = "cattle_healthcheck_register_lock";
inline constexpr std::string_view t_health_cleanup_interval = "healthcheck_cleanup_interval";

// HA: the Redis channel of Cattle's events, and the ZooKeeper lock of a service.
inline constexpr std::string_view k_event_channel = "cattle.events";
// The setting row the seed commits with its data: an installed database (server.cpp, seed).
inline constexpr std::string_view k_seeded_setting = "seeded";

}  // namespace stampede::cattle
