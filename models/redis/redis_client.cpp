#include "models/redis/redis_client.hpp"

#include <algorithm>

namespace stampede::redis {

void RedisClient::crash() {
  // The connection and the subscriptions die with the process; the configuration is read again
  // at the next start. The owner's callbacks are code, and stay.
  volatile_ = {};
  cfg_ = {};
}

void RedisClient::start(Ctx& ctx) {
  cfg_.server = ctx.lookup(server_name_);
  cfg_.timeout_ns = ctx.timing(k_client_timeout);
  cfg_.ping_interval_ns = ctx.timing(k_ping_interval);
  cfg_.backoff_min_ns = ctx.timing(k_backoff_min);
  cfg_.backoff_max_ns = ctx.timing(k_backoff_max);
  volatile_.backoff_ns = cfg_.backoff_min_ns;
  connect(ctx);
}

void RedisClient::connect(Ctx& ctx) {
  Volatile& v = volatile_;
  ++v.gen;
  v.connected = false;
  v.conn = ctx.random(1, INT32_MAX);
  v.next_seq = 0;
  v.last_heard = ctx.now();
  if (cfg_.server == k_no_node) return;
  ctx.send(cfg_.server, wire::encode(Connect{v.conn}));
  ctx.set_timer(cfg_.timeout_ns, timer_tag::encode(ReadTimer{v.gen}));
}

void RedisClient::lost(Ctx& ctx) {
  Volatile& v = volatile_;
  bool was = v.connected;
  v.connected = false;
  ++v.gen;
  ++v.reconnects;
  ctx.set_timer(v.backoff_ns, timer_tag::encode(ReconnectTimer{v.gen}));
  v.backoff_ns = std::min(v.backoff_ns * 2, cfg_.backoff_max_ns);
  if (was && cb_.connection) cb_.connection(ctx, false);
}

void RedisClient::on_timer(Ctx& ctx, std::uint64_t tag) {
  timer_tag::dispatch<PingTimer, ReadTimer, ReconnectTimer>(tag, [&](const auto& t) {
    if (t.gen == volatile_.gen) on(ctx, t);
  });
}

void RedisClient::on(Ctx& ctx, const ReconnectTimer& t) {
  (void)t;
  connect(ctx);
}

void RedisClient::on(Ctx& ctx, const PingTimer& t) {
  (void)t;
  if (!volatile_.connected) return;
  ctx.send(cfg_.server, wire::encode(Ping{volatile_.conn}));
  ctx.set_timer(cfg_.ping_interval_ns, timer_tag::encode(PingTimer{volatile_.gen}));
}

void RedisClient::on(Ctx& ctx, const ReadTimer& t) {
  (void)t;
  DurationNs silent = ctx.now() - volatile_.last_heard;
  if (silent >= cfg_.timeout_ns) return lost(ctx);
  ctx.set_timer(cfg_.timeout_ns - silent, timer_tag::encode(ReadTimer{volatile_.gen}));
}

void RedisClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<Connected, Subscribed, Delivery, Pong, Closed>(
      msg, wire::overloaded{
               [&](const Closed& m) {
                 if (from == cfg_.server && m.conn == volatile_.conn && volatile_.gen != 0)
                   lost(ctx);
               },
               [&](const auto& m) {
                 if (heard(ctx, from, m.conn, m.seq)) on(ctx, m);
               },
           });
}

bool RedisClient::heard(Ctx& ctx, NodeId from, std::int64_t conn, std::int64_t seq) {
  Volatile& v = volatile_;
  if (from != cfg_.server || conn != v.conn || v.gen == 0) return false;
  if (seq != v.next_seq) {
    lost(ctx);  // the connection lost data: it is broken
    return false;
  }
  ++v.next_seq;
  v.last_heard = ctx.now();
  return true;
}

void RedisClient::on(Ctx& ctx, const Connected& m) {
  (void)m;
  volatile_.connected = true;
  volatile_.backoff_ns = cfg_.backoff_min_ns;
  ctx.set_timer(cfg_.ping_interval_ns, timer_tag::encode(PingTimer{volatile_.gen}));
  for (const auto& ch : volatile_.channels) send_subscribe(ctx, ch);
  if (cb_.connection) cb_.connection(ctx, true);
}

void RedisClient::on(Ctx& ctx, const Delivery& m) {
  if (volatile_.channels.count(m.body->channel) != 0 && cb_.message)
    cb_.message(ctx, m.body->channel, m.body->payload);
}

void RedisClient::send_subscribe(Ctx& ctx, const std::string& channel) {
  auto body = std::make_shared<ChannelBody>();
  body->channel = channel;
  ctx.send(cfg_.server, wire::encode(Subscribe{volatile_.conn, std::move(body)}));
}

void RedisClient::subscribe(Ctx& ctx, const std::string& channel) {
  if (!volatile_.channels.insert(channel).second || !volatile_.connected) return;
  send_subscribe(ctx, channel);
}

bool RedisClient::publish(Ctx& ctx, const std::string& channel, const std::string& payload) {
  if (!volatile_.connected) return false;
  auto body = std::make_shared<ChannelBody>();
  body->channel = channel;
  body->payload = payload;
  ctx.send(cfg_.server, wire::encode(Publish{volatile_.conn, std::move(body)}));
  return true;
}

std::uint64_t RedisClient::digest() const {
  Digest d;
  digest_into(d);
  return d.value();
}

}  // namespace stampede::redis
