// The child side of the SimGrid tests: each mode builds one SimGrid engine, runs it and prints
// what the test checks as `key=value` lines.
#include <cstdio>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>

#include "models/register.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simgrid/factory.hpp"
#include "sim/simgrid/simgrid_engine.hpp"
#include "tests/common/census_watch.hpp"
#include "tests/simgrid/child.hpp"
#include "tests/common/toy_nodes.hpp"

namespace stampede::test {

namespace {

void put(const std::string& key, const std::string& value) {
  std::printf("%s=%s\n", key.c_str(), value.c_str());
}

SimgridEngine::Options toy_options(DurationNs latency_ns) {
  SimgridEngine::Options o;
  o.network.latency.fixed_ns = latency_ns;
  return o;
}

// A 64-byte ping over 3ms at 1 Gbps, answered.
int toy_delivery() {
  SimgridEngine e(toy_options(3 * k_ms));
  auto s = std::make_unique<Sender>();
  Sender* sender = s.get();
  s->on_start_fn = [](Ctx& ctx) { ctx.send(1, Message{1, 64, 7, 0, 0, nullptr}); };
  e.add_node("sender", std::move(s));
  auto p = std::make_unique<Probe>();
  Probe* probe = p.get();
  e.add_node("echo", std::move(p));
  e.run_until(k_s);
  put("echo", fmt::format("{}", fmt::join(probe->events, ",")));
  put("sender", fmt::format("{}", fmt::join(sender->got, ",")));
  put("delivered", std::to_string(e.messages_delivered()));
  put("now", std::to_string(e.now()));
  return 0;
}

// Two senders push 1.25 MB each into one receiver at once; a third sends alone to another.
int toy_sharing() {
  SimgridEngine e(toy_options(2 * k_ms));
  for (int i = 0; i < 3; ++i) {
    auto s = std::make_unique<Sender>();
    NodeId to = i < 2 ? 3 : 4;
    s->on_start_fn = [to](Ctx& ctx) { ctx.send(to, Message{9, 1'250'000, 0, 0, 0, nullptr}); };
    e.add_node(fmt::format("s{}", i), std::move(s));
  }
  auto shared = std::make_unique<Sender>();
  Sender* shared_ptr = shared.get();
  e.add_node("shared", std::move(shared));
  auto alone = std::make_unique<Sender>();
  Sender* alone_ptr = alone.get();
  e.add_node("alone", std::move(alone));
  e.run_until(k_s);
  put("shared", fmt::format("{}", fmt::join(shared_ptr->got, ",")));
  put("alone", fmt::format("{}", fmt::join(alone_ptr->got, ",")));
  return 0;
}

int toy_timers() {
  SimgridEngine e(toy_options(2 * k_ms));
  auto s = std::make_unique<Sender>();
  std::vector<std::string> fired;
  s->on_start_fn = [](Ctx& ctx) {
    ctx.set_timer(10 * k_ms, 1);
    TimerId t2 = ctx.set_timer(20 * k_ms, 2);
    ctx.set_timer(30 * k_ms, 3);
    ctx.set_timer(0, 4);
    ctx.cancel_timer(t2);
  };
  s->on_timer_fn = [&](Ctx& ctx, std::uint64_t tag) {
    fired.push_back(fmt::format("{}@{}", tag, ctx.now()));
  };
  e.add_node("n", std::move(s));
  e.run_until(k_s);
  put("fired", fmt::format("{}", fmt::join(fired, ",")));
  return 0;
}

// The sender pings the victim at 0 (landing at 50ms); the victim crashes at 10ms, restarts at
// 20ms; the sender pings again at 100ms.
int toy_crash() {
  SimgridEngine e(toy_options(50 * k_ms));
  auto s = std::make_unique<Sender>();
  Sender* sender = s.get();
  s->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, Message{1, 64, 0, 0, 0, nullptr});
    ctx.set_timer(100 * k_ms, 9);
  };
  s->on_timer_fn = [](Ctx& ctx, std::uint64_t) { ctx.send(1, Message{1, 64, 0, 0, 0, nullptr}); };
  e.add_node("sender", std::move(s));
  auto p = std::make_unique<Probe>();
  Probe* probe = p.get();
  e.add_node("victim", std::move(p));
  std::string up_during;
  e.at(10 * k_ms, StepKind::fault, [&] { e.crash(1); });
  e.at(15 * k_ms, StepKind::check, [&] { up_during = e.is_up(1) ? "1" : "0"; });
  e.at(20 * k_ms, StepKind::fault, [&] { e.restart(1); });
  e.run_until(k_s);
  put("starts", std::to_string(probe->starts));
  put("victim", fmt::format("{}", fmt::join(probe->events, ",")));
  put("sender", fmt::format("{}", fmt::join(sender->got, ",")));
  put("up_during", up_during);
  put("up_after", e.is_up(1) ? "1" : "0");
  return 0;
}

