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

TEST_CASE(
    "tcp_socket_per_process: a process rebooted after a power loss connects on a new "
    "socket at once, and its peer, told nothing, keeps the old one half-open",
    "[connections]") {
  // a sends 1 at 0 and nothing more; b's host loses power at 5 ms and boots at 10 ms, and b's new
  // process sends 7 at 20 ms. Off, 7 is lost on the old connection, which it resets: a, which
  // still held it, reads `closed` one latency later. On, 7 arrives and nobody reads `closed`.
  for (bool on : {false, true}) {
    Kernel::Options o = Pair::fixed_3ms();
    o.mechanisms[std::string(k_tcp_socket_per_process)] = on;
    Pair p(o);
    p.a->on_start_fn = [](Ctx& ctx) { ctx.send(1, stream_msg(1)); };
    p.k.at(5 * k_ms, StepKind::fault, [&] { p.k.power_off(1); });
    p.k.at(10 * k_ms, StepKind::fault, [&] {
      p.b->on_start_fn = [](Ctx& ctx) { ctx.set_timer(10 * k_ms, 7); };
      p.b->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
        ctx.send(0, stream_msg(static_cast<std::uint32_t>(tag)));
      };
      p.k.power_on(1);
    });
    p.k.run_until(k_s);
    INFO("tcp_socket_per_process " << on);
    if (on) {
      CHECK(p.a->got == std::vector<std::string>{"7@23000000"});
      CHECK(p.b->got == std::vector<std::string>{"1@3000000"});
      CHECK(p.k.connections().left_half_open() == 1);
    } else {
      CHECK(p.a->got == std::vector<std::string>{"closed:1@23000000"});
      CHECK(p.b->got == std::vector<std::string>{"1@3000000"});
      CHECK(p.k.connections().left_half_open() == 0);
    }
  }
}

TEST_CASE(
    "tcp_socket_per_process: a send from the end that kept the connection still meets the "
    "rebooted host's reset",
    "[connections]") {
  // The peer that did not reboot (a) sends on the connection it kept: the rebooted host (b)
  // answers with a reset, a reads `closed` one round trip later, and the message is lost.
  Kernel::Options o = Pair::fixed_3ms();
  o.mechanisms[std::string(k_tcp_socket_per_process)] = true;
  Pair p(o);
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(20 * k_ms, 2);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  p.k.at(5 * k_ms, StepKind::fault, [&] { p.k.power_off(1); });
  p.k.at(10 * k_ms, StepKind::fault, [&] { p.k.power_on(1); });
  p.k.run_until(k_s);
  CHECK(p.a->got == std::vector<std::string>{"closed:1@26000000"});
  CHECK(p.b->got == std::vector<std::string>{"1@3000000"});
  CHECK(p.k.connections().left_half_open() == 0);
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

namespace {
Kernel::Options with_retransmit(bool on) {
  Kernel::Options o = Pair::fixed_3ms();
  o.mechanisms[std::string(k_tcp_retransmit)] = on;
  return o;
}

// a sends 1 at 0, 2 at 10 ms, 3 at 20 ms and 4 at 2100 ms; a and b are cut apart from 5 to
// 2005 ms.
void two_second_cut(Pair& p) {
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(20 * k_ms, 3);
    ctx.set_timer(2100 * k_ms, 4);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  p.k.at(5 * k_ms, StepKind::fault, [&p] { p.k.network().partition({{0}, {1}}); });
  p.k.at(2005 * k_ms, StepKind::fault, [&p] { p.k.network().heal_all(); });
}
}  // namespace

TEST_CASE(
    "tcp_retransmit: a request sent during a 2 s partition arrives at the first "
    "retransmission after the heal, with what follows it in order, and off it is lost",
    "[connections]") {
  Pair on(with_retransmit(true));
  two_second_cut(on);
  on.k.run_until(5 * k_s);
  // 2 meets the cut at 13 ms; the RTO is 200 ms + the 6 ms round trip, doubling: expiries at
  // 219, 631, 1455 and 3103 ms, the first after the heal; it arrives a latency later. 3 and 4
  // (sent after the heal) wait behind it on the connection.
  CHECK(on.b->got ==
        std::vector<std::string>{"1@3000000", "2@3106000000", "3@3106000001", "4@3106000002"});
  CHECK(on.a->got.empty());
  Pair off(with_retransmit(false));
  two_second_cut(off);
  off.k.run_until(5 * k_s);
  CHECK(off.b->got == std::vector<std::string>{"1@3000000", "4@2103000000"});
}

TEST_CASE(
    "tcp_retransmit: across a 1000 s partition the sender reads closed when the "
    "retransmissions run out, and the peer's half-open end is reset after the heal",
    "[connections]") {
  for (bool retransmit : {true, false}) {
    Pair p(with_retransmit(retransmit));
    p.a->on_start_fn = [](Ctx& ctx) {
      ctx.send(1, stream_msg(1));
      ctx.set_timer(10 * k_ms, 2);
      ctx.set_timer(1010 * k_s, 5);
    };
    p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
      ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
    };
    p.k.at(5 * k_ms, StepKind::fault, [&p] { p.k.network().partition({{0}, {1}}); });
    p.k.at(1005 * k_s, StepKind::fault, [&p] { p.k.network().heal_all(); });
    p.k.run_until(1020 * k_s);
    if (retransmit) {
      // Lost at 13 ms; the 16th expiry of a 206 ms RTO, 930.738 s later, is past tcp_retries2's
      // 924.6 s: ETIMEDOUT. a's next send finds b's end of the dead connection: b reads the
      // reset, the message is lost.
      CHECK(p.a->got == std::vector<std::string>{"closed:1@930751000000"});
      CHECK(p.b->got == std::vector<std::string>{"1@3000000", "closed:0@1010003000000"});
    } else {
      // Off: 2 is lost on the cut, the connection stays open, 5 arrives.
      CHECK(p.a->got.empty());
      CHECK(p.b->got == std::vector<std::string>{"1@3000000", "5@1010003000000"});
    }
  }
}

