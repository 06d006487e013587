#include "models/agent/agent.hpp"

#include <algorithm>
#include <fmt/format.h>

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

void Agent::on_start(Ctx& ctx) {
  m_containers_started_ = ctx.intern("containers_started");
  scale_grace_ns_ = ctx.timing("scale_exceeded_grace");
  server_ = ctx.lookup(config_.server);
  auto first = std::find(config_.servers.begin(), config_.servers.end(), config_.server);
  server_index_ = first == config_.servers.end()
                      ? 0
                      : static_cast<std::size_t>(first - config_.servers.begin());
  last_contact_ns_ = ctx.now();
  // The agent registers at once; later it counts as connected while the server keeps pinging.
  send_hello(ctx);
  ctx.set_timer(ctx.timing("agent_connection_timeout") / 3,
                timer_tag::encode(ConnectionCheck{}));
}

void Agent::send_hello(Ctx& ctx) {
  if (server_ == k_no_node) return;
  bool resync = ctx.mechanism("agent_resync");
  ctx.send(server_,
           wire::encode(Hello{0, resync, resync ? make_names(running_list()) : nullptr}));
}

void Agent::mark_connected(Ctx& ctx) {
  last_contact_ns_ = ctx.now();
  if (connected_) return;
  connected_ = true;
  hello_backoff_ns_ = 0;
  std::string server(ctx.name_of(server_));
  ctx.event(LogLevel::info, Event("agent.connected").with("server", server),
            fmt::format("connected to {}", server));
}

std::vector<std::string> Agent::running_list() const {
  std::vector<std::string> names;
  for (const auto& [name, c] : containers_)
    if (c.running) names.push_back(name);
  return names;
}

void Agent::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<Ping, Welcome, StartContainer, StopContainer, NetworkConfig,
                 http::BackendRequest, http::DbQuery, http::DbReply, http::HealthCheck>(
      msg, [&](const auto& m) { on(ctx, from, m); });
}

void Agent::on(Ctx& ctx, NodeId from, const Ping& m) {
  // In HA the server whose partition holds this host pings it: that is the agent's server.
  server_ = from;
  mark_connected(ctx);
  bool resync = ctx.mechanism("agent_resync");
  ctx.send(from, wire::encode(Pong{m.seq, resync, resync ? make_names(running_list()) : nullptr}));
}

void Agent::on(Ctx& ctx, NodeId from, const Welcome& m) {
  (void)from;
  (void)m;
  mark_connected(ctx);
}

void Agent::on(Ctx& ctx, NodeId from, const StartContainer& m) {
  const auto& names = names_of(m.container);
  if (!names.empty()) start_container(ctx, from, names.front(), m.instance);
}

void Agent::on(Ctx& ctx, NodeId from, const StopContainer& m) {
  const auto& names = names_of(m.container);
  if (names.empty()) return;
  containers_.erase(names.front());
  recount();
  ctx.send(from, wire::encode(ContainerEvent{m.instance, event_stopped, make_names({names.front()})}));
}

void Agent::on(Ctx& ctx, NodeId from, const NetworkConfig& m) {
  (void)from;
  if (m.overlay != overlay_up_)
    ctx.event(LogLevel::notable, Event("agent.overlay_changed").with("up", m.overlay ? "true" : "false"),
              m.overlay ? "overlay network set up"
                        : "overlay network torn down (no network in the store)");
  overlay_up_ = m.overlay;
  directory_.clear();
  for (const std::string& entry : names_of(m.directory)) {
    Placement p = split_placement(entry);
    directory_[p.container] = p.agent;
  }
}

void Agent::on(Ctx& ctx, NodeId from, const http::DbQuery& m) {
  const auto& names = names_of(m.container);
  bool ok = overlay_up_ && !names.empty() && is_running(names.front());
  ctx.send(from, wire::encode(http::DbReply{m.query, ok ? http::status_ok : http::status_error}));
}

