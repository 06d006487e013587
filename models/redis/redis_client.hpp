#pragma once
// A sans-I/O Redis pub/sub client for embedding: the event bus connection of a Cattle server,
// io.cattle.platform.redis.RedisConnection at cattle v0.165.8 (code/implementation/eventing-redis),
// on Jedis 2.4.1. The owner forwards the messages, timers and connection events that are its own
// (owns_message / owns_timer / on_connection).
//
// It holds two kinds of Redis connection, as RedisConnection does:
//   - The subscriber, RedisConnection's own Jedis, driven by its loop (RedisConnection.java:
//     174-213): connect, subscribe to every channel, then read with no timeout at all (Jedis's
//     psubscribe sets SO_TIMEOUT to 0, Jedis.java:2764-2771 and Connection.java:40-50 at
//     jedis-2.4.1), and never ping. It learns of a dead server only from its socket: EOF or a
//     reset (`closed`), a refused or timed-out connect. Then it waits redis_retry_interval
//     (Cattle's redis.retry.millis, 60 s: the loop's CONNECTION_LOCK.wait, RedisConnection.java:
//     206-209) and connects again, unless a new subscription wakes it at once (subscribe() calls
//     tryConnect() when not connected, RedisConnection.java:79-81 and 167-171). A silent failure
//     (power loss, partition) goes unnoticed: Jedis's TCP keepalive (Connection.java:128) would
//     find it after Linux's default of more than two hours, which the model leaves out.
//   - The publishing pool, RedisConnection's JedisPool (RedisConnection.java:59, publish at
//     84-105): each publish borrows a connection, which the pool checks with a PING first
//     (Cattle's global.pool.testonborrow=true, META-INF/cattle/defaults/defaults.properties:23;
//     JedisFactory.validateObject, JedisFactory.java:86-93); one that fails the check is
//     dropped and a new one made, and a new one that fails fails the publish
//     (GenericObjectPool.borrowObject, GenericObjectPool.java:479-502 at commons-pool2 POOL_2_1,
//     the version cattle's meta-parent pom pins). A failed publish is lost (publish returns
//     false, RedisConnection.java:88-99). The model keeps one pooled connection and sends one
//     publish at a time, in order; the pool's idle evictor (testwhileidle, every 60 s) is left out.
//
// What was published while the subscriber was not subscribed is gone: Redis pub/sub delivers at
// most once.
//
// Every Redis connection of the client rides the one kernel connection to the server (sim/net/
// connections.hpp has one per node pair), so a `closed` event ends all of them at once: right
// for a server crash, which closes them all, but also when a reset answers a publish sent on a
// connection a silent failure broke, which in reality would end only that socket. For the same
// reason the client never closes the kernel connection itself.
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>

#include "models/redis/messages.hpp"
#include "sim/core/cow.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::redis {

