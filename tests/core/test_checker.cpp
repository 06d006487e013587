// sim/check: the expectation forms of docs/scenario-contract.md on a toy world whose state is known exactly.
#include <catch2/catch.hpp>

#include "sim/check/checker.hpp"
#include "sim/kernel/kernel.hpp"

using namespace stampede;

namespace {

// An "agent" whose running count of service "s/web" follows a script: 2 until 10s, 1 from 10s
// to 20s, 2 again from 20s. A "server" reports host_state of agent-1 reconnecting between 5s and
// 15s. A client samples requests: ok except between 10s and 12s.
struct Toy final : Node {
  bool is_agent;
  int running = 2;
  std::int64_t host_state = 0;
  SeriesId requests = 0;
  explicit Toy(bool agent) : is_agent(agent) {}
  void on_start(Ctx& ctx) override {
    requests = ctx.intern("requests:s/lb");
    ctx.set_timer(0, 0);
  }
  void on_message(Ctx&, NodeId, const Message&) override {}
  void on_timer(Ctx& ctx, std::uint64_t) override {
    TimeNs t = ctx.now();
    if (is_agent) {
      running = (t >= 10 * k_s && t < 20 * k_s) ? 1 : 2;
      ctx.sample(requests, (t >= 10 * k_s && t < 12 * k_s) ? 0 : 1);
      if (t == 7 * k_s) ctx.log(LogLevel::info, "hello from the agent");
      if (t == 8 * k_s) ctx.signal("toy.event");
    } else {
      host_state = (t >= 5 * k_s && t < 15 * k_s) ? 1 : 0;
    }
    ctx.set_timer(k_s, 0);
  }
  void on_crash() override {}
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override {
    if (is_agent && key == "running" && arg == "s/web") return running;
    if (!is_agent && key == "host_state" && arg == "agent-1") return host_state;
    return std::nullopt;
  }
  std::uint64_t state_digest() const override { return static_cast<std::uint64_t>(running); }
};

ExpectSpec expect(ExpectForm form, ExpectWhat what, std::string subject) {
  ExpectSpec e;
  e.form = form;
  e.what = what;
  e.subject = std::move(subject);
  e.text = "test";
  return e;
}

std::vector<bool> check(ScenarioSpec spec, Registry reg = {}) {
  Kernel k(Kernel::Options{});
  k.add_node("server-1", std::make_unique<Toy>(false));
  k.add_node("agent-1", std::make_unique<Toy>(true));
  Checker c(spec, reg, k, k);
  c.arm([&k](TimeNs t, std::function<void()> fn) { k.at(t, StepKind::check, std::move(fn)); });
  k.add_observer(&c);
  k.run_until(30 * k_s);
  c.finish();
  std::vector<bool> out;
  for (const auto& r : c.results()) out.push_back(r.passed);
  return out;
}

}  // namespace

TEST_CASE("`at` judges the state at the instant", "[check]") {
  ScenarioSpec s;
  auto a = expect(ExpectForm::at, ExpectWhat::running, "s/web");
  a.at_ns = 15 * k_s;
  a.count = 1;
  auto b = a;
  b.count = 2;
  auto c = expect(ExpectForm::at, ExpectWhat::host_state, "agent-1");
  c.at_ns = 6 * k_s;
  c.value = "reconnecting";
  s.expect = {a, b, c};
  CHECK(check(s) == std::vector<bool>{true, false, true});
}

TEST_CASE("`during` needs the state at every instant of the window", "[check]") {
  ScenarioSpec s;
  auto inside = expect(ExpectForm::during, ExpectWhat::running, "s/web");
  inside.from_ns = 11 * k_s;
  inside.to_ns = 19 * k_s;
  inside.count = 1;
  auto across = inside;
  across.from_ns = 5 * k_s;  // includes 5s..10s where 2 run
  s.expect = {inside, across};
  CHECK(check(s) == std::vector<bool>{true, false});
}

TEST_CASE("`by` on a state reports since when it held", "[check]") {
  ScenarioSpec s;
  auto by = expect(ExpectForm::by, ExpectWhat::running, "s/web");
  by.at_ns = 25 * k_s;
  by.count = 2;
  s.expect = {by};
  Kernel k(Kernel::Options{});
  k.add_node("server-1", std::make_unique<Toy>(false));
  k.add_node("agent-1", std::make_unique<Toy>(true));
  Registry reg;
  Checker c(s, reg, k, k);
  c.arm([&k](TimeNs t, std::function<void()> fn) { k.at(t, StepKind::check, std::move(fn)); });
  k.add_observer(&c);
  k.run_until(30 * k_s);
  c.finish();
  REQUIRE(c.results()[0].passed);
  CHECK(c.results()[0].holds_since_ns == 20 * k_s);
}

TEST_CASE("availability is the fraction of requests that succeeded in the window", "[check]") {
  ScenarioSpec s;
  auto high = expect(ExpectForm::during, ExpectWhat::availability, "s/lb");
  high.from_ns = 0;
  high.to_ns = 9 * k_s;
  high.at_least = 1.0;
  auto low = high;
  low.from_ns = 10 * k_s;
  low.to_ns = 11 * k_s;  // 2 samples, both failed
  low.at_least.reset();
  low.at_most = 0.0;
  auto mixed = high;
  mixed.from_ns = 10 * k_s;
  mixed.to_ns = 13 * k_s;  // 4 samples, 2 ok
  mixed.at_least = 0.6;
  s.expect = {high, low, mixed};
  CHECK(check(s) == std::vector<bool>{true, true, false});
}

