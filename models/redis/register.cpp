#include "models/redis/register.hpp"

#include "models/redis/messages.hpp"
#include "models/redis/redis_node.hpp"

namespace stampede {

void register_redis(Registry& r) {
  r.add_timing({std::string(redis::k_client_timeout), TimingUnit::duration, 2 * k_s,
                "Jedis Protocol.DEFAULT_TIMEOUT = 2000 ms (socket timeout)",
                "how long a Redis client waits without a word before it reconnects"});
  r.add_timing({std::string(redis::k_ping_interval), TimingUnit::duration, k_s,
                "stampede choice: half the client timeout, so a live idle link never times out",
                "how often an idle Redis client pings its server"});
  r.add_timing({std::string(redis::k_backoff_min), TimingUnit::duration, 100 * k_ms,
                "stampede choice (Lettuce's reconnect delay doubles from a small base)",
                "first reconnect delay of a Redis client; it doubles on each failure"});
  r.add_timing({std::string(redis::k_backoff_max), TimingUnit::duration, 30 * k_s,
                "Lettuce Delay.exponential(): capped at 30 s",
                "longest reconnect delay of a Redis client"});
  r.add_metric({std::string(redis::k_metric_published), "messages published to redis-1"});
  r.add_metric({std::string(redis::k_metric_delivered),
                "messages redis-1 sent to subscribers (each at most once)"});
  r.add_model({"redis", [](const ScenarioSpec& spec, WorldBuilder& b) {
                 if (spec.cluster.redis)
                   b.add_node("redis-1", std::make_unique<redis::RedisNode>());
               }});
}

}  // namespace stampede
