#pragma once
// redis-1: a single Redis server used as an event bus through PUBLISH/SUBSCRIBE. Pub/sub is fire
// and forget: a message goes to the connections subscribed at that instant, at most once, and is
// never stored. Subscriptions belong to a connection, so a subscriber that reconnects has none
// until it subscribes again, and a crash of the server drops them all (nothing is persisted).
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "sim/core/node.hpp"

namespace stampede::redis {

class RedisNode final : public Node {
 public:
  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;

 private:
  struct Conn {
    std::int64_t id = 0;
    std::int64_t seq_out = 0;
  };
  void send(Ctx& ctx, NodeId to, std::uint32_t type, std::shared_ptr<const Payload> body);
  void drop_subscriptions(NodeId client);

  std::map<NodeId, Conn> conns_;  // one connection per client node
  std::map<std::string, std::set<NodeId>> subscribers_;
  SeriesId m_published_ = 0, m_delivered_ = 0;
};

}  // namespace stampede::redis