TEST_CASE("`log` and `eventually` need the event at or before the instant", "[check]") {
  ScenarioSpec s;
  auto log = expect(ExpectForm::by, ExpectWhat::log, "agent-*");
  log.value = "hello";
  log.at_ns = 7 * k_s;
  auto late = log;
  late.at_ns = 6 * k_s;
  auto ev = expect(ExpectForm::by, ExpectWhat::eventually, "toy.event");
  ev.at_ns = 9 * k_s;
  s.expect = {log, late, ev};
  CHECK(check(s) == std::vector<bool>{true, false, true});
}

TEST_CASE("a named invariant is checked after every step", "[check]") {
  Registry reg;
  reg.add_invariant({"toy.never_one", "running never drops to one", [](const WorldView& w) {
                       return w.probe_sum("all", "running", "s/web") == 1
                                  ? std::optional<std::string>("one running")
                                  : std::nullopt;
                     }});
  reg.add_invariant({"toy.at_most_two", "never more than two", [](const WorldView& w) {
                       return w.probe_sum("all", "running", "s/web") > 2
                                  ? std::optional<std::string>("too many")
                                  : std::nullopt;
                     }});
  ScenarioSpec s;
  s.expect = {expect(ExpectForm::always, ExpectWhat::invariant, "toy.never_one"),
              expect(ExpectForm::always, ExpectWhat::invariant, "toy.at_most_two")};
  CHECK(check(s, reg) == std::vector<bool>{false, true});
}

namespace {

// Sends a message of type 77 to agent-1 every 100 ms: traffic that changes nothing checked.
struct Pinger final : Node {
  void on_start(Ctx& ctx) override { ctx.set_timer(100 * k_ms, 0); }
  void on_message(Ctx&, NodeId, const Message&) override {}
  void on_timer(Ctx& ctx, std::uint64_t) override {
    ctx.send(ctx.lookup("agent-1"), Message{77, 64, 0, 0, 0, nullptr});
    ctx.set_timer(100 * k_ms, 0);
  }
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }
};

// How many times the invariant ran over a 30 s run, with or without type 77 declared inert.
int evaluations(bool inert) {
  static int calls = 0;
  calls = 0;
  Registry reg;
  reg.add_invariant({"toy.counted", "counts its evaluations",
                     [](const WorldView&) -> std::optional<std::string> {
                       ++calls;
                       return std::nullopt;
                     },
                     {"agent-*"}});
  if (inert) reg.add_inert_message(77);
  ScenarioSpec s;
  s.expect = {expect(ExpectForm::always, ExpectWhat::invariant, "toy.counted")};
  Kernel k(Kernel::Options{});
  k.add_node("server-1", std::make_unique<Toy>(false));
  k.add_node("agent-1", std::make_unique<Toy>(true));
  k.add_node("pinger", std::make_unique<Pinger>());
  Checker c(s, reg, k, k);
  k.add_observer(&c);
  k.run_until(30 * k_s);
  c.finish();
  REQUIRE(c.all_passed());
  return calls;
}

}  // namespace

TEST_CASE("deliveries of inert message types are not judged again", "[check]") {
  int all = evaluations(false);
  int fewer = evaluations(true);
  // The 299 deliveries to agent-1 within 30 s (the 300th is still on its way) are skipped; its
  // own timer steps are still judged.
  CHECK(all - fewer == 299);
  CHECK(fewer >= 31);
}

namespace {

// A node no expectation reads, with one step of its own at 15.2 s.
struct Bystander final : Node {
  void on_start(Ctx& ctx) override { ctx.set_timer(15200 * k_ms, 0); }
  void on_message(Ctx&, NodeId, const Message&) override {}
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }
};

// The index of every check step.
struct CheckSteps final : StepObserver {
  void on_step(const StepInfo& step) override {
    if (step.kind == StepKind::check) indexes.push_back(step.index);
  }
  std::vector<std::uint64_t> indexes;
};

}  // namespace

TEST_CASE("a timed check that fails names the step before it, a step the checker does not watch",
          "[check]") {
  ScenarioSpec s;
  auto at = expect(ExpectForm::at, ExpectWhat::running, "s/web");
  at.at_ns = 15500 * k_ms;
  at.count = 2;  // 1 runs then
  s.expect = {at};
  Kernel k(Kernel::Options{});
  k.add_node("server-1", std::make_unique<Toy>(false));
  k.add_node("agent-1", std::make_unique<Toy>(true));
  k.add_node("client-1", std::make_unique<Bystander>());
  Registry reg;
  Checker c(s, reg, k, k);
  c.arm([&k](TimeNs t, std::function<void()> fn) { k.at(t, StepKind::check, std::move(fn)); });
  CheckSteps checks;
  k.add_observer(&c);
  k.add_observer(&checks);
  k.run_until(30 * k_s);
  c.finish();
  CHECK_FALSE(c.watches(k, 2));  // the bystander's steps are skipped
  REQUIRE(checks.indexes.size() == 1);
  REQUIRE_FALSE(c.results()[0].passed);
  // The bystander's timer at 15.2 s is the step before the check at 15.5 s.
  CHECK(c.results()[0].violated_step == checks.indexes[0] - 1);
}
