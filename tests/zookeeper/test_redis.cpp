// Redis pub/sub on the kernel: at most once, nothing for a subscriber while it is cut off.
#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "models/redis/redis_client.hpp"
#include "models/redis/redis_node.hpp"
#include "world.hpp"

using namespace zktest;
using stampede::redis::RedisClient;

namespace {
// Publishes "0", "1", ... on channel "events" every 100 ms, or subscribes and records.
struct BusNode final : Node {
  RedisClient client;
  bool publisher = false;
  std::int64_t next = 0;
  std::vector<std::int64_t> got;
  std::vector<std::int64_t> published;
  explicit BusNode(bool pub) : publisher(pub) {}
  void on_start(Ctx& ctx) override {
    RedisClient::Callbacks cb;
    cb.message = [this](Ctx&, const std::string&, const std::string& p) {
      got.push_back(std::stoll(p));
    };
    client.set_callbacks(cb);
    client.start(ctx);
    if (publisher) {
      ctx.set_timer(100 * k_ms, 1);
    } else {
      client.subscribe(ctx, "events");
    }
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    if (RedisClient::owns_message(m.type)) client.on_message(ctx, from, m);
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    if (RedisClient::owns_timer(tag)) return client.on_timer(ctx, tag);
    std::int64_t n = next++;
    if (client.publish(ctx, "events", std::to_string(n))) published.push_back(n);
    ctx.set_timer(100 * k_ms, 1);
  }
  void on_crash() override { client.crash(); }
  std::uint64_t state_digest() const override { return client.digest(); }
};
}  // namespace

TEST_CASE("redis: a message published while a subscriber is cut off never reaches it", "[redis]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Kernel k(options(seed));
    NodeId redis = k.add_node("redis-1", std::make_unique<stampede::redis::RedisNode>());
    auto p = std::make_unique<BusNode>(true);
    auto s = std::make_unique<BusNode>(false);
    BusNode* pub = p.get();
    BusNode* sub = s.get();
    k.add_node("publisher", std::move(p));
    NodeId sub_id = k.add_node("subscriber", std::move(s));
    std::int64_t cut_from = 0, cut_to = 0;
    k.at(10 * k_s, StepKind::fault, [&] {
      k.network().partition({{sub_id}, {redis}});
      cut_from = pub->next;
    });
    k.at(15 * k_s, StepKind::fault, [&] {
      k.network().heal_all();
      cut_to = pub->next;
    });
    k.run_until(30 * k_s);
    REQUIRE(cut_to > cut_from);
    // Nothing published during the cut arrived, nothing arrived twice, and the subscriber got
    // messages again once it had reconnected and subscribed again.
    std::set<std::int64_t> seen;
    for (std::int64_t m : sub->got) {
      CHECK(seen.insert(m).second);
      CHECK((m < cut_from || m >= cut_to));
    }
    CHECK(seen.count(cut_from - 5) == 1);
    CHECK(seen.count(pub->next - 5) == 1);
    CHECK(sub->client.reconnects() >= 1);
  }
}

TEST_CASE("redis: a crash drops every subscription, clients re-subscribe", "[redis]") {
  Kernel k(options(2));
  NodeId redis = k.add_node("redis-1", std::make_unique<stampede::redis::RedisNode>());
  auto p = std::make_unique<BusNode>(true);
  auto s = std::make_unique<BusNode>(false);
  BusNode* pub = p.get();
  BusNode* sub = s.get();
  k.add_node("publisher", std::move(p));
  k.add_node("subscriber", std::move(s));
  k.run_until(5 * k_s);
  CHECK(k.node(redis).probe("redis.subscribers", "events") == 1);
  std::int64_t before = 0, after = 0;
  k.at(5 * k_s + 1, StepKind::fault, [&] {
    k.crash(redis);
    before = pub->next;
  });
  k.at(8 * k_s, StepKind::fault, [&] {
    k.restart(redis);
    after = pub->next;
  });
  k.run_until(20 * k_s);
  CHECK(k.node(redis).probe("redis.subscribers", "events") == 1);
  for (std::int64_t m : sub->got) CHECK((m < before || m >= after));
  CHECK(std::count(sub->got.begin(), sub->got.end(), pub->next - 5) == 1);
}

TEST_CASE("redis: the messages and the client's timer tags keep their numbers and layouts",
          "[redis]") {
  namespace r = stampede::redis;
  // The numbers every recorded HA trace carries: a change here changes the runs' steps.
  CHECK(r::Connect::k_type == 0x5200);
  CHECK(r::Subscribe::k_type == 0x5201);
  CHECK(r::Publish::k_type == 0x5202);
  CHECK(r::Ping::k_type == 0x5203);
  CHECK(r::Connected::k_type == 0x5204);
  CHECK(r::Subscribed::k_type == 0x5205);
  CHECK(r::Delivery::k_type == 0x5206);
  CHECK(r::Pong::k_type == 0x5207);
  CHECK(r::Closed::k_type == 0x5208);
  CHECK(r::type_name(0x5206) == "redis.message");
  CHECK(r::type_name(0x5210) == "redis.unknown");
  Message m = stampede::wire::encode(r::Pong{5, 3});
  CHECK(m.a == 5);
  CHECK(m.b == 3);
  CHECK(m.size_bytes == 128);
  const std::uint64_t prefix = 0x5244ULL << 48;
  CHECK(stampede::timer_tag::encode(r::PingTimer{2}) == (prefix | (1ULL << 32) | 2));
  CHECK(stampede::timer_tag::encode(r::ReadTimer{2}) == (prefix | (2ULL << 32) | 2));
  CHECK(stampede::timer_tag::encode(r::ReconnectTimer{2}) == (prefix | (3ULL << 32) | 2));
}

TEST_CASE("redis: every field of the server's and a client's state reaches their digests",
          "[redis]") {
  Kernel k(options(3));
  NodeId redis = k.add_node("redis-1", std::make_unique<stampede::redis::RedisNode>());
  auto s = std::make_unique<BusNode>(false);
  BusNode* sub = s.get();
  k.add_node("publisher", std::make_unique<BusNode>(true));
  k.add_node("subscriber", std::move(s));
  k.run_until(5 * k_s);
  REQUIRE(sub->client.connected());

  const Node& server = k.node(redis);
  const std::uint64_t d0 = server.state_digest();
  REQUIRE(server.state_field_count() == 2);
  for (std::size_t i = 0; i < server.state_field_count(); ++i) {
    std::unique_ptr<Node> copy = server.clone();
    INFO(copy->perturb_state_field(i));
    CHECK(copy->state_digest() != d0);
  }

  const std::uint64_t c0 = sub->client.digest();
  REQUIRE(sub->client.state_field_count() == 8);
  for (std::size_t i = 0; i < sub->client.state_field_count(); ++i) {
    RedisClient copy = sub->client;
    INFO(copy.perturb_state_field(i));
    CHECK(copy.digest() != c0);
  }
}
