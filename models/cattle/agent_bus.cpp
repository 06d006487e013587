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
//   - A process's agent command travels the same way with cattle_agent_commands_over_redis:
//     AgentBasedProcessHandler.handle calls callSync on the agent's RemoteAgent (code/iaas/
//     logic-common/src/main/java/io/cattle/platform/process/common/handler/
//     AgentBasedProcessHandler.java:166 and 179-180), whose call publishes the AgentRequest
//     on the EventService (RemoteAgentImpl.java:61-75 and 96-105), then the same two hops
//     as a ping. callSync sends once and throws on timeout (lines 66-88, eventing.retry=1:
//     agent_reply_timeout in models/register.cpp); the process fails and the replay runs it
//     again (process_engine.cpp). The command rides the ping's channel with a payload marked
//     `c`: its message type, instance, the caller's node (its reply-to) and container name.
//   - The agent answers a command with its ContainerEvent to the server that wrote it on its
//     socket. That server keeps each command's reply-to until the answer (ReplyToTable,
//     ping_table.hpp), as the agent's reply names the event's replyTo, and publishes the answer
//     there marked `e`: answers of one instance and kind go to their commands' callers in the
//     order the commands went, and a command the agent never answers (a stop of a container
//     it no longer has) leaves its caller first in line until the socket closes. A forwarding
//     server that crashed in between has lost it, and the answer with it: python-agent's reply goes
//     out on the socket's server, whose restart closed the socket. A command to an agent whose
//     socket closes before it answers loses its reply-to too: the caller's timeout takes over. Only
//     the death of a container (event_died) is not an answer: the host-api posts it to the API
//     (server.cpp).
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
// The first byte of a command's and of a command reply's payload; a ping's begins with a digit.
constexpr char k_command_mark = 'c';
constexpr char k_reply_mark = 'e';

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

// The space-separated names of a payload from `pos` (at a space or the end) to its end.
std::vector<std::string> read_names(const std::string& payload, std::size_t pos) {
  std::vector<std::string> names;
  while (pos < payload.size()) {
    std::size_t end = payload.find(' ', pos + 1);
    if (end == std::string::npos) end = payload.size();
    if (end > pos + 1) names.push_back(payload.substr(pos + 1, end - pos - 1));
    pos = end;
  }
  return names;
}

void append_names(std::string& payload, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    payload += ' ';
    payload += name;
  }
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
      // The commands forwarded on the socket will not be answered through this server.
      auto& replies = volatile_.reply_to.map();
      for (auto r = replies.begin(); r != replies.end();) {
        std::erase_if(r->second, [host = it->first](const auto& e) { return e.first == host; });
        r = r->second.empty() ? replies.erase(r) : std::next(r);
      }
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
    HostId host{read_int(channel, pos)};
    if (!payload.empty() && payload[0] == k_command_mark)
      return forward_command(ctx, host, payload);
    return forward_ping(ctx, host, payload);
  }
  if (channel.compare(0, k_reply_channel_prefix.size(), k_reply_channel_prefix) == 0) {
    if (!payload.empty() && payload[0] == k_reply_mark) return on_bus_reply(ctx, payload);
    return on_bus_pong(ctx, payload);
  }
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
  if (m.lists_containers) append_names(payload, names_of(m.containers));
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
  sync_containers(ctx, host, read_names(payload, pos), *sent_ns);
}

void CattleServer::publish_command(Ctx& ctx, HostId host, std::uint32_t type, std::int64_t instance,
                                   const std::vector<std::string>& names) {
  std::string payload = fmt::format("{}{} {} {}", k_command_mark, type, instance, ctx.self());
  append_names(payload, names);
  redis_->publish(ctx, ping_channel(host), payload);
}

void CattleServer::forward_command(Ctx& ctx, HostId host, const std::string& payload) {
  auto it = volatile_.sockets.map().find(host);
  if (it == volatile_.sockets.map().end()) return;  // its socket is on another server, or gone
  std::size_t pos = 1;
  auto type = static_cast<std::uint32_t>(read_int(payload, pos));
  // publish_command sends only these three; anything else would be forwarded as a deactivate.
  STAMPEDE_ASSERT(type == StartContainer::k_type || type == StopContainer::k_type ||
                      type == DeactivateContainer::k_type,
                  "a command on the bus of no known type");
  std::int64_t instance = read_int(payload, pos);
  auto owner = static_cast<NodeId>(read_int(payload, pos));
  auto body = make_names(read_names(payload, pos));
  std::int64_t answer = type == StartContainer::k_type ? event_started : event_stopped;
  volatile_.reply_to.map()[{instance, answer}].emplace_back(host, owner);
  NodeId agent = it->second;
  if (type == StartContainer::k_type)
    ctx.send(agent, wire::encode(StartContainer{instance, std::move(body)}));
  else if (type == StopContainer::k_type)
    ctx.send(agent, wire::encode(StopContainer{instance, std::move(body)}));
  else
    ctx.send(agent, wire::encode(DeactivateContainer{instance, std::move(body)}));
}

void CattleServer::relay_reply(Ctx& ctx, const ContainerEvent& m) {
  auto& replies = volatile_.reply_to.map();
  auto it = replies.find({m.instance, static_cast<std::int64_t>(m.kind)});
  if (it == replies.end()) return;  // its reply-to is gone (see the top of the file)
  auto [host, owner] = it->second.front();
  it->second.erase(it->second.begin());
  if (it->second.empty()) replies.erase(it);
  std::string payload = fmt::format("{}{} {} {}", k_reply_mark, host.value, m.instance,
                                    static_cast<std::int64_t>(m.kind));
  append_names(payload, names_of(m.container));
  redis_->publish(ctx, reply_channel(ctx.name_of(owner)), payload);
}

void CattleServer::on_bus_reply(Ctx& ctx, const std::string& payload) {
  std::size_t pos = 1;
  HostId host{read_int(payload, pos)};
  std::int64_t instance = read_int(payload, pos);
  auto kind = static_cast<ContainerEventKind>(read_int(payload, pos));
  container_event(ctx, agent_node(ctx, host),
                  ContainerEvent{instance, kind, make_names(read_names(payload, pos))});
}

}  // namespace stampede::cattle