TEST_CASE(
    "tcp_retransmit: across cuts of every length and random latencies, every message of "
    "a connection arrives, in order, and off those that met a cut are lost",
    "[connections]") {
  for (bool retransmit : {true, false}) {
    Kernel::Options o = with_retransmit(retransmit);
    o.seed = 7;
    o.network.latency.kind = LatencySpec::Kind::uniform;
    o.network.latency.min_ns = 1 * k_ms;
    o.network.latency.max_ns = 20 * k_ms;
    Pair p(o);
    p.a->on_start_fn = [](Ctx& ctx) { ctx.set_timer(7 * k_ms, 1); };
    p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
      ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
      if (tag < 400) ctx.set_timer(7 * k_ms, tag + 1);
    };
    // Cuts shorter than a latency, than the first RTO, and of seconds, one of them one-way.
    const std::pair<TimeNs, TimeNs> cuts[] = {
        {100 * k_ms, 103 * k_ms}, {400 * k_ms, 550 * k_ms}, {1000 * k_ms, 2600 * k_ms}};
    for (auto [from_ns, to_ns] : cuts) {
      p.k.at(from_ns, StepKind::fault, [&p, from_ns] {
        if (from_ns == 400 * k_ms) return p.k.network().partition_oneway({0}, {1});
        p.k.network().partition({{0}, {1}});
      });
      p.k.at(to_ns, StepKind::fault, [&p] { p.k.network().heal_all(); });
    }
    p.k.run_until(20 * k_s);
    std::vector<std::uint32_t> order;
    for (const auto& g : p.b->got) order.push_back(static_cast<std::uint32_t>(std::stoul(g)));
    INFO("retransmit " << retransmit);
    CHECK(std::is_sorted(order.begin(), order.end()));
    if (retransmit) {
      CHECK(order.size() == 400);
    } else {
      CHECK(order.size() < 400 - 200);  // the long cut alone loses about 228
    }
    CHECK(p.a->got.empty());
  }
}

TEST_CASE("tcp_retransmit: a FIN sent after the heal waits behind the data still held",
          "[connections]") {
  Pair p(with_retransmit(true));
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(400 * k_ms, 3);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    if (tag == 2) return ctx.send(1, stream_msg(2));
    ctx.close_connection(1);
  };
  p.k.at(5 * k_ms, StepKind::fault, [&p] { p.k.network().partition({{0}, {1}}); });
  p.k.at(300 * k_ms, StepKind::fault, [&p] { p.k.network().heal_all(); });
  p.k.run_until(2 * k_s);
  // 2 is held until the expiry at 631 ms; the FIN sent at 400 ms arrives after it.
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "2@634000000", "closed:0@634000001"});
}

