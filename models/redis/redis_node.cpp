#include "models/redis/redis_node.hpp"

#include "models/redis/messages.hpp"

namespace stampede::redis {

std::string_view type_name(std::uint32_t type) {
  std::string_view n = wire::name_of<Connect, Subscribe, Publish, Ping, Connected, Subscribed,
                                     Delivery, Pong, Closed>(type);
  return n.empty() ? "redis.unknown" : n;
}

void RedisNode::on_start(Ctx& ctx) {
  m_published_ = ctx.intern(k_metric_published);
  m_delivered_ = ctx.intern(k_metric_delivered);
}

void RedisNode::drop_subscriptions(NodeId client) {
  auto& subscribers = volatile_.subscribers;
  for (auto it = subscribers.begin(); it != subscribers.end();) {
    it->second.erase(client);
    it = it->second.empty() ? subscribers.erase(it) : std::next(it);
  }
}

RedisNode::Conn RedisNode::next_out(NodeId to) {
  Conn& c = volatile_.conns.at(to);
  Conn out = c;
  ++c.seq_out;
  return out;
}

void RedisNode::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<Connect, Subscribe, Publish, Ping>(msg,
                                                    [&](const auto& m) { on(ctx, from, m); });
}

bool RedisNode::known(Ctx& ctx, NodeId from, std::int64_t conn) {
  auto it = volatile_.conns.find(from);
  if (it != volatile_.conns.end() && it->second.id == conn) return true;
  ctx.send(from, wire::encode(Closed{conn}));
  return false;
}

void RedisNode::on(Ctx& ctx, NodeId from, const Connect& m) {
  // A new connection from this client replaces its old one and the old one's subscriptions.
  drop_subscriptions(from);
  volatile_.conns[from] = Conn{m.conn, 0};
  Conn c = next_out(from);
  ctx.send(from, wire::encode(Connected{c.id, c.seq_out}));
}

void RedisNode::on(Ctx& ctx, NodeId from, const Subscribe& m) {
  if (!known(ctx, from, m.conn)) return;
  volatile_.subscribers[m.body->channel].insert(from);
  Conn c = next_out(from);
  ctx.send(from, wire::encode(Subscribed{c.id, c.seq_out, m.body}));
}

void RedisNode::on(Ctx& ctx, NodeId from, const Publish& m) {
  if (!known(ctx, from, m.conn)) return;
  ctx.count(m_published_, 1);
  auto s = volatile_.subscribers.find(m.body->channel);
  if (s == volatile_.subscribers.end()) return;
  for (NodeId sub : s->second) {
    Conn c = next_out(sub);
    ctx.send(sub, wire::encode(Delivery{c.id, c.seq_out, m.body}));
    ctx.count(m_delivered_, 1);
  }
}

void RedisNode::on(Ctx& ctx, NodeId from, const Ping& m) {
  if (!known(ctx, from, m.conn)) return;
  Conn c = next_out(from);
  ctx.send(from, wire::encode(Pong{c.id, c.seq_out}));
}

std::optional<std::int64_t> RedisNode::probe(std::string_view key, std::string_view arg) const {
  if (key == "redis.subscribers") {
    auto it = volatile_.subscribers.find(std::string(arg));
    return it == volatile_.subscribers.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  }
  if (key == "redis.connections") return static_cast<std::int64_t>(volatile_.conns.size());
  return std::nullopt;
}

std::string_view RedisNode::message_name(std::uint32_t type) const {
  return type_name(type);
}

}  // namespace stampede::redis
