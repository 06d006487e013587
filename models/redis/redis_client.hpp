#pragma once
// A sans-I/O Redis pub/sub client for embedding (a Cattle server's event bus connection). The
// owner forwards the messages and timers that are its own (owns_message / owns_timer).
//
// It pings its server every redis_client_ping_interval and declares the connection dead after
// redis_client_timeout without a word, or at once on a gap in what the server sent; it then
// reconnects with a doubling backoff and subscribes again to every channel. What was published
// while it was not subscribed is gone: Redis pub/sub delivers at most once.
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "models/redis/messages.hpp"
#include "sim/core/node.hpp"

namespace stampede::redis {

class RedisClient {
 public:
  struct Callbacks {
    std::function<void(Ctx&, const std::string& channel, const std::string& payload)> message;
    std::function<void(Ctx&, bool connected)> connection;
  };
  explicit RedisClient(std::string server = "redis-1") : server_name_(std::move(server)) {}
  void set_callbacks(Callbacks cb) { cb_ = std::move(cb); }

  void start(Ctx& ctx);
  void crash();
  static bool owns_message(std::uint32_t type) { return is_redis_type(type); }
  static bool owns_timer(std::uint64_t tag) {
    return (tag & k_tag_prefix_mask) == k_client_tag_prefix;
  }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);

  void subscribe(Ctx& ctx, const std::string& channel);
  // Returns false (and drops the message) when not connected.
  bool publish(Ctx& ctx, const std::string& channel, const std::string& payload);

  bool connected() const { return connected_; }
  std::int64_t reconnects() const { return reconnects_; }
  std::uint64_t digest() const;

 private:
  enum TimerKind : std::uint32_t { t_ping = 1, t_read, t_reconnect };
  std::uint64_t tag(TimerKind k) const;
  void connect(Ctx& ctx);
  void lost(Ctx& ctx);

  std::string server_name_;
  Callbacks cb_;
  NodeId server_ = k_no_node;
  std::set<std::string> channels_;
  bool connected_ = false;
  std::int64_t conn_ = 0;
  std::int64_t next_seq_ = 0;
  TimeNs last_heard_ = 0;
  DurationNs backoff_ns_ = 0;
  std::uint32_t gen_ = 0;
  std::int64_t reconnects_ = 0;
};

}  // namespace stampede::redis
