#pragma once
// redis-K: one Redis 7 server used as an event bus through PUBLISH/SUBSCRIBE. Pub/sub is
// fire and forget: a message goes to the connections subscribed at that instant, at most once,
// and is never stored. Subscriptions belong to a connection, so a subscriber that reconnects has
// none until it subscribes again, and a crash of the server drops them all (nothing is
// persisted); the kernel closes its connections, and its clients read EOF.
//
// A client node may hold several connections (a Cattle server's subscriber and its publishing
// pool). The server drops a node's connections when that node's process dies (it reads EOF on
// them), and, with redis.conf `timeout` (redis_server_timeout, default 0: never), closes a
// connection idle that long unless it is a subscriber's (Redis 7.0.15 src/timeout.c:57-70).
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "models/redis/messages.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::redis {

class RedisNode final : public Node {
 public:
  // A connection: the client node and the id it gave it.
  using ClientKey = std::pair<NodeId, std::int64_t>;
  struct Client {
    bool pubsub = false;              // CLIENT_PUBSUB: it subscribed, so no idle timeout
    TimeNs last_interaction_ns = 0;   // c->lastinteraction: its last command or reply
    STAMPEDE_FIELDS(pubsub, last_interaction_ns)
  };
  // Nothing is persisted: a crash loses every connection and subscription.
  struct Volatile {
    std::map<ClientKey, Client> clients;
    std::map<std::string, std::set<ClientKey>> subscribers;
    bool cron_armed = false;  // a ClientsCron timer is pending
    STAMPEDE_FIELDS(clients, subscribers, cron_armed)
  };

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override;
  void on_crash() override { volatile_ = {}; }
  // A SIGKILLed redis-server's sockets close only once the kernel has torn the process down
  // (redis_exit_teardown), so its clients read EOF that long after the kill plus one latency.
  DurationNs exit_teardown_ns() const override { return exit_teardown_ns_; }
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(volatile_); }
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override { return std::make_unique<RedisNode>(*this); }
  std::size_t state_field_count() const override { return state::field_total(volatile_); }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, volatile_);
  }

 private:
  void on(Ctx& ctx, NodeId from, const Connect& m);
  void on(Ctx& ctx, NodeId from, const Subscribe& m);
  void on(Ctx& ctx, NodeId from, const Publish& m);
  void on(Ctx& ctx, NodeId from, const Ping& m);
  // The connection `conn` of `from`, its last interaction now; if the server does not hold it,
  // nullptr, and the client is told (it reads EOF on that socket).
  Client* known(Ctx& ctx, NodeId from, std::int64_t conn);
  void drop_subscriptions(const ClientKey& key);
  // Sets the clientsCron timer when an idle client could be closed and none is pending.
  void arm_cron(Ctx& ctx);
  void clients_cron(Ctx& ctx);

  // Read at start: not state.
  SeriesId m_published_ = 0, m_delivered_ = 0;
  std::int64_t max_idle_s_ = 0;  // server.maxidletime, whole seconds; 0: never
  DurationNs exit_teardown_ns_ = 0;
  Volatile volatile_;
};

}  // namespace stampede::redis
