// HA, mechanism cattle_agent_events_over_redis: the ping monitor's pings travel as events over
// the Redis bus, as in Rancher 1.1 (issue 13). Paths are relative to rancher/cattle v0.165.8.
//
// The owner of an agent (the holder of AGENT.CONNECTION.<id>, ping_monitor.cpp) does not talk to
// the agent: PingMonitorImpl.doPing calls RemoteAgentImpl.call (code/iaas/agent-server/src/main/
// java/io/cattle/platform/agent/server/ping/impl/PingMonitorImpl.java:108-123, code/iaas/agent/
// src/main/java/io/cattle/platform/agent/impl/RemoteAgentImpl.java:96-105), and the connection
// the lock holder's AgentServiceImpl.execute gets for the agent (code/iaas/agent-server/src/main/
// java/io/cattle/platform/agent/server/service/impl/AgentServiceImpl.java:82-89) is an
// AgentEventingConnection, whose execute publishes the event renamed `<name>;agent=<id>` on the
// EventService, Redis in HA (code/implementation/agent-connection-event/src/main/java/io/cattle/
// platform/agent/connection/event/AgentEventingConnection.java:36-45). The server whose API
// holds the agent's websocket (/v1/subscribe) subscribed those names on the same EventService
// and writes what it hears to the socket (NonBlockingSubscriptionHandler.subscribe, code/
// framework/api-pub-sub/src/main/java/io/cattle/platform/api/pubsub/subscribe/
// NonBlockingSubscriptionHandler.java:84-102 and 150-158). The agent posts its reply to /v1/
// publish (rancher/python-agent v0.85.1 cattle/agent/event.py:95-97 and 138-139), which publishes
// it on the EventService (code/framework/api-pub-sub/src/main/java/io/cattle/platform/api/pubsub/
// manager/PublishManager.java:40-58), named by the reply-to of the caller's listener
// (code/framework/eventing/src/main/java/io/cattle/platform/eventing/impl/AbstractEventService.
// java:281-292), which only the caller subscribed.
//
// Model choices, each saying what it leaves out:
//   - The owner's agent.request event (RemoteAgentImpl.call publishes it, every server hears it,
//     and only the lock holder's getConnection answers: the owner itself) and the response the
//     owner then publishes to itself (AgentServiceImpl.handleResponse, lines 112-120) are not
//     sent: both go from the owner to the owner. The model publishes the agent's event and the
//     agent's reply, the two hops that cross servers; a bus that is down for the owner fails its
//     pings either way.
//   - One channel per agent, `ping;agent=<host id>`, stands for the agent's event names.
//   - The agent posts its reply to the server its socket is on: python-agent's Publisher keeps
//     one requests.Session (cattle/plugins/core/publisher.py:16-24), whose kept-alive connection
//     goes to the server the DNS name gave.
//   - The caller's reply-to, `reply.<owner>`, rides in the ping's sequence number (bits 32 and
//     up: the owner's node), which the agent echoes, as it echoes a Cattle event's replyTo.
//   - A server never unsubscribes a detached agent's channel (the subscription handler does when
//     the socket closes); it forwards only to the agents attached now, which is the same traffic
//     to the agents.
#include <fmt/format.h>

#include <charconv>

#include "models/cattle/names.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"

namespace stampede::cattle {

namespace {

constexpr std::string_view k_ping_channel_prefix = "ping;agent=";
constexpr std::string_view k_reply_channel_prefix = "reply.";
constexpr int k_reply_to_shift = 32;

std::string ping_channel(HostId host) {
  return fmt::format("{}{}", k_ping_channel_prefix, host.value);
}

// The integers of a payload, space-separated, from `pos` on; `pos` moves past what was read.
std::int64_t read_int(const std::string& s, std::size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), v);
  pos = static_cast<std::size_t>(end - s.data());
  return ec == std::errc() ? v : -1;
}

std::string reply_channel(std::string_view server) {
  return fmt::format("{}{}", k_reply_channel_prefix, server);
}

}  // namespace

