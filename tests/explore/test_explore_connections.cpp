// The exploration engine gives connections the kernel's semantics (sim/net/connections.hpp,
// tests/core/test_connections.cpp): a crash closes the node's connections and the peer's `closed`
// arrives behind what was in flight; a connect to a dead process is refused; a loss of power is
// silent; streams are FIFO under every schedule; an injected drop resets a stream's connection
// and only datagrams are duplicated; snapshots and the state hash hold the connection table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <map>
#include <optional>

#include "sim/core/chooser.hpp"
#include "sim/explore/engine.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/common/toy_nodes.hpp"

using namespace stampede;
using namespace stampede::explore;
using stampede::test::Sender;

namespace {

Message stream_msg(std::uint32_t type) { return Message{type, 64, 0, 0, 0, nullptr}; }

Message datagram_msg(std::uint32_t type) {
  Message m = stream_msg(type);
  m.transport = Transport::datagram;
  return m;
}

// Picks by a function of the options; records every option list it saw.
class FnScheduler final : public Scheduler {
 public:
  using Fn = std::function<std::size_t(const ExploreEngine&, const std::vector<Option>&)>;
  explicit FnScheduler(Fn fn = {}) : fn_(std::move(fn)) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    seen.push_back(options);
    return fn_ ? fn_(engine, options) : 0;
  }
  std::vector<std::vector<Option>> seen;

 private:
  Fn fn_;
};

// Two Senders, "a" (0) and "b" (1), on a fixed 3 ms network, on the exploration engine.
struct Pair {
  SeededChooser chooser{1};
  FnScheduler sched;
  std::unique_ptr<ExploreEngine> e;
  Sender* a = nullptr;
  Sender* b = nullptr;
  explicit Pair(FnScheduler::Fn fn = {}, int max_faults = 0,
                std::uint32_t kinds = k_all_inject_kinds, bool retransmit = false)
      : sched(std::move(fn)) {
    ExploreOptions o;
    o.mechanisms[std::string(k_tcp_retransmit)] = retransmit;
    o.network.latency.fixed_ns = 3 * k_ms;
    o.max_faults = max_faults;
    o.inject_kinds = kinds;
    e = std::make_unique<ExploreEngine>(std::move(o), chooser, sched);
    auto x = std::make_unique<Sender>();
    auto y = std::make_unique<Sender>();
    a = x.get();
    b = y.get();
    e->add_node("a", std::move(x));
    e->add_node("b", std::move(y));
  }
};

std::size_t find_option(const std::vector<Option>& options, const ExploreEngine& e,
                        const std::string& text) {
  for (std::size_t i = 0; i < options.size(); ++i)
    if (e.describe(options[i]) == text) return i;
  return options.size();
}

bool has_option(const std::vector<Option>& options, StepKind kind, NodeId node) {
  return std::any_of(options.begin(), options.end(), [&](const Option& o) {
    return !o.injected && o.kind == kind && o.node == node;
  });
}

std::uint32_t kind_bit(InjectKind k) { return 1u << static_cast<unsigned>(k); }

}  // namespace

