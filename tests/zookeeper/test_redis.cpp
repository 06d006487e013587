// Redis pub/sub on the kernel, with Cattle's client (models/redis/redis_client.hpp): at most
// once; a subscriber learns of a dead server from its connection and waits redis.retry.millis
// before it connects again; the server's idle timeout spares subscribers.
#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "models/redis/redis_client.hpp"
#include "models/redis/redis_node.hpp"
#include "world.hpp"

using namespace zktest;
using stampede::redis::RedisClient;

namespace {
// Publishes "0", "1", ... on channel "events" every `period`, or subscribes and records.
struct BusNode final : Node {
  RedisClient client;
  bool publisher = false;
  bool pass_connection_events = true;  // off: the client hears of no closed connection
  DurationNs period = 100 * k_ms;
  DurationNs subscribe_more_at = 0;  // when set: subscribe to "more" then
  std::int64_t next = 0;
  std::vector<std::int64_t> got;
  explicit BusNode(bool pub) : publisher(pub) {}
  void on_start(Ctx& ctx) override {
    RedisClient::Callbacks cb;
    cb.message = [this](Ctx&, const std::string&, const std::string& p) {
      got.push_back(std::stoll(p));
    };
    client.set_callbacks(cb);
    client.start(ctx);
    if (publisher) {
      ctx.set_timer(period, 1);
    } else {
      client.subscribe(ctx, "events");
    }
    if (subscribe_more_at > 0) ctx.set_timer(subscribe_more_at - ctx.now(), 2);
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    if (RedisClient::owns_message(m.type)) client.on_message(ctx, from, m);
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    if (RedisClient::owns_timer(tag)) return client.on_timer(ctx, tag);
    if (tag == 2) return client.subscribe(ctx, "more");
    client.publish(ctx, "events", std::to_string(next++));
    ctx.set_timer(period, 1);
  }
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent e) override {
    if (pass_connection_events) client.on_connection(ctx, peer, e);
  }
  void on_crash() override { client.crash(); }
  std::uint64_t state_digest() const override { return client.digest(); }
};

struct Bus {
  std::unique_ptr<Kernel> k;
  NodeId redis = k_no_node;
  BusNode* pub = nullptr;
  BusNode* sub = nullptr;
  NodeId sub_id = k_no_node;
  explicit Bus(Kernel::Options o, bool pass_connection_events = true) {
    k = std::make_unique<Kernel>(std::move(o));
    redis = k->add_node("redis-1", std::make_unique<stampede::redis::RedisNode>());
    auto p = std::make_unique<BusNode>(true);
    auto s = std::make_unique<BusNode>(false);
    pub = p.get();
    sub = s.get();
    sub->pass_connection_events = pass_connection_events;
    k->add_node("publisher", std::move(p));
    sub_id = k->add_node("subscriber", std::move(s));
  }
  std::optional<std::int64_t> subscribers() const {
    return k->node(redis).probe("redis.subscribers", "events");
  }
  bool got(std::int64_t m) const {
    return std::count(sub->got.begin(), sub->got.end(), m) == 1;
  }
};

// The events of this name in the run's log.
std::vector<const LogRecord*> events(const Kernel& k, std::string_view name) {
  std::vector<const LogRecord*> out;
  for (const LogRecord& r : k.logs())
    if (r.event == name) out.push_back(&r);
  return out;
}
}  // namespace

TEST_CASE("redis: a subscriber cut off notices nothing, loses the cut's messages, then hears again",
          "[redis]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Bus b(options(seed));
    std::int64_t cut_from = 0, cut_to = 0;
    b.k->at(10 * k_s, StepKind::fault, [&] {
      b.k->network().partition({{b.sub_id}, {b.redis}});
      cut_from = b.pub->next;
    });
    b.k->at(15 * k_s, StepKind::fault, [&] {
      b.k->network().heal_all();
      cut_to = b.pub->next;
    });
    b.k->run_until(30 * k_s);
    REQUIRE(cut_to > cut_from + 10);
    // Nothing published well inside the cut arrived, nothing arrived twice; the subscriber never
    // noticed the cut (Jedis's subscriber reads with no timeout and never pings), so it kept its
    // connection and subscription, and messages published after the heal reach it.
    std::set<std::int64_t> seen;
    for (std::int64_t m : b.sub->got) {
      CHECK(seen.insert(m).second);
      CHECK((m <= cut_from || m >= cut_to - 1));
    }
    CHECK(b.got(cut_from - 5));
    CHECK(b.got(b.pub->next - 5));
    CHECK(b.sub->client.reconnects() == 0);
    CHECK(b.subscribers() == 1);
  }
}

