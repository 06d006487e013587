#include "models/app/api_client.hpp"

#include "models/cattle/protocol.hpp"

namespace stampede::app {

void ApiClient::on_start(Ctx& ctx) {
  s_requests_ = ctx.intern("requests:api");
  m_served_ = ctx.intern("api_requests_served");
  m_failed_ = ctx.intern("api_requests_failed");
  failover_ = ctx.mechanism("api_dns_failover");
  connect_timeout_ns_ = ctx.timing("api_connect_timeout");
  request_timeout_ns_ = ctx.timing("client_request_timeout");
  server_ids_.clear();
  for (const std::string& name : config_.servers) server_ids_.push_back(ctx.lookup(name));
  ctx.set_timer(config_.interval_ns, timer_tag::encode(ApiTick{}));
}

void ApiClient::try_server(Ctx& ctx, std::int64_t id, Pending& p) {
  std::int64_t attempt = durable_.next_attempt++;
  p.attempt = attempt;
  durable_.attempts[attempt] = id;
  ++p.tried;
  NodeId server = server_ids_[p.server];
  if (server != k_no_node) ctx.send(server, wire::encode(cattle::ApiRequest{attempt}));
  p.connect_timer = ctx.set_timer(connect_timeout_ns_, timer_tag::encode(ApiConnect{attempt}));
}

void ApiClient::next_address(Ctx& ctx, std::int64_t id) {
  auto it = volatile_.pending.find(id);
  if (it == volatile_.pending.end()) return;
  Pending& p = it->second;
  if (!failover_ || p.tried >= static_cast<int>(config_.servers.size())) return finish(ctx, id, false);
  p.server = (p.server + 1) % config_.servers.size();
  try_server(ctx, id, p);
}

void ApiClient::finish(Ctx& ctx, std::int64_t id, bool ok) {
  auto it = volatile_.pending.find(id);
  if (it == volatile_.pending.end()) return;
  ctx.cancel_timer(it->second.connect_timer);
  ctx.cancel_timer(it->second.deadline_timer);
  volatile_.pending.erase(it);
  ctx.sample(s_requests_, ok ? 1 : 0);
  ctx.count(ok ? m_served_ : m_failed_, 1);
}

void ApiClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)from;
  wire::dispatch<cattle::ApiResponse>(msg, [&](const cattle::ApiResponse& m) {
    auto a = durable_.attempts.find(m.request);
    if (a == durable_.attempts.end()) return;
    std::int64_t id = a->second;
    durable_.attempts.erase(a);
    auto it = volatile_.pending.find(id);
    if (it == volatile_.pending.end() || it->second.attempt != m.request) return;  // a late answer
    if (m.status == cattle::k_http_ok) return finish(ctx, id, true);
    ctx.cancel_timer(it->second.connect_timer);
    next_address(ctx, id);
  });
}

void ApiClient::on_timer(Ctx& ctx, std::uint64_t tag) {
  bool known = timer_tag::dispatch<ApiTick, ApiConnect, ApiDeadline>(
      tag, [&](const auto& t) { on(ctx, t); });
  STAMPEDE_ASSERT(known, "an API client timer of no known kind");
}

void ApiClient::on(Ctx& ctx, const ApiTick&) {
  std::int64_t id = durable_.next_request++;
  Pending& p = volatile_.pending[id];
  p.server = durable_.rotation;
  durable_.rotation = (durable_.rotation + 1) % config_.servers.size();
  p.deadline_timer =
      ctx.set_timer(request_timeout_ns_, timer_tag::encode(ApiDeadline{id}));
  try_server(ctx, id, p);
  ctx.set_timer(config_.interval_ns, timer_tag::encode(ApiTick{}));
}

void ApiClient::on(Ctx& ctx, const ApiConnect& t) {
  auto a = durable_.attempts.find(t.attempt);
  if (a == durable_.attempts.end()) return;
  std::int64_t id = a->second;
  durable_.attempts.erase(a);
  auto it = volatile_.pending.find(id);
  if (it == volatile_.pending.end() || it->second.attempt != t.attempt) return;
  next_address(ctx, id);
}

void ApiClient::on(Ctx& ctx, const ApiDeadline& t) {
  // Attempts of a request that ran out of time are forgotten with it.
  auto it = volatile_.pending.find(t.request);
  if (it != volatile_.pending.end()) durable_.attempts.erase(it->second.attempt);
  finish(ctx, t.request, false);
}

std::string_view ApiClient::message_name(std::uint32_t type) const {
  std::string_view n = cattle::message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::app
