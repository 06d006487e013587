#pragma once
// A test and scenario workload: a node that embeds a ZkClient and loops forever acquiring a lock,
// holding it for zk_lock_client_hold, releasing it, and waiting zk_lock_client_idle.
#include <cstdint>
#include <string>

#include "models/zookeeper/zk_client.hpp"
#include "sim/core/node.hpp"

namespace stampede::zk {

class ZkLockClient final : public Node {
 public:
  ZkLockClient(int ensemble_size, std::string lock_name = "demo",
               DurationNs requested_timeout_ns = 0);

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;

  const ZkClient& client() const { return client_; }
  std::int64_t acquisitions() const { return acquisitions_; }
  // Stops the loop: the lock is kept once held (tests use it to pin a holder).
  void set_hold_forever(bool v) { hold_forever_ = v; }

 private:
  enum TimerKind : std::uint32_t { t_hold_done = 1, t_idle_done };
  std::uint64_t tag(TimerKind k) const;

  std::string lock_;
  ZkClient client_;
  bool hold_forever_ = false;
  std::uint32_t gen_ = 0;
  std::int64_t acquisitions_ = 0;  // volatile: counts since the last start
  SeriesId m_acquisitions_ = 0;
};

}  // namespace stampede::zk
