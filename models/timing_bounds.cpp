// The ranges of the registered timings (issue 16: "every timing has a documented lower bound
// where 0 makes no sense, every count an upper bound the engine can run; a run refuses rather
// than hangs"). Kept in one table so that `stampede list timings` and docs/reference.md show
// every bound from one place.
#include "models/timing_bounds.hpp"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/time.hpp"

namespace stampede {
namespace {

// Longer than any run the engine finishes (a simulated year takes hours of CPU), and short
// enough that the models' sums and doublings of timings (a tick times a limit in ticks, a
// restart backoff doubled at each short run) stay far from the 64-bit nanosecond range.
constexpr std::int64_t k_max_duration_ns = 10'000 * k_h;

// A period, backoff or timeout whose timer re-arms itself: at 0 it fires again at the same
// instant for ever, so the run never ends while its queue grows (the livelocks of issue 16, each
// found by setting the timing to 0 in agent-partition, ha-startup, ha-cluster-table and
// known-bugs/lease-lock). 1 ms is finer than any of them is in a real cluster.
constexpr const char* k_periods[] = {
    "process_replay_interval",
    "agent_ping_interval",
    "agent_connection_timeout",
    "agent_reconnect_delay",
    "healthcheck_cleanup_interval",
    "docker_restart_backoff",
    "zk_tick_time",
    "zk_finalize_wait",
    "zk_max_notification_interval",
    "redis_retry_interval",
    "db_validation_interval",
    "db_reconnect_backoff_min",
    "db_reconnect_backoff_max",
    "cm_heartbeat_interval",
    "cm_loop_interval",
    "cm_wait_hosts_poll",
    "liquibase_lock_poll",
    "db_eviction_interval",
    "archaius_poll_interval",
};

// Counts of nodes the world builds: each is a node with its own timers, and a thousand is more
// than any scenario needs (the servers are bounded the same way).
constexpr const char* k_node_counts[] = {"zk_lock_clients", "db_clients", "lease_lock_clients"};
constexpr std::int64_t k_max_nodes = 1000;

// Limits counted in ZooKeeper ticks: at least one tick (a limit of 0 ticks expires at once), at
// most a thousand (the product with zk_tick_time stays a duration the engine can hold).
constexpr const char* k_tick_counts[] = {"zk_init_limit", "zk_sync_limit",
                                         "zk_min_session_timeout", "zk_max_session_timeout"};
constexpr std::int64_t k_max_ticks = 1000;

// "every N-th round": N = 0 would divide by zero.
constexpr const char* k_every_counts[] = {"agent_ping_instances_every",
                                          "agent_ping_unmanaged_every"};

constexpr std::int64_t k_max_count = 1'000'000;

// A server's pool names its connections with 19 bits (models/mysql/db_protocol.hpp
// connection_id): it may hold at most a hundred thousand, and needs room for at least one.
constexpr const char* k_pool_counts[] = {"db_pool_max_active"};
constexpr std::int64_t k_max_pool = 100'000;

void bound(Registry& r, std::string_view name, std::int64_t min_value, std::int64_t max_value) {
  // A name in these tables that no model registers is a typo here: fail at once, at start-up.
  if (!r.bound_timing(name, min_value, max_value))
    throw std::logic_error("bound_timings: no timing named " + std::string(name));
}

}  // namespace

void bound_timings(Registry& registry) {
  // Every timing first gets the general range of its unit; the tables then narrow some.
  std::vector<std::pair<std::string, TimingUnit>> all;
  for (const TimingDef& t : registry.timings()) all.emplace_back(t.name, t.unit);
  for (const auto& [name, unit] : all)
    bound(registry, name, 0, unit == TimingUnit::duration ? k_max_duration_ns : k_max_count);
  for (const char* name : k_periods) bound(registry, name, k_ms, k_max_duration_ns);
  for (const char* name : k_node_counts) bound(registry, name, 0, k_max_nodes);
  for (const char* name : k_tick_counts) bound(registry, name, 1, k_max_ticks);
  for (const char* name : k_every_counts) bound(registry, name, 1, k_max_count);
  for (const char* name : k_pool_counts) bound(registry, name, 1, k_max_pool);
}

}  // namespace stampede
