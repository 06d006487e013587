// sim/net/connections through the kernel: what a crash, a refused connect, a loss of power, a
// close and a random drop tell the peers, and that a connection is FIFO where datagrams are not.
#include <catch2/catch.hpp>

#include <algorithm>

#include "sim/kernel/kernel.hpp"
#include "tests/common/toy_nodes.hpp"

using namespace stampede;
using stampede::test::Sender;

namespace {

Message stream_msg(std::uint32_t type) { return Message{type, 64, 0, 0, 0, nullptr}; }

Message datagram_msg(std::uint32_t type) {
  Message m = stream_msg(type);
  m.transport = Transport::datagram;
  return m;
}

// Two Senders, "a" (0) and "b" (1), on a fixed 3 ms network.
struct Pair {
  Kernel k;
  Sender* a;
  Sender* b;
  explicit Pair(Kernel::Options o = fixed_3ms()) : k(o) {
    auto x = std::make_unique<Sender>();
    auto y = std::make_unique<Sender>();
    a = x.get();
    b = y.get();
    k.add_node("a", std::move(x));
    k.add_node("b", std::move(y));
  }
  static Kernel::Options fixed_3ms() {
    Kernel::Options o;
    o.network.latency.fixed_ns = 3 * k_ms;
    return o;
  }
};

}  // namespace

TEST_CASE("a crashed process's peer reads closed one latency later, after what was in flight",
          "[connections]") {
  Pair p;
  p.b->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(5)); };
  p.k.at(1 * k_ms, StepKind::fault, [&] { p.k.crash(1); });
  p.k.run_until(k_s);
  REQUIRE(p.a->got == std::vector<std::string>{"5@3000000", "closed:1@4000000"});
}

TEST_CASE("a connect to a host whose process is down is refused one round trip later",
          "[connections]") {
  Pair p;
  p.a->on_start_fn = [](Ctx& ctx) { ctx.set_timer(2 * k_ms, 1); };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t) { ctx.send(1, stream_msg(7)); };
  p.k.at(1 * k_ms, StepKind::fault, [&] { p.k.crash(1); });
  p.k.run_until(k_s);
  CHECK(p.a->got == std::vector<std::string>{"refused:1@8000000"});
  CHECK(p.b->got.empty());
}

TEST_CASE("a host that loses power is silent, after power on, a send on the old connection is "
          "reset and the next one opens a new connection",
          "[connections]") {
  Pair p;
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(20 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  p.k.at(5 * k_ms, StepKind::fault, [&] { p.k.power_off(1); });
  p.k.at(6 * k_ms, StepKind::fault, [&] { p.k.restart(1); });  // no power: nothing boots
  p.k.at(10 * k_ms, StepKind::fault, [&] { p.k.power_on(1); });
  p.k.run_until(k_s);
  CHECK(p.a->got == std::vector<std::string>{"closed:1@26000000"});
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "3@33000000"});
}

TEST_CASE("closing a connection tells the peer one latency later", "[connections]") {
  Pair p;
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.close_connection(1);
    ctx.close_connection(1);  // a second close of a closed connection does nothing
  };
  p.k.run_until(k_s);
  // The EOF follows the message on the connection, a nanosecond after it (FIFO).
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "closed:0@3000001"});
  CHECK(p.a->got.empty());
}

TEST_CASE("messages on a connection arrive in the order they were sent, datagrams may not",
          "[connections]") {
  for (Transport t : {Transport::stream, Transport::datagram}) {
    Kernel::Options o;
    o.seed = 3;
    o.network.latency.kind = LatencySpec::Kind::uniform;
    o.network.latency.min_ns = 1 * k_ms;
    o.network.latency.max_ns = 20 * k_ms;
    Pair p(o);
    std::vector<std::uint32_t> order;
    p.a->on_start_fn = [t](Ctx& ctx) {
      for (std::uint32_t i = 1; i <= 40; ++i)
        ctx.send(1, t == Transport::stream ? stream_msg(i) : datagram_msg(i));
    };
    p.k.run_until(k_s);
    REQUIRE(p.b->got.size() == 40);
    for (const auto& g : p.b->got) order.push_back(static_cast<std::uint32_t>(std::stoul(g)));
    CHECK(std::is_sorted(order.begin(), order.end()) == (t == Transport::stream));
  }
}

