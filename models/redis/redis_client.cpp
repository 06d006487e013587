#include "models/redis/redis_client.hpp"

#include <algorithm>

namespace stampede::redis {

std::uint64_t RedisClient::tag(TimerKind k) const {
  return k_client_tag_prefix | (static_cast<std::uint64_t>(k) << 32) | gen_;
}

void RedisClient::crash() {
  Callbacks cb = std::move(cb_);
  *this = RedisClient(server_name_);
  cb_ = std::move(cb);
}

void RedisClient::start(Ctx& ctx) {
  server_ = ctx.lookup(server_name_);
  backoff_ns_ = ctx.timing(k_backoff_min);
  connect(ctx);
}

void RedisClient::connect(Ctx& ctx) {
  ++gen_;
  connected_ = false;
  conn_ = ctx.random(1, INT32_MAX);
  next_seq_ = 0;
  last_heard_ = ctx.now();
  if (server_ == k_no_node) return;
  ctx.send(server_, Message{redis::connect, 64, conn_, 0, 0, nullptr});
  ctx.set_timer(ctx.timing(k_client_timeout), tag(t_read));
}

void RedisClient::lost(Ctx& ctx) {
  bool was = connected_;
  connected_ = false;
  ++gen_;
  ++reconnects_;
  ctx.set_timer(backoff_ns_, tag(t_reconnect));
  backoff_ns_ = std::min(backoff_ns_ * 2, ctx.timing(k_backoff_max));
  if (was && cb_.connection) cb_.connection(ctx, false);
}

void RedisClient::on_timer(Ctx& ctx, std::uint64_t t) {
  if (!owns_timer(t) || static_cast<std::uint32_t>(t) != gen_) return;
  switch ((t >> 32) & 0xFFFF) {
    case t_reconnect:
      return connect(ctx);
    case t_ping:
      if (!connected_) return;
      ctx.send(server_, Message{redis::ping, 64, conn_, 0, 0, nullptr});
      ctx.set_timer(ctx.timing(k_ping_interval), tag(t_ping));
      return;
    case t_read: {
      DurationNs timeout = ctx.timing(k_client_timeout);
      DurationNs silent = ctx.now() - last_heard_;
      if (silent >= timeout) return lost(ctx);
      ctx.set_timer(timeout - silent, tag(t_read));
      return;
    }
    default:
      return;
  }
}

void RedisClient::on_message(Ctx& ctx, NodeId from, const Message& m) {
  if (from != server_ || m.a != conn_ || gen_ == 0) return;
  if (m.type == redis::closed) return lost(ctx);
  if (m.b != next_seq_) return lost(ctx);  // the connection lost data: it is broken
  ++next_seq_;
  last_heard_ = ctx.now();
  switch (m.type) {
    case redis::connected: {
      connected_ = true;
      backoff_ns_ = ctx.timing(k_backoff_min);
      ctx.set_timer(ctx.timing(k_ping_interval), tag(t_ping));
      for (const auto& ch : channels_) {
        auto body = std::make_shared<ChannelBody>();
        body->channel = ch;
        ctx.send(server_, Message{redis::subscribe, 64, conn_, 0, 0, std::move(body)});
      }
      if (cb_.connection) cb_.connection(ctx, true);
      return;
    }
    case redis::message: {
      const auto* b = dynamic_cast<const ChannelBody*>(m.body.get());
      if (b && channels_.count(b->channel) && cb_.message) cb_.message(ctx, b->channel, b->payload);
      return;
    }
    default:
      return;
  }
}

void RedisClient::subscribe(Ctx& ctx, const std::string& channel) {
  if (!channels_.insert(channel).second || !connected_) return;
  auto body = std::make_shared<ChannelBody>();
  body->channel = channel;
  ctx.send(server_, Message{redis::subscribe, 64, conn_, 0, 0, std::move(body)});
}

bool RedisClient::publish(Ctx& ctx, const std::string& channel, const std::string& payload) {
  if (!connected_) return false;
  auto body = std::make_shared<ChannelBody>();
  body->channel = channel;
  body->payload = payload;
  ctx.send(server_, Message{redis::publish, 128, conn_, 0, 0, std::move(body)});
  return true;
}

std::uint64_t RedisClient::digest() const {
  Digest d;
  d.add(connected_ ? 1 : 0).add_signed(conn_).add_signed(next_seq_).add_signed(backoff_ns_);
  for (const auto& ch : channels_) d.add(ch);
  return d.value();
}

}  // namespace stampede::redis
