// The child side of the connection tests (test_connections.cpp): each toy runs the same script
// on the kernel and then on SimGrid, in one process (only SimGrid is limited to one run per
// process), and prints what every node received, `kernel.NODE=...` and `simgrid.NODE=...`, and
// the connection steps each engine recorded, `ENGINE.steps=NODE<PEER:EVENT@TIME,...`.
#include <cstdio>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>

#include "sim/kernel/kernel.hpp"
#include "sim/net/network.hpp"
#include "sim/simgrid/simgrid_engine.hpp"
#include "tests/common/toy_nodes.hpp"
#include "tests/simgrid/child.hpp"

namespace stampede::test {

namespace {

Message stream_msg(std::uint32_t type, std::uint32_t size_bytes = 64) {
  return Message{type, size_bytes, 0, 0, 0, nullptr};
}

Message datagram_msg(std::uint32_t type) {
  Message m = stream_msg(type);
  m.transport = Transport::datagram;
  return m;
}

// Records the connection steps an engine reports to its observers (what traces are made of).
struct ConnectionSteps final : StepObserver {
  std::vector<std::string> seen;
  void on_step(const StepInfo& s) override {
    if (s.kind != StepKind::connection) return;
    const auto event = static_cast<ConnectionEvent>(s.detail);
    seen.push_back(fmt::format("{}<{}:{}@{}", s.node, s.from, connection_event_name(event),
                               s.time_ns));
  }
};

struct Toy {
  int nodes = 2;  // Senders "a", "b", "c"... with ids 0, 1, 2...
  std::function<void(NetworkSpec&)> network;  // changes to a fixed 3 ms network
  std::function<void(Engine&, const std::vector<Sender*>&)> script;
  TimeNs until_ns = k_s;    // how long it runs
  bool retransmit = false;  // the mechanism tcp_retransmit (sim/net/connections.hpp)
};

void run_on(Engine& e, const std::string& engine, const Toy& toy) {
  std::vector<Sender*> senders;
  for (int i = 0; i < toy.nodes; ++i) {
    auto s = std::make_unique<Sender>();
    senders.push_back(s.get());
    e.add_node(std::string(1, static_cast<char>('a' + i)), std::move(s));
  }
  ConnectionSteps steps;
  e.add_observer(&steps);
  toy.script(e, senders);
  e.run_until(toy.until_ns);
  for (int i = 0; i < toy.nodes; ++i)
    std::printf("%s.%c=%s\n", engine.c_str(), 'a' + i,
                fmt::format("{}", fmt::join(senders[i]->got, ",")).c_str());
  std::printf("%s.steps=%s\n", engine.c_str(), fmt::format("{}", fmt::join(steps.seen, ",")).c_str());
}

// b sends to a at 0 and crashes at 1 ms.
void crash(Engine& e, const std::vector<Sender*>& n) {
  n[1]->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(5)); };
  e.at(1 * k_ms, StepKind::fault, [&e] { e.crash(1); });
}

// As `crash`, and c sends a 1.25 MB message (10 ms at 1 Gbps) to a at 0 and crashes at 1 ms.
void crash_big(Engine& e, const std::vector<Sender*>& n) {
  crash(e, n);
  n[2]->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(6, 1'250'000)); };
  e.at(1 * k_ms, StepKind::fault, [&e] { e.crash(2); });
}

// a connects to b at 2 ms; b's process died at 1 ms.
void refused(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) { ctx.set_timer(2 * k_ms, 1); };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t) { ctx.send(1, stream_msg(7)); };
  e.at(1 * k_ms, StepKind::fault, [&e] { e.crash(1); });
}

// a sends to b at 0, 20 and 30 ms; b loses power at 5 ms and gets it back at 10 ms (a restart
// at 6 ms, without power, boots nothing).
void power(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(20 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
  };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  e.at(5 * k_ms, StepKind::fault, [&e] { e.power_off(1); });
  e.at(6 * k_ms, StepKind::fault, [&e] { e.restart(1); });
  e.at(10 * k_ms, StepKind::fault, [&e] { e.power_on(1); });
}

// b sends to a at 0 and loses power at 1 ms, its message still in flight.
void power_in_flight(Engine& e, const std::vector<Sender*>& n) {
  n[1]->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(5)); };
  e.at(1 * k_ms, StepKind::fault, [&e] { e.power_off(1); });
}

// a sends to b and closes the connection (twice) at 0.
void close(Engine&, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.close_connection(1);
    ctx.close_connection(1);
  };
}

// As `close`, and a loses power at 1 ms, its message and FIN on the wire.
void power_after_close(Engine& e, const std::vector<Sender*>& n) {
  close(e, n);
  e.at(1 * k_ms, StepKind::fault, [&e] { e.power_off(0); });
}

// Every message is dropped: a's first send resets the connection it opens.
void drop(Engine&, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) { ctx.send(1, stream_msg(1)); };
}

