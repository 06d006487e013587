#pragma once
// The Cattle server's timers, one struct each (sim/core/timer_tag.hpp): the kind in the tag's top
// byte, the fields right-aligned below it. The kinds and widths are those the server has always
// used, so that a single-mode run sets the same tags step for step.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "models/cattle/ids.hpp"
#include "sim/core/timer_tag.hpp"

namespace stampede::cattle {

// Ids of process instances and services: a row id, which in HA carries the inserting server's
// index from bit 40 up and its boot count from bit 28 (ha.cpp), so 56 bits hold it.
inline constexpr unsigned k_row_id_bits = 56;

// The next ping round is due.
struct PingTick {
  static constexpr TimerKind k_kind{8, 1};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// A ping sent to a host in round `seq` is due back. The host travels as its slot: in single
// mode the host's row id (a small number: the embedded store counts hosts from 1), in HA a small
// number the server hands out per host (CattleServer::ping_slot), because an HA row id does not
// fit 32 bits. The old tag packed `host id << 24 | seq` into 56 bits and cut an HA id short, so
// the timeout looked for another host and every ping of an HA server counted as answered.
struct PingTimeout {
  static constexpr TimerKind k_kind{8, 2};
  static constexpr std::array<unsigned, 2> k_bits{32, 24};
  std::uint64_t host_slot = 0;
  std::uint64_t seq = 0;  // the ping round, modulo 2^24
  STAMPEDE_FIELDS(host_slot, seq)
};

// The next process replay (and, in HA, re-read of the shared tables) is due.
struct ReplayTick {
  static constexpr TimerKind k_kind{8, 3};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// The event bus has events to hand to its listeners.
struct BusDrain {
  static constexpr TimerKind k_kind{8, 4};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// A process instance waited `lock_wait` for its resource's lock.
struct LockWait {
  static constexpr TimerKind k_kind{8, 5};
  static constexpr std::array<unsigned, 1> k_bits{k_row_id_bits};
  std::int64_t pi = 0;
  STAMPEDE_FIELDS(pi)
};

// A start or stop handler waited `agent_reply_timeout` for its agent's answer.
struct AgentReply {
  static constexpr TimerKind k_kind{8, 6};
  static constexpr std::array<unsigned, 1> k_bits{k_row_id_bits};
  std::int64_t pi = 0;
  STAMPEDE_FIELDS(pi)
};

// Kind 7 was the quick retry of a failed handler, which Cattle does not have (process_engine.cpp):
// it stays unused so that the other kinds keep their tags.

// HA: the staggered first boot of server-K is due.
struct HaBoot {
  static constexpr TimerKind k_kind{8, 8};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: the wait for a service's ZooKeeper lock is over.
struct ServiceLockWait {
  static constexpr TimerKind k_kind{8, 9};
  static constexpr std::array<unsigned, 1> k_bits{k_row_id_bits};
  std::int64_t service = 0;
  STAMPEDE_FIELDS(service)
};

// HA: the wait for the per-environment placement lock is over (placement_lock.cpp).
struct PlacementLockWait {
  // 19, not MigrationDone's 17: until session 26 both had 17, and the dispatch, which finds the
  // first listed kind a tag has, ran on(MigrationDone) when a placement wait ended.
  static constexpr TimerKind k_kind{8, 19};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: Curator's LOST is due (lifecycle.cpp): the ZooKeeper connection has been down for as long
// as a background operation retries before it gives up.
struct ZkLost {
  static constexpr TimerKind k_kind{8, 10};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: Docker's restart of the exited Cattle container, back-off and boot included, is due.
struct ContainerRestart {
  static constexpr TimerKind k_kind{8, 11};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: Liquibase's next try at the changelog lock is due (migration.cpp).
struct ChangelogLockPoll {
  static constexpr TimerKind k_kind{8, 12};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: the schema update run under the changelog lock is done (migration.cpp).
struct ChangelogUpdateDone {
  static constexpr TimerKind k_kind{8, 13};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: the boot failed (the changelog lock could not be read or taken): the process exits.
struct BootFailed {
  static constexpr TimerKind k_kind{8, 14};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: the migration is done and Liquibase's connection closed: the server's pool opens next
// (migration.cpp). A timer, because the Liquibase data source's client is still on the stack.
struct MigrationDone {
  static constexpr TimerKind k_kind{8, 17};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: Archaius's next poll of the setting table through the configuration data source is due
// (server.cpp).
struct ConfigPoll {
  static constexpr TimerKind k_kind{8, 18};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// HA: the small numbers a server's ping timers carry for its hosts (PingTimeout::host_slot),
// handed out from 1 in the order the hosts are first pinged. A handful of hosts: a vector.
struct HostSlots {
  std::vector<HostId> hosts;  // slot k + 1 -> host id
  STAMPEDE_FIELDS(hosts)

  std::uint64_t slot_of(HostId host) {
    auto it = std::find(hosts.begin(), hosts.end(), host);
    if (it == hosts.end()) it = hosts.insert(hosts.end(), host);
    return static_cast<std::uint64_t>(it - hosts.begin()) + 1;
  }
  std::optional<HostId> host_of(std::uint64_t slot) const {
    if (slot == 0 || slot > hosts.size()) return std::nullopt;
    return hosts[slot - 1];
  }
};

}  // namespace stampede::cattle
