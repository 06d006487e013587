#pragma once
// Messages, bodies and timers of the Redis model, in the redis block of models/protocols.hpp so
// that a node embedding a RedisClient can route them.
//
// Every message names its connection first (a on the wire). Server-to-client messages carry
// their sequence number in the connection next (b): a gap means the connection lost data, which
// TCP would have turned into a reset, so the client treats it as one.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "models/protocols.hpp"
#include "sim/core/message.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede::redis {

inline constexpr ProtocolRange k_protocol = protocols::k_redis;
inline constexpr std::uint32_t k_type_first = k_protocol.first;
inline constexpr std::uint32_t k_type_end = k_protocol.end;

inline bool is_redis_type(std::uint32_t t) {
  return k_protocol.contains(t);
}
std::string_view type_name(std::uint32_t type);

struct ChannelBody final : Payload {
  std::string channel;
  std::string payload;
  void digest_into(Digest& d) const override { d.add(channel).add(payload); }
};

// --- Client to server ----------------------------------------------------------------------

// Open connection `conn` (it replaces the client's earlier one and its subscriptions).
struct Connect {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "redis.connect";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// SUBSCRIBE body->channel.
struct Subscribe {
  static constexpr std::uint32_t k_type = k_protocol.type(1);
  static constexpr std::string_view k_name = "redis.subscribe";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

// PUBLISH body->payload on body->channel.
struct Publish {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "redis.publish";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

// PING, so that an idle connection is heard from.
struct Ping {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "redis.ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// --- Server to client: `seq` counts what the server sent on the connection, from 0 ----------

struct Connected {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "redis.connected";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  STAMPEDE_FIELDS(conn, seq)
  bool valid() const { return seq >= 0; }
};

// The subscription to body->channel is in place.
struct Subscribed {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "redis.subscribed";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, seq, body)
  bool valid() const { return seq >= 0 && body != nullptr; }
};

// A message published on a channel the connection subscribed to.
struct Delivery {
  static constexpr std::uint32_t k_type = k_protocol.type(6);
  static constexpr std::string_view k_name = "redis.message";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, seq, body)
  bool valid() const { return seq >= 0 && body != nullptr; }
};

struct Pong {
  static constexpr std::uint32_t k_type = k_protocol.type(7);
  static constexpr std::string_view k_name = "redis.pong";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  STAMPEDE_FIELDS(conn, seq)
  bool valid() const { return seq >= 0; }
};

// A message on a connection the server does not know (it restarted): like a TCP reset.
struct Closed {
  static constexpr std::uint32_t k_type = k_protocol.type(8);
  static constexpr std::string_view k_name = "redis.closed";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
};

// --- Timers of RedisClient: "RD" in the high 16 bits, the kind in the next 16, the
// connection's generation in the low 32 -------------------------------------------------------

inline constexpr std::uint64_t k_client_tag_prefix = 0x5244ULL << 48;  // "RD"
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

constexpr TimerKind client_timer_kind(std::uint64_t kind) {
  return TimerKind{32, (k_client_tag_prefix >> 32) | kind};
}

// Time to ping the server.
struct PingTimer {
  static constexpr TimerKind k_kind = client_timer_kind(1);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// Time to check whether the server has been silent for redis_client_timeout.
struct ReadTimer {
  static constexpr TimerKind k_kind = client_timer_kind(2);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// The backoff is over: connect again.
struct ReconnectTimer {
  static constexpr TimerKind k_kind = client_timer_kind(3);
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// Timings (see register.cpp for defaults and sources).
inline constexpr std::string_view k_client_timeout = "redis_client_timeout";
inline constexpr std::string_view k_ping_interval = "redis_client_ping_interval";
inline constexpr std::string_view k_backoff_min = "redis_reconnect_backoff_min";
inline constexpr std::string_view k_backoff_max = "redis_reconnect_backoff_max";
// Metrics.
inline constexpr std::string_view k_metric_published = "redis_published";
inline constexpr std::string_view k_metric_delivered = "redis_delivered";

}  // namespace stampede::redis
