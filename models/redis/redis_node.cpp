#include "models/redis/redis_node.hpp"

#include "models/redis/messages.hpp"

namespace stampede::redis {

std::string_view type_name(std::uint32_t type) {
  switch (type) {
    case connect:
      return "redis.connect";
    case subscribe:
      return "redis.subscribe";
    case publish:
      return "redis.publish";
    case ping:
      return "redis.ping";
    case connected:
      return "redis.connected";
    case subscribed:
      return "redis.subscribed";
    case message:
      return "redis.message";
    case pong:
      return "redis.pong";
    case closed:
      return "redis.closed";
    default:
      return "redis.unknown";
  }
}

void RedisNode::on_start(Ctx& ctx) {
  m_published_ = ctx.intern(k_metric_published);
  m_delivered_ = ctx.intern(k_metric_delivered);
}

void RedisNode::on_crash() {
  conns_.clear();
  subscribers_.clear();
}

void RedisNode::drop_subscriptions(NodeId client) {
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    it->second.erase(client);
    it = it->second.empty() ? subscribers_.erase(it) : std::next(it);
  }
}

void RedisNode::send(Ctx& ctx, NodeId to, std::uint32_t type, std::shared_ptr<const Payload> body) {
  Conn& c = conns_.at(to);
  ctx.send(to, Message{type, 128, c.id, c.seq_out++, 0, std::move(body)});
}

void RedisNode::on_message(Ctx& ctx, NodeId from, const Message& m) {
  if (!is_redis_type(m.type)) return;
  if (m.type == connect) {
    // A new connection from this client replaces its old one and the old one's subscriptions.
    drop_subscriptions(from);
    conns_[from] = Conn{m.a, 0};
    send(ctx, from, connected, nullptr);
    return;
  }
  auto it = conns_.find(from);
  if (it == conns_.end() || it->second.id != m.a) {
    ctx.send(from, Message{closed, 64, m.a, 0, 0, nullptr});
    return;
  }
  const auto* body = dynamic_cast<const ChannelBody*>(m.body.get());
  switch (m.type) {
    case subscribe:
      if (!body) return;
      subscribers_[body->channel].insert(from);
      send(ctx, from, subscribed, m.body);
      return;
    case publish: {
      if (!body) return;
      ctx.count(m_published_, 1);
      auto s = subscribers_.find(body->channel);
      if (s == subscribers_.end()) return;
      for (NodeId sub : s->second) {
        send(ctx, sub, message, m.body);
        ctx.count(m_delivered_, 1);
      }
      return;
    }
    case ping:
      send(ctx, from, pong, nullptr);
      return;
    default:
      return;
  }
}

std::optional<std::int64_t> RedisNode::probe(std::string_view key, std::string_view arg) const {
  if (key == "redis.subscribers") {
    auto it = subscribers_.find(std::string(arg));
    return it == subscribers_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  }
  if (key == "redis.connections") return static_cast<std::int64_t>(conns_.size());
  return std::nullopt;
}

std::uint64_t RedisNode::state_digest() const {
  Digest d;
  for (const auto& [node, c] : conns_) d.add(node).add_signed(c.id).add_signed(c.seq_out);
  for (const auto& [ch, subs] : subscribers_) {
    d.add(ch);
    for (NodeId n : subs) d.add(n);
  }
  return d.value();
}

std::string_view RedisNode::message_name(std::uint32_t type) const {
  return type_name(type);
}

}  // namespace stampede::redis