TEST_CASE("explore: a crashed node's peer gets closed as an option, behind what was in flight",
          "[connections]") {
  for (bool injected : {false, true}) {
    // Injected: the explorer crashes b as soon as both have started; scripted: a fault at 1 ms.
    bool crashed = false;
    Pair p(
        [&](const ExploreEngine& e, const std::vector<Option>& options) -> std::size_t {
          if (!injected || crashed || e.steps() < 2) return 0;
          crashed = true;
          std::size_t i = find_option(options, e, "crash b (injected)");
          REQUIRE(i < options.size());
          return i;
        },
        injected ? 1 : 0, kind_bit(InjectKind::crash));
    p.b->on_start_fn = [](Ctx& ctx) {
      ctx.send(0, stream_msg(5));
      ctx.send(0, stream_msg(6));
    };
    if (!injected) p.e->at(1 * k_ms, StepKind::fault, [&] { p.e->crash(1); });
    p.e->run_until(k_s);
    INFO("injected " << injected);
    // Each message arrives a nanosecond after the one before it on the connection (FIFO); the
    // `closed` one latency after the crash (the scripted one at 1 ms, the injected one at 0).
    const std::string closed_at = injected ? "closed:1@3000002" : "closed:1@4000000";
    CHECK(p.a->got == std::vector<std::string>{"5@3000000", "6@3000001", closed_at});
    // While a message from b was pending, the `closed` was never an option.
    bool closed_seen = false;
    for (const auto& options : p.sched.seen) {
      for (const Option& o : options)
        if (!o.injected && o.kind == StepKind::connection) {
          closed_seen = true;
          CHECK_FALSE(has_option(options, StepKind::deliver, 0));
        }
    }
    CHECK(closed_seen);
  }
}

TEST_CASE("explore: a send to a node whose process is down is refused", "[connections]") {
  Pair p;
  p.a->on_start_fn = [](Ctx& ctx) { ctx.set_timer(2 * k_ms, 1); };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t) { ctx.send(1, stream_msg(7)); };
  p.e->at(1 * k_ms, StepKind::fault, [&] { p.e->crash(1); });
  p.e->run_until(k_s);
  // One round trip after the send at 2 ms, as in the kernel.
  CHECK(p.a->got == std::vector<std::string>{"refused:1@8000000"});
  CHECK(p.b->got.empty());
}

TEST_CASE("explore: a loss of power is silent, and power on restarts with no connection",
          "[connections]") {
  // The kernel's case (tests/core/test_connections.cpp), with the same times.
  Pair p;
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(20 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
  };
  std::optional<bool> up_without_power;
  p.e->at(5 * k_ms, StepKind::fault, [&] { p.e->power_off(1); });
  p.e->at(6 * k_ms, StepKind::fault, [&] { p.e->restart(1); });  // no power: nothing boots
  p.e->at(7 * k_ms, StepKind::check, [&] { up_without_power = p.e->is_up(1); });
  p.e->at(10 * k_ms, StepKind::fault, [&] { p.e->power_on(1); });
  p.e->run_until(k_s);
  CHECK(up_without_power == false);
  // The send at 20 ms meets the restarted process, which has no connection: a reset, and the
  // message is lost; the one at 30 ms opens a new connection.
  CHECK(p.a->got == std::vector<std::string>{"closed:1@26000000"});
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "3@33000000"});
}

TEST_CASE("explore: an injected drop of a stream message resets its connection", "[connections]") {
  bool dropped = false;
  Pair p(
      [&](const ExploreEngine& e, const std::vector<Option>& options) -> std::size_t {
        if (dropped || e.steps() < 2) return 0;
        dropped = true;
        std::size_t i = find_option(options, e, "drop b -> a msg (injected)");
        REQUIRE(i < options.size());
        return i;
      },
      1, kind_bit(InjectKind::drop) | kind_bit(InjectKind::duplicate));
  p.b->on_start_fn = [](Ctx& ctx) {
    ctx.send(0, stream_msg(1));
    ctx.send(0, stream_msg(2));
  };
  p.a->on_start_fn = [](Ctx& ctx) { ctx.send(1, stream_msg(7)); };
  p.e->run_until(k_s);
  // Message 2 was sent behind the lost one and is lost with it; a reads the reset one latency
  // after the drop (at 0), behind the arrival times the two lost messages had taken (times on a
  // connection only grow), and b one round trip after it, behind a's message in flight.
  CHECK(p.a->got == std::vector<std::string>{"closed:1@3000002"});
  CHECK(p.b->got == std::vector<std::string>{"7@3000000", "closed:0@6000000"});
  // No duplicate was ever offered: every message here is a stream.
  for (const auto& options : p.sched.seen)
    for (const Option& o : options) CHECK_FALSE((o.injected && o.inject == InjectKind::duplicate));
}