TEST_CASE("a random drop resets a stream's connection, both ends read closed", "[connections]") {
  Kernel::Options o = Pair::fixed_3ms();
  o.network.drop = 1.0;
  Pair p(o);
  p.a->on_start_fn = [](Ctx& ctx) { ctx.send(1, stream_msg(1)); };
  p.k.run_until(k_s);
  CHECK(p.a->got == std::vector<std::string>{"closed:1@6000000"});
  // The message opened the connection and the drop reset it: the receiver reads the reset.
  CHECK(p.b->got == std::vector<std::string>{"closed:0@3000000"});
}

TEST_CASE("a partition is silent and keeps the connection: what crosses the cut is lost, what "
          "is sent after the heal arrives",
          "[connections]") {
  Pair p;
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  p.k.at(5 * k_ms, StepKind::fault, [&] { p.k.network().partition({{0}, {1}}); });
  p.k.at(20 * k_ms, StepKind::fault, [&] { p.k.network().heal_all(); });
  p.k.run_until(k_s);
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "3@33000000"});
  CHECK(p.a->got.empty());
}

TEST_CASE("a crashed process's peer reads closed only after its exit teardown and a latency",
          "[connections]") {
  for (DurationNs teardown_ns : {DurationNs{0}, 10 * k_ms}) {
    Pair p;
    p.b->teardown_ns = teardown_ns;
    p.b->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(5)); };
    p.k.at(1 * k_ms, StepKind::fault, [&] { p.k.crash(1); });
    p.k.run_until(k_s);
    // What b sent before it died still arrives at once; only the EOF waits for the teardown.
    INFO("teardown " << teardown_ns);
    REQUIRE(p.a->got == std::vector<std::string>{
                            "5@3000000", fmt::format("closed:1@{}", 4 * k_ms + teardown_ns)});
  }
}

TEST_CASE("a loss of power stays silent whatever the process's exit teardown", "[connections]") {
  Pair p;
  p.b->teardown_ns = 10 * k_ms;
  p.b->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(5)); };
  p.k.at(1 * k_ms, StepKind::fault, [&] { p.k.power_off(1); });
  p.k.run_until(k_s);
  // Not even what was in flight arrives: the connection broke under it.
  REQUIRE(p.a->got.empty());
}

TEST_CASE("timers of a crashed or exited process never fire, not even after a restart",
          "[connections]") {
  for (bool exit : {false, true}) {
    Pair p;
    int fired = 0;
    int starts = 0;
    // Tag 1: a long timer of the first process; tag 2: kept by exit_process (the other process
    // of the node); tag 3: on a process exit, the restart.
    p.b->on_start_fn = [&](Ctx& ctx) {
      if (++starts > 1) return;
      ctx.set_timer(500 * k_ms, 1);
      ctx.set_timer(600 * k_ms, 2);
      if (exit) ctx.set_timer(10 * k_ms, 4);
    };
    p.b->on_timer_fn = [&](Ctx& ctx, std::uint64_t tag) {
      if (tag == 4) {
        ctx.exit_process([](std::uint64_t t) { return t == 2; });
        ctx.set_timer(90 * k_ms, 3);
        return;
      }
      if (tag == 1) ++fired;
      if (tag == 2) fired += 10;
    };
    if (!exit) {
      p.k.at(10 * k_ms, StepKind::fault, [&] { p.k.crash(1); });
      p.k.at(100 * k_ms, StepKind::fault, [&] { p.k.restart(1); });
    }
    p.k.run_until(k_s);
    INFO("exit " << exit);
    // The crash cancels both; the exit keeps the timer it was told to keep.
    REQUIRE(fired == (exit ? 10 : 0));
    REQUIRE(starts == (exit ? 1 : 2));
  }
}
