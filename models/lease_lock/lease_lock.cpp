#include "models/lease_lock/lease_lock.hpp"

#include <algorithm>

namespace stampede::lease_lock {

namespace {
// Session timers carry this bit so one timer space serves leases (tag = token) and sessions.
constexpr std::uint64_t k_session_bit = std::uint64_t{1} << 62;
}  // namespace

std::string_view message_type_name(std::uint32_t type) {
  switch (type) {
    case msg_acquire: return "acquire";
    case msg_grant: return "grant";
    case msg_write: return "write";
    case msg_ack: return "ack";
    case msg_release: return "release";
    case msg_expired: return "expired";
  }
  return "msg";
}

void LockService::on_start(Ctx& ctx) {
  lease_duration_ = ctx.timing("lease_duration");
  if (config_.session_leases) session_ttl_ = ctx.timing("lease_lock_session_ttl");
  revoke_expired_ = ctx.mechanism("lease_lock_revoke_expired_waiters");
}

void LockService::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (msg.type == msg_acquire) {
    Waiter w{from, 0, false};
    if (config_.session_leases) {
      w.session = next_session_++;
      TimerId t = ctx.set_timer(session_ttl_, k_session_bit | w.session);
      session_timers_.push_back({w.session, t});
    }
    waiters_.push_back(w);
    if (holder_ == k_no_node) grant_next(ctx);
    return;
  }
  if (msg.type == msg_release) {
    // A release from a holder whose lease already expired names an old token: ignore it.
    if (holder_ != from || msg.a != token_) return;
    holder_ = k_no_node;
    ctx.cancel_timer(lease_timer_);
    grant_next(ctx);
  }
}

void LockService::on_timer(Ctx& ctx, std::uint64_t tag) {
  if (tag & k_session_bit) {
    std::uint64_t session = tag & ~k_session_bit;
    std::erase_if(session_timers_, [&](const auto& st) { return st.first == session; });
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->session != session) continue;
      if (revoke_expired_) {
        // The fix: an expired session's waiter leaves the queue and is told so.
        ctx.send(it->client, Message{msg_expired, 64, 0, 0, 0, nullptr});
        waiters_.erase(it);
      } else {
        it->expired = true;  // the bug: it stays queued and may be granted the lock
      }
      return;
    }
    return;
  }
  if (holder_ == k_no_node || static_cast<std::int64_t>(tag) != token_) return;
  ctx.log(LogLevel::notable, "lease of token " + std::to_string(token_) + " expired");
  ctx.signal("lease_lock.lease_expired");
  holder_ = k_no_node;
  grant_next(ctx);
}

void LockService::grant_next(Ctx& ctx) {
  if (waiters_.empty()) return;
  Waiter w = waiters_.front();
  waiters_.erase(waiters_.begin());
  if (w.session != 0) {
    // Granting ends the wait: the session timer no longer matters to the lock.
    for (auto it = session_timers_.begin(); it != session_timers_.end(); ++it)
      if (it->first == w.session) {
        ctx.cancel_timer(it->second);
        session_timers_.erase(it);
        break;
      }
  }
  if (w.expired) granted_expired_ = true;
  holder_ = w.client;
  token_ = ++issued_;
  lease_timer_ = ctx.set_timer(lease_duration_, static_cast<std::uint64_t>(token_));
  ctx.send(w.client, Message{msg_grant, 64, token_, 0, 0, nullptr});
}

void LockService::on_crash() {
  // The lock service is treated as durable (a replicated store in practice): nothing to lose.
}

std::optional<std::int64_t> LockService::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "granted_expired") return granted_expired_ ? 1 : 0;
  if (key == "tokens_issued") return issued_;
  return std::nullopt;
}

std::uint64_t LockService::state_digest() const {
  // Timer ids are left out: they depend on the order the engine ran things in, not on the state.
  Digest d;
  d.add(holder_).add_signed(token_).add_signed(issued_).add(granted_expired_ ? 1u : 0u);
  d.add(waiters_.size());
  for (const Waiter& w : waiters_) d.add(w.client).add(w.session).add(w.expired ? 1u : 0u);
  d.add(next_session_);
  return d.value();
}

void Storage::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (msg.type != msg_write) return;
  bool accepted = true;
  if (msg.a < accepted_max_) {
    if (fencing_) {
      accepted = false;  // fenced off: the token is older than one already accepted
    } else {
      stale_write_ = true;
      ctx.log(LogLevel::notable, "accepted stale write with token " + std::to_string(msg.a) +
                                     " after token " + std::to_string(accepted_max_));
    }
  } else {
    accepted_max_ = msg.a;
  }
  ctx.send(from, Message{msg_ack, 64, msg.a, accepted ? 1 : 0, 0, nullptr});
}

std::optional<std::int64_t> Storage::probe(std::string_view key, std::string_view arg) const {
  (void)arg;
  if (key == "stale_write") return stale_write_ ? 1 : 0;
  if (key == "accepted_max") return accepted_max_;
  return std::nullopt;
}

std::uint64_t Storage::state_digest() const {
  return Digest().add_signed(accepted_max_).add(stale_write_ ? 1u : 0u).value();
}

void Client::on_start(Ctx& ctx) {
  writes_ = ctx.timing("lease_lock_writes");
  lock_ = ctx.lookup("lease-lock");
  storage_ = ctx.lookup("lease-storage");
  mine_ = 0;
  waiting_ = false;
  next(ctx);
}

void Client::next(Ctx& ctx) {
  if (done_ >= writes_) return;
  waiting_ = true;
  ctx.send(lock_, Message{msg_acquire, 64, 0, 0, 0, nullptr});
}

void Client::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)from;
  switch (msg.type) {
    case msg_grant:
      if (!waiting_) return;
      waiting_ = false;
      mine_ = msg.a;
      ctx.send(storage_, Message{msg_write, 64, mine_, 0, 0, nullptr});
      return;
    case msg_ack:
      if (msg.a != mine_) return;
      ctx.send(lock_, Message{msg_release, 64, mine_, 0, 0, nullptr});
      mine_ = 0;
      ++done_;
      next(ctx);
      return;
    case msg_expired:
      if (!waiting_) return;
      waiting_ = false;
      ++done_;  // gives this write up
      next(ctx);
      return;
  }
}

void Client::on_crash() {
  mine_ = 0;
  waiting_ = false;
}

std::uint64_t Client::state_digest() const {
  return Digest().add_signed(done_).add_signed(mine_).add(waiting_ ? 1u : 0u).value();
}

}  // namespace stampede::lease_lock
