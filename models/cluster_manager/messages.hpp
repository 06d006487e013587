#pragma once
// Message types and timer tags of the cluster manager, in reserved ranges so that a node
// embedding a ClusterManager (a Cattle server) can route them: types [0x4300, 0x4310), timer tags
// with the prefix "CM" in their high 16 bits.
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/core/message.hpp"

namespace stampede::cm {

inline constexpr std::uint32_t k_type_first = 0x4300;
inline constexpr std::uint32_t k_type_end = 0x4310;

enum MsgType : std::uint32_t {
  // A manager's check-in, sent to every peer: a = heartbeat counter, b = the sender's index,
  // c = flags (k_flag_host_active), body VersionBody. In rancher-ha the check-in is a row in the
  // cluster_membership table that every manager polls; here it travels as a message.
  heartbeat = k_type_first,
};

// The sender's own Rancher agent has registered with its server: its host counts as active.
inline constexpr std::int64_t k_flag_host_active = 1;

inline bool is_cm_type(std::uint32_t type) {
  return type >= k_type_first && type < k_type_end;
}
std::string_view type_name(std::uint32_t type);

struct VersionBody final : Payload {
  std::string version;
  explicit VersionBody(std::string v) : version(std::move(v)) {}
  void digest_into(Digest& d) const override { d.add(version); }
};

inline constexpr std::uint64_t k_tag_prefix = 0x434DULL << 48;  // "CM"
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

inline std::uint64_t make_tag(std::uint32_t kind, std::uint32_t gen) {
  return k_tag_prefix | (static_cast<std::uint64_t>(kind & 0xFFFF) << 32) | gen;
}
inline std::uint32_t tag_kind(std::uint64_t tag) {
  return static_cast<std::uint32_t>((tag >> 32) & 0xFFFF);
}
inline std::uint32_t tag_gen(std::uint64_t tag) {
  return static_cast<std::uint32_t>(tag);
}

}  // namespace stampede::cm