TEST_CASE("redis: a crash is noticed at once, the subscriber is back after redis.retry.millis, "
          "the publisher as soon as the server is",
          "[redis]") {
  Bus b(options(2));
  b.k->run_until(5 * k_s);
  REQUIRE(b.subscribers() == 1);
  std::int64_t before = 0;
  b.k->at(5 * k_s + 1, StepKind::fault, [&] {
    b.k->crash(b.redis);
    before = b.pub->next;
  });
  b.k->at(8 * k_s, StepKind::fault, [&] { b.k->restart(b.redis); });
  // The subscriber reads the closed connection redis_exit_teardown and one latency after the
  // crash.
  b.k->run_until(5 * k_s + 20 * k_ms);
  CHECK(b.sub->client.reconnects() == 1);
  CHECK_FALSE(b.sub->client.connected());
  // While the server is down every publish fails; the pool connects again at the first publish
  // after the restart.
  b.k->run_until(8 * k_s);
  std::int64_t published_down = b.k->counter("redis_published");
  CHECK_FALSE(events(*b.k, "redis.publish_failed").empty());
  b.k->run_until(9 * k_s);
  CHECK(b.k->counter("redis_published") >= published_down + 5);
  // The subscriber waits the 60 s of redis.retry.millis from its loss, then subscribes again.
  b.k->run_until(64 * k_s);
  CHECK(b.subscribers() == 0);
  CHECK(b.sub->client.reconnects() == 1);
  std::int64_t unsubscribed_until = b.pub->next;
  b.k->run_until(66 * k_s);
  CHECK(b.subscribers() == 1);
  CHECK(b.sub->client.connected());
  b.k->run_until(70 * k_s);
  // Nothing published between the crash and the resubscription arrived; later ones do.
  for (std::int64_t m : b.sub->got) CHECK((m < before || m >= unsubscribed_until));
  CHECK(b.got(b.pub->next - 5));
}

TEST_CASE("redis: a SIGKILLed server's subscriber reads EOF after the kernel's teardown of the "
          "process plus one latency",
          "[redis]") {
  // A fixed 1 ms latency, so that the instant pins the teardown: with redis_exit_teardown 0
  // (switched off) the subscriber would notice 1 ms after the crash, not 3 ms.
  Kernel::Options o = options(4, {{"redis_exit_teardown", 2 * k_ms}});
  o.network.latency.kind = LatencySpec::Kind::fixed;
  o.network.latency.fixed_ns = 1 * k_ms;
  Bus b(std::move(o));
  b.k->run_until(5 * k_s);
  REQUIRE(b.subscribers() == 1);
  b.k->at(5 * k_s, StepKind::fault, [&] { b.k->crash(b.redis); });
  b.k->run_until(6 * k_s);
  std::vector<const LogRecord*> lost;
  for (const LogRecord* r : events(*b.k, "redis.subscriber_lost"))
    if (r->node == b.sub_id) lost.push_back(r);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0]->time_ns == 5 * k_s + 3 * k_ms);
  CHECK(b.sub->client.reconnects() == 1);
}

TEST_CASE("redis: without connection events the subscriber never notices the crash, and never "
          "subscribes again",
          "[redis]") {
  // The mechanism switched off: the client keeps no timeout of its own on the subscriber's
  // connection, as Jedis's psubscribe, so nothing else would tell it.
  Bus b(options(2), false);
  b.k->run_until(5 * k_s);
  REQUIRE(b.subscribers() == 1);
  b.k->at(5 * k_s + 1, StepKind::fault, [&] { b.k->crash(b.redis); });
  b.k->at(8 * k_s, StepKind::fault, [&] { b.k->restart(b.redis); });
  b.k->run_until(120 * k_s);
  CHECK(b.sub->client.reconnects() == 0);
  CHECK(b.sub->client.connected());
  CHECK(b.subscribers() == 0);
  CHECK_FALSE(b.got(b.pub->next - 5));
}

TEST_CASE("redis: a connect refused is retried after redis.retry.millis, a new subscription "
          "wakes the subscriber at once",
          "[redis]") {
  Bus b(options(4));
  b.sub->subscribe_more_at = 3 * k_s;
  b.k->at(0, StepKind::fault, [&] { b.k->crash(b.redis); });
  b.k->at(1 * k_s, StepKind::fault, [&] { b.k->restart(b.redis); });
  b.k->run_until(2900 * k_ms);
  // The first connect was refused: the loop waits its 60 s.
  CHECK(b.sub->client.reconnects() == 1);
  CHECK(b.subscribers() == 0);
  REQUIRE(events(*b.k, "redis.subscriber_lost").size() == 1);
  CHECK(events(*b.k, "redis.subscriber_lost")[0]->fields[0].second == "refused");
  // At 3 s a new subscription calls tryConnect(), which wakes the loop: it connects at once and
  // subscribes to every channel.
  b.k->run_until(3 * k_s + 50 * k_ms);
  CHECK(b.sub->client.connected());
  CHECK(b.subscribers() == 1);
  CHECK(b.k->node(b.redis).probe("redis.subscribers", "more") == 1);
}

