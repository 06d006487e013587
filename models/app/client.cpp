#include "models/app/client.hpp"

#include <algorithm>

#include "models/app/http.hpp"

namespace stampede::app {

void Client::on_start(Ctx& ctx) {
  s_requests_ = ctx.intern("requests:" + config_.target);
  m_served_ = ctx.intern("requests_served");
  m_failed_ = ctx.intern("requests_failed");
  ctx.set_timer(config_.interval_ns, timer_tag::encode(ClientTick{}));
}

void Client::record(Ctx& ctx, bool ok) {
  ctx.sample(s_requests_, ok ? 1 : 0);
  ctx.count(ok ? m_served_ : m_failed_, 1);
  (ok ? durable_.served : durable_.failed) += 1;
}

void Client::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)from;
  wire::dispatch<HttpResponse>(msg, [&](const HttpResponse& m) {
    auto it = find(m.request);
    if (it == volatile_.pending.end()) return;  // it already timed out
    ctx.cancel_timer(it->second);
    volatile_.pending.erase(it);
    record(ctx, m.status == status_ok);
  });
}

std::vector<std::pair<std::int64_t, Untracked<TimerId>>>::iterator Client::find(std::int64_t id) {
  auto it = std::lower_bound(volatile_.pending.begin(), volatile_.pending.end(), id,
                             [](const auto& p, std::int64_t x) { return p.first < x; });
  return it != volatile_.pending.end() && it->first == id ? it : volatile_.pending.end();
}

void Client::on_timer(Ctx& ctx, std::uint64_t tag) {
  bool known = timer_tag::dispatch<ClientTick, ClientTimeout>(
      tag, [&](const auto& t) { on(ctx, t); });
  STAMPEDE_ASSERT(known, "a client timer of no known kind");
}

void Client::on(Ctx& ctx, const ClientTick&) {
  std::int64_t id = durable_.next_request++;
  if (timeout_ns_ < 0) {
    timeout_ns_ = ctx.timing("client_request_timeout");
    lb_ = ctx.lookup(config_.target);
  }
  TimerId timeout = ctx.set_timer(timeout_ns_, timer_tag::encode(ClientTimeout{id}));
  volatile_.pending.emplace_back(id, timeout);
  if (lb_ != k_no_node) ctx.send(lb_, wire::encode(HttpRequest{id}));
  ctx.set_timer(config_.interval_ns, timer_tag::encode(ClientTick{}));
}

void Client::on(Ctx& ctx, const ClientTimeout& t) {
  auto it = find(t.request);
  if (it == volatile_.pending.end()) return;
  volatile_.pending.erase(it);
  record(ctx, false);
}

std::string_view Client::message_name(std::uint32_t type) const {
  std::string_view n = message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::app
