#pragma once
// Messages, bodies and timers of the Redis model, in the redis block of models/protocols.hpp so
// that a node embedding a RedisClient can route them.
//
// Every message names its client connection first (a on the wire). A client node holds several
// Redis connections at once (Cattle's subscriber and its publishing pool), all riding the one
// kernel connection between the two nodes (sim/net/connections.hpp); the id tells them apart.
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

// Open connection `conn`: the TCP connect of a Jedis socket (Connection.connect at jedis-2.4.1).
// An id the server still holds from this client starts afresh, without its subscriptions.
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

// PUBLISH body->payload on body->channel; answered by Published.
struct Publish {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "redis.publish";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

// PING: the pool's check of a connection before it lends it (JedisFactory.validateObject).
struct Ping {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "redis.ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// --- Server to client -----------------------------------------------------------------------

struct Connected {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "redis.connected";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// The subscription to body->channel is in place.
struct Subscribed {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "redis.subscribed";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

// A message published on a channel the connection subscribed to.
struct Delivery {
  static constexpr std::uint32_t k_type = k_protocol.type(6);
  static constexpr std::string_view k_name = "redis.message";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::shared_ptr<const ChannelBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

struct Pong {
  static constexpr std::uint32_t k_type = k_protocol.type(7);
  static constexpr std::string_view k_name = "redis.pong";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// A command on a connection the server does not hold (it closed it as idle, or restarted since):
// the client reads EOF or a reset on that socket.
struct Closed {
  static constexpr std::uint32_t k_type = k_protocol.type(8);
  static constexpr std::string_view k_name = "redis.closed";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// PUBLISH's reply: how many subscriptions the message went to.
struct Published {
  static constexpr std::uint32_t k_type = k_protocol.type(9);
  static constexpr std::string_view k_name = "redis.published";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t receivers = 0;
  STAMPEDE_FIELDS(conn, receivers)
  bool valid() const { return conn > 0 && receivers >= 0; }
};

// --- Timers: "RD" (a client) or "RS" (the server) in the high 16 bits; for a client the kind in
// the next 4, the client's slot among its owner's Redis connections (Eventing) in the next 12 and
// the generation of what it waits for in the low 32; for the server the kind in the next 16 ----

inline constexpr std::uint64_t k_client_tag_prefix = 0x5244ULL << 48;  // "RD"
inline constexpr std::uint64_t k_server_tag_prefix = 0x5253ULL << 48;  // "RS"
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

constexpr TimerKind client_timer_kind(std::uint64_t kind) {
  return TimerKind{20, (k_client_tag_prefix >> 44) | kind};
}
// The most Redis servers one owner's Eventing can hold: a slot has 12 bits.
inline constexpr int k_max_slots = 4096;
constexpr TimerKind server_timer_kind(std::uint64_t kind) {
  return TimerKind{32, (k_server_tag_prefix >> 32) | kind};
}

// The publishing pool's connect, PING or PUBLISH got no answer within redis_client_timeout.
struct PoolTimeout {
  static constexpr TimerKind k_kind = client_timer_kind(1);
  static constexpr std::array<unsigned, 2> k_bits{12, 32};
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(slot, gen)
};

// The subscriber's connect got no answer within redis_client_timeout.
struct SubscriberConnectTimeout {
  static constexpr TimerKind k_kind = client_timer_kind(2);
  static constexpr std::array<unsigned, 2> k_bits{12, 32};
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(slot, gen)
};

// The subscriber's wait after a lost connection is over: connect again.
struct RetryTimer {
  static constexpr TimerKind k_kind = client_timer_kind(3);
  static constexpr std::array<unsigned, 2> k_bits{12, 32};
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(slot, gen)
};

// The server's clientsCron: time to look for idle clients.
struct ClientsCron {
  static constexpr TimerKind k_kind = server_timer_kind(1);
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// Timings (see register.cpp for defaults and sources).
inline constexpr std::string_view k_client_timeout = "redis_client_timeout";
inline constexpr std::string_view k_retry_interval = "redis_retry_interval";
inline constexpr std::string_view k_server_timeout = "redis_server_timeout";
inline constexpr std::string_view k_exit_teardown = "redis_exit_teardown";
// Metrics.
inline constexpr std::string_view k_metric_published = "redis_published";
inline constexpr std::string_view k_metric_delivered = "redis_delivered";

}  // namespace stampede::redis
