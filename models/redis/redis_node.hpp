#pragma once
// redis-1: a single Redis server used as an event bus through PUBLISH/SUBSCRIBE. Pub/sub is fire
// and forget: a message goes to the connections subscribed at that instant, at most once, and is
// never stored. Subscriptions belong to a connection, so a subscriber that reconnects has none
// until it subscribes again, and a crash of the server drops them all (nothing is persisted).
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "models/redis/messages.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::redis {

class RedisNode final : public Node {
 public:
  struct Conn {
    std::int64_t id = 0;
    std::int64_t seq_out = 0;  // the sequence number of the next message sent on it
    STAMPEDE_FIELDS(id, seq_out)
  };
  // Nothing is persisted: a crash loses every connection and subscription.
  struct Volatile {
    std::map<NodeId, Conn> conns;  // one connection per client node
    std::map<std::string, std::set<NodeId>> subscribers;
    STAMPEDE_FIELDS(conns, subscribers)
  };

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override { volatile_ = {}; }
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
  // Whether conn is the live connection of `from`; if not, tells it so (a reset).
  bool known(Ctx& ctx, NodeId from, std::int64_t conn);
  // The live connection to `to`, its sequence number taken for the message about to go out.
  Conn next_out(NodeId to);
  void drop_subscriptions(NodeId client);

  // Metric ids, interned at start: not state.
  SeriesId m_published_ = 0, m_delivered_ = 0;
  Volatile volatile_;
};

}  // namespace stampede::redis
