// The host's side of Rancher 1.1's health checks: the network agent runs HAProxy with one
// backend per container the server gave this host to check (rancher/cattle v0.165.8
// resources/content/config-content/healthcheck/content/etc/healthcheck/healthcheck.cfg.ftl lines
// 26-38: `check ... inter INTERVAL rise HEALTHY_THRESHOLD fall UNHEALTHY_THRESHOLD`, `timeout
// check RESPONSE_TIMEOUT`). A check is a request to the container's host; no answer within the
// response timeout (unset: within the interval, as HAProxy times a check out without `timeout
// check`) is a failure. HAProxy's view flips to UP after `rise` successes in a row and to DOWN
// after `fall` failures in a row, and each flip is posted to the API as a serviceEvent
// (code/iaas/healthcheck/src/main/java/io/cattle/iaas/healthcheck/process/ServiceEventCreate.java
// lines 47-56), like host-api's container events: one POST, lost when the server is out of reach.
// The next check starts an interval after the last one ended.
#include <fmt/format.h>

#include "models/agent/agent.hpp"
#include "models/app/http.hpp"
#include "models/cattle/protocol.hpp"

namespace stampede::agent {

using namespace stampede::cattle;
namespace http = stampede::app;

namespace {

// The container whose check `seq` is in flight. A check's id on the wire is its sequence number,
// unique on this host: an HA instance id (56 bits) leaves no room for more in one number.
std::optional<std::int64_t> target_of(const std::map<std::int64_t, HealthTarget>& targets,
                                      std::uint64_t seq) {
  if (seq == 0) return std::nullopt;
  for (const auto& [instance, target] : targets)
    if (target.in_flight == seq) return instance;
  return std::nullopt;
}

}  // namespace

const HealthCheckSpec* Agent::health_spec(std::string_view container) const {
  auto it = config_.health_checks.find(service_of(container));
  return it == config_.health_checks.end() ? nullptr : &it->second;
}

void Agent::on(Ctx& ctx, NodeId from, const HealthcheckConfig& m) {
  (void)from;
  std::map<std::int64_t, HealthEntry> wanted;
  for (const std::string& entry : names_of(m.entries))
    if (auto e = parse_health_entry(entry); e && health_spec(e->container))
      wanted[e->instance] = *e;
  auto& targets = volatile_.health.targets;
  for (auto it = targets.begin(); it != targets.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    ctx.cancel_timer(it->second.timer);
    it = targets.erase(it);
  }
  for (auto& [instance, e] : wanted) {
    auto [it, added] = targets.try_emplace(instance);
    it->second.container = e.container;
    it->second.agent = e.agent;
    if (!added) continue;
    const HealthCheckSpec& spec = *health_spec(e.container);
    it->second.timer = ctx.set_timer(spec.interval_ns, timer_tag::encode(HealthTick{instance}));
  }
}

void Agent::on(Ctx& ctx, const HealthTick& t) {
  auto it = volatile_.health.targets.find(t.instance);
  if (it == volatile_.health.targets.end()) return;
  HealthTarget& target = it->second;
  const HealthCheckSpec& spec = *health_spec(target.container);
  std::uint64_t seq = ++volatile_.health.next_seq;
  target.in_flight = seq;
  DurationNs timeout = spec.response_timeout_ns > 0 ? spec.response_timeout_ns : spec.interval_ns;
  target.timer = ctx.set_timer(timeout, timer_tag::encode(HealthTimeout{seq}));
  NodeId peer = ctx.lookup(target.agent);
  if (peer != k_no_node)
    ctx.send(peer, wire::encode(http::HealthCheck{static_cast<std::int64_t>(seq),
                                                  make_names({target.container})}));
}

void Agent::on(Ctx& ctx, NodeId from, const http::HealthReply& m) {
  (void)from;
  auto instance = target_of(volatile_.health.targets, static_cast<std::uint64_t>(m.check));
  if (!instance) return;
  ctx.cancel_timer(volatile_.health.targets.at(*instance).timer);
  health_result(ctx, *instance, m.status == http::status_ok);
}

void Agent::on(Ctx& ctx, const HealthTimeout& t) {
  auto instance = target_of(volatile_.health.targets, t.seq);
  if (instance) health_result(ctx, *instance, false);
}

void Agent::health_result(Ctx& ctx, std::int64_t instance, bool ok) {
  HealthTarget& target = volatile_.health.targets.at(instance);
  const HealthCheckSpec& spec = *health_spec(target.container);
  target.in_flight = 0;
  target.successes = ok ? target.successes + 1 : 0;
  target.failures = ok ? 0 : target.failures + 1;
  using View = HealthTarget::View;
  View next = target.view;
  if (ok && target.view != View::up && target.successes >= spec.healthy_threshold)
    next = View::up;
  if (!ok && target.view != View::down && target.failures >= spec.unhealthy_threshold)
    next = View::down;
  if (next != target.view) {
    target.view = next;
    bool up = next == View::up;
    ctx.event(LogLevel::info,
              Event("agent.health_changed").with("container", target.container)
                  .with("health", up ? "UP" : "DOWN"),
              fmt::format("health check of {} on {}: {}", target.container, target.agent,
                          up ? "UP" : "DOWN"));
    post_health_report(ctx, HealthReport{instance, up ? report_up : report_down});
  }
  target.timer = ctx.set_timer(spec.interval_ns, timer_tag::encode(HealthTick{instance}));
}

void Agent::post_health_report(Ctx& ctx, const HealthReport& report) {
  // Through the API's DNS name, as host-api posts (post_container_event), but from a process of
  // its own: its rotation is not host-api's.
  NodeId to = volatile_.server;
  if (!config_.servers.empty()) {
    std::size_t k = volatile_.health.posts % config_.servers.size();
    ++volatile_.health.posts;
    to = ctx.lookup(config_.servers[k]);
  } else {
    to = ctx.lookup(config_.server);
  }
  if (to != k_no_node) ctx.send(to, wire::encode(report));
}

}  // namespace stampede::agent
