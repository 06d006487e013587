#include "models/zookeeper/zk_probe.hpp"

#include <fmt/format.h>

#include "models/zookeeper/messages.hpp"
#include "models/zookeeper/names.hpp"

namespace stampede::zk {

ZkProbe::ZkProbe(int ensemble_size) : ensemble_(ensemble_size) {}

void ZkProbe::on_start(Ctx& ctx) {
  cfg_.series = ctx.intern(k_series_probe);
  cfg_.servers.clear();
  for (int k = 1; k <= ensemble_; ++k)
    cfg_.servers.push_back(ctx.lookup(fmt::format("zookeeper-{}", k)));
  cfg_.interval_ns = ctx.timing(k_probe_interval);
  cfg_.timeout_ns = ctx.timing(k_probe_timeout);
  // The first write goes out one interval in, then one per interval.
  ctx.set_timer(cfg_.interval_ns, timer_tag::encode(ProbeNextTimer{}));
}

void ZkProbe::decide(Ctx& ctx, bool ok) {
  vol_.pending = false;
  vol_.committed += ok ? 1 : 0;
  ctx.sample(cfg_.series, ok ? 1 : 0);
}

void ZkProbe::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)from;
  wire::dispatch<ProbeCommitted>(msg, [&](const ProbeCommitted& m) {
    if (!vol_.pending || m.id != durable_.id) return;
    durable_.acknowledged = m.id;
    decide(ctx, true);
  });
}

void ZkProbe::on_timer(Ctx& ctx, std::uint64_t t) {
  timer_tag::dispatch<ProbeDeadlineTimer, ProbeNextTimer>(t, [&](const auto& timer) {
    on(ctx, timer);
  });
}

void ZkProbe::on(Ctx& ctx, const ProbeDeadlineTimer& t) {
  // The deadline names its write by the low 32 bits of the write's id.
  if (vol_.pending && static_cast<std::int64_t>(t.gen) == (durable_.id & 0xFFFFFFFF))
    decide(ctx, false);
}

void ZkProbe::on(Ctx& ctx, const ProbeNextTimer& t) {
  (void)t;
  // A write still pending when the next is due has missed its deadline (timeout > interval).
  if (vol_.pending) decide(ctx, false);
  ++durable_.id;
  ++vol_.writes;
  vol_.pending = true;
  for (NodeId s : cfg_.servers) ctx.send(s, wire::encode(ProbeWrite{durable_.id}));
  ctx.set_timer(cfg_.timeout_ns,
                timer_tag::encode(ProbeDeadlineTimer{static_cast<std::uint32_t>(durable_.id)}));
  ctx.set_timer(cfg_.interval_ns, timer_tag::encode(ProbeNextTimer{}));
}

void ZkProbe::on_crash() { vol_ = Volatile{}; }

std::optional<std::int64_t> ZkProbe::probe(std::string_view key, std::string_view) const {
  if (key == "zk.probe_writes") return vol_.writes;
  if (key == "zk.probe_committed") return vol_.committed;
  if (key == "zk.probe_acknowledged") return durable_.acknowledged;
  return std::nullopt;
}

std::uint64_t ZkProbe::state_digest() const { return state::digest(durable_, vol_); }

std::string_view ZkProbe::message_name(std::uint32_t type) const { return type_name(type); }

}  // namespace stampede::zk