TEST_CASE("tcp_retransmit: a reset after the connection broke is not held behind its lost data",
          "[connections]") {
  // a's 2 is held at the cut; a then closes its end while cut, so the connection breaks and 2
  // is lost with it. After the heal b's send meets the dead connection and b reads the reset at
  // once: nothing of the broken connection may hold it back (this once spun at 1 ns steps).
  Pair p(with_retransmit(true));
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(100 * k_ms, 3);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    if (tag == 2) return ctx.send(1, stream_msg(2));
    ctx.close_connection(1);
  };
  p.b->on_start_fn = [](Ctx& ctx) { ctx.set_timer(400 * k_ms, 4); };
  p.b->on_timer_fn = [](Ctx& ctx, std::uint64_t) { ctx.send(0, stream_msg(4)); };
  p.k.at(5 * k_ms, StepKind::fault, [&p] { p.k.network().partition({{0}, {1}}); });
  p.k.at(300 * k_ms, StepKind::fault, [&p] { p.k.network().heal_all(); });
  p.k.run_until(500 * k_ms);
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "closed:0@406000000"});
  CHECK(p.a->got.empty());
}

TEST_CASE("tcp_retransmit: what a connection held when it broke is never delivered after a reset",
          "[connections]") {
  // a's 2 is held at the cut (lost at 13 ms, retransmitted at 631 ms, due at 634 ms). b closes
  // its end at 620 ms while cut: the connection breaks, b's end released. After the heal b's
  // send at 632 ms meets a's half-open end, which is reset (a reads it at 635 ms). 2's
  // retransmission at 634 ms belongs to the broken connection: b must not get it, and a new
  // connection afterwards carries 5 normally.
  Pair p(with_retransmit(true));
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(700 * k_ms, 5);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  p.b->on_start_fn = [](Ctx& ctx) {
    ctx.set_timer(620 * k_ms, 3);
    ctx.set_timer(632 * k_ms, 4);
  };
  p.b->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    if (tag == 3) return ctx.close_connection(0);
    ctx.send(0, stream_msg(4));
  };
  p.k.at(5 * k_ms, StepKind::fault, [&p] { p.k.network().partition({{0}, {1}}); });
  p.k.at(629 * k_ms, StepKind::fault, [&p] { p.k.network().heal_all(); });
  p.k.run_until(1 * k_s);
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "5@703000000"});
  CHECK(p.a->got == std::vector<std::string>{"closed:1@635000000"});
}

