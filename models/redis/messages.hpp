#pragma once
// Message types, bodies and timer tags of the Redis model, in a reserved range so that a node
// embedding a RedisClient can route them.
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/core/message.hpp"

namespace stampede::redis {

inline constexpr std::uint32_t k_type_first = 0x5200;
inline constexpr std::uint32_t k_type_end = 0x5220;

// a = connection id on every message. Server-to-client messages carry b = their sequence number
// in the connection: a gap means the connection lost data, which TCP would have turned into a
// reset, so the client treats it as one.
enum MsgType : std::uint32_t {
  connect = k_type_first,
  subscribe,  // body ChannelBody
  publish,    // body ChannelBody
  ping,
  connected,
  subscribed,  // body ChannelBody
  message,     // body ChannelBody
  pong,
  closed,  // an unknown connection (the server restarted): like a TCP reset
};

inline bool is_redis_type(std::uint32_t t) {
  return t >= k_type_first && t < k_type_end;
}
std::string_view type_name(std::uint32_t type);

struct ChannelBody final : Payload {
  std::string channel;
  std::string payload;
  void digest_into(Digest& d) const override { d.add(channel).add(payload); }
};

inline constexpr std::uint64_t k_client_tag_prefix = 0x5244ULL << 48;  // "RD"
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

// Timings (see register.cpp for defaults and sources).
inline constexpr std::string_view k_client_timeout = "redis_client_timeout";
inline constexpr std::string_view k_ping_interval = "redis_client_ping_interval";
inline constexpr std::string_view k_backoff_min = "redis_reconnect_backoff_min";
inline constexpr std::string_view k_backoff_max = "redis_reconnect_backoff_max";
// Metrics.
inline constexpr std::string_view k_metric_published = "redis_published";
inline constexpr std::string_view k_metric_delivered = "redis_delivered";

}  // namespace stampede::redis
