#include "models/app/load_balancer.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

#include "models/app/http.hpp"

namespace stampede::app {

void LoadBalancer::on_start(Ctx& ctx) {
  if (config_.health_check) ctx.set_timer(config_.health_check->interval_ns, timer_tag::encode(HealthTimer{}));
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
    auto old = backends_.find(p.container);
    Backend b = old != backends_.end() ? old->second : Backend{};
    if (!b.body || b.agent != p.agent) b.agent_id = ctx.lookup(p.agent);
    if (!b.body) b.body = cattle::make_names({p.container});
    b.agent = p.agent;
    next[p.container] = b;
  }
  if (next.size() != backends_.size())
    ctx.event(LogLevel::info,
              Event("app.lb_backends_configured")
                  .with("backends", static_cast<std::int64_t>(next.size())),
              fmt::format("{} backends configured", next.size()));
  backends_ = std::move(next);
}

void LoadBalancer::on(Ctx& ctx, NodeId from, const HttpRequest& m) {
  std::int64_t id = next_request_++;
  if (backend_timeout_ns_ < 0) backend_timeout_ns_ = ctx.timing("lb_backend_timeout");
  Pending& p = pending_.emplace_back();
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
  auto it = checks_.find(m.check);
  if (it == checks_.end()) return;
  std::string container = it->second;
  checks_.erase(it);
  auto b = backends_.find(container);
  if (b == backends_.end() || b->second.check_outstanding != m.check) return;
  b->second.check_outstanding = 0;
  check_result(ctx, container, m.status == status_ok);
}

LoadBalancer::Pending* LoadBalancer::find_pending(std::int64_t id) {
  auto it = std::lower_bound(pending_.begin(), pending_.end(), id,
                             [](const Pending& p, std::int64_t x) { return p.id < x; });
  return it != pending_.end() && it->id == id ? &*it : nullptr;
}

void LoadBalancer::dispatch(Ctx& ctx, Pending& p) {
  // Round robin over the healthy backends not yet tried for this request, in name order.
  std::size_t candidates = 0;
  for (const auto& [name, b] : backends_) candidates += b.healthy && !p.has_tried(name);
  if (candidates == 0) return respond(ctx, p.id, status_no_backend);
  std::size_t k = round_robin_++ % candidates;
  auto pick = backends_.begin();
  for (;; ++pick) {
    if (!pick->second.healthy || p.has_tried(pick->first)) continue;
    if (k-- == 0) break;
  }
  p.tried[p.tried_count++] = pick->first;
  const Backend& b = pick->second;
  if (b.agent_id == k_no_node) return respond(ctx, p.id, status_error);
  ctx.send(b.agent_id, wire::encode(BackendRequest{p.id, b.body}));
}

void LoadBalancer::respond(Ctx& ctx, std::int64_t id, Status status) {
  Pending* p = find_pending(id);
  if (p == nullptr) return;
  ctx.cancel_timer(p->timer);
  ctx.send(p->client, wire::encode(HttpResponse{p->client_request, status}));
  pending_.erase(pending_.begin() + (p - pending_.data()));
}

void LoadBalancer::check_result(Ctx& ctx, const std::string& container, bool ok) {
  Backend& b = backends_[container];
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
  for (auto& [name, b] : backends_) {
    if (b.check_outstanding != 0) {
      checks_.erase(b.check_outstanding);
      b.check_outstanding = 0;
      check_result(ctx, name, false);
    }
    if (b.agent_id == k_no_node) continue;
    std::int64_t id = next_check_++;
    b.check_outstanding = id;
    checks_[id] = name;
    ctx.send(b.agent_id, wire::encode(HealthCheck{id, b.body}));
  }
  ctx.set_timer(config_.health_check->interval_ns, timer_tag::encode(HealthTimer{}));
}

void LoadBalancer::on(Ctx& ctx, const RequestTimer& t) { respond(ctx, t.request, status_timeout); }

void LoadBalancer::on_crash() {
  backends_.clear();
  pending_.clear();
  checks_.clear();
}

bool LoadBalancer::healthy(std::string_view container) const {
  auto it = backends_.find(std::string(container));
  return it != backends_.end() && it->second.healthy;
}

std::optional<std::int64_t> LoadBalancer::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "backends") return static_cast<std::int64_t>(backends_.size());
  if (key == "healthy_backends") {
    std::int64_t n = 0;
    for (const auto& [name, b] : backends_) n += b.healthy;
    return n;
  }
  return std::nullopt;
}

std::uint64_t LoadBalancer::state_digest() const {
  Digest d;
  for (const auto& [name, b] : backends_)
    d.add(name).add(b.agent).add(b.healthy ? 1u : 0u).add_signed(b.successes)
        .add_signed(b.failures).add_signed(b.check_outstanding);
  for (const Pending& p : pending_) d.add_signed(p.id).add(p.client).add_signed(p.client_request);
  d.add_signed(next_request_).add_signed(next_check_).add(round_robin_);
  return d.value();
}

std::string_view LoadBalancer::message_name(std::uint32_t type) const {
  std::string_view n = cattle::message_type_name(type);
  if (n.empty()) n = message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::app