TEST_CASE(
    "tcp_retransmit: TCP's timer starts at the connection's RTO, doubles up to "
    "TCP_RTO_MAX and gives up after tcp_retries2 = 15 retransmissions, 924.6 s at "
    "TCP_RTO_MIN",
    "[connections]") {
  CHECK(Connections::retransmit_timeout_ns() == 924'600 * k_ms);
  CHECK(Connections::expiry_after_ns(200 * k_ms, 1) == 200 * k_ms);
  CHECK(Connections::expiry_after_ns(200 * k_ms, 10) == 204'600 * k_ms);
  CHECK(Connections::expiry_after_ns(200 * k_ms, 11) == 324'600 * k_ms);  // capped at 120 s
  Connections c(true);
  Connections::Ends ends;
  REQUIRE(c.send(0, 1, ends).outcome == Connections::Outcome::deliver);
  const std::uint32_t gen = c.generation(0, 1);
  // The first message meets the cut at 1 s and is held; the second waits behind it even where
  // the link is up, until the first has arrived.
  const auto first = c.retransmit(0, 1, 0, false, k_s, 0);
  CHECK(first.kind == Connections::Retransmit::Kind::retry);
  CHECK(first.at_ns == k_s + 200 * k_ms);
  const auto second = c.retransmit(0, 1, 0, true, k_s + 1, 0);
  CHECK(second.kind == Connections::Retransmit::Kind::retry);
  CHECK(c.retransmit(0, 1, second.ticket, true, 2 * k_s, 0).kind ==
        Connections::Retransmit::Kind::retry);
  CHECK(c.retransmit(0, 1, first.ticket, true, 2 * k_s, 0).kind ==
        Connections::Retransmit::Kind::deliver);
  CHECK(c.retransmit(0, 1, second.ticket, true, 2 * k_s, 0).kind ==
        Connections::Retransmit::Kind::deliver);
  // Cut for good: the 16th expiry times out; the connection breaks for the sender only.
  const auto held = c.retransmit(0, 1, 0, false, 3 * k_s, 0);
  Connections::Retransmit r = held;
  int expiries = 1;
  while (r.kind == Connections::Retransmit::Kind::retry) {
    r = c.retransmit(0, 1, r.ticket, false, r.at_ns, 0);
    ++expiries;
  }
  CHECK(expiries == 16);
  CHECK(r.at_ns == 3 * k_s + 924'600 * k_ms);
  CHECK(c.time_out(0, 1, gen, r.ticket));
  CHECK_FALSE(c.live(0, 1, gen));
  CHECK_FALSE(c.time_out(0, 1, gen, r.ticket));  // once
}

TEST_CASE(
    "tcp_retransmit: the held messages are part of the connection table's digest, "
    "which the explorer's state hash holds",
    "[connections]") {
  auto digest = [](const Connections& c) {
    Digest d;
    c.digest_into(d, {0, 0});
    return d.value();
  };
  Connections holding(true);
  Connections clear(true);
  for (Connections* c : {&holding, &clear})
    REQUIRE(c->send(0, 1, {}).outcome == Connections::Outcome::deliver);
  REQUIRE(digest(holding) == digest(clear));
  const auto held = holding.retransmit(0, 1, 0, false, k_s, 0);
  const std::uint64_t one_held = digest(holding);
  CHECK(one_held != digest(clear));
  // A second expiry is another state: it brings the time-out nearer.
  holding.retransmit(0, 1, held.ticket, false, held.at_ns, 0);
  CHECK(digest(holding) != one_held);
  CHECK(digest(holding) != digest(clear));
  // Once it has arrived the two tables are one state again.
  REQUIRE(holding.retransmit(0, 1, held.ticket, true, 2 * k_s, 0).kind ==
          Connections::Retransmit::Kind::deliver);
  CHECK(digest(holding) == digest(clear));
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

TEST_CASE("a copy of the connection table answers for itself: what changes in one leaves the other",
          "[connections]") {
  // The table caches where its entries are; a copy (the explorer's snapshots) must look its own
  // up, or a change made through it would land in the original's entries.
  Connections original;
  REQUIRE(original.send(0, 1, Connections::Ends{}).outcome == Connections::Outcome::deliver);
  const std::uint32_t g = original.generation(0, 1);
  CHECK(original.arrival(0, 1, 100) == 100);  // both look-ups now cached in the original
  Connections copy = original;
  CHECK(copy.close(0, 1, true));
  CHECK(copy.arrival(0, 1, 50) == 101);  // FIFO behind the original's arrival, in the copy
  CHECK_FALSE(copy.is_open(0, 1, g));
  CHECK(original.is_open(0, 1, g));
  CHECK(original.live(0, 1, g));
  CHECK(original.arrival(0, 1, 50) == 101);  // the copy's arrival did not move the original's
  Connections assigned;
  assigned = copy;
  CHECK(original.send(0, 1, Connections::Ends{}).outcome == Connections::Outcome::deliver);
  CHECK_FALSE(assigned.is_open(0, 1, g));
}

TEST_CASE("a send's pair handle answers arrival and live as the pair's look-ups do",
          "[connections]") {
  Connections c;
  const Connections::Verdict v = c.send(1, 0, Connections::Ends{});
  REQUIRE(v.outcome == Connections::Outcome::deliver);
  // Both directions of the pair go through the one entry: b → a, then a → b, then b → a again.
  CHECK(c.arrival(v.pair, 1, 0, 100) == 100);
  CHECK(c.arrival(0, 1, 100) == 100);
  CHECK(c.arrival(v.pair, 1, 0, 50) == 101);  // FIFO behind the handle's first arrival
  CHECK(c.arrival(1, 0, 50) == 102);
  CHECK(c.live(v.pair, v.generation));
  CHECK_FALSE(c.live(v.pair, v.generation + 1));
  REQUIRE(c.close(1, 0, true));
  CHECK(c.live(v.pair, v.generation) == c.live(1, 0, v.generation));
  CHECK_FALSE(c.live(Connections::Handle{}, v.generation));  // no pair: a node's own message
}