// The sleeper is paused from 2ms for 100ms; messages sent at 5, 10, 15ms land during the pause.
int toy_pause() {
  SimgridEngine e(toy_options(1 * k_ms));
  auto s = std::make_unique<Sender>();
  int sent = 0;
  s->on_start_fn = [](Ctx& ctx) { ctx.set_timer(5 * k_ms, 0); };
  s->on_timer_fn = [&](Ctx& ctx, std::uint64_t) {
    ctx.send(1, Message{static_cast<std::uint32_t>(10 + sent), 64, 0, 0, 0, nullptr});
    if (++sent < 3) ctx.set_timer(5 * k_ms, 0);
  };
  e.add_node("sender", std::move(s));
  auto p = std::make_unique<Probe>();
  Probe* probe = p.get();
  e.add_node("sleeper", std::move(p));
  e.at(2 * k_ms, StepKind::fault, [&] { e.pause(1, 100 * k_ms); });
  e.run_until(k_s);
  put("sleeper", fmt::format("{}", fmt::join(probe->events, ",")));
  return 0;
}

// A timer that falls due during a pause fires when the node resumes.
int toy_pause_timer() {
  SimgridEngine e(toy_options(1 * k_ms));
  auto s = std::make_unique<Sender>();
  std::vector<std::string> fired;
  s->on_start_fn = [](Ctx& ctx) { ctx.set_timer(10 * k_ms, 1); };
  s->on_timer_fn = [&](Ctx& ctx, std::uint64_t tag) {
    fired.push_back(fmt::format("{}@{}", tag, ctx.now()));
  };
  e.add_node("n", std::move(s));
  e.at(5 * k_ms, StepKind::fault, [&] { e.pause(0, 20 * k_ms); });
  e.run_until(k_s);
  put("fired", fmt::format("{}", fmt::join(fired, ",")));
  return 0;
}

int toy_skew() {
  SimgridEngine e(toy_options(2 * k_ms));
  auto s = std::make_unique<Sender>();
  std::vector<TimeNs> seen;
  s->on_start_fn = [](Ctx& ctx) { ctx.set_timer(10 * k_s, 0); };
  s->on_timer_fn = [&](Ctx& ctx, std::uint64_t) { seen.push_back(ctx.now()); };
  e.add_node("n", std::move(s));
  e.at(1 * k_s, StepKind::fault, [&] { e.set_clock_skew(0, 5 * k_s); });
  e.run_until(k_m);
  put("seen", fmt::format("{}", fmt::join(seen, ",")));
  return 0;
}

// s -> r over 10ms: one message in flight when the cut comes at 5ms, one sent across the cut at
// 20ms, one sent after the heal at 40ms. Then a one-way cut r -> s from 60ms: s still reaches r.
int toy_partition() {
  SimgridEngine e(toy_options(10 * k_ms));
  auto s = std::make_unique<Sender>();
  Sender* sender = s.get();
  s->on_start_fn = [](Ctx& ctx) {
    ctx.send(1, Message{1, 64, 0, 0, 0, nullptr});
    ctx.set_timer(20 * k_ms, 3);
    ctx.set_timer(40 * k_ms, 4);
    ctx.set_timer(70 * k_ms, 1);  // a ping: its pong comes back over the cut direction
  };
  s->on_timer_fn = [](Ctx& ctx, std::uint64_t tag) {
    ctx.send(1, Message{static_cast<std::uint32_t>(tag), 64, 0, 0, 0, nullptr});
  };
  e.add_node("s", std::move(s));
  auto p = std::make_unique<Probe>();
  Probe* probe = p.get();
  e.add_node("r", std::move(p));
  std::string off_during, off_after, off_oneway;
  e.at(5 * k_ms, StepKind::fault, [&] { e.network().partition({{0}, {1}}); });
  e.at(25 * k_ms, StepKind::check, [&] { off_during = std::to_string(e.links_off()); });
  e.at(30 * k_ms, StepKind::fault, [&] { e.network().heal_all(); });
  e.at(35 * k_ms, StepKind::check, [&] { off_after = std::to_string(e.links_off()); });
  e.at(60 * k_ms, StepKind::fault, [&] { e.network().partition_oneway({1}, {0}); });
  e.at(65 * k_ms, StepKind::check, [&] { off_oneway = std::to_string(e.links_off()); });
  e.run_until(k_s);
  put("r", fmt::format("{}", fmt::join(probe->events, ",")));
  put("s", fmt::format("{}", fmt::join(sender->got, ",")));
  put("off_during", off_during);
  put("off_after", off_after);
  put("off_oneway", off_oneway);
  return 0;
}

// Faults run before the other events of their instant, checks after them.
int toy_order() {
  SimgridEngine e(toy_options(2 * k_ms));
  std::vector<std::string> seen;
  auto s = std::make_unique<Sender>();
  s->on_start_fn = [](Ctx& ctx) { ctx.set_timer(10 * k_ms, 1); };
  s->on_timer_fn = [&](Ctx& ctx, std::uint64_t) {
    seen.push_back(fmt::format("timer@{}", ctx.now()));
  };
  e.add_node("n", std::move(s));
  e.at(10 * k_ms, StepKind::check, [&] { seen.push_back(fmt::format("check@{}", e.now())); });
  e.at(10 * k_ms, StepKind::fault, [&] { seen.push_back(fmt::format("fault@{}", e.now())); });
  e.run_until(k_s);
  put("order", fmt::format("{}", fmt::join(seen, ",")));
  return 0;
}

