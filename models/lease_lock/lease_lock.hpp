#pragma once
// A lease-based lock, a storage service and clients that write under the lock: the hazard of a
// holder that is paused past its lease and then writes (Kleppmann, "How to do distributed
// locking"), and, optionally, a lock granted to a waiter whose own session lease expired while
// it waited (the etcd 3.4.3 class, Jepsen 2020). The same protocol at the same bounds as
// ../shared/peers/lease_lock.pml (shared variables, atomic steps), and at this model's own
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
#include <utility>
#include <vector>
#include <string_view>

#include "sim/core/node.hpp"

namespace stampede::lease_lock {

enum MsgType : std::uint32_t {
  msg_acquire = 1,  // client -> lock
  msg_grant = 2,    // lock -> client, a = token
  msg_write = 3,    // client -> storage, a = token
  msg_ack = 4,      // storage -> client, a = token, b = 1 accepted / 0 fenced off
  msg_release = 5,  // client -> lock, a = token
  msg_expired = 6,  // lock -> client: its session expired while it waited (it gives up)
};

std::string_view message_type_name(std::uint32_t type);

struct LockConfig {
  bool session_leases = false;  // waiters hold a session lease of session_ttl (part c)
};

// The lock service. Waiters queue in arrival order; a lease timer per grant (tag = token) frees
// the lock when it fires before the holder's release arrives.
class LockService final : public Node {
 public:
  explicit LockService(LockConfig config) : config_(config) {}
  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override {
    return message_type_name(type);
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<LockService>(*this); }

 private:
  struct Waiter {
    NodeId client = k_no_node;
    std::uint64_t session = 0;  // session lease id (its timer tag), 0 without session leases
    bool expired = false;       // its session lease ran out while it waited
  };
  void grant_next(Ctx& ctx);

  LockConfig config_;
  // Read once at start (they do not change during a run; kept out of the digest).
  DurationNs lease_duration_ = 0;
  DurationNs session_ttl_ = 0;
  bool revoke_expired_ = false;
  NodeId holder_ = k_no_node;
  std::int64_t token_ = 0;   // the holder's token
  std::int64_t issued_ = 0;  // the last token issued
  std::vector<Waiter> waiters_;  // in arrival order (a vector: cheap to clone for snapshots)
  TimerId lease_timer_ = 0;  // engine-assigned, so kept out of the digest
  std::uint64_t next_session_ = 1;
  std::vector<std::pair<std::uint64_t, TimerId>> session_timers_;  // live session timers
  bool granted_expired_ = false;  // granted the lock to a waiter whose session had expired
};

// Storage: remembers the highest token it accepted.
class Storage final : public Node {
 public:
  void on_start(Ctx& ctx) override { fencing_ = ctx.mechanism("lease_lock_fencing"); }
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    (void)ctx;
    (void)tag;
  }
  void on_crash() override {}  // durable: what storage accepted stays accepted
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override {
    return message_type_name(type);
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<Storage>(*this); }

 private:
  bool fencing_ = true;  // read at start; not state
  std::int64_t accepted_max_ = 0;
  bool stale_write_ = false;  // accepted a write older than one it had accepted
};

// A client that makes `writes` writes, each under the lock.
class Client final : public Node {
 public:
  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    (void)ctx;
    (void)tag;
  }
  void on_crash() override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override {
    return message_type_name(type);
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<Client>(*this); }

 private:
  void next(Ctx& ctx);
  // Read at start (the same on every start; not state).
  std::int64_t writes_ = 0;
  NodeId lock_ = k_no_node;
  NodeId storage_ = k_no_node;
  std::int64_t done_ = 0;   // writes finished (or given up); durable, like a job log
  std::int64_t mine_ = 0;   // token of the current grant, 0 while waiting
  bool waiting_ = false;
};

}  // namespace stampede::lease_lock
