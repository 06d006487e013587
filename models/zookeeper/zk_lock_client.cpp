#include "models/zookeeper/zk_lock_client.hpp"

#include "models/zookeeper/names.hpp"

namespace stampede::zk {

namespace {
constexpr std::uint64_t k_lock_client_tag_prefix = 0x5A4CULL << 48;  // "ZL"
}

ZkLockClient::ZkLockClient(int ensemble_size, std::string lock_name, DurationNs timeout_ns)
    : lock_(std::move(lock_name)), client_(ensemble_size, timeout_ns) {}

std::uint64_t ZkLockClient::tag(TimerKind k) const {
  return make_tag(k_lock_client_tag_prefix, k, gen_);
}

void ZkLockClient::on_start(Ctx& ctx) {
  m_acquisitions_ = ctx.intern(k_metric_lock_acquisitions);
  ZkClient::Callbacks cb;
  cb.acquired = [this](Ctx& c, const std::string&) {
    ++acquisitions_;
    c.count(m_acquisitions_, 1);
    if (hold_forever_) return;
    ++gen_;
    c.set_timer(c.timing(k_lock_client_hold), tag(t_hold_done));
  };
  cb.lost = [this](Ctx&, const std::string&) { ++gen_; };  // the hold timer no longer applies
  client_.set_callbacks(std::move(cb));
  client_.start(ctx);
  client_.lock(ctx, lock_);
}

void ZkLockClient::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (ZkClient::owns_message(msg.type)) client_.on_message(ctx, from, msg);
}

void ZkLockClient::on_timer(Ctx& ctx, std::uint64_t t) {
  if (ZkClient::owns_timer(t)) return client_.on_timer(ctx, t);
  if ((t & k_tag_prefix_mask) != k_lock_client_tag_prefix || tag_gen(t) != gen_) return;
  if (tag_kind(t) == t_hold_done) {
    client_.unlock(ctx, lock_);
    ++gen_;
    ctx.set_timer(ctx.timing(k_lock_client_idle), tag(t_idle_done));
  } else if (tag_kind(t) == t_idle_done) {
    client_.lock(ctx, lock_);
  }
}

void ZkLockClient::on_crash() {
  client_.crash();
  ++gen_;
  acquisitions_ = 0;
}

std::optional<std::int64_t> ZkLockClient::probe(std::string_view key, std::string_view arg) const {
  if (key == "zk.acquisitions") return acquisitions_;
  return client_.probe(key, arg);
}

std::uint64_t ZkLockClient::state_digest() const {
  Digest d;
  d.add(lock_).add(client_.digest()).add_signed(acquisitions_).add(gen_);
  return d.value();
}

std::string_view ZkLockClient::message_name(std::uint32_t type) const {
  return type_name(type);
}

}  // namespace stampede::zk