TEST_CASE("explore: only datagrams are duplicated, drops are offered for both", "[connections]") {
  std::vector<std::string> offered;
  Pair p(
      [&](const ExploreEngine& e, const std::vector<Option>& options) -> std::size_t {
        if (offered.empty() && e.steps() == 2)
          for (const Option& o : options)
            if (o.injected) offered.push_back(e.describe(o));
        return 0;
      },
      1, kind_bit(InjectKind::drop) | kind_bit(InjectKind::duplicate));
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.send(1, datagram_msg(2));
  };
  p.e->run_until(k_s);
  std::sort(offered.begin(), offered.end());
  // Only the head of the stream is offered, and Sender names every message type "msg".
  CHECK(offered == std::vector<std::string>{"drop a -> b msg (injected)",
                                            "drop a -> b msg (injected)",
                                            "duplicate a -> b msg (injected)"});
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "2@3000000"});
}

TEST_CASE("explore: only the head of a connection is an option, whatever the due times",
          "[connections]") {
  // Three messages on one connection and a timer: every schedule a picker can take delivers
  // them in order. The picker always takes the last option (the latest due).
  Pair p([](const ExploreEngine&, const std::vector<Option>& options) {
    std::size_t events = 0;
    while (events < options.size() && !options[events].injected) ++events;
    return events - 1;
  });
  p.a->on_start_fn = [](Ctx& ctx) {
    for (std::uint32_t t = 1; t <= 3; ++t) ctx.send(1, stream_msg(t));
    ctx.send(1, datagram_msg(9));
  };
  p.e->run_until(k_s);
  std::vector<std::string> types;
  for (const auto& g : p.b->got) types.push_back(g.substr(0, g.find('@')));
  // The datagram may overtake; the stream never reorders.
  CHECK(types == std::vector<std::string>{"9", "1", "2", "3"});
  for (const auto& options : p.sched.seen) {
    int stream_deliveries = 0;
    for (const Option& o : options)
      if (!o.injected && o.kind == StepKind::deliver && o.msg_type != 9) ++stream_deliveries;
    CHECK(stream_deliveries <= 1);
  }
}

TEST_CASE("explore: the state hash tells apart two orders of one connection's queue",
          "[connections]") {
  // a's two timers (same due time) send X and Y to b: taken in either order, the worlds differ
  // only in the order of b's queue, which decides what b can receive first. For datagrams the
  // queue is a multiset and the two worlds are one state.
  for (Transport t : {Transport::stream, Transport::datagram}) {
    std::vector<std::uint64_t> hashes;
    for (std::size_t first : {0, 1}) {
      Pair p([&](const ExploreEngine& e, const std::vector<Option>&) -> std::size_t {
        return e.steps() == 2 ? first : 0;
      });
      p.a->on_start_fn = [](Ctx& ctx) {
        ctx.set_timer(1 * k_ms, 1);
        ctx.set_timer(1 * k_ms, 2);
      };
      p.a->on_timer_fn = [t](Ctx& ctx, std::uint64_t tag) {
        Message m = stream_msg(static_cast<std::uint32_t>(tag));
        m.transport = t;
        ctx.send(1, m);
      };
      std::uint64_t h = 0;
      p.e->at(2 * k_ms, StepKind::check, [&] { h = p.e->state_hash(); });
      p.e->run_until(2 * k_ms);
      hashes.push_back(h);
    }
    INFO("stream " << (t == Transport::stream));
    CHECK((hashes[0] != hashes[1]) == (t == Transport::stream));
  }
}

namespace {

// A Sender that can clone itself, for snapshots.
struct CloningSender final : Node {
  std::function<void(Ctx&)> on_start_fn;
  std::vector<std::string> got;
  void on_start(Ctx& ctx) override {
    if (on_start_fn) on_start_fn(ctx);
  }
  void on_message(Ctx& ctx, NodeId, const Message& m) override {
    got.push_back(fmt::format("{}@{}", m.type, ctx.now()));
  }
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent e) override {
    got.push_back(fmt::format("{}:{}@{}", connection_event_name(e), peer, ctx.now()));
  }
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override {
    Digest d;
    for (const auto& g : got) d.add(g);
    return d.value();
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<CloningSender>(*this); }
};

}  // namespace

