#pragma once
// The lease-lock protocol: one struct per message, numbered in the lease_lock block of
// models/protocols.hpp, and the lock service's two timers.
#include <array>
#include <cstdint>
#include <string_view>

#include "models/protocols.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede::lease_lock {

inline constexpr ProtocolRange k_protocol = protocols::k_lease_lock;

// The lease lock is an abstract protocol, not a product's wire protocol: it assumes nothing of
// its transport, so its messages are datagrams that the network may lose, duplicate or reorder
// one by one (sim/core/message.hpp), which is what its model checking explores.

// client -> lock: queue me for the lock.
struct Acquire {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "acquire";
  static constexpr Transport k_transport = Transport::datagram;
  static constexpr std::uint32_t k_size_bytes = 64;
  STAMPEDE_FIELDS()
};

// lock -> client: the lock is yours under `token`.
struct Grant {
  static constexpr std::uint32_t k_type = k_protocol.type(1);
  static constexpr std::string_view k_name = "grant";
  static constexpr Transport k_transport = Transport::datagram;
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t token = 0;
  STAMPEDE_FIELDS(token)
  bool valid() const { return token > 0; }
};

// client -> storage: a write under `token`.
struct Write {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "write";
  static constexpr Transport k_transport = Transport::datagram;
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t token = 0;
  STAMPEDE_FIELDS(token)
  bool valid() const { return token > 0; }
};

// storage -> client: the write under `token` was accepted, or fenced off.
struct Ack {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "ack";
  static constexpr Transport k_transport = Transport::datagram;
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t token = 0;
  bool accepted = false;
  STAMPEDE_FIELDS(token, accepted)
  bool valid() const { return token > 0; }
};

// client -> lock: done with the lock held under `token`.
struct Release {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "release";
  static constexpr Transport k_transport = Transport::datagram;
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t token = 0;
  STAMPEDE_FIELDS(token)
  bool valid() const { return token > 0; }
};

// lock -> client: your session expired while you waited; you are out of the queue.
struct Expired {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "expired";
  static constexpr Transport k_transport = Transport::datagram;
  static constexpr std::uint32_t k_size_bytes = 64;
  STAMPEDE_FIELDS()
};

std::string_view message_type_name(std::uint32_t type);

// The lease of the grant with `token` runs out.
struct LeaseTimer {
  static constexpr TimerKind k_kind{2, 0};
  static constexpr std::array<unsigned, 1> k_bits{62};
  std::uint64_t token = 0;
  STAMPEDE_FIELDS(token)
};

// The session lease of a waiter runs out.
struct SessionTimer {
  static constexpr TimerKind k_kind{2, 1};
  static constexpr std::array<unsigned, 1> k_bits{62};
  std::uint64_t session = 0;
  STAMPEDE_FIELDS(session)
};

}  // namespace stampede::lease_lock
