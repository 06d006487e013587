#pragma once
// A lease-based lock, a storage service and clients that write under the lock: the hazard of a
// holder that is paused past its lease and then writes (Kleppmann, "How to do distributed
// locking"), and, optionally, a lock granted to a waiter whose own session lease expired while
// it waited (the etcd 3.4.3 class, Jepsen 2020). The same protocol at the same bounds as
// bench/spin/lease_lock.pml (shared variables, atomic steps), and at this model's own
// granularity (one step per handler, messages in flight as state) as bench/spin/lease_lock_mp.pml,
// whose SPIN state count without reduction equals the explorer's distinct states (bench/RESULTS.md).
//
// Nodes: `lock` (the lease lock service), `storage`, `client-1..N`. A client sends acquire; the
// lock grants the free lock with a fresh token and arms a lease timer; the client writes with its
// token; storage accepts it (or, with fencing, rejects a token older than one it accepted) and
// acks; the client releases. A lease that expires frees the lock for the next waiter while the
// old holder may still be about to write. Models here see only sim/core.
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "models/lease_lock/messages.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::lease_lock {

struct LockConfig {
  bool session_leases = false;  // waiters hold a session lease of session_ttl (part c)
};

// The lock service. Waiters queue in arrival order; a lease timer per grant frees the lock when
// it fires before the holder's release arrives.
class LockService final : public Node {
 public:
  struct Waiter {
    NodeId client = k_no_node;
    std::uint64_t session = 0;  // session lease id, 0 without session leases
    bool expired = false;       // its session lease ran out while it waited
    STAMPEDE_FIELDS(client, session, expired)
  };
  struct SessionLease {
    std::uint64_t session = 0;
    Untracked<TimerId> timer;  // engine-assigned: the order things ran in, not state
    STAMPEDE_FIELDS(session, timer)
  };
  // The lock service stands for a replicated store: everything it knows survives a crash.
  struct Durable {
    NodeId holder = k_no_node;
    std::int64_t token = 0;   // the holder's token
    std::int64_t issued = 0;  // the last token issued
    std::vector<Waiter> waiters;  // in arrival order (a vector: cheap to clone for snapshots)
    Untracked<TimerId> lease_timer;
    std::uint64_t next_session = 1;
    std::vector<SessionLease> sessions;  // live session leases
    bool granted_expired = false;  // granted the lock to a waiter whose session had expired
    STAMPEDE_FIELDS(holder, token, issued, waiters, lease_timer, next_session, sessions,
                    granted_expired)
  };

  explicit LockService(LockConfig config) : config_(config) {}
  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override {}
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(durable_); }
  std::string_view message_name(std::uint32_t type) const override {
    return message_type_name(type);
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<LockService>(*this); }
  std::size_t state_field_count() const override { return state::field_total(durable_); }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_);
  }

 private:
  void on(Ctx& ctx, NodeId from, const Acquire& m);
  void on(Ctx& ctx, NodeId from, const Release& m);
  void on(Ctx& ctx, const LeaseTimer& t);
  void on(Ctx& ctx, const SessionTimer& t);
  void grant_next(Ctx& ctx);

  LockConfig config_;
  // Read once at start; the same on every start, so not state.
  struct Config {
    DurationNs lease_duration_ns = 0;
    DurationNs session_ttl_ns = 0;
    bool revoke_expired = false;
  } cfg_;
  Durable durable_;
};

// Storage: remembers the highest token it accepted.
class Storage final : public Node {
 public:
  struct Durable {
    std::int64_t accepted_max = 0;
    bool stale_write = false;  // accepted a write older than one it had accepted
    STAMPEDE_FIELDS(accepted_max, stale_write)
  };

  void on_start(Ctx& ctx) override { fencing_ = ctx.mechanism("lease_lock_fencing"); }
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    (void)ctx;
    (void)tag;
  }
  void on_crash() override {}  // durable: what storage accepted stays accepted
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(durable_); }
  std::string_view message_name(std::uint32_t type) const override {
    return message_type_name(type);
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<Storage>(*this); }
  std::size_t state_field_count() const override { return state::field_total(durable_); }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_);
  }

 private:
  bool fencing_ = true;  // read at start; not state
  Durable durable_;
};

// A client that makes `writes` writes, each under the lock.
class Client final : public Node {
 public:
  struct Durable {
    std::int64_t done = 0;  // writes finished (or given up), like a job log
    STAMPEDE_FIELDS(done)
  };
  struct Volatile {
    std::int64_t mine = 0;  // token of the current grant, 0 while waiting
    bool waiting = false;
    STAMPEDE_FIELDS(mine, waiting)
  };

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    (void)ctx;
    (void)tag;
  }
  void on_crash() override { volatile_ = {}; }
  std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
  std::string_view message_name(std::uint32_t type) const override {
    return message_type_name(type);
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<Client>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, volatile_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, volatile_);
  }

 private:
  void on(Ctx& ctx, const Grant& m);
  void on(Ctx& ctx, const Ack& m);
  void on(Ctx& ctx, const Expired& m);
  void next(Ctx& ctx);
  // Read at start (the same on every start; not state).
  struct Config {
    std::int64_t writes = 0;
    NodeId lock = k_no_node;
    NodeId storage = k_no_node;
  } cfg_;
  Durable durable_;
  Volatile volatile_;
};

}  // namespace stampede::lease_lock
