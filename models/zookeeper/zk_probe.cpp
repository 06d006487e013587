#include "models/zookeeper/zk_probe.hpp"

#include <fmt/format.h>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"

namespace stampede::zk {

namespace {
constexpr std::uint64_t k_probe_tag_prefix = 0x5A50ULL << 48;  // "ZP"
}

ZkProbe::ZkProbe(int ensemble_size) : ensemble_(ensemble_size) {}

void ZkProbe::on_start(Ctx& ctx) {
  series_ = ctx.intern(k_series_probe);
  servers_.clear();
  for (int k = 1; k <= ensemble_; ++k) servers_.push_back(ctx.lookup(fmt::format("zookeeper-{}", k)));
  // The first write goes out one interval in, then one per interval.
  ctx.set_timer(ctx.timing(k_probe_interval), make_tag(k_probe_tag_prefix, t_next, 0));
}

void ZkProbe::decide(Ctx& ctx, bool ok) {
  pending_ = false;
  committed_ += ok ? 1 : 0;
  ctx.sample(series_, ok ? 1 : 0);
}

void ZkProbe::on_message(Ctx& ctx, NodeId, const Message& msg) {
  if (msg.type == probe_committed && pending_ && msg.a == id_) decide(ctx, true);
}

void ZkProbe::on_timer(Ctx& ctx, std::uint64_t t) {
  if ((t & k_tag_prefix_mask) != k_probe_tag_prefix) return;
  if (tag_kind(t) == t_deadline) {
    if (pending_ && static_cast<std::int64_t>(tag_gen(t)) == (id_ & 0xFFFFFFFF)) decide(ctx, false);
    return;
  }
  // A write still pending when the next is due has missed its deadline (timeout > interval).
  if (pending_) decide(ctx, false);
  ++id_;
  ++writes_;
  pending_ = true;
  for (NodeId s : servers_) ctx.send(s, Message{probe_write, 64, id_, 0, 0, nullptr});
  ctx.set_timer(ctx.timing(k_probe_timeout),
                make_tag(k_probe_tag_prefix, t_deadline, static_cast<std::uint32_t>(id_)));
  ctx.set_timer(ctx.timing(k_probe_interval), make_tag(k_probe_tag_prefix, t_next, 0));
}

void ZkProbe::on_crash() {
  pending_ = false;
  writes_ = 0;
  committed_ = 0;
}

std::optional<std::int64_t> ZkProbe::probe(std::string_view key, std::string_view) const {
  if (key == "zk.probe_writes") return writes_;
  if (key == "zk.probe_committed") return committed_;
  return std::nullopt;
}

std::uint64_t ZkProbe::state_digest() const {
  Digest d;
  d.add_signed(id_).add(pending_ ? 1 : 0).add_signed(writes_).add_signed(committed_);
  return d.value();
}

std::string_view ZkProbe::message_name(std::uint32_t type) const {
  return type_name(type);
}

}  // namespace stampede::zk