// Every message is duplicated: a stream message arrives once, a datagram twice.
void duplicate(Engine&, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.send(1, datagram_msg(2));
  };
}

// a sends to b at 0, 10 and 30 ms; a and b are cut apart from 5 to 20 ms.
void partition(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
  };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  e.at(5 * k_ms, StepKind::fault, [&e] { e.network().partition({{0}, {1}}); });
  e.at(20 * k_ms, StepKind::fault, [&e] { e.network().heal_all(); });
}

// a opens a connection to b at 0; b crashes at 1 ms, and its FIN meets the cut that separates
// them from 2 to 10 ms; b restarts at 5 ms; a sends again at 20 and 30 ms.
void lost_fin(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(20 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
  };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  e.at(1 * k_ms, StepKind::fault, [&e] { e.crash(1); });
  e.at(2 * k_ms, StepKind::fault, [&e] { e.network().partition({{0}, {1}}); });
  e.at(5 * k_ms, StepKind::fault, [&e] { e.restart(1); });
  e.at(10 * k_ms, StepKind::fault, [&e] { e.network().heal_all(); });
}

// a sends 1.25 MB, then 64 bytes, then 0 bytes to b, and closes the connection, all at 0.
void fifo(Engine&, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1, 1'250'000));
    ctx.send(1, stream_msg(2, 64));
    ctx.send(1, stream_msg(3, 0));
    ctx.close_connection(1);
  };
}

// tcp_retransmit: a sends to b at 0, 10, 20 and 2100 ms; they are cut apart from 5 to 2005 ms.
// 2 and 3 wait for a's retransmission after the heal, 4 behind them.
void retransmit(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(20 * k_ms, 3);
    ctx.set_timer(2100 * k_ms, 4);
  };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  e.at(5 * k_ms, StepKind::fault, [&e] { e.network().partition({{0}, {1}}); });
  e.at(2005 * k_ms, StepKind::fault, [&e] { e.network().heal_all(); });
}

// tcp_retransmit: as `retransmit`, but the cut lasts from 5 ms to 1005 s; a sends 2 at 10 ms
// and 5 at 1010 s.
void retransmit_timeout(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(1010 * k_s, 5);
  };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  e.at(5 * k_ms, StepKind::fault, [&e] { e.network().partition({{0}, {1}}); });
  e.at(1005 * k_s, StepKind::fault, [&e] { e.network().heal_all(); });
}

// tcp_retransmit: a sends 2 to b at 10 ms across a cut from 5 to 300 ms, and closes the
// connection at 400 ms, while 2 is still held.
void retransmit_fin(Engine& e, const std::vector<Sender*>& n) {
  n[0]->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(400 * k_ms, 3);
  };
  n[0]->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    if (tag == 2) return ctx.send(1, stream_msg(2));
    ctx.close_connection(1);
  };
  e.at(5 * k_ms, StepKind::fault, [&e] { e.network().partition({{0}, {1}}); });
  e.at(300 * k_ms, StepKind::fault, [&e] { e.network().heal_all(); });
}

const std::map<std::string, Toy>& toys() {
  static const std::map<std::string, Toy> all = {
      {"crash", {2, nullptr, crash}},
      {"crash-big", {3, nullptr, crash_big}},
      {"refused", {2, nullptr, refused}},
      {"power", {2, nullptr, power}},
      {"power-in-flight", {2, nullptr, power_in_flight}},
      {"close", {2, nullptr, close}},
      {"power-after-close", {2, nullptr, power_after_close}},
      {"drop", {2, [](NetworkSpec& n) { n.drop = 1.0; }, drop}},
      {"duplicate", {2, [](NetworkSpec& n) { n.duplicate = 1.0; }, duplicate}},
      {"partition", {2, nullptr, partition}},
      {"lost-fin", {2, nullptr, lost_fin}},
      {"fifo", {2, nullptr, fifo}},
      {"retransmit", {2, nullptr, retransmit, 4 * k_s, true}},
      {"retransmit-fin", {2, nullptr, retransmit_fin, 2 * k_s, true}},
      {"retransmit-timeout", {2, nullptr, retransmit_timeout, 1020 * k_s, true}},
  };
  return all;
}

}  // namespace

int run_connection_toy(const std::string& name) {
  auto it = toys().find(name);
  if (it == toys().end()) return 2;
  const Toy& toy = it->second;
  EngineOptions options;
  options.network.latency.fixed_ns = 3 * k_ms;
  if (toy.network) toy.network(options.network);
  options.mechanisms[std::string(k_tcp_retransmit)] = toy.retransmit;
  {
    Kernel kernel(options);
    run_on(kernel, "kernel", toy);
  }
  SimgridEngine::Options sg_options;
  static_cast<EngineOptions&>(sg_options) = options;
  SimgridEngine simgrid(sg_options);
  run_on(simgrid, "simgrid", toy);
  return 0;
}

}  // namespace stampede::test
