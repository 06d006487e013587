#include "models/redis/register.hpp"

#include <fmt/format.h>

#include "models/redis/messages.hpp"
#include "models/redis/redis_node.hpp"

namespace stampede {

namespace {

void register_timings(Registry& r) {
  r.add_timing({std::string(redis::k_client_timeout), TimingUnit::duration, 2 * k_s,
                "cattle v0.165.8 redis.timeout=2000 (META-INF/cattle/redis/defaults.properties:3), "
                "Jedis's connect and read timeout (RedisConnection.java:59-60; Connection.java:"
                "137-138 at jedis-2.4.1)",
                "how long a Redis client's connect, and the publishing pool's PING or PUBLISH, "
                "wait for an answer (the subscriber reads with no timeout)"});
  r.add_timing({std::string(redis::k_retry_interval), TimingUnit::duration, 60 * k_s,
                "cattle v0.165.8 redis.retry.millis=60000 (META-INF/cattle/redis/"
                "defaults.properties:4), the wait in RedisConnection.java:206-209",
                "how long a Redis subscriber waits after its connection was lost or failed "
                "before it connects again (a new subscription wakes it at once)"});
  r.add_timing({std::string(redis::k_server_timeout), TimingUnit::duration, 0,
                "Redis 7 redis.conf `timeout 0` (redis.conf:159 at 7.0.15); src/timeout.c:57-70",
                "redis.conf timeout: a Redis server closes a connection idle longer than this, "
                "in whole seconds, unless it is a subscriber's; 0 never"});
  r.add_timing({std::string(redis::k_exit_teardown), TimingUnit::duration, 2 * k_ms,
                "measured (processing time, not a constant of Redis's source): on loopback a "
                "SIGKILLed redis-server 7.0 (Debian 12) is reaped, and its redis-py subscriber "
                "reads EOF, 2.0-2.1 ms after the kill (median of 9, 2026-12-06); the suite's "
                "idle table of 22:34 the same day gave 2 ms (2-3 ms, n=3); docs/conformance.md, "
                "\"Why rows fail\"",
                "a crashed (SIGKILLed) Redis server's connections close this long after the "
                "kill: the kernel tears the process down before it closes its sockets, and its "
                "clients read EOF then, plus one latency"});
}

void register_events(Registry& r) {
  r.add_event({"redis.subscriber_connecting", {},
               "a Redis subscriber connects (Cattle's log line `Connecting to redis`)"});
  r.add_event({"redis.subscriber_lost", {"reason", "retry_ms"},
               "a Redis subscriber's connection closed, was refused, or did not open in time "
               "(reason: closed, refused or timeout); it connects again after retry_ms "
               "(redis_retry_interval)"});
  r.add_event({"redis.publish_failed",
               {"redis", "reason"},
               "a publish through one Redis server failed: the pool could not reach it or "
               "PUBLISH failed (reason: closed, refused or timeout); a Cattle server then tries "
               "its next Redis (redis.publish_lost when none is left)"});
  r.add_event({"redis.publish_lost",
               {"tries"},
               "HA: a Cattle server's event was lost: its publish failed on every Redis server "
               "it tried (tries of them), as RedisEventingService.doPublish returns false "
               "(rancher/cattle v0.165.8 code/implementation/eventing-redis/src/main/java/io/"
               "cattle/platform/redis/RedisEventingService.java lines 102-127)"});
  r.add_event({"redis.idle_client_closed",
               {"client", "idle_s"},
               "a Redis server closed a connection of this client idle for idle_s seconds "
               "(redis_server_timeout)"});
}

}  // namespace

void register_redis(Registry& r) {
  register_timings(r);
  register_events(r);
  r.add_metric({std::string(redis::k_metric_published),
                "messages published to the Redis servers, all of them together"});
  r.add_metric({std::string(redis::k_metric_delivered),
                "messages the Redis servers sent to subscribers (each at most once per "
                "subscription)"});
  // redis-1..K, K = cluster.redis (docs/scenario-contract.md: one per cluster slot in HA).
  r.add_model({"redis", [](const ScenarioSpec& spec, WorldBuilder& b) {
                 for (int k = 1; k <= spec.cluster.redis; ++k)
                   b.add_node(fmt::format("redis-{}", k), std::make_unique<redis::RedisNode>());
               }});
}

}  // namespace stampede
