#pragma once
// A test and scenario workload: a node that embeds a ZkClient and loops forever acquiring a lock,
// holding it for zk_lock_client_hold, releasing it, and waiting zk_lock_client_idle.
#include <cstdint>
#include <memory>
#include <string>

#include "models/zookeeper/zk_client.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::zk {

class ZkLockClient final : public Node, public EmbedsZkClient {
 public:
  ZkLockClient(int ensemble_size, std::string lock_name = "demo",
               DurationNs requested_timeout_ns = 0);

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override {
    client_.on_connection(ctx, peer, event);
  }
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override;
  std::size_t state_field_count() const override;
  std::string perturb_state_field(std::size_t i) override;

  const ZkClient& client() const { return client_; }
  // Its probes are the client's (zk.held_lock...): the lock check reads the client itself.
  const ZkClient* embedded_zk_client() const override { return &client_; }
  std::int64_t acquisitions() const { return vol_.acquisitions; }
  // Stops the loop: the lock is kept once held (tests use it to pin a holder).
  void set_hold_forever(bool v) { hold_forever_ = v; }

 private:
  // Survives a crash: the generation only grows, so no timer from before a crash applies after.
  struct Durable {
    std::uint32_t gen = 0;
    STAMPEDE_FIELDS(gen)
  };
  struct Volatile {
    std::int64_t acquisitions = 0;  // counts since the last start
    STAMPEDE_FIELDS(acquisitions)
  };
  // Read at start (the same on every start): not state.
  struct Config {
    DurationNs hold_ns = 0;
    DurationNs idle_ns = 0;
    SeriesId m_acquisitions = 0;
  };

  template <class T>
  std::uint64_t tag() const {
    return timer_tag::encode(T{durable_.gen});
  }
  // Points the client's callbacks at this node (again after a clone).
  void bind_callbacks();
  void on(Ctx& ctx, const HoldDoneTimer& t);
  void on(Ctx& ctx, const IdleDoneTimer& t);

  std::string lock_;
  bool hold_forever_ = false;
  Config cfg_;
  Durable durable_;
  Volatile vol_;
  ZkClient client_;  // volatile: crash() resets it
};

}  // namespace stampede::zk
