#include "models/agent/agent.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "models/app/http.hpp"
#include "models/cattle/protocol.hpp"

namespace stampede::agent {

using namespace stampede::cattle;  // the server protocol
namespace http = stampede::app;

namespace {

// service_of without the copy: "wordpress/web/1" -> "wordpress/web".
std::string_view service_view(std::string_view container) {
  auto slash = container.rfind('/');
  return slash == std::string_view::npos ? container : container.substr(0, slash);
}

}  // namespace

Agent::Agent(AgentConfig config) : config_(std::move(config)) {}

const std::vector<ServiceScale>& Agent::catalog() const {
  static const std::vector<ServiceScale> none;
  return config_.catalog ? *config_.catalog : none;
}

void Agent::load_config(Ctx& ctx) {
  cfg_.containers_started = ctx.intern("containers_started");
  cfg_.scale_grace_ns = ctx.timing("scale_exceeded_grace");
  cfg_.connection_timeout_ns = ctx.timing("agent_connection_timeout");
  cfg_.reconnect_delay_ns = ctx.timing("agent_reconnect_delay");
  cfg_.container_start_delay_ns = ctx.timing("container_start_delay");
  cfg_.db_query_timeout_ns = ctx.timing("app_db_query_timeout");
  cfg_.resync = ctx.mechanism("agent_resync");
  cfg_.connection_events = ctx.mechanism("agent_connection_events");
  cfg_.host_api_events = ctx.mechanism("host_api_events");
  cfg_.events_bus = config_.redis_bus && ctx.mechanism("cattle_agent_events_over_redis");
  cfg_.commands_bus = cfg_.events_bus && ctx.mechanism("cattle_agent_commands_over_redis");
  cfg_.loaded = true;
}

void Agent::on_start(Ctx& ctx) {
  load_config(ctx);
  volatile_.server = ctx.lookup(config_.server);
  auto first = std::find(config_.servers.begin(), config_.servers.end(), config_.server);
  volatile_.server_index = first == config_.servers.end()
                      ? 0
                      : static_cast<std::size_t>(first - config_.servers.begin());
  volatile_.last_contact_ns = ctx.now();
  // The agent registers at once; later it counts as connected while the server keeps pinging.
  send_hello(ctx);
  // HA over the bus only the server holding the socket pings the agent, so a first attempt that
  // no server answered (its Cattle not up yet: the connect is refused) is tried again after the
  // container loop's sleep, as after any refusal.
  if (cfg_.events_bus) schedule_retry(ctx);
  ctx.set_timer(cfg_.connection_timeout_ns / 3,
                timer_tag::encode(ConnectionCheck{}));
}

void Agent::send_hello(Ctx& ctx) {
  if (volatile_.server == k_no_node) return;
  bool resync = cfg_.resync;
  ctx.send(volatile_.server,
           wire::encode(Hello{0, resync, resync ? make_names(running_list()) : nullptr}));
}

void Agent::mark_connected(Ctx& ctx) {
  volatile_.last_contact_ns = ctx.now();
  if (volatile_.connected) return;
  volatile_.connected = true;
  std::string server(ctx.name_of(volatile_.server));
  ctx.event(LogLevel::info, Event("agent.connected").with("server", server),
            fmt::format("connected to {}", server));
}

bool Agent::read_on_closed_socket(NodeId from) const {
  // Over the bus the agent's one socket is its websocket to the server it said Hello to, and the
  // server writes the agent's events on it (agent_bus.cpp). Data read after the agent closed it
  // (lose_connection; data queued while the agent was paused, say) or coming from a server that
  // missed an earlier close is data for a closed connection: TCP answers it with a reset (RFC 793,
  // section 3.4, "Reset Generation"), and the agent's process, which exited with the socket
  // (rancher/python-agent v0.85.1 cattle/agent/event.py:235), never reads it.
  return from != volatile_.server || !volatile_.connected;
}

std::vector<std::string> Agent::running_list() const {
  std::vector<std::string> names;
  for (const auto& [name, c] : volatile_.containers)
    if (c.running) names.push_back(name);
  return names;
}

void Agent::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  // A message before the first start (a test that injects one) still finds the configuration.
  if (!cfg_.loaded) load_config(ctx);
  wire::dispatch<Ping, Welcome, SocketPing, StartContainer, StopContainer, DeactivateContainer,
                 NetworkConfig, http::BackendRequest, http::DbQuery, http::DbReply,
                 http::HealthCheck, HealthcheckConfig, http::HealthReply>(
      msg, [&](const auto& m) { on(ctx, from, m); });
}