void Agent::on(Ctx& ctx, NodeId from, const http::DbReply& m) {
  (void)from;
  auto it = queries_.find(m.query);
  if (it == queries_.end()) return;
  PendingQuery q = it->second;
  queries_.erase(it);
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
  auto it = containers_.find(name);
  if (it != containers_.end()) {
    it->second.instance = instance;
    it->second.requester = requester;
    // Already running: starting is idempotent, answer at once. Still starting: the answer comes
    // when it has started.
    if (it->second.running)
      ctx.send(requester, wire::encode(ContainerEvent{instance, event_started, make_names({name})}));
    return;
  }
  std::uint64_t token = next_token_++;
  containers_[name] = Container{false, instance, token, requester};
  starting_[token] = name;
  ctx.set_timer(ctx.timing("container_start_delay"), timer_tag::encode(StartedTimer{token}));
}

void Agent::on(Ctx& ctx, NodeId lb, const http::BackendRequest& m) {
  const auto& names = names_of(m.container);
  auto reply = [&](http::Status status) {
    ctx.send(lb, wire::encode(http::BackendResponse{m.request, status}));
  };
  if (names.empty() || !is_running(names.front())) return reply(http::status_refused);
  const std::string& container = names.front();
  auto links = config_.links.find(service_of(container));
  if (links == config_.links.end() || links->second.empty()) return reply(http::status_ok);
  // The web container resolves its linked db through the directory and reaches it over the
  // overlay; without the managed network it cannot reach it, even on the same host.
  if (!overlay_up_) return reply(http::status_error);
  // Every web request passes here: the directory is searched without building strings.
  const std::string& linked = links->second.front();
  auto target = directory_.end();
  for (auto it = directory_.begin(); it != directory_.end(); ++it)
    if (service_view(it->first) == linked) {
      target = it;
      break;
    }
  if (target == directory_.end()) return reply(http::status_error);
  if (target->second == ctx.name_of(ctx.self()))
    return reply(is_running(target->first) ? http::status_ok : http::status_error);
  if (db_route_.body == nullptr || db_route_.container != target->first ||
      db_route_.agent != target->second) {
    db_route_.container = target->first;
    db_route_.agent = target->second;
    db_route_.peer = ctx.lookup(target->second);
    db_route_.body = make_names({target->first});
  }
  NodeId peer = db_route_.peer;
  if (peer == k_no_node) return reply(http::status_error);
  // A timing is fixed for the whole run: read once (lazily, as a message may come before start).
  if (db_query_timeout_ns_ < 0) db_query_timeout_ns_ = ctx.timing("db_query_timeout");
  std::int64_t qid = next_query_++;
  TimerId t = ctx.set_timer(db_query_timeout_ns_, timer_tag::encode(QueryTimer{qid}));
  queries_[qid] = PendingQuery{lb, m.request, t};
  ctx.send(peer, wire::encode(http::DbQuery{qid, db_route_.body}));
}

void Agent::on_timer(Ctx& ctx, std::uint64_t t) {
  bool known = timer_tag::dispatch<ConnectionCheck, HelloTimer, StartedTimer, QueryTimer>(
      t, [&](const auto& timer) { on(ctx, timer); });
  STAMPEDE_ASSERT(known, "an agent timer of no known kind");
}

void Agent::on(Ctx& ctx, const ConnectionCheck&) {
  DurationNs limit = ctx.timing("agent_connection_timeout");
  if (connected_ && ctx.now() - last_contact_ns_ > limit) {
    connected_ = false;
    std::string server(ctx.name_of(server_));
    ctx.event(LogLevel::notable, Event("agent.connection_lost").with("server", server),
              fmt::format("lost the connection to {}; containers keep running", server));
    hello_backoff_ns_ = ctx.timing("agent_reconnect_backoff");
    ctx.set_timer(hello_backoff_ns_, timer_tag::encode(HelloTimer{}));
  }
  ctx.set_timer(limit / 3, timer_tag::encode(ConnectionCheck{}));
}

void Agent::on(Ctx& ctx, const HelloTimer&) {
  if (connected_) return;
  if (!config_.servers.empty()) {
    // HA: each attempt goes to the next server, as a client of a DNS name that resolves to all
    // of them would.
    server_index_ = (server_index_ + 1) % config_.servers.size();
    server_ = ctx.lookup(config_.servers[server_index_]);
  }
  send_hello(ctx);
  hello_backoff_ns_ = std::min(hello_backoff_ns_ * 2, ctx.timing("agent_reconnect_backoff_max"));
  ctx.set_timer(hello_backoff_ns_, timer_tag::encode(HelloTimer{}));
}

