// Cattle's event bus over one Redis per node (models/redis/eventing.hpp, RedisEventingService at
// rancher/cattle v0.165.8): every subscriber listens on every Redis, every publish starts one
// Redis further along and fails over to the next, so one Redis down loses no message.
#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "models/redis/eventing.hpp"
#include "models/redis/redis_node.hpp"
#include "world.hpp"

using namespace zktest;
using stampede::redis::Eventing;

namespace {
// Publishes "0", "1", ... on "events" every 100 ms, or subscribes and records what it hears.
struct EventNode final : Node {
  Eventing bus;
  bool publisher = false;
  std::int64_t next = 0;
  std::vector<std::int64_t> got;
  EventNode(bool pub, const std::vector<std::string>& servers) : bus(servers), publisher(pub) {}
  void on_start(Ctx& ctx) override {
    bus.set_callbacks(
        {[this](Ctx&, const std::string&, const std::string& p) { got.push_back(std::stoll(p)); }});
    bus.start(ctx);
    if (publisher) {
      ctx.set_timer(100 * k_ms, 1);
    } else {
      bus.subscribe(ctx, "events");
    }
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    if (Eventing::owns_message(m.type)) bus.on_message(ctx, from, m);
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    if (Eventing::owns_timer(tag)) return bus.on_timer(ctx, tag);
    bus.publish(ctx, "events", std::to_string(next++));
    ctx.set_timer(100 * k_ms, 1);
  }
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent e) override {
    bus.on_connection(ctx, peer, e);
  }
  void on_crash() override { bus.crash(); }
  std::uint64_t state_digest() const override {
    Digest d;
    bus.digest_into(d);
    return d.value();
  }
};

// `k` Redis servers; the publisher and the subscriber list the first `used` of them.
struct Cluster {
  std::unique_ptr<Kernel> k;
  std::vector<NodeId> redis;
  EventNode* pub = nullptr;
  EventNode* sub = nullptr;
  Cluster(std::uint64_t seed, int count, int used) {
    k = std::make_unique<Kernel>(options(seed));
    std::vector<std::string> hosts;
    for (int i = 1; i <= count; ++i) {
      std::string name = fmt::format("redis-{}", i);
      redis.push_back(k->add_node(name, std::make_unique<stampede::redis::RedisNode>()));
      if (i <= used) hosts.push_back(name);
    }
    auto p = std::make_unique<EventNode>(true, hosts);
    auto s = std::make_unique<EventNode>(false, hosts);
    pub = p.get();
    sub = s.get();
    k->add_node("publisher", std::move(p));
    k->add_node("subscriber", std::move(s));
  }
  std::int64_t count(std::string_view event) const {
    std::int64_t n = 0;
    for (const LogRecord& r : k->logs()) n += r.event == event;
    return n;
  }
};
}  // namespace

TEST_CASE(
    "redis eventing: the subscriber listens on every Redis, the publisher's first publish "
    "goes through the second and each later one through the next",
    "[redis]") {
  Cluster c(1, 3, 3);
  c.k->run_until(150 * k_ms);  // one publish, at 100 ms
  for (NodeId r : c.redis) CHECK(c.k->node(r).probe("redis.subscribers", "events") == 1);
  // index = (0 + 1) % 3: the first publish borrows from redis-2's pool only.
  CHECK(c.k->node(c.redis[0]).probe("redis.connections", "") == 1);
  CHECK(c.k->node(c.redis[1]).probe("redis.connections", "") == 2);
  CHECK(c.k->node(c.redis[2]).probe("redis.connections", "") == 1);
  c.k->run_until(350 * k_ms);  // then redis-3, then redis-1
  for (NodeId r : c.redis) CHECK(c.k->node(r).probe("redis.connections", "") == 2);
  CHECK(c.sub->got == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE(
    "redis eventing: with one Redis per node a crashed Redis loses no message but with one "
    "Redis every message published while it is down is lost",
    "[redis]") {
  for (int used : {3, 1}) {
    CAPTURE(used);
    Cluster c(2, 3, used);
    std::int64_t crashed_at = 0, restarted_at = 0;
    c.k->at(5 * k_s + 1, StepKind::fault, [&] {
      c.k->crash(c.redis[0]);
      crashed_at = c.pub->next;
    });
    c.k->at(8 * k_s, StepKind::fault, [&] {
      c.k->restart(c.redis[0]);
      restarted_at = c.pub->next;
    });
    c.k->run_until(20 * k_s);
    REQUIRE(restarted_at > crashed_at + 20);
    std::set<std::int64_t> heard(c.sub->got.begin(), c.sub->got.end());
    // Nothing arrives twice: each message went through one Redis.
    CHECK(heard.size() == c.sub->got.size());
    std::int64_t missed = 0;
    for (std::int64_t m = crashed_at + 1; m < restarted_at; ++m) missed += heard.count(m) == 0;
    if (used == 3) {
      // Every try at redis-1 failed over to redis-2 and the subscriber heard it there.
      CHECK(c.count("redis.publish_failed") > 0);
      CHECK(c.count("redis.publish_lost") == 0);
      CHECK(missed == 0);
      CHECK(c.pub->bus.lost() == 0);
    } else {
      CHECK(c.count("redis.publish_lost") > 0);
      CHECK(missed == restarted_at - crashed_at - 1);
    }
  }
}

TEST_CASE("redis eventing: every field of the bus's state reaches its digest", "[redis]") {
  Cluster c(3, 3, 3);
  c.k->run_until(2 * k_s);
  const Eventing& bus = c.pub->bus;
  Digest d0;
  bus.digest_into(d0);
  REQUIRE(bus.state_field_count() == 2 + 3 * 11);
  for (std::size_t i = 0; i < bus.state_field_count(); ++i) {
    // A copy's clients call back into the original: only its state is read here.
    Eventing copy = bus;
    INFO(copy.perturb_state_field(i));
    Digest d;
    copy.digest_into(d);
    CHECK(d.value() != d0.value());
  }
}