TEST_CASE("explore: a snapshot holds the connection table, and restoring it replays the same run",
          "[connections]") {
  // a sends 1 and 2 to b, b sends 3 to a; b crashes at 1 ms, which queues a's `closed` behind 3.
  // The state just after the crash is saved and restored once the run has ended: the table must
  // come back with a awaiting its `closed` (at the end of the run the pair has no connection), or
  // the `closed` would be dropped as dead and the second run would differ.
  SeededChooser chooser{1};
  std::shared_ptr<ExploreEngine::Snapshot> saved;
  std::uint64_t saved_hash = 0;
  FnScheduler sched([&](const ExploreEngine& e, const std::vector<Option>&) -> std::size_t {
    if (!saved && e.steps() == 3) {
      saved = e.save();
      saved_hash = e.state_hash();
    }
    return 0;
  });
  // The nodes are read through the engine: a restore swaps them for clones.
  auto got = [](const ExploreEngine& e) {
    std::vector<std::string> all = static_cast<const CloningSender&>(e.node(0)).got;
    for (const auto& g : static_cast<const CloningSender&>(e.node(1)).got) all.push_back(g);
    return all;
  };
  std::vector<std::vector<std::string>> runs;
  std::vector<std::uint64_t> end_hashes;
  ExploreOptions o;
  o.network.latency.fixed_ns = 3 * k_ms;
  o.on_leaf = [&](ExploreEngine& e) {
    runs.push_back(got(e));
    end_hashes.push_back(e.state_hash());
    if (runs.size() > 1) return false;
    REQUIRE(e.restore(*saved));
    CHECK(e.state_hash() == saved_hash);
    return true;
  };
  ExploreEngine e(std::move(o), chooser, sched);
  auto x = std::make_unique<CloningSender>();
  auto y = std::make_unique<CloningSender>();
  x->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.send(1, stream_msg(2));
  };
  y->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(3)); };
  e.add_node("a", std::move(x));
  e.add_node("b", std::move(y));
  e.at(1 * k_ms, StepKind::fault, [&] { e.crash(1); });
  e.run_until(k_s);
  REQUIRE(saved);
  REQUIRE(runs.size() == 2);
  // What a sent died with b; b's message was in flight and arrives before the `closed`.
  CHECK(runs[0] == std::vector<std::string>{"3@3000000", "closed:1@4000000"});
  CHECK(runs[1] == runs[0]);
  CHECK(end_hashes[1] == end_hashes[0]);
  CHECK(saved_hash != end_hashes[0]);
}

namespace {

// The toy for whole searches: N talkers in a ring. At every start a talker sends K numbered
// messages to the next one (a stream, or datagrams with the switch), and each talker acks every
// message it receives back to its sender, following the last ack with a "done". A sender that
// has its last ack closes the connection, so the done races with the `closed`: delivered before
// the `closed` reaches the acking talker, or lost with the connection after it (steps of two
// nodes that depend on each other only through their connection). A talker notes a message or
// ack (or done) that arrives after a later one of the same sender's incarnation: what FIFO
// rules out.
constexpr std::uint32_t k_msg = 1;
constexpr std::uint32_t k_ack = 2;
constexpr std::uint32_t k_done = 3;

struct Talker final : Node {
  bool datagrams = false;
  std::int64_t burst = 0;
  std::int64_t starts = 0;
  std::vector<std::string> log;
  std::map<std::array<std::int64_t, 4>, std::int64_t> last;  // (from, type, a, c) -> last b
  bool reordered = false;

