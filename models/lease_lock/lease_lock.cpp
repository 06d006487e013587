#include "models/lease_lock/lease_lock.hpp"

#include <algorithm>
#include <string>

namespace stampede::lease_lock {

std::string_view message_type_name(std::uint32_t type) {
  std::string_view n = wire::name_of<Acquire, Grant, Write, Ack, Release, Expired>(type);
  return n.empty() ? "msg" : n;
}

void LockService::on_start(Ctx& ctx) {
  cfg_.lease_duration_ns = ctx.timing("lease_duration");
  if (config_.session_leases) cfg_.session_ttl_ns = ctx.timing("lease_lock_session_ttl");
  cfg_.revoke_expired = ctx.mechanism("lease_lock_revoke_expired_waiters");
}

void LockService::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<Acquire, Release>(msg, [&](const auto& m) { on(ctx, from, m); });
}

void LockService::on(Ctx& ctx, NodeId from, const Acquire& m) {
  (void)m;
  Waiter w{from, 0, false};
  if (config_.session_leases) {
    w.session = durable_.next_session++;
    TimerId t = ctx.set_timer(cfg_.session_ttl_ns, timer_tag::encode(SessionTimer{w.session}));
    durable_.sessions.push_back({w.session, t});
  }
  durable_.waiters.push_back(w);
  if (durable_.holder == k_no_node) grant_next(ctx);
}

void LockService::on(Ctx& ctx, NodeId from, const Release& m) {
  // A release from a holder whose lease already expired names an old token: ignore it.
  if (durable_.holder != from || m.token != durable_.token) return;
  durable_.holder = k_no_node;
  ctx.cancel_timer(durable_.lease_timer);
  grant_next(ctx);
}

void LockService::on_timer(Ctx& ctx, std::uint64_t tag) {
  bool known = timer_tag::dispatch<SessionTimer, LeaseTimer>(tag, [&](const auto& t) { on(ctx, t); });
  STAMPEDE_ASSERT(known, "a lease-lock timer of no known kind");
}

void LockService::on(Ctx& ctx, const SessionTimer& t) {
  std::erase_if(durable_.sessions, [&](const SessionLease& s) { return s.session == t.session; });
  auto& waiters = durable_.waiters;
  auto it = std::find_if(waiters.begin(), waiters.end(),
                         [&](const Waiter& w) { return w.session == t.session; });
  if (it == waiters.end()) return;
  if (cfg_.revoke_expired) {
    // The fix: an expired session's waiter leaves the queue and is told so.
    ctx.send(it->client, wire::encode(Expired{}));
    waiters.erase(it);
  } else {
    it->expired = true;  // the bug: it stays queued and may be granted the lock
  }
}

void LockService::on(Ctx& ctx, const LeaseTimer& t) {
  if (durable_.holder == k_no_node || static_cast<std::int64_t>(t.token) != durable_.token) return;
  ctx.event(LogLevel::notable, Event("lease_lock.lease_expired").with("token", durable_.token),
            "lease of token " + std::to_string(durable_.token) + " expired");
  ctx.signal("lease_lock.lease_expired");
  durable_.holder = k_no_node;
  grant_next(ctx);
}

void LockService::grant_next(Ctx& ctx) {
  if (durable_.waiters.empty()) return;
  Waiter w = durable_.waiters.front();
  durable_.waiters.erase(durable_.waiters.begin());
  if (w.session != 0) {
    // Granting ends the wait: the session timer no longer matters to the lock.
    auto& sessions = durable_.sessions;
    auto it = std::find_if(sessions.begin(), sessions.end(),
                           [&](const SessionLease& s) { return s.session == w.session; });
    if (it != sessions.end()) {
      ctx.cancel_timer(it->timer);
      sessions.erase(it);
    }
  }
  if (w.expired) durable_.granted_expired = true;
  durable_.holder = w.client;
  durable_.token = ++durable_.issued;
  durable_.lease_timer = ctx.set_timer(
      cfg_.lease_duration_ns, timer_tag::encode(LeaseTimer{static_cast<std::uint64_t>(durable_.token)}));
  ctx.send(w.client, wire::encode(Grant{durable_.token}));
}

std::optional<std::int64_t> LockService::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "granted_expired") return durable_.granted_expired ? 1 : 0;
  if (key == "tokens_issued") return durable_.issued;
  return std::nullopt;
}

void Storage::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  wire::dispatch<Write>(msg, [&](const Write& w) {
    bool accepted = true;
    if (w.token < durable_.accepted_max) {
      if (fencing_) {
        accepted = false;  // fenced off: the token is older than one already accepted
      } else {
        durable_.stale_write = true;
        ctx.event(LogLevel::notable,
                  Event("lease_lock.stale_write_accepted")
                      .with("token", w.token)
                      .with("after", durable_.accepted_max),
                  "accepted stale write with token " + std::to_string(w.token) + " after token " +
                      std::to_string(durable_.accepted_max));
      }
    } else {
      durable_.accepted_max = w.token;
    }
    ctx.send(from, wire::encode(Ack{w.token, accepted}));
  });
}

std::optional<std::int64_t> Storage::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "stale_write") return durable_.stale_write ? 1 : 0;
  if (key == "accepted_max") return durable_.accepted_max;
  return std::nullopt;
}

void Client::on_start(Ctx& ctx) {
  cfg_.writes = ctx.timing("lease_lock_writes");
  cfg_.lock = ctx.lookup("lease-lock");
  cfg_.storage = ctx.lookup("lease-storage");
  volatile_ = {};
  next(ctx);
}

void Client::next(Ctx& ctx) {
  if (durable_.done >= cfg_.writes) return;
  volatile_.waiting = true;
  ctx.send(cfg_.lock, wire::encode(Acquire{}));
}

void Client::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)from;
  wire::dispatch<Grant, Ack, Expired>(msg, [&](const auto& m) { on(ctx, m); });
}

void Client::on(Ctx& ctx, const Grant& m) {
  if (!volatile_.waiting) return;
  volatile_.waiting = false;
  volatile_.mine = m.token;
  ctx.send(cfg_.storage, wire::encode(Write{volatile_.mine}));
}

void Client::on(Ctx& ctx, const Ack& m) {
  if (m.token != volatile_.mine) return;
  ctx.send(cfg_.lock, wire::encode(Release{volatile_.mine}));
  volatile_.mine = 0;
  ++durable_.done;
  next(ctx);
}

void Client::on(Ctx& ctx, const Expired& m) {
  (void)m;
  if (!volatile_.waiting) return;
  volatile_.waiting = false;
  ++durable_.done;  // gives this write up
  next(ctx);
}

}  // namespace stampede::lease_lock