// An observer that asks to stop at the third step ends the run there.
int toy_stop() {
  struct StopAt3 final : StepObserver {
    std::uint64_t seen = 0;
    void on_step(const StepInfo& s) override { seen = s.index; }
    bool stop_requested() const override { return seen >= 3; }
  };
  SimgridEngine e(toy_options(2 * k_ms));
  auto s = std::make_unique<Sender>();
  s->on_start_fn = [](Ctx& ctx) { ctx.set_timer(1 * k_ms, 0); };
  s->on_timer_fn = [](Ctx& ctx, std::uint64_t) { ctx.set_timer(1 * k_ms, 0); };
  e.add_node("n", std::move(s));
  StopAt3 obs;
  e.add_observer(&obs);
  e.run_until(k_s);
  put("steps", std::to_string(e.steps()));
  put("now", std::to_string(e.now()));
  return 0;
}

int twice() {
  SimgridEngine first(toy_options(k_ms));
  try {
    SimgridEngine second(toy_options(k_ms));
    put("error", "none");
  } catch (const std::logic_error& ex) {
    put("error", ex.what());
  }
  return 0;
}

ScenarioSpec load(const std::string& path, const Registry& registry) {
  return load_scenario(path, registry);
}

// Runs a scenario file on SimGrid (optionally on a platform file) and prints the verdict.
int scenario(const std::vector<std::string>& args) {
  Registry registry;
  register_models(registry);
  try {
    ScenarioSpec spec = load(args.at(0), registry);
    RunConfig config;
    config.seed = spec.seed;
    config.make_engine = make_simgrid_factory(
        args.size() > 1 ? std::optional<std::string>(args[1]) : std::nullopt);
    RunOutcome out = run_scenario(spec, registry, config);
    put("passed", out.passed ? "1" : "0");
    put("digest", fmt::format("{:016x}", out.digest));
    put("steps", std::to_string(out.steps));
    put("simulated_ns", std::to_string(out.simulated_ns));
    for (const ExpectResult& r : out.results)
      put(r.passed ? "held" : "failed", r.spec->text + (r.passed ? "" : ": " + r.detail));
    for (const MetricValue& m : out.metrics) put("metric." + m.name, fmt::format("{}", m.value));
    return out.passed ? 0 : 1;
  } catch (const InputError& e) {
    put("input_error", e.what());
    return 2;
  }
}

// The census scenario (tests/common/census_watch.hpp) on SimGrid, its change log read after
// every step and the agent census compared with a full recount after every step.
int census() {
  Registry registry;
  register_models(registry);
  ScenarioSpec spec = parse_scenario(k_census_scenario, "census", registry);
  ChangeLogWatch log_watch(true);  // SimGrid's handlers may interleave at simcalls
  CensusWatch census_watch(1);
  RunConfig config;
  config.seed = spec.seed;
  config.make_engine = make_simgrid_factory(std::nullopt);
  config.observers = {&log_watch, &census_watch};
  RunOutcome out = run_scenario(spec, registry, config);
  put("passed", out.passed ? "1" : "0");
  put("steps", std::to_string(out.steps));
  put("node_steps", std::to_string(log_watch.node_steps));
  put("engine_steps", std::to_string(log_watch.engine_steps));
  put("log_broken", std::to_string(log_watch.broken));
  put("log_interleaved", std::to_string(log_watch.interleaved_steps));
  put("log_first_interleaved", log_watch.first_interleaved);
  put("log_full_reads", std::to_string(log_watch.full_reads));
  put("log_first_broken", log_watch.first_broken);
  put("census_checked", std::to_string(census_watch.checked));
  put("census_stale", std::to_string(census_watch.stale));
  put("census_first_stale", census_watch.first_stale);
  put("census_seen", std::to_string(census_watch.seen.size()));
  return 0;
}

}  // namespace

int run_child(const std::vector<std::string>& args) {
  static const std::map<std::string, std::function<int()>> toys = {
      {"delivery", toy_delivery}, {"sharing", toy_sharing}, {"timers", toy_timers},
      {"crash", toy_crash},       {"pause", toy_pause},     {"pause-timer", toy_pause_timer},
      {"skew", toy_skew},         {"partition", toy_partition}, {"order", toy_order},
      {"stop", toy_stop},         {"twice", twice}};
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (args.size() >= 2 && args[0] == "toy" && toys.count(args[1])) return toys.at(args[1])();
  if (args.size() >= 2 && args[0] == "conn") return run_connection_toy(args[1]);
  if (args.size() == 1 && args[0] == "census") return census();
  if (args.size() >= 2 && args[0] == "scenario")
    return scenario(std::vector<std::string>(args.begin() + 1, args.end()));
  std::fprintf(stderr, "usage: test_simgrid --child (toy NAME | conn NAME | census | scenario FILE [PLATFORM])\n");
  return 2;
}

}  // namespace stampede::test
