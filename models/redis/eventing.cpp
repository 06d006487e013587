#include "models/redis/eventing.hpp"

#include <fmt/format.h>

namespace stampede::redis {

// Paths below are relative to code/implementation/eventing-redis/src/main/java/io/cattle/
// platform/redis/ at rancher/cattle v0.165.8.

Eventing::Eventing(const std::vector<std::string>& servers) {
  clients_.reserve(servers.size());
  for (std::size_t i = 0; i < servers.size() && i < static_cast<std::size_t>(k_max_slots); ++i)
    clients_.emplace_back(servers[i], static_cast<std::uint32_t>(i));
}

void Eventing::set_callbacks(Callbacks cb) {
  cb_ = std::move(cb);
  for (std::size_t i = 0; i < clients_.size(); ++i)
    clients_[i].set_callbacks(
        {[this](Ctx& c, const std::string& channel, const std::string& payload) {
           // RedisPubSub.onPMessage hands every connection's messages to the one service.
           if (cb_.message) cb_.message(c, channel, payload);
         },
         [](Ctx&, bool) {},
         [this, i](Ctx& c, const RedisClient::Pending& p) { on_publish_failed(c, i, p); }});
}

void Eventing::start(Ctx& ctx) {
  for (RedisClient& c : clients_) c.start(ctx);
}

void Eventing::crash() {
  volatile_ = {};
  for (RedisClient& c : clients_) c.crash();
}

void Eventing::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  for (RedisClient& c : clients_) c.on_message(ctx, from, msg);
}

void Eventing::on_timer(Ctx& ctx, std::uint64_t tag) {
  for (RedisClient& c : clients_) c.on_timer(ctx, tag);
}

void Eventing::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  for (RedisClient& c : clients_) c.on_connection(ctx, peer, event);
}

void Eventing::subscribe(Ctx& ctx, const std::string& channel) {
  // doSubscribe, lines 129-139: the subscription goes to every connection.
  for (RedisClient& c : clients_) c.subscribe(ctx, channel);
}

void Eventing::publish(Ctx& ctx, const std::string& channel, const std::string& payload) {
  if (clients_.empty()) return;  // doPublish, lines 104-106
  // index = (index + 1) % connections.size(), then the first try there (lines 108-121).
  auto k = static_cast<std::int64_t>(clients_.size());
  volatile_.index = (volatile_.index + 1) % k;
  clients_[static_cast<std::size_t>(volatile_.index)].publish(ctx, channel, payload, 0);
}

void Eventing::on_publish_failed(Ctx& ctx, std::size_t slot, const RedisClient::Pending& p) {
  // conn.publish returned false: the loop tries the next connection (lines 111-124), until each
  // was tried once.
  std::int64_t tried = p.tries + 1;
  if (tried < static_cast<std::int64_t>(clients_.size())) {
    clients_[(slot + 1) % clients_.size()].publish(ctx, p.channel, p.payload, tried);
    return;
  }
  ++volatile_.lost;
  ctx.event(LogLevel::info, Event("redis.publish_lost").with("tries", tried),
            fmt::format("Failed to publish event on [{}]: every redis host ({}) failed", p.channel,
                        tried));
}

void Eventing::digest_into(Digest& d) const {
  state::add(d, volatile_);
  for (const RedisClient& c : clients_) c.digest_into(d);
}

std::size_t Eventing::state_field_count() const {
  std::size_t n = state::field_total(volatile_);
  for (const RedisClient& c : clients_) n += c.state_field_count();
  return n;
}

std::string Eventing::perturb_state_field(std::size_t i) {
  std::size_t own = state::field_total(volatile_);
  if (i < own) return state::perturb_field(i, volatile_);
  i -= own;
  for (std::size_t k = 0; k < clients_.size(); ++k) {
    std::size_t n = clients_[k].state_field_count();
    if (i < n) return fmt::format("client{}.{}", k, clients_[k].perturb_state_field(i));
    i -= n;
  }
  return {};
}

}  // namespace stampede::redis