void CattleServer::subscribe_replies(Ctx& ctx) {
  // The caller's reply listener (FutureEventListener, subscribed to its reply-to name).
  redis_->subscribe(ctx, reply_channel(ctx.name_of(ctx.self())));
}

void CattleServer::attach_socket(Ctx& ctx, HostId host, NodeId agent) {
  // The agent's /v1/subscribe: its event names are subscribed on every Redis (doSubscribe),
  // which also wakes a subscriber waiting out its redis.retry.millis (redis_client.hpp).
  volatile_.sockets.map()[host] = agent;
  redis_->subscribe(ctx, ping_channel(host));
}

void CattleServer::detach_socket(Ctx& ctx, NodeId peer) {
  (void)ctx;
  // A handful of agents per server: the scan happens only when a connection closes.
  auto& sockets = volatile_.sockets.map();
  for (auto it = sockets.begin(); it != sockets.end(); ++it)
    if (it->second == peer) {
      sockets.erase(it);
      return;
    }
}

void CattleServer::ping_socket_agents(Ctx& ctx) {
  for (const auto& [host, agent] : volatile_.sockets.map())
    ctx.send(agent, wire::encode(SocketPing{}));
}

void CattleServer::publish_ping(Ctx& ctx, HostId host, std::int64_t seq, bool instances) {
  std::int64_t wire_seq = (static_cast<std::int64_t>(ctx.self()) << k_reply_to_shift) | seq;
  redis_->publish(ctx, ping_channel(host), fmt::format("{} {}", wire_seq, instances ? 1 : 0));
}

void CattleServer::on_bus_message(Ctx& ctx, const std::string& channel,
                                  const std::string& payload) {
  if (channel.compare(0, k_ping_channel_prefix.size(), k_ping_channel_prefix) == 0) {
    std::size_t pos = k_ping_channel_prefix.size();
    return forward_ping(ctx, HostId{read_int(channel, pos)}, payload);
  }
  if (channel.compare(0, k_reply_channel_prefix.size(), k_reply_channel_prefix) == 0)
    return on_bus_pong(ctx, payload);
  // Any change another server made: read the tables again.
  refresh(ctx, false);
}

void CattleServer::forward_ping(Ctx& ctx, HostId host, const std::string& payload) {
  auto it = volatile_.sockets.map().find(host);
  if (it == volatile_.sockets.map().end()) return;  // its socket is on another server, or gone
  std::size_t pos = 0;
  std::int64_t wire_seq = read_int(payload, pos);
  bool instances = read_int(payload, pos) == 1;
  ctx.send(it->second, wire::encode(Ping{wire_seq, instances}));
}

void CattleServer::publish_pong(Ctx& ctx, HostId host, const Pong& m) {
  auto owner = static_cast<NodeId>(static_cast<std::uint64_t>(m.seq) >> k_reply_to_shift);
  std::string payload = fmt::format("{} {} {}", host.value, m.seq, m.lists_containers ? 1 : 0);
  if (m.lists_containers)
    for (const std::string& name : names_of(m.containers)) payload += " " + name;
  redis_->publish(ctx, reply_channel(ctx.name_of(owner)), payload);
}

void CattleServer::on_bus_pong(Ctx& ctx, const std::string& payload) {
  std::size_t pos = 0;
  HostId host{read_int(payload, pos)};
  std::int64_t wire_seq = read_int(payload, pos);
  bool lists = read_int(payload, pos) == 1;
  std::int64_t seq = wire_seq & ((std::int64_t{1} << k_reply_to_shift) - 1);
  std::optional<TimeNs> sent_ns = volatile_.pings[host].answered(seq);
  if (!sent_ns) return;  // it already timed out
  ping_succeeded(ctx, host);
  if (!lists) return;
  std::vector<std::string> names;
  while (pos < payload.size()) {
    std::size_t end = payload.find(' ', pos + 1);
    if (end == std::string::npos) end = payload.size();
    if (end > pos + 1) names.push_back(payload.substr(pos + 1, end - pos - 1));
    pos = end;
  }
  sync_containers(ctx, host, names, *sent_ns);
}

}  // namespace stampede::cattle
