#include "models/app/load_balancer.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

#include "models/app/http.hpp"
#include "models/cattle/protocol.hpp"

namespace stampede::app {

namespace {

enum TimerKind : std::uint64_t { timer_health = 1, timer_request = 2 };
constexpr std::uint64_t tag(TimerKind k, std::uint64_t payload) { return (k << 56) | payload; }

}  // namespace

void LoadBalancer::on_start(Ctx& ctx) {
  if (config_.health_check) ctx.set_timer(config_.health_check->interval_ns, tag(timer_health, 0));
}

void LoadBalancer::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  switch (msg.type) {
    case cattle::msg_lb_config: {
      std::map<std::string, Backend> next;
      for (const std::string& entry : cattle::names_of(msg)) {
        cattle::Placement p = cattle::split_placement(entry);
        auto old = backends_.find(p.container);
        Backend b = old != backends_.end() ? old->second : Backend{};
        if (!b.body || b.agent != p.agent) b.agent_id = ctx.lookup(p.agent);
        if (!b.body) b.body = cattle::make_names({p.container});
        b.agent = p.agent;
        next[p.container] = b;
      }
      if (next.size() != backends_.size())
        ctx.log(LogLevel::info, fmt::format("{} backends configured", next.size()));
      backends_ = std::move(next);
      return;
    }
    case msg_http_request: {
      std::int64_t id = next_request_++;
      if (backend_timeout_ns_ < 0) backend_timeout_ns_ = ctx.timing("lb_backend_timeout");
      Pending& p = pending_.emplace_back();
      p.id = id;
      p.client = from;
      p.client_request = msg.a;
      p.timer = ctx.set_timer(backend_timeout_ns_,
                              tag(timer_request, static_cast<std::uint64_t>(id)));
      dispatch(ctx, p);
      return;
    }
    case msg_backend_response: {
      Pending* p = find_pending(msg.a);
      if (p == nullptr) return;
      if (msg.b == status_refused && p->redispatches < 1) {
        ++p->redispatches;
        dispatch(ctx, *p);
        return;
      }
      respond(ctx, msg.a, msg.b);
      return;
    }
    case msg_health_reply: {
      auto it = checks_.find(msg.a);
      if (it == checks_.end()) return;
      std::string container = it->second;
      checks_.erase(it);
      auto b = backends_.find(container);
      if (b == backends_.end() || b->second.check_outstanding != msg.a) return;
      b->second.check_outstanding = 0;
      check_result(ctx, container, msg.b == status_ok);
      return;
    }
    default: return;
  }
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
  ctx.send(b.agent_id, Message{msg_backend_request, 512, p.id, 0, 0, b.body});
}

void LoadBalancer::respond(Ctx& ctx, std::int64_t id, std::int64_t status) {
  Pending* p = find_pending(id);
  if (p == nullptr) return;
  ctx.cancel_timer(p->timer);
  ctx.send(p->client, Message{msg_http_response, 2048, p->client_request, status, 0, nullptr});
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
      ctx.log(LogLevel::info, fmt::format("backend {} is UP", container));
    }
  } else {
    ++b.failures;
    b.successes = 0;
    if (b.healthy && b.failures >= hc.unhealthy_threshold) {
      b.healthy = false;
      ctx.log(LogLevel::info, fmt::format("backend {} is DOWN", container));
    }
  }
}

void LoadBalancer::on_timer(Ctx& ctx, std::uint64_t t) {
  std::uint64_t payload = t & ((std::uint64_t{1} << 56) - 1);
  switch (static_cast<TimerKind>(t >> 56)) {
    case timer_health: {
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
        ctx.send(b.agent_id, Message{msg_health_check, 64, id, 0, 0, b.body});
      }
      ctx.set_timer(config_.health_check->interval_ns, tag(timer_health, 0));
      return;
    }
    case timer_request: respond(ctx, static_cast<std::int64_t>(payload), status_timeout); return;
  }
}

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
