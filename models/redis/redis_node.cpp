#include "models/redis/redis_node.hpp"

#include <fmt/format.h>

#include "models/redis/messages.hpp"

namespace stampede::redis {

namespace {
// serverCron runs server.hz times a second (hz 10: redis.conf:2097 and CONFIG_DEFAULT_HZ,
// src/server.h:104 at 7.0.15) and calls clientsCron each time (src/server.c:1312), which with
// fewer than CLIENTS_CRON_MIN_ITERATIONS (5) clients visits all of them (src/server.c:939-954).
constexpr DurationNs k_cron_period_ns = 100 * k_ms;

// Division rounding down, also for a local clock that a negative skew put before zero.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}
}  // namespace

std::string_view type_name(std::uint32_t type) {
  std::string_view n = wire::name_of<Connect, Subscribe, Publish, Ping, Connected, Subscribed,
                                     Delivery, Pong, Closed, Published>(type);
  return n.empty() ? "redis.unknown" : n;
}

void RedisNode::on_start(Ctx& ctx) {
  m_published_ = ctx.intern(k_metric_published);
  m_delivered_ = ctx.intern(k_metric_delivered);
  // redis.conf `timeout` is a whole number of seconds.
  max_idle_s_ = ctx.timing(k_server_timeout) / k_s;
  exit_teardown_ns_ = ctx.timing(k_exit_teardown);
}

void RedisNode::drop_subscriptions(const ClientKey& key) {
  auto& subscribers = volatile_.subscribers;
  for (auto it = subscribers.begin(); it != subscribers.end();) {
    it->second.erase(key);
    it = it->second.empty() ? subscribers.erase(it) : std::next(it);
  }
}

void RedisNode::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<Connect, Subscribe, Publish, Ping>(msg,
                                                    [&](const auto& m) { on(ctx, from, m); });
}

RedisNode::Client* RedisNode::known(Ctx& ctx, NodeId from, std::int64_t conn) {
  auto it = volatile_.clients.find({from, conn});
  if (it == volatile_.clients.end()) {
    ctx.send(from, wire::encode(Closed{conn}));
    return nullptr;
  }
  // Reading a command and writing its reply both count (src/networking.c:2692 and 2004).
  it->second.last_interaction_ns = ctx.now();
  return &it->second;
}

void RedisNode::on(Ctx& ctx, NodeId from, const Connect& m) {
  // A new connection (createClient sets lastinteraction, src/networking.c:164). An id this
  // client used before names a connection that is gone: it starts afresh.
  ClientKey key{from, m.conn};
  drop_subscriptions(key);
  volatile_.clients[key] = Client{false, ctx.now()};
  ctx.send(from, wire::encode(Connected{m.conn}));
  arm_cron(ctx);
}

void RedisNode::on(Ctx& ctx, NodeId from, const Subscribe& m) {
  Client* c = known(ctx, from, m.conn);
  if (c == nullptr) return;
  c->pubsub = true;  // src/pubsub.c:547
  volatile_.subscribers[m.body->channel].insert({from, m.conn});
  ctx.send(from, wire::encode(Subscribed{m.conn, m.body}));
}

void RedisNode::on(Ctx& ctx, NodeId from, const Publish& m) {
  if (known(ctx, from, m.conn) == nullptr) return;
  ctx.count(m_published_, 1);
  std::int64_t receivers = 0;
  auto s = volatile_.subscribers.find(m.body->channel);
  if (s != volatile_.subscribers.end()) {
    for (const auto& [node, conn] : s->second) {
      ctx.send(node, wire::encode(Delivery{conn, m.body}));
      ++receivers;
    }
  }
  if (receivers > 0) ctx.count(m_delivered_, receivers);
  ctx.send(from, wire::encode(Published{m.conn, receivers}));
}

void RedisNode::on(Ctx& ctx, NodeId from, const Ping& m) {
  if (known(ctx, from, m.conn) == nullptr) return;
  ctx.send(from, wire::encode(Pong{m.conn}));
}

void RedisNode::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  (void)ctx;
  if (event != ConnectionEvent::closed) return;  // the server never connects: nothing refused
  // The client's process died (or the connection was reset): Redis reads EOF on each of its
  // sockets and frees the client with its subscriptions.
  auto& clients = volatile_.clients;
  auto it = clients.lower_bound({peer, INT64_MIN});
  while (it != clients.end() && it->first.first == peer) {
    drop_subscriptions(it->first);
    it = clients.erase(it);
  }
}

void RedisNode::arm_cron(Ctx& ctx) {
  Volatile& v = volatile_;
  if (max_idle_s_ == 0 || v.cron_armed) return;
  bool idle_candidate = false;
  for (const auto& [key, c] : v.clients) idle_candidate |= !c.pubsub;
  if (!idle_candidate) return;
  v.cron_armed = true;
  // The cron's ticks fall on the local clock's tenths of a second: the phase of a real
  // server's is arbitrary.
  TimeNs now = ctx.now();
  TimeNs next = (floor_div(now, k_cron_period_ns) + 1) * k_cron_period_ns;
  ctx.set_timer(next - now, timer_tag::encode(ClientsCron{}));
}

void RedisNode::on_timer(Ctx& ctx, std::uint64_t tag) {
  timer_tag::dispatch<ClientsCron>(tag, [&](const ClientsCron&) { clients_cron(ctx); });
}

void RedisNode::clients_cron(Ctx& ctx) {
  Volatile& v = volatile_;
  v.cron_armed = false;
  // clientsCronHandleTimeout (src/timeout.c:57-70): in whole seconds of the cached clock, a
  // client idle more than maxidletime is freed, unless it is a Pub/Sub client.
  std::int64_t now_s = floor_div(ctx.now(), k_s);
  for (auto it = v.clients.begin(); it != v.clients.end();) {
    std::int64_t idle_s = now_s - floor_div(it->second.last_interaction_ns, k_s);
    if (it->second.pubsub || idle_s <= max_idle_s_) {
      ++it;
      continue;
    }
    ctx.event(LogLevel::info,
              Event("redis.idle_client_closed")
                  .with("client", ctx.name_of(it->first.first))
                  .with("idle_s", idle_s),
              fmt::format("Closing idle client {} (idle {} s)", ctx.name_of(it->first.first),
                          idle_s));
    // The socket closes; the client reads EOF when it next uses it (Closed). The kernel
    // connection stays: the node's other Redis connections ride on it too.
    it = v.clients.erase(it);
  }
  arm_cron(ctx);
}

std::optional<std::int64_t> RedisNode::probe(std::string_view key, std::string_view arg) const {
  if (key == "redis.subscribers") {
    auto it = volatile_.subscribers.find(std::string(arg));
    return it == volatile_.subscribers.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  }
  if (key == "redis.connections") return static_cast<std::int64_t>(volatile_.clients.size());
  return std::nullopt;
}

std::string_view RedisNode::message_name(std::uint32_t type) const {
  return type_name(type);
}

}  // namespace stampede::redis
