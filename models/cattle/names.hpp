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
inline constexpr std::string_view t_disconnect_after = "host_disconnect_after";
inline constexpr std::string_view t_replay_interval = "process_replay_interval";
inline constexpr std::string_view t_lock_wait = "lock_wait";
inline constexpr std::string_view t_retry_count = "idempotent_retry_count";
inline constexpr std::string_view t_retry_backoff = "process_retry_backoff";
inline constexpr std::string_view t_agent_reply_timeout = "agent_reply_timeout";
inline constexpr std::string_view t_ha_start_interval = "ha_server_start_interval";

inline constexpr std::string_view m_agent_resync = "agent_resync";
inline constexpr std::string_view m_state_in_store = "state_in_store";
inline constexpr std::string_view m_process_replay = "process_replay";
inline constexpr std::string_view m_zk_stale_holder_check = "zk_stale_holder_check";
inline constexpr std::string_view m_stop_stray_copies = "cattle_stop_stray_copies";
inline constexpr std::string_view m_zk_service_locks = "zk_service_locks";
inline constexpr std::string_view m_agent_connection_locks = "agent_connection_locks";

// HA: the Redis channel of Cattle's events, and the ZooKeeper lock of a service.
inline constexpr std::string_view k_event_channel = "cattle.events";

}  // namespace stampede::cattle
