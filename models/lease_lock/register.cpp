#include "models/lease_lock/register.hpp"

#include <fmt/format.h>

#include "models/lease_lock/lease_lock.hpp"

namespace stampede {

namespace {

constexpr std::string_view k_peer = "bench/spin/lease_lock.pml";

std::int64_t timing_or(const ScenarioSpec& spec, const std::string& name, std::int64_t fallback) {
  auto it = spec.cluster.timing.find(name);
  return it == spec.cluster.timing.end() ? fallback : it->second;
}

void build(const ScenarioSpec& spec, WorldBuilder& world) {
  std::int64_t clients = timing_or(spec, "lease_lock_clients", 0);
  if (clients <= 0) return;  // not a lease-lock scenario
  lease_lock::LockConfig c;
  c.session_leases = timing_or(spec, "lease_lock_session_ttl", 0) > 0;
  world.add_node("lease-lock", std::make_unique<lease_lock::LockService>(c));
  world.add_node("lease-storage", std::make_unique<lease_lock::Storage>());
  for (std::int64_t i = 1; i <= clients; ++i)
    world.add_node(fmt::format("lease-client-{}", i), std::make_unique<lease_lock::Client>());
}

}  // namespace

void register_lease_lock(Registry& r) {
  r.add_model({"lease_lock", build});
  r.add_timing({"lease_lock_clients", TimingUnit::count, 0,
                fmt::format("model choice: N of {}; 0 builds no lease-lock nodes", k_peer),
                "clients of the lease lock (lease-client-1..N)"});
  r.add_timing({"lease_lock_writes", TimingUnit::count, 1,
                fmt::format("model choice: WRITES of {}", k_peer),
                "writes each lease-lock client makes, each under the lock"});
  r.add_timing({"lease_duration", TimingUnit::duration, 10 * k_s,
                "model choice: a typical lock lease (Redlock, Chubby-style leases)",
                "how long a granted lock stays held without a release"});
  r.add_timing({"lease_lock_session_ttl", TimingUnit::duration, 0,
                "model choice: etcd's lock sessions carry a lease (etcd concurrency.NewSession "
                "TTL); 0 turns session leases off",
                "how long a waiter's session lease lasts while it waits for the lock"});
  r.add_mechanism({"lease_lock_fencing",
                   "storage rejects a write whose token is older than one it accepted; off: a "
                   "holder paused past its lease overwrites the next holder's write"});
  r.add_mechanism({"lease_lock_revoke_expired_waiters",
                   "a waiter whose session lease expires leaves the lock's queue; off: the lock "
                   "may be granted to it (the etcd 3.4.3 class)"});
  r.add_invariant({"lease_lock.stale_write",
                   "storage accepted a write whose token is older than one it had accepted",
                   [](const WorldView& w) -> std::optional<std::string> {
                     auto v = w.probe_one("lease-storage", "stale_write", "");
                     if (v && *v != 0) return std::string("lease-storage accepted a stale write");
                     return std::nullopt;
                   },
                   {"lease-storage"}});
  r.add_invariant({"lease_lock.granted_expired",
                   "the lock was granted to a waiter whose session lease had expired",
                   [](const WorldView& w) -> std::optional<std::string> {
                     auto v = w.probe_one("lease-lock", "granted_expired", "");
                     if (v && *v != 0)
                       return std::string("lease-lock granted the lock to an expired session");
                     return std::nullopt;
                   },
                   {"lease-lock"}});
  r.add_signal({"lease_lock.lease_expired", "a lease-lock lease ran out before its release"});
  r.add_event({"lease_lock.lease_expired", {"token"},
               "the lease of the grant with this token ran out before its release"});
  r.add_event({"lease_lock.stale_write_accepted", {"token", "after"},
               "storage (without fencing) accepted a write whose token is older than one it had "
               "accepted"});
}

}  // namespace stampede