class RedisClient {
 public:
  struct Pending {
    std::string channel;
    std::string payload;
    std::int64_t tries = 0;  // servers the owner tried before this one (Eventing's fail-over)
    STAMPEDE_FIELDS(channel, payload, tries)
  };
  struct Callbacks {
    std::function<void(Ctx&, const std::string& channel, const std::string& payload)> message;
    // The subscriber connected (true) or lost its connection (false).
    std::function<void(Ctx&, bool connected)> connection;
    // A publish failed on this server (after its redis.publish_failed event): the owner may try
    // another one. Unset, the message is lost.
    std::function<void(Ctx&, const Pending&)> publish_failed;
  };
  // The subscriber's loop: waiting (before the first subscription, or redis_retry_interval
  // after a loss), connecting, or open (subscribed to every channel it asked for).
  enum class SubState : std::uint8_t { waiting, connecting, open };
  // Where the pool's one publish in progress is: nothing, connecting a new connection, checking
  // one with PING, or waiting for PUBLISH's reply.
  enum class PoolStep : std::uint8_t { idle, connecting, validating, publishing };
  // Everything the client holds lives in its owner's process: a crash loses all of it.
  struct Volatile {
    // Subscribed, and subscribed again on every reconnect. Shared by the client's copies until
    // one subscribes (sim/core/cow.hpp): copying the set with every saved copy of an HA server
    // and back was most of the cost of its Redis clients' copies in known bug (b)'s plain dfs.
    Cow<std::set<std::string>> channels;
    SubState sub = SubState::waiting;
    std::int64_t sub_conn = 0;
    std::uint32_t sub_gen = 0;  // the subscriber's timers of an earlier step carry an older one
    std::int64_t reconnects = 0;  // subscriber connections lost
    std::int64_t pool_conn = 0;   // the pool's connection (idle or lent); 0: none
    PoolStep step = PoolStep::idle;
    bool fresh = false;            // pool_conn was made for the publish in progress
    std::deque<Pending> pending;   // publishes not yet answered, the one in progress first
    std::uint32_t pool_gen = 0;
    // Ids of this incarnation's connections, counted from 1. One that a server still holds from
    // an earlier incarnation starts afresh with the new one's Connect.
    std::int64_t last_conn = 0;
    STAMPEDE_FIELDS(channels, sub, sub_conn, sub_gen, reconnects, pool_conn, step, fresh,
                    pending, pool_gen, last_conn)
  };

  // `slot` tells this client's timers from those of the owner's other Redis clients (Eventing).
  explicit RedisClient(std::string server = "redis-1", std::uint32_t slot = 0)
      : server_name_(std::move(server)), slot_(slot) {}
  void set_callbacks(Callbacks cb) { cb_ = std::move(cb); }

  // Reads the configuration. The subscriber connects at the first subscribe().
  void start(Ctx& ctx);
  void crash();
  static bool owns_message(std::uint32_t type) { return is_redis_type(type); }
  static bool owns_timer(std::uint64_t tag) {
    return (tag & k_tag_prefix_mask) == k_client_tag_prefix;
  }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);
  // The owner passes on its connection events; one about the server ends every Redis
  // connection of the client (see above).
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event);

  void subscribe(Ctx& ctx, const std::string& channel);
  // Queues the message for the pool; it is published, or lost if the pool cannot reach the
  // server (a redis.publish_failed event says so).
  void publish(Ctx& ctx, const std::string& channel, const std::string& payload,
               std::int64_t tries = 0);
  const std::string& server_name() const { return server_name_; }

  // Whether the subscriber is connected and has asked for its channels.
  bool connected() const { return volatile_.sub == SubState::open; }
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
    DurationNs retry_ns = 0;
  };
  // The subscriber.
  void connect_subscriber(Ctx& ctx);
  void subscriber_lost(Ctx& ctx, std::string_view reason);
  void send_subscribe(Ctx& ctx, const std::string& channel);
  // The pool.
  void borrow(Ctx& ctx);
  void pool_send(Ctx& ctx, PoolStep step, Message msg);
  void pool_failed(Ctx& ctx, std::string_view reason);
  void on(Ctx& ctx, const Connected& m);
  void on(Ctx& ctx, const Subscribed& m) { (void)ctx, (void)m; }
  void on(Ctx& ctx, const Delivery& m);
  void on(Ctx& ctx, const Pong& m);
  void on(Ctx& ctx, const Published& m);
  void on(Ctx& ctx, const Closed& m);
  void on(Ctx& ctx, const PoolTimeout& t);
  void on(Ctx& ctx, const SubscriberConnectTimeout& t);
  void on(Ctx& ctx, const RetryTimer& t);

  std::string server_name_;
  std::uint32_t slot_ = 0;
  Callbacks cb_;
  Config cfg_;
  Volatile volatile_;
};

// The owner's digest and perturbation reach in here (sim/core/state.hpp).
static_assert(state::Component<RedisClient>);

}  // namespace stampede::redis