  void send(Ctx& ctx, NodeId to, Message m) const {
    if (datagrams) m.transport = Transport::datagram;
    ctx.send(to, std::move(m));
  }
  void on_start(Ctx& ctx) override {
    ++starts;
    const NodeId next = static_cast<NodeId>((ctx.self() + 1) % ctx.timing("conn_toy_nodes"));
    for (std::int64_t j = 1; j <= burst; ++j) send(ctx, next, Message{k_msg, 64, starts, j, 0, {}});
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    log.push_back(fmt::format("{}:{}:{}:{}:{}", m.type, from, m.a, m.b, m.c));
    // The done counts as the ack after the last one: it must not overtake it.
    const std::int64_t group = m.type == k_done ? k_ack : m.type;
    std::int64_t& prev = last[{from, group, m.a, m.c}];
    if (m.b <= prev) reordered = true;
    prev = m.b;
    if (m.type == k_msg) {
      send(ctx, from, Message{k_ack, 64, starts, m.b, m.a, {}});
      if (m.b == burst) send(ctx, from, Message{k_done, 64, starts, m.b + 1, m.a, {}});
    }
    if (m.type == k_ack && m.b == burst) ctx.close_connection(from);
  }
  void on_connection(Ctx&, NodeId peer, ConnectionEvent e) override {
    log.push_back(fmt::format("{}:{}", connection_event_name(e), peer));
  }
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::optional<std::int64_t> probe(std::string_view key, std::string_view) const override {
    if (key == "reordered") return reordered ? 1 : 0;
    return std::nullopt;
  }
  std::uint64_t state_digest() const override {
    Digest d;
    d.add(starts).add(reordered ? 1u : 0u);
    for (const auto& l : log) d.add(l);
    return d.value();
  }
  std::unique_ptr<Node> clone() const override { return std::make_unique<Talker>(*this); }
};

const Registry& toy_registry() {
  static const Registry reg = [] {
    Registry r;
    r.add_model({"conn_toy", [](const ScenarioSpec& spec, WorldBuilder& world) {
                   const std::int64_t n = spec.cluster.timing.at("conn_toy_nodes");
                   for (std::int64_t i = 1; i <= n; ++i) {
                     auto t = std::make_unique<Talker>();
                     t->burst = spec.cluster.timing.at("conn_toy_msgs");
                     auto dg = spec.cluster.mechanisms.find("conn_toy_datagrams");
                     t->datagrams = dg != spec.cluster.mechanisms.end() && dg->second;
                     world.add_node(fmt::format("talker-{}", i), std::move(t));
                   }
                 }});
    r.add_timing({"conn_toy_nodes", TimingUnit::count, 2, "test toy", "talkers in the ring"});
    r.add_timing({"conn_toy_msgs", TimingUnit::count, 2, "test toy", "messages per start"});
    r.add_mechanism({"conn_toy_datagrams", "the talkers send datagrams, not streams", false});
    r.add_invariant({"conn_toy.reordered", "a talker received a message after a later one",
                     [](const WorldView& w) -> std::optional<std::string> {
                       if (w.probe_sum("talker-*", "reordered", "") != 0)
                         return std::string("a talker received out of order");
                       return std::nullopt;
                     },
                     {"talker-*"}});
    return r;
  }();
  return reg;
}

ScenarioSpec toy_spec(int nodes, int msgs, bool datagrams) {
  const std::string text = fmt::format(
      "name: conn-toy\n"
      "duration: 1s\n"
      "cluster:\n"
      "  network: {{latency: {{min: 1ms, max: 3ms}}}}\n"
      "  timing: {{conn_toy_nodes: {}, conn_toy_msgs: {}}}\n"
      "  mechanisms: {{conn_toy_datagrams: {}}}\n"
      "expect:\n"
      "  - {{never: conn_toy.reordered}}\n",
      nodes, msgs, datagrams ? "true" : "false");
  return parse_scenario_with_overrides(text, "conn-toy.yaml", {}, toy_registry());
}

const std::function<bool()> k_never_stop = [] { return false; };

}  // namespace

