// Two-node ping-pong on the stampede kernel: N one-way messages, fixed one-way latency,
// single-threaded. The same exchange as pingpong_simgrid.cpp, for bench/run.sh.
//
//   pingpong_kernel [--messages N] [--latency-us L] [--size B]
//
// Prints one machine-readable line:
//   kernel messages=N wall_s=W msgs_per_s=R sim_s=S sim_per_wall=X digest=D
//
// Honest-comparison notes: the nodes are ordinary sans-I/O Nodes driven through the full Kernel
// (Chooser-ordered queue, network reachability and latency sampling, per-step rolling digest),
// with no observers attached, exactly as `stampede run` drives models. Wall time covers
// Kernel::run_until only (not process start-up), as pingpong_simgrid times Engine::run only.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "sim/core/node.hpp"
#include "sim/kernel/kernel.hpp"

namespace {

using namespace stampede;

constexpr std::uint32_t k_ping = 1;

// Both ends run the same code: the "ping" node sends message 1 on start; whoever receives
// message i < N answers with message i + 1 to the sender. So exactly N messages are delivered.
class PingPongNode final : public Node {
 public:
  PingPongNode(bool initiator, std::string peer, std::int64_t total, std::uint32_t size)
      : initiator_(initiator), peer_name_(std::move(peer)), total_(total), size_(size) {}

  void on_start(Ctx& ctx) override {
    peer_ = ctx.lookup(peer_name_);
    if (initiator_ && total_ > 0) ctx.send(peer_, make(1));
  }
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override {
    ++received_;
    last_ = msg.a;
    last_time_ns_ = ctx.now();
    if (msg.a < total_) ctx.send(from, make(msg.a + 1));
  }
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override {
    Digest d;
    d.add(static_cast<std::uint64_t>(received_)).add_signed(last_);
    return d.value();
  }
  std::int64_t received() const { return received_; }
  TimeNs last_time_ns() const { return last_time_ns_; }

 private:
  Message make(std::int64_t seq) const {
    Message m;
    m.type = k_ping;
    m.size_bytes = size_;
    m.a = seq;
    return m;
  }
  bool initiator_;
  std::string peer_name_;
  std::int64_t total_;
  std::uint32_t size_;
  NodeId peer_ = k_no_node;
  std::int64_t received_ = 0;
  std::int64_t last_ = 0;
  TimeNs last_time_ns_ = 0;
};

long long arg_value(int& i, int argc, char** argv) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "pingpong_kernel: %s needs a value\n", argv[i]);
    std::exit(2);
  }
  char* end = nullptr;
  long long v = std::strtoll(argv[++i], &end, 10);
  if (end == argv[i] || *end != '\0' || v < 0) {
    std::fprintf(stderr, "pingpong_kernel: bad value '%s' for %s\n", argv[i], argv[i - 1]);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  long long messages = 1'000'000;
  long long latency_us = 1'000;
  long long size = 128;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--messages") messages = arg_value(i, argc, argv);
    else if (a == "--latency-us") latency_us = arg_value(i, argc, argv);
    else if (a == "--size") size = arg_value(i, argc, argv);
    else {
      std::fprintf(stderr, "usage: pingpong_kernel [--messages N] [--latency-us L] [--size B]\n");
      return 2;
    }
  }

  Kernel::Options opts;
  opts.seed = 1;
  opts.network.latency.kind = LatencySpec::Kind::fixed;
  opts.network.latency.fixed_ns = latency_us * k_us;
  Kernel k(opts);
  auto ping_node = std::make_unique<PingPongNode>(true, "pong", messages,
                                                  static_cast<std::uint32_t>(size));
  auto pong_node = std::make_unique<PingPongNode>(false, "ping", messages,
                                                  static_cast<std::uint32_t>(size));
  const PingPongNode& ping = *ping_node;
  const PingPongNode& pong = *pong_node;
  k.add_node("ping", std::move(ping_node));
  k.add_node("pong", std::move(pong_node));

  auto t0 = std::chrono::steady_clock::now();
  k.run_until(k_time_never - 1);
  auto t1 = std::chrono::steady_clock::now();

  double wall_s = std::chrono::duration<double>(t1 - t0).count();
  // The instant of the last delivery (the kernel's clock ends at the run_until horizon).
  TimeNs end_ns = std::max(ping.last_time_ns(), pong.last_time_ns());
  double sim_s = static_cast<double>(end_ns) / static_cast<double>(k_s);
  auto delivered = static_cast<long long>(k.messages_delivered());
  if (delivered != messages) {
    std::fprintf(stderr, "pingpong_kernel: delivered %lld messages, expected %lld\n", delivered,
                 messages);
    return 3;
  }
  std::printf(
      "kernel messages=%lld wall_s=%.6f msgs_per_s=%.0f sim_s=%.6f sim_per_wall=%.1f "
      "steps=%llu digest=%016llx\n",
      delivered, wall_s, wall_s > 0 ? static_cast<double>(delivered) / wall_s : 0.0, sim_s,
      wall_s > 0 ? sim_s / wall_s : 0.0, static_cast<unsigned long long>(k.steps()),
      static_cast<unsigned long long>(k.digest()));
  return 0;
}
