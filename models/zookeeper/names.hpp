#pragma once
// The names this model registers (timings, mechanisms, signals, metrics, log messages), in one
// place so that the nodes and register.cpp cannot drift apart.
#include <string_view>

namespace stampede::zk {

// Timings (see register.cpp for defaults and sources).
inline constexpr std::string_view k_tick_time = "zk_tick_time";
inline constexpr std::string_view k_init_limit = "zk_init_limit";
inline constexpr std::string_view k_sync_limit = "zk_sync_limit";
inline constexpr std::string_view k_min_session_timeout = "zk_min_session_timeout";
inline constexpr std::string_view k_max_session_timeout = "zk_max_session_timeout";
inline constexpr std::string_view k_session_timeout = "zk_session_timeout";
inline constexpr std::string_view k_finalize_wait = "zk_finalize_wait";
inline constexpr std::string_view k_max_notification_interval = "zk_max_notification_interval";
inline constexpr std::string_view k_lock_client_hold = "zk_lock_client_hold";
inline constexpr std::string_view k_lock_client_idle = "zk_lock_client_idle";
inline constexpr std::string_view k_probe_interval = "zk_probe_interval";
inline constexpr std::string_view k_probe_timeout = "zk_probe_timeout";
// Processing times of the real servers, measured (docs/conformance.md, "Why rows fail").
inline constexpr std::string_view k_exit_teardown = "zk_exit_teardown";
inline constexpr std::string_view k_follower_shutdown_time = "zk_follower_shutdown_time";
inline constexpr std::string_view k_follower_shutdown_spread = "zk_follower_shutdown_spread";
inline constexpr std::string_view k_leader_bind_time = "zk_leader_bind_time";
inline constexpr std::string_view k_learner_sync_time = "zk_learner_sync_time";
inline constexpr std::string_view k_leader_startup_time = "zk_leader_startup_time";
// The host's page cache, which holds the txn log's unsynced writes (durable.hpp, PageCache).
inline constexpr std::string_view k_dirty_expire = "zk_dirty_expire";
inline constexpr std::string_view k_dirty_writeback = "zk_dirty_writeback";

// Mechanisms.
inline constexpr std::string_view k_correct_vote_order = "zk_correct_vote_order";
inline constexpr std::string_view k_session_order = "zk_session_order";
inline constexpr std::string_view k_learner_connect_tries = "zk_learner_connect_tries";
inline constexpr std::string_view k_force_sync_no = "zk_force_sync_no";

// Signals.
inline constexpr std::string_view k_signal_leader_elected = "zk.leader_elected";
inline constexpr std::string_view k_signal_session_expired = "zk.session_expired";

// Metrics.
inline constexpr std::string_view k_metric_elections = "zk_elections";
inline constexpr std::string_view k_metric_commits = "zk_commits";
inline constexpr std::string_view k_metric_lock_acquisitions = "zk_lock_acquisitions";
// The probe's outcomes (1 committed in time, 0 not); the run turns the series into the metric
// availability:zookeeper.
inline constexpr std::string_view k_series_probe = "requests:zookeeper";

}  // namespace stampede::zk