void Agent::on(Ctx& ctx, NodeId from, const Ping& m) {
  // Over the bus a ping comes on the agent's socket: one read on a socket it has closed gets no
  // pong.
  if (cfg_.events_bus && read_on_closed_socket(from)) return;
  // In HA the server whose partition holds this host pings it: that is the agent's server.
  volatile_.server = from;
  mark_connected(ctx);
  // The list goes only into the replies of pings that ask for it: rancher/python-agent v0.85.1
  // cattle/plugins/docker/compute.py:128-147 adds the instances to the pong only when
  // utils.ping_include_instances (cattle/utils.py:151-153) finds the ping's `instances` option.
  bool list = cfg_.resync && m.instances;
  ctx.send(from, wire::encode(Pong{m.seq, list, list ? make_names(running_list()) : nullptr}));
}

void Agent::on(Ctx& ctx, NodeId from, const Welcome& m) {
  (void)m;
  // Over the bus a Hello opens a socket on the server it reaches. A Welcome from a server other
  // than this attempt's answers a Hello of an earlier attempt, held behind a cut link by TCP's
  // retransmission (tcp_retransmit) and delivered after the heal. In Rancher that attempt's
  // process timed out its connect (websocket.setdefaulttimeout(EVENT_READ_TIMEOUT), rancher/
  // python-agent v0.85.1 cattle/agent/event.py:218-225) and exited (line 235), closing its one
  // TCP connection: the server never got that socket. The agent closes it now, so that the
  // server's subscription handler drops the socket (agent_bus.cpp detach_socket) rather than
  // keep one the agent does not read.
  if (cfg_.events_bus && from != volatile_.server) {
    std::string stale(ctx.name_of(from));
    ctx.event(LogLevel::info, Event("agent.stale_socket_closed").with("server", stale),
              fmt::format("closed the socket a late Hello opened on {}", stale));
    return ctx.close_connection(from);
  }
  mark_connected(ctx);
}

void Agent::on(Ctx& ctx, NodeId from, const SocketPing& m) {
  (void)m;
  // The subscription handler's ping: the socket lives (websocket-client's own ping and pong,
  // ws.run_forever(ping_interval=5, ping_timeout=4), rancher/python-agent v0.85.1
  // cattle/agent/event.py:225, keep it so even when no event comes over the bus). It only keeps
  // an open socket alive: one read on a socket the agent has closed does not open a new one.
  // Only a Hello, answered by a Welcome, opens one.
  if (!read_on_closed_socket(from)) mark_connected(ctx);
}

void Agent::on(Ctx& ctx, NodeId from, const StartContainer& m) {
  // Over the bus a container command comes on the agent's socket too (forward_command): one read
  // on a socket the agent has closed is not carried out, and its caller's process gets no answer.
  if (cfg_.commands_bus && read_on_closed_socket(from)) return;
  const auto& names = names_of(m.container);
  if (!names.empty()) start_container(ctx, from, names.front(), m.instance);
}

void Agent::on(Ctx& ctx, NodeId from, const StopContainer& m) {
  if (cfg_.commands_bus && read_on_closed_socket(from)) return;  // as a StartContainer
  const auto& names = names_of(m.container);
  if (names.empty()) return;
  // The stop names one container, as Cattle's force-stop names it by its Docker id (rancher/
  // cattle v0.165.8 PingInstancesMonitorImpl.java:160-161): a container that a later instance of
  // the same name has taken over (start_container) is not the removed instance's, and runs on.
  auto it = volatile_.containers.find(names.front());
  if (it == volatile_.containers.end()) return;
  if (m.instance != 0 && it->second.instance != m.instance) return;
  volatile_.containers.erase(it);
  recount();
  ctx.send(from,
           wire::encode(ContainerEvent{m.instance, event_stopped, make_names({names.front()})}));
}

void Agent::on(Ctx& ctx, NodeId from, const DeactivateContainer& m) {
  if (cfg_.commands_bus && read_on_closed_socket(from)) return;  // as a StartContainer
  const auto& names = names_of(m.container);
  if (names.empty()) return;
  // compute.instance.deactivate finds the container by its instance's uuid and stops it unless
  // it is stopped already, and answers either way: rancher/python-agent v0.85.1
  // cattle/compute/__init__.py:35-51 (instance_deactivate, whose check _is_instance_inactive
  // holds for a container it cannot find, cattle/plugins/docker/compute.py:880-887) and
  // cattle/agent/handler.py:63-79 (_do replies when the check holds). A container that a later
  // instance of the same name has taken over (start_container) is not this instance's: it runs on.
  auto it = volatile_.containers.find(names.front());
  if (it != volatile_.containers.end() && (m.instance == 0 || it->second.instance == m.instance)) {
    volatile_.containers.erase(it);
    recount();
  }
  ctx.send(from,
           wire::encode(ContainerEvent{m.instance, event_stopped, make_names({names.front()})}));
}

