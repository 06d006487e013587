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
#include "sim/core/state.hpp"

namespace stampede::redis {

class RedisClient {
 public:
  struct Callbacks {
    std::function<void(Ctx&, const std::string& channel, const std::string& payload)> message;
    std::function<void(Ctx&, bool connected)> connection;
  };
  // Everything the client holds lives in its owner's process: a crash loses all of it.
  struct Volatile {
    std::set<std::string> channels;  // subscribed, and subscribed again on every reconnect
    bool connected = false;
    std::int64_t conn = 0;
    std::int64_t next_seq = 0;  // the sequence number the next server message must carry
    TimeNs last_heard = 0;
    DurationNs backoff_ns = 0;
    std::uint32_t gen = 0;  // timers of an earlier connection carry an older generation
    std::int64_t reconnects = 0;
    STAMPEDE_FIELDS(channels, connected, conn, next_seq, last_heard, backoff_ns, gen, reconnects)
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

  bool connected() const { return volatile_.connected; }
  std::int64_t reconnects() const { return volatile_.reconnects; }
  std::uint64_t digest() const;
  // The state::Component trio, so that the owner's digest and perturbation reach in here.
  void digest_into(Digest& d) const { state::add(d, volatile_); }
  std::size_t state_field_count() const { return state::field_total(volatile_); }
  std::string perturb_state_field(std::size_t i) { return state::perturb_field(i, volatile_); }

 private:
  // Read at start, the same on every start: not state.
  struct Config {
    NodeId server = k_no_node;
    DurationNs timeout_ns = 0;
    DurationNs ping_interval_ns = 0;
    DurationNs backoff_min_ns = 0;
    DurationNs backoff_max_ns = 0;
  };
  void connect(Ctx& ctx);
  void lost(Ctx& ctx);
  void send_subscribe(Ctx& ctx, const std::string& channel);
  // Whether a server message on (conn, seq) is for the live connection and in order; a gap
  // breaks the connection.
  bool heard(Ctx& ctx, NodeId from, std::int64_t conn, std::int64_t seq);
  void on(Ctx& ctx, const Connected& m);
  void on(Ctx& ctx, const Delivery& m);
  // Heard (heard() counted them), with nothing more to do.
  void on(Ctx& ctx, const Subscribed& m) { (void)ctx, (void)m; }
  void on(Ctx& ctx, const Pong& m) { (void)ctx, (void)m; }
  void on(Ctx& ctx, const PingTimer& t);
  void on(Ctx& ctx, const ReadTimer& t);
  void on(Ctx& ctx, const ReconnectTimer& t);

  std::string server_name_;
  Callbacks cb_;
  Config cfg_;
  Volatile volatile_;
};

// The owner's digest and perturbation reach in here (sim/core/state.hpp).
static_assert(state::Component<RedisClient>);

}  // namespace stampede::redis
