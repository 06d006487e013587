#pragma once
// The availability probe (`zkprobe`, built when zk_probe_interval > 0): every zk_probe_interval
// it sends one write to every server of the ensemble; a leader that serves (it has synced a
// quorum in its epoch) proposes it, and answers once a quorum has acked it. The write counts as
// available (sample 1 on "requests:zookeeper") when that answer arrives within
// zk_probe_timeout, and as unavailable (0) otherwise. So a write succeeds exactly when a quorum
// is up and a leader is established: the measurement the binomial majority-quorum baseline
// predicts (analysis/baselines.hpp), read by the run as the metric availability:zookeeper.
//
// Session-less on purpose: a real client's session adds its own delays (noticing a dead server
// after 2/3 of the session timeout, reconnecting), which measure the client rather than the
// ensemble. The probe stands for a client that can reach every server and retries at once.
#include <cstdint>
#include <memory>
#include <vector>

#include "models/zookeeper/messages.hpp"
#include "sim/core/node.hpp"
#include "sim/core/state.hpp"

namespace stampede::zk {

class ZkProbe final : public Node {
 public:
  explicit ZkProbe(int ensemble_size);

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_crash() override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override { return std::make_unique<ZkProbe>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, vol_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, vol_);
  }

  std::int64_t writes() const { return vol_.writes; }
  std::int64_t committed() const { return vol_.committed; }

 private:
  // Survives a crash: write ids are never reused.
  struct Durable {
    std::int64_t id = 0;  // the current write's id
    // The last write the ensemble said had committed (0: none yet): what the client was told,
    // which the invariant zk.acknowledged_write_kept holds the leaders to.
    std::int64_t acknowledged = 0;
    STAMPEDE_FIELDS(id, acknowledged)
  };
  struct Volatile {
    bool pending = false;     // the current write awaits its answer
    std::int64_t writes = 0;  // counts since the last start
    std::int64_t committed = 0;
    STAMPEDE_FIELDS(pending, writes, committed)
  };
  // Read at start (the same on every start): not state.
  struct Config {
    std::vector<NodeId> servers;
    DurationNs interval_ns = 0;
    DurationNs timeout_ns = 0;
    SeriesId series = 0;
  };
  void decide(Ctx& ctx, bool ok);
  void on(Ctx& ctx, const ProbeNextTimer& t);
  void on(Ctx& ctx, const ProbeDeadlineTimer& t);

  int ensemble_;
  Config cfg_;
  Durable durable_;
  Volatile vol_;
};

}  // namespace stampede::zk