void Agent::on(Ctx& ctx, NodeId from, const NetworkConfig& m) {
  (void)from;
  if (m.overlay != volatile_.overlay_up)
    ctx.event(LogLevel::notable,
              Event("agent.overlay_changed").with("up", m.overlay ? "true" : "false"),
              m.overlay ? "overlay network set up"
                        : "overlay network torn down (no network in the store)");
  volatile_.overlay_up = m.overlay;
  // The map built from equal names is the map already held: it is kept (see directory_from).
  const std::shared_ptr<const cattle::NamesPayload>& built_from = volatile_.directory_from;
  if (built_from != nullptr &&
      (built_from == m.directory || names_of(built_from) == names_of(m.directory)))
    return;
  volatile_.directory.clear();
  for (const std::string& entry : names_of(m.directory)) {
    Placement p = split_placement(entry);
    volatile_.directory[p.container] = p.agent;
  }
  volatile_.directory_from = m.directory;
  ++volatile_.directory_builds.value;
}

void Agent::on(Ctx& ctx, NodeId from, const http::DbQuery& m) {
  const auto& names = names_of(m.container);
  bool ok = volatile_.overlay_up && !names.empty() && is_running(names.front());
  ctx.send(from, wire::encode(http::DbReply{m.query, ok ? http::status_ok : http::status_error}));
}

void Agent::on(Ctx& ctx, NodeId from, const http::DbReply& m) {
  (void)from;
  auto it = volatile_.queries.find(m.query);
  if (it == volatile_.queries.end()) return;
  PendingQuery q = it->second;
  volatile_.queries.erase(it);
  ctx.cancel_timer(q.timer);
  ctx.send(q.lb, wire::encode(http::BackendResponse{
                     q.lb_request, m.status == http::status_ok ? http::status_ok
                                                               : http::status_error}));
}

void Agent::on(Ctx& ctx, NodeId from, const http::HealthCheck& m) {
  const auto& names = names_of(m.container);
  bool ok = !names.empty() && is_running(names.front());
  ctx.send(from,
           wire::encode(http::HealthReply{m.check, ok ? http::status_ok : http::status_refused}));
}

void Agent::start_container(Ctx& ctx, NodeId requester, const std::string& name,
                            std::int64_t instance) {
  auto it = volatile_.containers.find(name);
  if (it != volatile_.containers.end()) {
    it->second.instance = instance;
    it->second.requester = requester;
    // Already running: starting is idempotent, answer at once. Still starting: the answer comes
    // when it has started.
    if (it->second.running)
      ctx.send(requester,
               wire::encode(ContainerEvent{instance, event_started, make_names({name})}));
    return;
  }
  std::uint64_t token = durable_.next_token++;
  volatile_.containers[name] = Container{false, instance, token, requester};
  volatile_.starting[token] = name;
  ctx.set_timer(cfg_.container_start_delay_ns, timer_tag::encode(StartedTimer{token}));
}

void Agent::on(Ctx& ctx, NodeId lb, const http::BackendRequest& m) {
  const auto& names = names_of(m.container);
  auto reply = [&](http::Status status) {
    ctx.send(lb, wire::encode(http::BackendResponse{m.request, status}));
  };
  if (names.empty() || !is_running(names.front())) return reply(http::status_refused);
  const std::string& container = names.front();
  auto links = config_.links.find(service_view(container));
  if (links == config_.links.end() || links->second.empty()) return reply(http::status_ok);
  // The web container resolves its linked db through the directory and reaches it over the
  // overlay; without the managed network it cannot reach it, even on the same host.
  if (!volatile_.overlay_up) return reply(http::status_error);
  // Every web request passes here: the answer is kept until the directory is built again.
  const std::string& linked = links->second.front();
  DbRoute& route = volatile_.db_route;
  if (route.directory_build != volatile_.directory_builds.value || route.linked != linked)
    find_db_route(ctx, linked);
  if (!route.found) return reply(http::status_error);
  if (route.local) return reply(is_running(route.container) ? http::status_ok : http::status_error);
  NodeId peer = route.peer;
  if (peer == k_no_node) return reply(http::status_error);
  // A timing is fixed for the whole run: read once (lazily, as a message may come before start).
  std::int64_t qid = durable_.next_query++;
  TimerId t = ctx.set_timer(cfg_.db_query_timeout_ns, timer_tag::encode(QueryTimer{qid}));
  volatile_.queries[qid] = PendingQuery{lb, m.request, t};
  ctx.send(peer, wire::encode(http::DbQuery{qid, volatile_.db_route->body}));
}