TEST_CASE("redis: redis.conf timeout closes an idle connection but not a subscriber's, the pool "
          "replaces the closed one at the next publish and loses nothing",
          "[redis]") {
  Bus b(options(5, {{"redis_server_timeout", 2 * k_s}}));
  b.pub->period = 10 * k_s;  // publishes at 10 s, 20 s, ...: idle long enough in between
  b.k->run_until(35 * k_s);
  auto closed = events(*b.k, "redis.idle_client_closed");
  // The pool's connection, idle since each publish, is closed more than 2 and at most about 3.1
  // whole seconds later (idle counted in whole seconds, checked every 100 ms); the subscriber,
  // idle all along, never is.
  REQUIRE(closed.size() == 3);
  for (const LogRecord* r : closed) {
    CHECK(r->fields[0].second == "publisher");
    TimeNs after_publish = r->time_ns % (10 * k_s);
    CHECK(after_publish > 2 * k_s);
    CHECK(after_publish <= 3200 * k_ms);
  }
  CHECK(b.subscribers() == 1);
  // Each publish found its pooled connection closed (PING read EOF) and made a new one: every
  // message arrived and none failed.
  CHECK(events(*b.k, "redis.publish_failed").empty());
  CHECK(b.sub->got == std::vector<std::int64_t>{0, 1, 2});
  CHECK(b.k->node(b.redis).probe("redis.connections", "") == 1);
}

TEST_CASE("redis: with the default timeout 0 no connection is ever closed as idle", "[redis]") {
  Bus b(options(5));
  b.pub->period = 10 * k_s;
  b.k->run_until(35 * k_s);
  CHECK(events(*b.k, "redis.idle_client_closed").empty());
  CHECK(b.k->node(b.redis).probe("redis.connections", "") == 2);
  CHECK(b.sub->got == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE("redis: the messages and the timer tags keep their numbers and layouts", "[redis]") {
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
  CHECK(r::Published::k_type == 0x5209);
  CHECK(r::type_name(0x5206) == "redis.message");
  CHECK(r::type_name(0x5209) == "redis.published");
  CHECK(r::type_name(0x5210) == "redis.unknown");
  Message m = stampede::wire::encode(r::Published{5, 3});
  CHECK(m.a == 5);
  CHECK(m.b == 3);
  CHECK(m.size_bytes == 64);
  const std::uint64_t client = 0x5244ULL << 48;
  // A client's kind in 4 bits, its slot among its owner's Redis clients in 12, the generation.
  CHECK(stampede::timer_tag::encode(r::PoolTimeout{0, 2}) == (client | (1ULL << 44) | 2));
  CHECK(stampede::timer_tag::encode(r::SubscriberConnectTimeout{0, 2}) ==
        (client | (2ULL << 44) | 2));
  CHECK(stampede::timer_tag::encode(r::RetryTimer{0, 2}) == (client | (3ULL << 44) | 2));
  CHECK(stampede::timer_tag::encode(r::RetryTimer{4095, 2}) ==
        (client | (3ULL << 44) | (4095ULL << 32) | 2));
  CHECK(RedisClient::owns_timer(stampede::timer_tag::encode(r::RetryTimer{7, 1})));
  CHECK(stampede::timer_tag::encode(r::ClientsCron{}) == ((0x5253ULL << 48) | (1ULL << 32)));
  CHECK_FALSE(RedisClient::owns_timer(stampede::timer_tag::encode(r::ClientsCron{})));
}

TEST_CASE("redis: every field of the server's and a client's state reaches their digests",
          "[redis]") {
  Bus b(options(3, {{"redis_server_timeout", 5 * k_s}}));
  b.k->run_until(5 * k_s);
  REQUIRE(b.sub->client.connected());

  const Node& server = b.k->node(b.redis);
  const std::uint64_t d0 = server.state_digest();
  REQUIRE(server.state_field_count() == 3);
  for (std::size_t i = 0; i < server.state_field_count(); ++i) {
    std::unique_ptr<Node> copy = server.clone();
    INFO(copy->perturb_state_field(i));
    CHECK(copy->state_digest() != d0);
  }

  for (const BusNode* node : {b.sub, b.pub}) {
    const std::uint64_t c0 = node->client.digest();
    REQUIRE(node->client.state_field_count() == 11);
    for (std::size_t i = 0; i < node->client.state_field_count(); ++i) {
      RedisClient copy = node->client;
      INFO(copy.perturb_state_field(i));
      CHECK(copy.digest() != c0);
    }
  }
}
