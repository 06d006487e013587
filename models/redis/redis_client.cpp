#include "models/redis/redis_client.hpp"

#include <fmt/format.h>

namespace stampede::redis {

// Paths below are relative to code/implementation/eventing-redis/src/main/java/io/cattle/
// platform/redis/ at cattle v0.165.8 unless they name their release.

void RedisClient::crash() {
  // The connections and the subscriptions die with the process; the configuration is read again
  // at the next start. The owner's callbacks are code, and stay.
  volatile_ = {};
  cfg_ = {};
}

void RedisClient::start(Ctx& ctx) {
  cfg_.server = ctx.lookup(server_name_);
  cfg_.timeout_ns = ctx.timing(k_client_timeout);
  cfg_.retry_ns = ctx.timing(k_retry_interval);
}

// --- The subscriber (RedisConnection.runInContext) -------------------------------------------

void RedisClient::subscribe(Ctx& ctx, const std::string& channel) {
  Volatile& v = volatile_;
  if (v.channels->count(channel) != 0) return;
  v.channels.mut().insert(channel);
  if (v.sub == SubState::open) {
    send_subscribe(ctx, channel);  // pubSub.psubscribe(name), RedisConnection.java:75
  } else if (v.sub == SubState::waiting) {
    // Not connected: subscribe() wakes the loop from its wait (tryConnect, RedisConnection.java:
    // 79-81 and 167-171), which connects at once. A connect under way takes every channel.
    connect_subscriber(ctx);
  }
}

void RedisClient::connect_subscriber(Ctx& ctx) {
  Volatile& v = volatile_;
  if (cfg_.server == k_no_node) return;
  ++v.sub_gen;
  v.sub = SubState::connecting;
  v.sub_conn = ++v.last_conn;
  ctx.event(LogLevel::debug, Event("redis.subscriber_connecting"),
            fmt::format("Connecting to redis [{}]", ctx.name_of(cfg_.server)));
  ctx.send(cfg_.server, wire::encode(Connect{v.sub_conn}));
  // jedis.connect() gives up after redis.timeout (Connection.java:137 at jedis-2.4.1).
  ctx.set_timer(cfg_.timeout_ns, timer_tag::encode(SubscriberConnectTimeout{slot_, v.sub_gen}));
}

void RedisClient::subscriber_lost(Ctx& ctx, std::string_view reason) {
  Volatile& v = volatile_;
  bool was_open = v.sub == SubState::open;
  ++v.sub_gen;
  ++v.reconnects;
  v.sub = SubState::waiting;
  // psubscribe or connect threw: the loop logs it, disconnects and waits redis.retry.millis
  // (RedisConnection.java:196-209).
  ctx.event(LogLevel::info,
            Event("redis.subscriber_lost")
                .with("reason", reason)
                .with("retry_ms", static_cast<std::int64_t>(cfg_.retry_ns / k_ms)),
            fmt::format("Jedis Exception: subscriber connection to {} {}; retrying in {} ms",
                        ctx.name_of(cfg_.server), reason, cfg_.retry_ns / k_ms));
  ctx.set_timer(cfg_.retry_ns, timer_tag::encode(RetryTimer{slot_, v.sub_gen}));
  if (was_open && cb_.connection) cb_.connection(ctx, false);
}

void RedisClient::on(Ctx& ctx, const RetryTimer& t) {
  (void)t;
  // With no subscription the loop does not connect and waits again (RedisConnection.java:182).
  if (volatile_.channels->empty()) {
    ctx.set_timer(cfg_.retry_ns, timer_tag::encode(RetryTimer{slot_, volatile_.sub_gen}));
    return;
  }
  connect_subscriber(ctx);
}

void RedisClient::on(Ctx& ctx, const SubscriberConnectTimeout& t) {
  (void)t;
  subscriber_lost(ctx, "timeout");
}

void RedisClient::send_subscribe(Ctx& ctx, const std::string& channel) {
  auto body = std::make_shared<ChannelBody>();
  body->channel = channel;
  ctx.send(cfg_.server, wire::encode(Subscribe{volatile_.sub_conn, std::move(body)}));
}

void RedisClient::on(Ctx& ctx, const Delivery& m) {
  const Volatile& v = volatile_;
  if (v.sub != SubState::open || m.conn != v.sub_conn) return;
  if (v.channels->count(m.body->channel) != 0 && cb_.message)
    cb_.message(ctx, m.body->channel, m.body->payload);
}

// --- The publishing pool (RedisConnection.publish on its JedisPool) --------------------------

void RedisClient::publish(Ctx& ctx, const std::string& channel, const std::string& payload,
                          std::int64_t tries) {
  Volatile& v = volatile_;
  if (cfg_.server == k_no_node) return;
  v.pending.push_back(Pending{channel, payload, tries});
  if (v.step == PoolStep::idle) borrow(ctx);
}

void RedisClient::borrow(Ctx& ctx) {
  Volatile& v = volatile_;
  v.fresh = v.pool_conn == 0;
  if (v.fresh) {
    // No idle connection: the pool makes one (JedisFactory.makeObject connects).
    v.pool_conn = ++v.last_conn;
    pool_send(ctx, PoolStep::connecting, wire::encode(Connect{v.pool_conn}));
  } else {
    pool_send(ctx, PoolStep::validating, wire::encode(Ping{v.pool_conn}));
  }
}

void RedisClient::pool_send(Ctx& ctx, PoolStep step, Message msg) {
  Volatile& v = volatile_;
  ++v.pool_gen;
  v.step = step;
  ctx.send(cfg_.server, std::move(msg));
  // Jedis's connect and read timeout, redis.timeout (Connection.java:137-138 at jedis-2.4.1).
  ctx.set_timer(cfg_.timeout_ns, timer_tag::encode(PoolTimeout{slot_, v.pool_gen}));
}

void RedisClient::pool_failed(Ctx& ctx, std::string_view reason) {
  Volatile& v = volatile_;
  // An idle connection that fails its check is dropped and the pool tries a new one; a new one
  // that fails, or a failed PUBLISH, fails the publish (GenericObjectPool.java:488-501 at
  // commons-pool2 POOL_2_1; RedisConnection.java:88-99).
  bool try_new = v.step == PoolStep::validating && !v.fresh;
  ++v.pool_gen;
  v.step = PoolStep::idle;
  v.pool_conn = 0;
  if (!try_new) {
    ctx.event(LogLevel::info,
              Event("redis.publish_failed")
                  .with("redis", ctx.name_of(cfg_.server))
                  .with("reason", reason),
              fmt::format("Failed to publish message to [{}] on {}: {}", v.pending.front().channel,
                          ctx.name_of(cfg_.server), reason));
    Pending failed = std::move(v.pending.front());
    v.pending.pop_front();
    // publish returned false: the owner may try another server (RedisEventingService.doPublish).
    if (cb_.publish_failed) cb_.publish_failed(ctx, failed);
  }
  if (!v.pending.empty() && v.step == PoolStep::idle) borrow(ctx);
}

void RedisClient::on(Ctx& ctx, const Pong& m) {
  Volatile& v = volatile_;
  if (v.step != PoolStep::validating || m.conn != v.pool_conn) return;
  const Pending& p = v.pending.front();
  auto body = std::make_shared<ChannelBody>();
  body->channel = p.channel;
  body->payload = p.payload;
  pool_send(ctx, PoolStep::publishing, wire::encode(Publish{v.pool_conn, std::move(body)}));
}

void RedisClient::on(Ctx& ctx, const Published& m) {
  Volatile& v = volatile_;
  if (v.step != PoolStep::publishing || m.conn != v.pool_conn) return;
  // Published: the connection goes back to the pool (RedisConnection.java:100-104).
  ++v.pool_gen;
  v.step = PoolStep::idle;
  v.pending.pop_front();
  if (!v.pending.empty()) borrow(ctx);
}

void RedisClient::on(Ctx& ctx, const PoolTimeout& t) {
  (void)t;
  pool_failed(ctx, "timeout");
}

// --- Both ------------------------------------------------------------------------------------

void RedisClient::on(Ctx& ctx, const Connected& m) {
  Volatile& v = volatile_;
  if (v.sub == SubState::connecting && m.conn == v.sub_conn) {
    // Connected: subscribe to every channel (jedis.psubscribe, RedisConnection.java:189-194).
    ++v.sub_gen;
    v.sub = SubState::open;
    for (const auto& ch : *v.channels) send_subscribe(ctx, ch);
    if (cb_.connection) cb_.connection(ctx, true);
  } else if (v.step == PoolStep::connecting && m.conn == v.pool_conn) {
    // The pool checks a new connection too before it lends it (testOnBorrow).
    pool_send(ctx, PoolStep::validating, wire::encode(Ping{v.pool_conn}));
  }
}

void RedisClient::on(Ctx& ctx, const Closed& m) {
  Volatile& v = volatile_;
  if (v.sub != SubState::waiting && m.conn == v.sub_conn) subscriber_lost(ctx, "closed");
  if (v.step != PoolStep::idle && m.conn == v.pool_conn) pool_failed(ctx, "closed");
}

void RedisClient::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  Volatile& v = volatile_;
  if (peer != cfg_.server || cfg_.server == k_no_node) return;
  std::string_view what = connection_event_name(event);
  // The subscriber reads EOF or a reset at once (its read has no timeout), or its connect is
  // refused. An idle pooled connection is not read: the pool finds it dead at its next check.
  if (v.sub != SubState::waiting) subscriber_lost(ctx, what);
  if (v.step != PoolStep::idle) pool_failed(ctx, what);
}

void RedisClient::on_timer(Ctx& ctx, std::uint64_t tag) {
  const Volatile& v = volatile_;
  timer_tag::dispatch<PoolTimeout, SubscriberConnectTimeout, RetryTimer>(
      tag, wire::overloaded{
               [&](const PoolTimeout& t) {
                 if (t.slot == slot_ && t.gen == v.pool_gen) on(ctx, t);
               },
               [&](const auto& t) {
                 if (t.slot == slot_ && t.gen == v.sub_gen) on(ctx, t);
               },
           });
}

void RedisClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (from != cfg_.server || cfg_.server == k_no_node) return;
  wire::dispatch<Connected, Subscribed, Delivery, Pong, Published, Closed>(
      msg, [&](const auto& m) { on(ctx, m); });
}

std::uint64_t RedisClient::digest() const {
  Digest d;
  digest_into(d);
  return d.value();
}

}  // namespace stampede::redis