void Agent::find_db_route(Ctx& ctx, const std::string& linked) {
  DbRoute& route = volatile_.db_route;
  route.linked = linked;
  route.directory_build = volatile_.directory_builds.value;
  // The directory is searched without building strings.
  auto target = volatile_.directory.end();
  for (auto it = volatile_.directory.begin(); it != volatile_.directory.end(); ++it)
    if (service_view(it->first) == linked) {
      target = it;
      break;
    }
  route.found = target != volatile_.directory.end();
  if (!route.found) return;
  route.local = target->second == ctx.name_of(ctx.self());
  if (route.body == nullptr || route.container != target->first || route.agent != target->second) {
    route.container = target->first;
    route.agent = target->second;
    route.peer = ctx.lookup(target->second);
    route.body = make_names({target->first});
  }
}

void Agent::on_timer(Ctx& ctx, std::uint64_t t) {
  bool known = timer_tag::dispatch<ConnectionCheck, HelloTimer, StartedTimer, QueryTimer,
                                  HealthTick, HealthTimeout>(
      t, [&](const auto& timer) { on(ctx, timer); });
  STAMPEDE_ASSERT(known, "an agent timer of no known kind");
}

void Agent::on(Ctx& ctx, const ConnectionCheck&) {
  DurationNs limit = cfg_.connection_timeout_ns;
  if (volatile_.connected && ctx.now() - volatile_.last_contact_ns > limit)
    lose_connection(ctx, "timeout");
  ctx.set_timer(limit / 3, timer_tag::encode(ConnectionCheck{}));
}

void Agent::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  // Only the socket to the server matters here: a db query to another agent has its own
  // timeout, and the balancers' and health checks' connections are theirs.
  if (!cfg_.connection_events || peer != volatile_.server) return;
  if (volatile_.connected) return lose_connection(ctx, connection_event_name(event));
  // An attempt that was refused or closed before the server answered: the process exits and
  // the container's loop tries again after the delay (the attempt already set, if any).
  schedule_retry(ctx);
}

void Agent::lose_connection(Ctx& ctx, std::string_view how) {
  volatile_.connected = false;
  std::string server(ctx.name_of(volatile_.server));
  ctx.event(LogLevel::notable,
            Event("agent.connection_lost").with("server", server).with("how", how),
            fmt::format("lost the connection to {} ({}); containers keep running", server, how));
  // The exiting agent process closes its socket; after a close it is gone already.
  ctx.close_connection(volatile_.server);
  schedule_retry(ctx);
}

void Agent::schedule_retry(Ctx& ctx) {
  if (volatile_.retry_pending) return;
  volatile_.retry_pending = true;
  ctx.set_timer(cfg_.reconnect_delay_ns, timer_tag::encode(HelloTimer{}));
}

void Agent::on(Ctx& ctx, const HelloTimer&) {
  volatile_.retry_pending = false;
  if (volatile_.connected) return;
  if (!config_.servers.empty()) {
    // HA: each attempt goes to the next server, as a client of a DNS name that resolves to all
    // of them would.
    volatile_.server_index = (volatile_.server_index + 1) % config_.servers.size();
    volatile_.server = ctx.lookup(config_.servers[volatile_.server_index]);
  }
  send_hello(ctx);
  // The container's loop goes on until a server answers: the next attempt is set now, and a
  // refusal of this one does not move it.
  schedule_retry(ctx);
}

void Agent::on(Ctx& ctx, const StartedTimer& t) {
  auto s = volatile_.starting.find(t.token);
  if (s == volatile_.starting.end()) return;
  std::string name = s->second;
  volatile_.starting.erase(s);
  auto it = volatile_.containers.find(name);
  if (it == volatile_.containers.end() || it->second.start_token != t.token) return;
  it->second.running = true;
  it->second.running_since_ns = ctx.now();
  recount();
  ctx.count(cfg_.containers_started, 1);
  ctx.event(LogLevel::notable, Event("agent.container_started").with("container", name),
            fmt::format("container {} started", name));
  ctx.send(it->second.requester,
           wire::encode(ContainerEvent{it->second.instance, event_started, make_names({name})}));
}

void Agent::on(Ctx& ctx, const QueryTimer& t) {
  auto it = volatile_.queries.find(t.query);
  if (it == volatile_.queries.end()) return;
  PendingQuery q = it->second;
  volatile_.queries.erase(it);
  ctx.send(q.lb, wire::encode(http::BackendResponse{q.lb_request, http::status_error}));
}