TEST_CASE("explore: dfs finds no reordering on streams with crashes, restarts and drops, and "
          "finds one on datagrams",
          "[connections]") {
  for (bool datagrams : {false, true}) {
    Settings s;
    s.max_faults = 1;
    s.inject_kinds = kind_bit(InjectKind::crash) | kind_bit(InjectKind::restart) |
                     kind_bit(InjectKind::drop);
    ScenarioSpec spec = toy_spec(3, 1, datagrams);
    Report rep = Explorer(spec, toy_registry(), s).search(Strategy::dfs, k_never_stop);
    INFO("datagrams " << datagrams);
    if (datagrams) {
      REQUIRE(rep.first_violation.has_value());
      CHECK(rep.first_violation->violation->property == "{never: conn_toy.reordered}");
    } else {
      CHECK_FALSE(rep.first_violation.has_value());
      CHECK(rep.exhausted);
      CHECK(rep.distinct_states > 100);
    }
  }
}

TEST_CASE("explore: sleep sets and dpor reach the verdicts and terminal states of the unreduced "
          "dfs when steps share connections",
          "[connections]") {
  // Two talkers share one connection, which every step touches from both ends: nothing is
  // independent there, and the reduced searches are the full one. Three talkers in a ring have
  // steps that touch different connections. Each case fails if steps of two nodes that share a
  // connection are taken as independent (sleep sets and dpor then miss terminal states), and the
  // three-talker cases without faults and with drops fail if dpor leaves a disabled option
  // asleep (DfsState::check_disabled).
  struct Case {
    int nodes, msgs;
    bool datagrams;
    int max_faults;
    std::vector<std::string> kinds;
    bool reduces;
  };
  for (const Case& c : {Case{3, 1, false, 0, {}, true},
                        Case{3, 1, false, 1, {"drop"}, true},
                        Case{3, 1, false, 1, {"crash", "restart"}, true},
                        Case{2, 2, false, 1, {"crash", "restart", "drop"}, false},
                        Case{2, 2, true, 0, {}, true}}) {
    ScenarioSpec spec = toy_spec(c.nodes, c.msgs, c.datagrams);
    Settings plain;
    plain.stop_at_first = false;
    plain.reduction = false;
    plain.max_faults = c.max_faults;
    if (!c.kinds.empty()) plain.inject_kinds = inject_kinds_from_names(c.kinds).value();
    Report full = Explorer(spec, toy_registry(), plain).search(Strategy::dfs, k_never_stop);
    REQUIRE(full.exhausted);
    for (bool dpor : {false, true}) {
      Settings s = plain;
      s.reduction = true;
      s.dpor = dpor;
      Report reduced = Explorer(spec, toy_registry(), s).search(Strategy::dfs, k_never_stop);
      INFO("nodes " << c.nodes << " msgs " << c.msgs << " datagrams " << c.datagrams
                    << " max_faults " << c.max_faults << " dpor " << dpor);
      REQUIRE(reduced.exhausted);
      CHECK(reduced.verdicts == full.verdicts);
      CHECK(reduced.terminal_states == full.terminal_states);
      CHECK((reduced.runs < full.runs) == c.reduces);
      CHECK(reduced.runs <= full.runs);
      if (dpor) {
        // The re-running search (footprints of a run's last step come from its result) explores
        // exactly what the restoring one does.
        Settings rerun = s;
        rerun.snapshots = false;
        Report again = Explorer(spec, toy_registry(), rerun).search(Strategy::dfs, k_never_stop);
        CHECK(again.runs == reduced.runs);
        CHECK(again.distinct_states == reduced.distinct_states);
        CHECK(again.races == reduced.races);
      }
    }
  }
}

