#pragma once
// The cluster manager's message and timers, in reserved ranges so that a node embedding a
// ClusterManager (a Cattle server) can route them: its type in the cluster_manager block of
// models/protocols.hpp, its timer tags with the prefix "CM" in their high 16 bits.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "models/protocols.hpp"
#include "sim/core/message.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede::cm {

inline constexpr ProtocolRange k_protocol = protocols::k_cluster_manager;
inline constexpr std::uint32_t k_type_first = k_protocol.first;
inline constexpr std::uint32_t k_type_end = k_protocol.end;

inline bool is_cm_type(std::uint32_t type) {
  return k_protocol.contains(type);
}
std::string_view type_name(std::uint32_t type);

struct VersionBody final : Payload {
  std::string version;
  explicit VersionBody(std::string v) : version(std::move(v)) {}
  void digest_into(Digest& d) const override { d.add(version); }
};

// A manager's check-in, sent to every peer. In rancher-ha the check-in is a row in the
// cluster_membership table that every manager polls; here it travels as a message.
struct Heartbeat {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "cm_heartbeat";
  static constexpr std::uint32_t k_size_bytes = 96;
  std::int64_t counter = 0;  // counts the sender's check-ins from 0 (again after a restart)
  std::int64_t index = 0;    // the sender is server-<index>
  bool host_active = false;  // the sender's own Rancher agent has registered with its server
  std::shared_ptr<const VersionBody> version;  // the sender's server version
  STAMPEDE_FIELDS(counter, index, host_active, version)
  bool valid() const { return counter >= 0 && index >= 1 && version != nullptr; }
};

// Timer tags: "CM" in the high 16 bits, the kind in the next 16, the manager's timer generation
// in the low 32 (a timer of an earlier generation is stale).
inline constexpr std::uint64_t k_tag_prefix = 0x434DULL << 48;  // "CM"
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

constexpr TimerKind timer_kind(std::uint64_t kind) {
  return TimerKind{32, (k_tag_prefix >> 32) | kind};
}

// Time to check in.
struct HeartbeatTimer {
  static constexpr TimerKind k_kind = timer_kind(1);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// Time to read the check-ins and act on them.
struct LoopTimer {
  static constexpr TimerKind k_kind = timer_kind(2);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The master counts the active hosts again.
struct HostsPollTimer {
  static constexpr TimerKind k_kind = timer_kind(3);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The master's service being started is up: start the next.
struct ServiceTimer {
  static constexpr TimerKind k_kind = timer_kind(4);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The node's own copy of the next global service starts (memory modelled only).
struct LocalServiceTimer {
  static constexpr TimerKind k_kind = timer_kind(5);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// Membership through the `cluster` table (table.cpp): the request `request_low` (its low 16
// bits) of the manager's incarnation `gen` (its low 16) is overdue: the kernel gave up on it.
struct DbIoTimer {
  static constexpr TimerKind k_kind = timer_kind(6);
  static constexpr std::array<unsigned, 2> k_bits{16, 16};
  std::uint32_t gen_low = 0;
  std::uint32_t request_low = 0;
  STAMPEDE_FIELDS(gen_low, request_low)
};

// Docker restarts the exited rancher-ha container (its manager exited on a failed check-in).
struct RestartTimer {
  static constexpr TimerKind k_kind = timer_kind(7);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

}  // namespace stampede::cm
