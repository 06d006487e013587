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
#include <vector>

#include "sim/core/node.hpp"

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

  std::int64_t writes() const { return writes_; }
  std::int64_t committed() const { return committed_; }

 private:
  enum TimerKind : std::uint32_t { t_next = 1, t_deadline };
  void decide(Ctx& ctx, bool ok);

  int ensemble_;
  std::vector<NodeId> servers_;
  std::int64_t id_ = 0;      // the current write's id
  bool pending_ = false;     // the current write awaits its answer
  std::int64_t writes_ = 0;  // volatile: counts since the last start
  std::int64_t committed_ = 0;
  SeriesId series_ = 0;
};

}  // namespace stampede::zk