TEST_CASE("explore: a crashed node's peer reads closed after its exit teardown and a latency",
          "[connections]") {
  for (DurationNs teardown_ns : {DurationNs{0}, 10 * k_ms}) {
    Pair p;
    p.b->teardown_ns = teardown_ns;
    p.b->on_start_fn = [](Ctx& ctx) { ctx.send(0, stream_msg(5)); };
    p.e->at(1 * k_ms, StepKind::fault, [&] { p.e->crash(1); });
    p.e->run_until(k_s);
    INFO("teardown " << teardown_ns);
    REQUIRE(p.a->got == std::vector<std::string>{
                            "5@3000000", fmt::format("closed:1@{}", 4 * k_ms + teardown_ns)});
  }
}

TEST_CASE("explore: exit_process cancels the node's timers but those it keeps", "[connections]") {
  Pair p;
  int fired = 0;
  p.b->on_start_fn = [](Ctx& ctx) {
    ctx.set_timer(500 * k_ms, 1);
    ctx.set_timer(600 * k_ms, 2);
    ctx.set_timer(10 * k_ms, 4);
  };
  p.b->on_timer_fn = [&](Ctx& ctx, std::uint64_t tag) {
    if (tag == 4) return ctx.exit_process([](std::uint64_t t) { return t == 2; });
    fired += tag == 1 ? 1 : 10;
  };
  p.e->run_until(k_s);
  REQUIRE(fired == 10);
}

TEST_CASE(
    "explore: tcp_retransmit holds what a partition cuts off until the first "
    "retransmission after the heal, or times the connection out, as the kernel does",
    "[connections]") {
  // The kernel's toys (tests/core/test_connections.cpp), in time order.
  for (TimeNs heal_ns : {2005 * k_ms, 1005 * k_s}) {
    Pair p({}, 0, k_all_inject_kinds, true);
    p.a->on_start_fn = [](Ctx& ctx) {
      ctx.send(1, stream_msg(1));
      ctx.set_timer(10 * k_ms, 2);
      ctx.set_timer(20 * k_ms, 3);
      ctx.set_timer(1010 * k_s, 5);
    };
    p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
      ctx.send(1, stream_msg(static_cast<std::uint32_t>(tag)));
    };
    p.e->at(5 * k_ms, StepKind::fault, [&] { p.e->network().partition({{0}, {1}}); });
    p.e->at(heal_ns, StepKind::fault, [&] { p.e->network().heal_all(); });
    p.e->run_until(1020 * k_s);
    INFO("heal at " << heal_ns);
    if (heal_ns < k_s * 3) {
      CHECK(p.b->got == std::vector<std::string>{"1@3000000", "2@3106000000", "3@3106000001",
                                                 "5@1010003000000"});
      CHECK(p.a->got.empty());
    } else {
      CHECK(p.a->got == std::vector<std::string>{"closed:1@930751000000"});
      CHECK(p.b->got == std::vector<std::string>{"1@3000000", "closed:0@1010003000000"});
    }
  }
}

TEST_CASE(
    "explore: with tcp_retransmit a FIN sent after the heal waits behind the data still "
    "held, and is no option before it",
    "[connections]") {
  Pair p({}, 0, k_all_inject_kinds, true);
  p.a->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, stream_msg(1));
    ctx.set_timer(10 * k_ms, 2);
    ctx.set_timer(400 * k_ms, 3);
  };
  p.a->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    if (tag == 2) return ctx.send(1, stream_msg(2));
    ctx.close_connection(1);
  };
  p.e->at(5 * k_ms, StepKind::fault, [&] { p.e->network().partition({{0}, {1}}); });
  p.e->at(300 * k_ms, StepKind::fault, [&] { p.e->network().heal_all(); });
  p.e->run_until(2 * k_s);
  CHECK(p.b->got == std::vector<std::string>{"1@3000000", "2@634000000", "closed:0@634000001"});
  // While 2 was pending, b's `closed` was never an option.
  for (const auto& options : p.sched.seen)
    if (has_option(options, StepKind::deliver, 1))
      CHECK_FALSE(has_option(options, StepKind::connection, 1));
}