void Agent::on(Ctx& ctx, const StartedTimer& t) {
  auto s = starting_.find(t.token);
  if (s == starting_.end()) return;
  std::string name = s->second;
  starting_.erase(s);
  auto it = containers_.find(name);
  if (it == containers_.end() || it->second.start_token != t.token) return;
  it->second.running = true;
  it->second.running_since_ns = ctx.now();
  recount();
  ctx.count(m_containers_started_, 1);
  ctx.event(LogLevel::notable, Event("agent.container_started").with("container", name),
            fmt::format("container {} started", name));
  ctx.send(it->second.requester,
           wire::encode(ContainerEvent{it->second.instance, event_started, make_names({name})}));
}

void Agent::on(Ctx& ctx, const QueryTimer& t) {
  auto it = queries_.find(t.query);
  if (it == queries_.end()) return;
  PendingQuery q = it->second;
  queries_.erase(it);
  ctx.send(q.lb, wire::encode(http::BackendResponse{q.lb_request, http::status_error}));
}

void Agent::on_crash() {
  // The host went down: its containers and its end of the overlay with it.
  containers_.clear();
  running_by_service_.clear();
  starting_.clear();
  overlay_up_ = false;
  directory_.clear();
  connected_ = false;
  queries_.clear();
  db_route_ = DbRoute{};
}

bool Agent::on_fault(Ctx& ctx, const ModelFault& fault) {
  if (fault.kind != "kill_container" || fault.args.empty()) return false;
  auto it = containers_.find(fault.args.front());
  if (it == containers_.end() || !it->second.running) return false;
  std::int64_t instance = it->second.instance;
  containers_.erase(it);
  recount();
  ctx.event(LogLevel::notable, Event("agent.container_died").with("container", fault.args.front()),
            fmt::format("container {} died (killed)", fault.args.front()));
  ctx.signal("agent.container_died");
  // The agent reports the death only while it believes itself connected; it never restarts the
  // container by itself: that is the server's decision.
  if (connected_ && server_ != k_no_node)
    ctx.send(server_, wire::encode(ContainerEvent{instance, event_died,
                                                  make_names({fault.args.front()})}));
  return true;
}

int Agent::running(std::string_view service) const {
  auto it = running_by_service_.find(service);
  return it == running_by_service_.end() ? 0 : it->second;
}

int Agent::running_since(std::string_view service, TimeNs before_ns) const {
  int n = 0;
  for (const auto& [name, c] : containers_)
    n += c.running && c.running_since_ns <= before_ns && service_of(name) == service;
  return n;
}

void Agent::recount() {
  // Invariants and the convergence check ask for these counts after almost every step; the
  // containers change rarely, so the counts are kept rather than computed on each question.
  running_by_service_.clear();
  for (const auto& [name, c] : containers_)
    if (c.running) ++running_by_service_[service_of(name)];
}

bool Agent::is_running(std::string_view container) const {
  auto it = containers_.find(container);
  return it != containers_.end() && it->second.running;
}

std::optional<std::int64_t> Agent::probe(std::string_view key, std::string_view arg) const {
  if (key == "running") return running(arg);
  if (key == "overlay_up") return overlay_up_ ? 1 : 0;
  if (key == "connected") return connected_ ? 1 : 0;
  return std::nullopt;
}

std::uint64_t Agent::state_digest() const {
  Digest d;
  for (const auto& [name, c] : containers_) {
    d.add(name).add(c.running ? 1u : 0u).add_signed(c.instance).add(c.start_token);
    if (!config_.servers.empty()) d.add(c.requester);  // always the one server in single mode
  }
  if (!config_.servers.empty()) d.add(server_).add(server_index_);
  for (const auto& [token, name] : starting_) d.add(token).add(name);
  d.add(overlay_up_ ? 1u : 0u).add(connected_ ? 1u : 0u).add_signed(last_contact_ns_);
  for (const auto& [name, agent] : directory_) d.add(name).add(agent);
  for (const auto& [id, q] : queries_) d.add_signed(id).add(q.lb).add_signed(q.lb_request);
  d.add_signed(hello_backoff_ns_).add(next_token_).add_signed(next_query_);
  return d.value();
}

std::string_view Agent::message_name(std::uint32_t type) const {
  std::string_view n = cattle::message_type_name(type);
  if (n.empty()) n = http::message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::agent
