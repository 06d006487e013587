#include "models/app/client.hpp"

#include "models/app/http.hpp"

namespace stampede::app {

namespace {

constexpr std::uint64_t k_tick = std::uint64_t{1} << 56;
constexpr std::uint64_t k_timeout = std::uint64_t{2} << 56;

}  // namespace

void Client::on_start(Ctx& ctx) {
  s_requests_ = ctx.intern("requests:" + config_.target);
  m_served_ = ctx.intern("requests_served");
  m_failed_ = ctx.intern("requests_failed");
  ctx.set_timer(config_.interval_ns, k_tick);
}

void Client::record(Ctx& ctx, bool ok) {
  ctx.sample(s_requests_, ok ? 1 : 0);
  ctx.count(ok ? m_served_ : m_failed_, 1);
  (ok ? served_ : failed_) += 1;
}

void Client::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)from;
  if (msg.type != msg_http_response) return;
  auto it = pending_.find(msg.a);
  if (it == pending_.end()) return;  // it already timed out
  ctx.cancel_timer(it->second);
  pending_.erase(it);
  record(ctx, msg.b == status_ok);
}

void Client::on_timer(Ctx& ctx, std::uint64_t tag) {
  if (tag == k_tick) {
    std::int64_t id = next_request_++;
    NodeId lb = ctx.lookup(config_.target);
    pending_[id] = ctx.set_timer(ctx.timing("client_request_timeout"),
                                 k_timeout | static_cast<std::uint64_t>(id));
    if (lb != k_no_node) ctx.send(lb, Message{msg_http_request, 512, id, 0, 0, nullptr});
    ctx.set_timer(config_.interval_ns, k_tick);
    return;
  }
  auto id = static_cast<std::int64_t>(tag & (k_tick - 1));
  if (pending_.erase(id) != 0) record(ctx, false);
}

std::uint64_t Client::state_digest() const {
  Digest d;
  for (const auto& [id, t] : pending_) d.add_signed(id);
  d.add_signed(next_request_).add_signed(served_).add_signed(failed_);
  return d.value();
}

std::string_view Client::message_name(std::uint32_t type) const {
  std::string_view n = message_type_name(type);
  return n.empty() ? "msg" : n;
}

}  // namespace stampede::app
