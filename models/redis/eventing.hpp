#pragma once
// A Cattle server's event bus over several Redis servers: io.cattle.platform.redis.
// RedisEventingService at rancher/cattle v0.165.8 (code/implementation/eventing-redis/src/main/
// java/io/cattle/platform/redis/RedisEventingService.java). The owner forwards the messages,
// timers and connection events that are its own (owns_message / owns_timer / on_connection).
//
// It holds one RedisClient (RedisConnection: a subscriber and a publishing pool) per host of
// redis.hosts, in their order (reconnectLocked, lines 36-61). In an HA install rancher/
// cluster-manager v0.1.5 sets CATTLE_REDIS_HOSTS to one Redis per cluster slot, slots 0 to
// ClusterSize - 1 (config/config.go RedisHosts, lines 156-162; service/cluster_service.go
// launchRancherServer, lines 183-184), so every server lists the same Redis servers in the same
// order: redis-1..K here.
//   - Subscribing subscribes on every connection (doSubscribe, lines 129-156), so a server hears
//     what any publisher sent through any Redis whose subscriber is connected.
//   - Publishing moves the start index on by one at every publish, then tries each connection
//     from there in turn until one publish succeeds (doPublish, lines 102-127); a connection's
//     publish fails when its pool cannot lend a checked connection or PUBLISH throws
//     (RedisConnection.publish, lines 84-105). When every one failed the event is lost (doPublish
//     returns false, and AbstractEventService.publish only returns it: code/framework/eventing/
//     src/main/java/io/cattle/platform/eventing/impl/AbstractEventService.java lines 76-101).
//
// Java's doPublish waits for each try on the publishing thread; the model queues the message on
// the next client when the previous one reports its failure, so the order of tries is Cattle's.
// The start index is a plain field of the service: a restarted process starts again from 0.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/redis/redis_client.hpp"

namespace stampede::redis {

class Eventing {
 public:
  struct Callbacks {
    std::function<void(Ctx&, const std::string& channel, const std::string& payload)> message;
  };
  struct Volatile {
    std::int64_t index = 0;  // RedisEventingService.index: the last publish's first try
    std::int64_t lost = 0;   // publishes that failed on every Redis (the invariant event_lost)
    STAMPEDE_FIELDS(index, lost)
  };

  // `servers`: redis.hosts in order (at most k_max_slots).
  explicit Eventing(const std::vector<std::string>& servers);
  // The clients' callbacks point at this object: it must not move once set_callbacks ran (the
  // owner holds it in place, as CattleServer does in a std::optional).
  void set_callbacks(Callbacks cb);

  void start(Ctx& ctx);
  void crash();
  static bool owns_message(std::uint32_t type) { return RedisClient::owns_message(type); }
  static bool owns_timer(std::uint64_t tag) { return RedisClient::owns_timer(tag); }
  // Each client takes only what its own server sent, and its own slot's timers.
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event);

  void subscribe(Ctx& ctx, const std::string& channel);
  void publish(Ctx& ctx, const std::string& channel, const std::string& payload);

  std::size_t size() const { return clients_.size(); }
  std::int64_t lost() const { return volatile_.lost; }
  const RedisClient& client(std::size_t i) const { return clients_.at(i); }
  // The state::Component trio: the index, then each client in order.
  void digest_into(Digest& d) const;
  std::size_t state_field_count() const;
  std::string perturb_state_field(std::size_t i);

 private:
  void on_publish_failed(Ctx& ctx, std::size_t slot, const RedisClient::Pending& p);

  std::vector<RedisClient> clients_;
  Callbacks cb_;
  Volatile volatile_;
};

static_assert(state::Component<Eventing>);

}  // namespace stampede::redis
