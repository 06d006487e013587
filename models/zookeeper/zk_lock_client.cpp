#include "models/zookeeper/zk_lock_client.hpp"

#include "models/zookeeper/names.hpp"

namespace stampede::zk {

ZkLockClient::ZkLockClient(int ensemble_size, std::string lock_name, DurationNs timeout_ns)
    : lock_(std::move(lock_name)), client_(ensemble_size, timeout_ns) {}

void ZkLockClient::bind_callbacks() {
  ZkClient::Callbacks cb;
  cb.acquired = [this](Ctx& c, const std::string&) {
    ++vol_.acquisitions;
    c.count(cfg_.m_acquisitions, 1);
    if (hold_forever_) return;
    ++durable_.gen;
    c.set_timer(cfg_.hold_ns, tag<HoldDoneTimer>());
  };
  // The hold timer no longer applies.
  cb.lost = [this](Ctx&, const std::string&) { ++durable_.gen; };
  client_.set_callbacks(std::move(cb));
}

void ZkLockClient::on_start(Ctx& ctx) {
  cfg_.m_acquisitions = ctx.intern(k_metric_lock_acquisitions);
  cfg_.hold_ns = ctx.timing(k_lock_client_hold);
  cfg_.idle_ns = ctx.timing(k_lock_client_idle);
  bind_callbacks();
  client_.start(ctx);
  client_.lock(ctx, lock_);
}

void ZkLockClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (ZkClient::owns_message(msg.type)) client_.on_message(ctx, from, msg);
}

void ZkLockClient::on_timer(Ctx& ctx, std::uint64_t t) {
  if (ZkClient::owns_timer(t)) return client_.on_timer(ctx, t);
  timer_tag::dispatch<HoldDoneTimer, IdleDoneTimer>(t, [&](const auto& timer) {
    if (timer.gen == durable_.gen) on(ctx, timer);  // otherwise stale
  });
}

void ZkLockClient::on(Ctx& ctx, const HoldDoneTimer& t) {
  (void)t;
  client_.unlock(ctx, lock_);
  ++durable_.gen;
  ctx.set_timer(cfg_.idle_ns, tag<IdleDoneTimer>());
}

void ZkLockClient::on(Ctx& ctx, const IdleDoneTimer& t) {
  (void)t;
  client_.lock(ctx, lock_);
}

void ZkLockClient::on_crash() {
  client_.crash();
  ++durable_.gen;
  vol_ = Volatile{};
}

std::optional<std::int64_t> ZkLockClient::probe(std::string_view key, std::string_view arg) const {
  if (key == "zk.acquisitions") return vol_.acquisitions;
  return client_.probe(key, arg);
}

std::uint64_t ZkLockClient::state_digest() const {
  // The lock's name, given at construction, is digested too, as it always has been.
  return state::digest(lock_, durable_, vol_, client_);
}

std::unique_ptr<Node> ZkLockClient::clone() const {
  auto copy = std::make_unique<ZkLockClient>(*this);
  copy->bind_callbacks();
  return copy;
}

std::size_t ZkLockClient::state_field_count() const {
  return state::field_total(durable_, vol_, client_);
}

std::string ZkLockClient::perturb_state_field(std::size_t i) {
  return state::perturb_field(i, durable_, vol_, client_);
}

std::string_view ZkLockClient::message_name(std::uint32_t type) const { return type_name(type); }

}  // namespace stampede::zk
