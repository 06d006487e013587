#include "models/app/load_balancer.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

#include "models/app/http.hpp"

namespace stampede::app {

void LoadBalancer::on_start(Ctx& ctx) {
  if (config_.health_check)
    ctx.set_timer(config_.health_check->interval_ns, timer_tag::encode(HealthTimer{}));
}

void LoadBalancer::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<cattle::LbConfig, HttpRequest, BackendResponse, HealthReply>(
      msg, [&](const auto& m) { on(ctx, from, m); });
}

void LoadBalancer::on(Ctx& ctx, NodeId from, const cattle::LbConfig& m) {
  (void)from;
  std::map<std::string, Backend> next;
  for (const std::string& entry : cattle::names_of(m.backends)) {
    cattle::Placement p = cattle::split_placement(entry);
    auto old = volatile_.backends.find(p.container);
    Backend b = old != volatile_.backends.end() ? old->second : Backend{};
    if (!b.body.value || b.agent != p.agent) b.agent_id = ctx.lookup(p.agent);
    if (!b.body.value) b.body = cattle::make_names({p.container});
    b.agent = p.agent;
    next[p.container] = b;
  }
  if (next.size() != volatile_.backends.size())
    ctx.event(LogLevel::info,
              Event("app.lb_backends_configured")
                  .with("backends", static_cast<std::int64_t>(next.size())),
              fmt::format("{} backends configured", next.size()));
  volatile_.backends = std::move(next);
}

void LoadBalancer::on(Ctx& ctx, NodeId from, const HttpRequest& m) {
  std::int64_t id = durable_.next_request++;
  if (backend_timeout_ns_ < 0) backend_timeout_ns_ = ctx.timing("lb_backend_timeout");
  Pending& p = volatile_.pending.emplace_back();
  p.id = id;
  p.client = from;
  p.client_request = m.request;
  p.timer = ctx.set_timer(backend_timeout_ns_, timer_tag::encode(RequestTimer{id}));
  dispatch(ctx, p);
}

void LoadBalancer::on(Ctx& ctx, NodeId from, const BackendResponse& m) {
  (void)from;
  Pending* p = find_pending(m.request);
  if (p == nullptr) return;
  if (m.status == status_refused && p->redispatches < 1) {
    ++p->redispatches;
    dispatch(ctx, *p);
    return;
  }
  respond(ctx, m.request, m.status);
}

void LoadBalancer::on(Ctx& ctx, NodeId from, const HealthReply& m) {
  (void)from;
  auto it = volatile_.checks.find(m.check);
  if (it == volatile_.checks.end()) return;
  std::string container = it->second;
  volatile_.checks.erase(it);
  auto b = volatile_.backends.find(container);
  if (b == volatile_.backends.end() || b->second.check_outstanding != m.check) return;
  b->second.check_outstanding = 0;
  check_result(ctx, container, m.status == status_ok);
}

LoadBalancer::Pending* LoadBalancer::find_pending(std::int64_t id) {
  auto it = std::lower_bound(volatile_.pending.begin(), volatile_.pending.end(), id,
                             [](const Pending& p, std::int64_t x) { return p.id < x; });
  return it != volatile_.pending.end() && it->id == id ? &*it : nullptr;
}

void LoadBalancer::dispatch(Ctx& ctx, Pending& p) {
  // Round robin over the healthy backends not yet tried for this request, in name order: one
  // walk of the backends lists them (a handful), and the pick indexes the list.
  boost::container::small_vector<decltype(volatile_.backends)::const_iterator, 8> candidates;
  for (auto it = volatile_.backends.cbegin(); it != volatile_.backends.cend(); ++it)
    if (it->second.healthy && !p.has_tried(it->first)) candidates.push_back(it);
  if (candidates.empty()) return respond(ctx, p.id, status_no_backend);
  const auto pick = candidates[durable_.round_robin++ % candidates.size()];
  p.tried.push_back(pick->first);
  const Backend& b = pick->second;
  if (b.agent_id == k_no_node) return respond(ctx, p.id, status_error);
  ctx.send(b.agent_id, wire::encode(BackendRequest{p.id, b.body}));
}

void LoadBalancer::respond(Ctx& ctx, std::int64_t id, Status status) {
  Pending* p = find_pending(id);
  if (p == nullptr) return;
  ctx.cancel_timer(p->timer);
  ctx.send(p->client, wire::encode(HttpResponse{p->client_request, status}));
  volatile_.pending.erase(volatile_.pending.begin() + (p - volatile_.pending.data()));
}

void LoadBalancer::check_result(Ctx& ctx, const std::string& container, bool ok) {
  Backend& b = volatile_.backends[container];
  const HealthCheckSpec& hc = *config_.health_check;
  if (ok) {
    ++b.successes;
    b.failures = 0;
    if (!b.healthy && b.successes >= hc.healthy_threshold) {
      b.healthy = true;
      ctx.event(LogLevel::info, Event("app.lb_backend_up").with("container", container),
                fmt::format("backend {} is UP", container));
    }
  } else {
    ++b.failures;
    b.successes = 0;
    if (b.healthy && b.failures >= hc.unhealthy_threshold) {
      b.healthy = false;
      ctx.event(LogLevel::info, Event("app.lb_backend_down").with("container", container),
                fmt::format("backend {} is DOWN", container));
    }
  }
}

void LoadBalancer::on_timer(Ctx& ctx, std::uint64_t t) {
  bool known = timer_tag::dispatch<HealthTimer, RequestTimer>(
      t, [&](const auto& timer) { on(ctx, timer); });
  STAMPEDE_ASSERT(known, "a load balancer timer of no known kind");
}

void LoadBalancer::on(Ctx& ctx, const HealthTimer&) {
  // A check still unanswered after a whole interval has timed out: a failure.
  for (auto& [name, b] : volatile_.backends) {
    if (b.check_outstanding != 0) {
      volatile_.checks.erase(b.check_outstanding);
      b.check_outstanding = 0;
      check_result(ctx, name, false);
    }
    if (b.agent_id == k_no_node) continue;
    std::int64_t id = durable_.next_check++;
    b.check_outstanding = id;
    volatile_.checks[id] = name;
    ctx.send(b.agent_id, wire::encode(HealthCheck{id, b.body}));
  }
  ctx.set_timer(config_.health_check->interval_ns, timer_tag::encode(HealthTimer{}));
}

void LoadBalancer::on(Ctx& ctx, const RequestTimer& t) { respond(ctx, t.request, status_timeout); }

void LoadBalancer::on_crash() { volatile_ = {}; }

bool LoadBalancer::healthy(std::string_view container) const {
  auto it = volatile_.backends.find(std::string(container));
  return it != volatile_.backends.end() && it->second.healthy;
}

std::optional<std::int64_t> LoadBalancer::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "backends") return static_cast<std::int64_t>(volatile_.backends.size());
  if (key == "healthy_backends") {
    std::int64_t n = 0;
    for (const auto& [name, b] : volatile_.backends) n += b.healthy;
    return n;
  }
  return std::nullopt;
}

std::string_view LoadBalancer::message_name(std::uint32_t type) const {
  std::string_view n = cattle::message_type_name(type);
  if (n.empty()) n = message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::app
