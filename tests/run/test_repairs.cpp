// Container repair time and scale violations (sim/run/repair.hpp): measured from what runs on
// the agents, from the instant a service drops below its scale to the instant it is back.
#include <catch2/catch.hpp>
#include <optional>

#include "models/register.hpp"
#include "sim/kernel/kernel.hpp"
#include "sim/run/repair.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/common/registry.hpp"

using namespace stampede;

namespace {

const Registry& registry() { return test::models_registry(); }

RunOutcome run(const std::vector<std::string>& sets) {
  std::string path = std::string(SCENARIOS_DIR) + "/agent-partition.yaml";
  ScenarioSpec base = load_scenario(path, registry());
  ScenarioSpec spec = parse_scenario_with_overrides(base.source_text, path, sets, registry());
  RunConfig config;
  config.seed = 1;
  return run_scenario(spec, registry(), config);
}

std::optional<double> metric(const RunOutcome& out, const std::string& name) {
  for (const MetricValue& m : out.metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("a container killed while its server is cut off is repaired only after the heal",
          "[run][repairs]") {
  // Killed at 90 s, the server cut off from 60 s to 150 s: the repair waits for the heal.
  RunOutcome out = run({});
  REQUIRE(metric(out, "repairs") == 1.0);
  CHECK(metric(out, "repairs_unfinished") == 0.0);
  REQUIRE(metric(out, "repair_time_p50"));
  CHECK(*metric(out, "repair_time_p50") > 60.0);
  CHECK(*metric(out, "repair_time_p50") < 70.0);
  CHECK(metric(out, "repair_time_max") == metric(out, "repair_time_p50"));
  CHECK(metric(out, "over_scale_time") == 0.0);
}

TEST_CASE("the same kill with the server reachable is repaired within seconds", "[run][repairs]") {
  RunOutcome out = run({"faults=[{at: 90s, kill_container: wordpress/web/1}]"});
  REQUIRE(metric(out, "repairs") == 1.0);
  REQUIRE(metric(out, "repair_time_p50"));
  CHECK(*metric(out, "repair_time_p50") > 0.0);
  CHECK(*metric(out, "repair_time_p50") < 5.0);
}

TEST_CASE("with no fault nothing is repaired and no percentile is reported", "[run][repairs]") {
  // The start-up, before each service first runs at its scale, is not a repair.
  RunOutcome out = run({"faults=[]"});
  CHECK(metric(out, "repairs") == 0.0);
  CHECK_FALSE(metric(out, "repair_time_p50"));
  CHECK(metric(out, "repairs_unfinished") == 0.0);
}

TEST_CASE("a repair that never ends is counted as unfinished", "[run][repairs]") {
  // The kill falls 1 s before the end: the run ends before any server restarts the container.
  RunOutcome out = run({"faults=[{at: 179s, kill_container: wordpress/web/1}]", "duration=180s"});
  CHECK(metric(out, "repairs") == 0.0);
  CHECK(metric(out, "repairs_unfinished") == 1.0);
}

TEST_CASE("percentiles are nearest-rank", "[run][repairs]") {
  std::vector<DurationNs> v = {5, 1, 4, 2, 3};
  CHECK(percentile_ns(v, 0.5) == 3);
  CHECK(percentile_ns(v, 0.95) == 5);
  CHECK(percentile_ns(v, 0.2) == 1);
  CHECK(percentile_ns({7}, 0.99) == 7);
}

namespace {

// An agent whose `running` answer for "s/web" the test sets.
class Runs : public Node {
 public:
  void on_start(Ctx&) override {}
  void on_message(Ctx&, NodeId, const Message&) override {}
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override {
    if (key == "running" && arg == "s/web") return running;
    return std::nullopt;
  }
  std::int64_t running = 0;
};

class TwoAgents final : public WorldView {
 public:
  TimeNs now() const override { return 0; }
  std::size_t node_count() const override { return 2; }
  std::string_view node_name(NodeId id) const override { return id == 0 ? "agent-1" : "agent-2"; }
  NodeId find(std::string_view) const override { return k_no_node; }
  bool is_up(NodeId) const override { return true; }
  const Node& node(NodeId id) const override { return agents[id]; }
  Runs agents[2];
};

// A scenario of one stack, s, with one service, web, at scale 1.
ScenarioSpec one_web() {
  ScenarioSpec spec;
  ServiceSpec web;
  web.name = "web";
  web.scale = 1;
  StackSpec stack;
  stack.name = "s";
  stack.services.push_back(web);
  spec.stacks.push_back(stack);
  return spec;
}

// The repairs measured when agent-1 loses its container at a delivery of message type `type`
// at 10 ns (registry: type 7 is inert), agent-2 steps at 20 ns and agent-1 has it back at 30 ns.
std::vector<DurationNs> repairs_after(std::uint32_t type, const Registry* registry) {
  ScenarioSpec spec = one_web();
  TwoAgents w;
  RepairTracker t(spec, w, registry);
  auto step = [&](TimeNs at, NodeId node, std::uint32_t msg_type) {
    StepInfo s;
    s.time_ns = at;
    s.kind = StepKind::deliver;
    s.node = node;
    s.msg_type = msg_type;
    t.on_step(s);
  };
  w.agents[0].running = 1;
  step(1, 0, 99);
  w.agents[0].running = 0;  // a change no inert delivery makes in a real model
  step(10, 0, type);
  step(20, 1, 99);
  w.agents[0].running = 1;
  step(30, 0, 99);
  return t.repairs_ns();
}

}  // namespace

TEST_CASE(
    "with a registry an inert delivery at an agent is counted at the next step that is not "
    "one, and without a registry at once",
    "[run][repairs]") {
  Registry inert;
  inert.add_inert_message(7);
  // Counted at 20 ns (agent-2's step), not at the inert delivery at 10 ns.
  CHECK(repairs_after(7, &inert) == std::vector<DurationNs>{10});
  CHECK(repairs_after(7, nullptr) == std::vector<DurationNs>{20});
  CHECK(repairs_after(8, &inert) == std::vector<DurationNs>{20});  // type 8 is not inert
}

namespace {

// An agent that runs one container of "s/web" from its start and a second from 10 ns on.
class Doubles final : public Runs {
 public:
  Doubles() { running = 1; }
  void on_start(Ctx& ctx) override { ctx.set_timer(10, 0); }
  void on_timer(Ctx&, std::uint64_t) override { running = 2; }
};

// A node no repair reads, with one step of its own at 50 ns.
class LateStep final : public Node {
 public:
  void on_start(Ctx& ctx) override { ctx.set_timer(50, 0); }
  void on_message(Ctx&, NodeId, const Message&) override {}
  void on_timer(Ctx&, std::uint64_t) override {}
  void on_crash() override {}
  std::uint64_t state_digest() const override { return 0; }
};

}  // namespace

TEST_CASE("an excess open at the end counts up to the run's last step, at a node it does not watch",
          "[run][repairs]") {
  ScenarioSpec spec = one_web();
  Kernel k(Kernel::Options{});
  k.add_node("agent-1", std::make_unique<Doubles>());
  k.add_node("client-1", std::make_unique<LateStep>());
  RepairTracker t(spec, k, &registry());
  k.add_observer(&t);
  k.run_until(k_s);
  CHECK_FALSE(t.watches(k, 1));  // the kernel skips client-1's steps
  CHECK(t.over_scale_episodes() == 1);
  CHECK(t.over_scale_ns() == 40);  // from 10 ns to client-1's step at 50 ns
}