void Agent::on_crash() {
  // The host went down: its containers and its end of the overlay with it.
  volatile_ = {};
}

bool Agent::on_fault(Ctx& ctx, const ModelFault& fault) {
  if (fault.kind != "kill_container" || fault.args.empty()) return false;
  auto it = volatile_.containers.find(fault.args.front());
  if (it == volatile_.containers.end() || !it->second.running) return false;
  std::int64_t instance = it->second.instance;
  volatile_.containers.erase(it);
  recount();
  ctx.event(LogLevel::notable, Event("agent.container_died").with("container", fault.args.front()),
            fmt::format("container {} died (killed)", fault.args.front()));
  ctx.signal("agent.container_died");
  // The host never restarts the container by itself: that is the server's decision.
  ContainerEvent died{instance, event_died, make_names({fault.args.front()})};
  if (cfg_.host_api_events) {
    post_container_event(ctx, died);
  } else if (volatile_.connected && volatile_.server != k_no_node) {
    // Mechanism off: the agent reports the death on its own socket, only while connected.
    ctx.send(volatile_.server, wire::encode(died));
  }
  return true;
}

void Agent::post_container_event(Ctx& ctx, const ContainerEvent& event) {
  // One POST, no retry: SendToRancherHandler.Handle returns the API's error and the event is
  // gone (rancher/host-api v0.34.0 events/send_to_rancher_handler.go lines 50-52). The DNS name
  // resolves to every server in turn, as for the API clients.
  NodeId to = volatile_.server;
  if (!config_.servers.empty()) {
    std::size_t k = durable_.api_posts % config_.servers.size();
    to = ctx.lookup(config_.servers[k]);
  } else {
    to = ctx.lookup(config_.server);
  }
  ++durable_.api_posts;
  if (to != k_no_node) ctx.send(to, wire::encode(event));
}

int Agent::running(std::string_view service) const {
  for (const ServiceCount& s : volatile_.running_by_service.value)
    if (s.service.size() == service.size() &&
        std::memcmp(s.service.data(), service.data(), service.size()) == 0)
      return s.running;
  return 0;
}

std::optional<std::string> Agent::port_conflict() const {
  // (public port, protocol) -> the running container that publishes it.
  std::map<std::pair<int, std::string>, std::string_view> taken;
  for (const auto& [name, c] : volatile_.containers) {
    if (!c.running) continue;
    std::string_view service = service_view(name);
    for (const ServiceScale& s : catalog()) {
      if (s.service != service) continue;
      for (const PortSpec& p : s.ports) {
        if (p.public_port == 0) continue;
        auto [it, fresh] = taken.try_emplace({p.public_port, p.protocol}, name);
        if (!fresh)
          return fmt::format("{} and {} both publish {}/{}", it->second, name, p.public_port,
                             p.protocol);
      }
    }
  }
  return std::nullopt;
}

int Agent::running_since(std::string_view service, TimeNs before_ns) const {
  int n = 0;
  for (const auto& [name, c] : volatile_.containers)
    n += c.running && c.running_since_ns <= before_ns && service_of(name) == service;
  return n;
}

void Agent::recount() {
  // Invariants and the convergence check ask for these counts after almost every step; the
  // containers change rarely, so the counts are kept rather than computed on each question.
  std::map<std::string_view, int> by_service;
  for (const auto& [name, c] : volatile_.containers)
    if (c.running) ++by_service[service_view(name)];
  std::vector<ServiceCount>& counts = volatile_.running_by_service;
  counts.clear();
  for (const auto& [service, n] : by_service) counts.push_back({std::string(service), n});
  const std::vector<ServiceScale>& services = catalog();
  std::vector<int>& by_catalog = volatile_.running_by_catalog;
  by_catalog.resize(services.size());
  for (std::size_t i = 0; i < services.size(); ++i) by_catalog[i] = running(services[i].service);
}

bool Agent::is_running(std::string_view container) const {
  auto it = volatile_.containers.find(container);
  return it != volatile_.containers.end() && it->second.running;
}

std::optional<std::int64_t> Agent::probe(std::string_view key, std::string_view arg) const {
  // Compared at a constant length, which the compiler does without calling memcmp.
  if (key.size() == 7 && std::memcmp(key.data(), "running", 7) == 0) return running(arg);
  if (key == "overlay_up") return volatile_.overlay_up ? 1 : 0;
  if (key == "connected") return volatile_.connected ? 1 : 0;
  return std::nullopt;
}

std::string_view Agent::message_name(std::uint32_t type) const {
  std::string_view n = cattle::message_type_name(type);
  if (n.empty()) n = http::message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::agent
