#pragma once
// The names the Cattle model reads from its context: timings (see register.cpp for their defaults
// and sources) and mechanism switches, and the tags of its timers.
#include <cstdint>
#include <string_view>

namespace stampede::cattle {

inline constexpr std::string_view t_ping_interval = "agent_ping_interval";
inline constexpr std::string_view t_ping_timeout = "agent_ping_timeout";
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
inline constexpr std::string_view m_zk_service_locks = "zk_service_locks";

// HA: the Redis channel of Cattle's events, and the ZooKeeper lock of a service.
inline constexpr std::string_view k_event_channel = "cattle.events";

// A timer tag is a kind in the top byte and a payload below it.
enum TimerKind : std::uint64_t {
  timer_ping_tick = 1,
  timer_ping_timeout = 2,  // payload: host id << 24 | sequence (low 24 bits)
  timer_replay = 3,
  timer_bus = 4,
  timer_lock_wait = 5,     // payload: process instance id
  timer_agent_reply = 6,   // payload: process instance id
  timer_retry = 7,         // payload: process instance id
  timer_ha_boot = 8,       // HA: the staggered first boot of server-K is due
  timer_service_lock = 9,  // HA: the wait for a service's ZooKeeper lock is over; payload: id
};

inline constexpr std::uint64_t make_tag(TimerKind kind, std::uint64_t payload) {
  return (static_cast<std::uint64_t>(kind) << 56) | (payload & ((std::uint64_t{1} << 56) - 1));
}
inline constexpr TimerKind tag_kind(std::uint64_t tag) { return static_cast<TimerKind>(tag >> 56); }
inline constexpr std::uint64_t tag_payload(std::uint64_t tag) {
  return tag & ((std::uint64_t{1} << 56) - 1);
}

}  // namespace stampede::cattle
