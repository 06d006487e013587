// Shrinking against hand-minimal counterexamples of the known bugs (docs/exploration.md,
// "Hand-minimal counterexamples"): each hand-minimal run is written here step by step (or, for
// (b), as the one fault and where it falls), it must fail the bug's property in exactly the
// steps the docs justify, and the shrinker, given the explorer's own counterexamples, must land
// within 1.5 times as many steps (the bound). The shrunk sizes are pinned, so a shrinker
// that regresses fails here.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "sim/explore/explorer.hpp"
#include "sim/explore/shrink.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/explore/explore_registry.hpp"

using namespace stampede;
using namespace stampede::explore;

namespace {

const Registry& registry() { return test::explore_registry(); }

const std::function<bool()> k_never_stop = [] { return false; };

std::string known_bug(const std::string& name) {
  return std::string(SCENARIOS_DIR) + "/known-bugs/" + name + ".yaml";
}

ScenarioSpec parse(const std::string& path, const std::vector<std::string>& sets) {
  return parse_scenario_with_overrides(test::read_text(path), path, sets, registry());
}

// Smaller clusters for the shrinker: the scenario with the base overrides and the shrinker's.
ShrinkScenario rebuild(const std::string& path, const std::vector<std::string>& base) {
  return ShrinkScenario{[path, base](const std::vector<std::string>& extra) {
                          std::vector<std::string> all = base;
                          all.insert(all.end(), extra.begin(), extra.end());
                          return parse(path, all);
                        },
                        &registry()};
}

// One step of a hand-written run: the option whose identity has these fields (an empty field
// matches any value).
struct Step {
  std::string kind;
  std::string node;
  std::string from;
  std::string name;
};

// Takes the steps in order, each the first option that matches; stops the run where none does
// (the test then fails on the missing violation).
class Script final : public Scheduler {
 public:
  explicit Script(std::vector<Step> steps) : steps_(std::move(steps)) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    std::size_t k = engine.picks().size();
    if (k >= steps_.size()) return k_stop;
    const Step& s = steps_[k];
    auto fits = [](const std::string& want, const std::string& got) {
      return want.empty() || want == got;
    };
    for (std::size_t i = 0; i < options.size(); ++i) {
      PickIdentity id = engine.identify(options[i]);
      if (fits(s.kind, id.kind) && fits(s.node, id.node) && fits(s.from, id.from) &&
          fits(s.name, id.name))
        return i;
    }
    return k_stop;
  }

 private:
  std::vector<Step> steps_;
};

const Step k_boot{"start", "", "", ""};

// Runs each strategy's first counterexample through the shrinker and returns the shrunk step
// counts (random, pct, dfs).
std::vector<std::uint64_t> shrunk_steps(const std::string& path,
                                        const std::vector<std::string>& sets,
                                        const std::string& property) {
  ScenarioSpec spec = parse(path, sets);
  std::vector<std::uint64_t> out;
  for (Strategy st : {Strategy::random, Strategy::pct, Strategy::dfs}) {
    Settings s;
    s.max_runs = 2000;
    s.dpor = st == Strategy::dfs;  // as the CLI searches
    Explorer ex(spec, registry(), s);
    Report rep = ex.search(st, k_never_stop);
    REQUIRE(rep.first_violation.has_value());
    ShrinkOptions opt;
    opt.max_candidates = 2000;
    opt.scenario = rebuild(path, sets);
    ShrinkResult r = shrink(ex, *rep.first_violation, opt);
    REQUIRE(r.best.violation.has_value());
    CHECK(r.best.violation->property == property);
    out.push_back(r.after.steps);
  }
  return out;
}

}  // namespace

TEST_CASE("known bug (a): the hand-minimal stale write takes 12 steps") {
  // Five boots (the engine takes a pending start first), both Acquires (two holders need two
  // requests), the lease timer (client-1 must lose the lock without releasing it: a release
  // comes only after its write is acknowledged, which would make that write the earlier one),
  // both Grants (a client writes only once granted), and the two Writes, client-2's first.
  ScenarioSpec spec = parse(known_bug("lease-lock"), {});
  Explorer ex(spec, registry(), Settings{});
  Script sch({k_boot, k_boot, k_boot, k_boot, k_boot,
              {"deliver", "lease-lock", "lease-client-1", "acquire"},
              {"deliver", "lease-lock", "lease-client-2", "acquire"},
              {"timer", "lease-lock", "", ""},
              {"deliver", "lease-client-1", "lease-lock", "grant"},
              {"deliver", "lease-client-2", "lease-lock", "grant"},
              {"deliver", "lease-storage", "lease-client-2", "write"},
              {"deliver", "lease-storage", "lease-client-1", "write"}});
  RunResult r = ex.run(sch);
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->property == "{never: lease_lock.stale_write}");
  CHECK(r.picks.size() == 12);
}

TEST_CASE("known bug (a): the shrinker lands within 1.5x of the hand-minimal 12 steps") {
  std::vector<std::uint64_t> steps = shrunk_steps(known_bug("lease-lock"),
                                                  {"cluster.timing.lease_lock_clients=3"},
                                                  "{never: lease_lock.stale_write}");
  // Pinned (random, pct, dfs), measured with 3 clients (the shrinker drops one).
  CHECK(steps == std::vector<std::uint64_t>{12, 12, 12});
  for (std::uint64_t s : steps) CHECK(s * 2 <= 12 * 3);
}

TEST_CASE("known bug (c): the hand-minimal grant to an expired waiter takes 9 steps") {
  // Five boots, both Acquires (the second waits: the first holds the lock), the waiter's
  // session timer (its session must expire while it waits; with the fix switched off it stays
  // queued), and the holder's lease timer, which grants the lock to the next waiter: the
  // expired one. The holder's way out by release takes four steps (Grant, Write, Ack, Release)
  // where the lease timer takes one.
  ScenarioSpec spec = parse(known_bug("lease-lock-expired-waiter"), {});
  Explorer ex(spec, registry(), Settings{});
  Script sch({k_boot, k_boot, k_boot, k_boot, k_boot,
              {"deliver", "lease-lock", "lease-client-1", "acquire"},
              {"deliver", "lease-lock", "lease-client-2", "acquire"},
              {"timer", "lease-lock", "", ""},
              {"timer", "lease-lock", "", ""}});
  RunResult r = ex.run(sch);
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->property == "{never: lease_lock.granted_expired}");
  CHECK(r.picks.size() == 9);
}

TEST_CASE("known bug (c): the shrinker lands within 1.5x of the hand-minimal 9 steps") {
  std::vector<std::uint64_t> steps = shrunk_steps(known_bug("lease-lock-expired-waiter"),
                                                  {"cluster.timing.lease_lock_clients=3"},
                                                  "{never: lease_lock.granted_expired}");
  CHECK(steps == std::vector<std::uint64_t>{9, 9, 10});
  for (std::uint64_t s : steps) CHECK(s * 2 <= 9 * 3);
}

namespace {

// Known bug (b) as the explorer searches it (tests/explore/test_explore_cli.cpp): the scripted
// pause removed, the stray-copy stop switched on so that the walks look for the stale holder
// alone.
const std::vector<std::string> k_b_sets = {"faults=[]",
                                           "cluster.mechanisms.cattle_stop_stray_copies=true"};

Settings b_settings(DurationNs pause_ns) {
  Settings s;
  s.max_faults = 1;
  s.inject_kinds = inject_bit(InjectKind::pause);
  s.max_delay_ns = 5 * k_ms;
  s.pause_ns = pause_ns;
  return s;
}

// Time's choice at every step but one: at step `at`, a pause of server-1.
class PauseAtStep final : public Scheduler {
 public:
  explicit PauseAtStep(std::size_t at) : at_(at) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    if (engine.picks().size() != at_) return 0;
    for (std::size_t i = 0; i < options.size(); ++i)
      if (options[i].injected && options[i].inject == InjectKind::pause &&
          engine.node_name(options[i].node) == "server-1")
        return i;
    return 0;
  }

 private:
  std::size_t at_;
};

// The smallest cluster in HA mode: two servers (HA mode needs two; single mode is another
// system), the database, one ZooKeeper server, no Redis, no agent.
std::vector<std::string> b_smallest() {
  std::vector<std::string> sets = k_b_sets;
  for (const char* o : {"cluster.zookeeper=1", "cluster.redis=false", "cluster.agents=0"})
    sets.emplace_back(o);
  return sets;
}

}  // namespace

namespace {

// The search that found (b)'s hand-minimal runs: every placement of the one pause within the
// first steps, for pause lengths on a half-second grid, the run bounded by the best found so
// far.
void search_pause_placements(const std::vector<std::string>& sets, const std::string& property) {
  ScenarioSpec spec = parse(known_bug("ha-stale-lock-holder"), sets);
  std::uint64_t best = 1000;
  std::size_t best_at = 0;
  DurationNs best_pause = 0;
  for (DurationNs pause = 16 * k_s; pause >= 6 * k_s; pause -= k_s / 2) {
    // server-1 reads under the lock within its first 300 steps on these clusters.
    for (std::size_t at = 0; at < std::min<std::uint64_t>(best, 300); ++at) {
      Settings s = b_settings(pause);
      s.depth = best;
      Explorer ex(spec, registry(), s);
      PauseAtStep sch(at);
      RunResult r = ex.run(sch);
      if (r.violation && r.violation->property == property && r.faults_used == 1 &&
          r.picks.size() < best) {
        best = r.picks.size();
        best_at = at;
        best_pause = pause;
        std::printf("%llu steps: pause %lld ms at step %zu (%s)\n",
                    static_cast<unsigned long long>(best), static_cast<long long>(pause / k_ms),
                    at, r.violation->property.c_str());
        std::fflush(stdout);
      }
    }
  }
  std::printf("best: %llu steps, pause %lld ms at step %zu\n",
              static_cast<unsigned long long>(best), static_cast<long long>(best_pause / k_ms),
              best_at);
}

}  // namespace

// Not run by default (minutes each); their results are pinned in the tests below.
TEST_CASE("known bug (b): search the hand-minimal stale action", "[.][hand-minimal]") {
  search_pause_placements(b_smallest(), "{never: lock.no_stale_holder_action}");
}

TEST_CASE("known bug (b): search the hand-minimal extra containers", "[.][hand-minimal]") {
  std::vector<std::string> sets = k_b_sets;
  for (const char* o : {"cluster.zookeeper=1", "cluster.redis=false", "cluster.agents=1"})
    sets.emplace_back(o);
  search_pause_placements(sets, "{never: service.scale_exceeded}");
}

namespace {

// Known bug (d) under simple hand-written schedules: a rule picks among the options the delay
// bound allows. `rule` returns the index to take.
using Rule = std::function<std::size_t(const ExploreEngine&, const std::vector<Option>&)>;
class ByRule final : public Scheduler {
 public:
  explicit ByRule(Rule rule) : rule_(std::move(rule)) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    return rule_(engine, options);
  }

 private:
  Rule rule_;
};

// The last pending event among the options (as late as the delay bound allows); scripted
// actions stay at their instants (taken only as option 0).
std::size_t last_event(const std::vector<Option>& options) {
  std::size_t last = 0;
  for (std::size_t i = 0; i < options.size(); ++i)
    if (!options[i].injected && options[i].kind != StepKind::fault &&
        options[i].kind != StepKind::check)
      last = i;
  return last;
}

// The first option that is not a delivery from `node`, else option 0.
std::size_t avoiding(const ExploreEngine& e, const std::vector<Option>& options,
                     std::string_view node) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    const Option& o = options[i];
    const bool from_node =
        o.kind == StepKind::deliver && o.from != k_no_node && e.node_name(o.from) == node;
    if (!o.injected && !from_node) return i;
  }
  return 0;
}

}  // namespace

// (d)'s runs under a few schedules written by hand, to compare the shrinker's result with:
// time's order, every step as late as the 5 ms bound allows, zookeeper-5's (or zookeeper-4's)
// votes held back as long as the bound allows, and timers first; each also under the correct
// vote order, and whether a server leads after the restart (the unsettled election is the
// bug's reason; docs/exploration.md, "Hand-minimal counterexamples", has the figures). Not run
// by default (each run is a 16 s storm of votes).
TEST_CASE("known bug (d): runs under hand-written schedules", "[.][hand-minimal]") {
  ScenarioSpec spec = parse(known_bug("zk-1419"), {});
  ScenarioSpec correct =
      parse(known_bug("zk-1419"), {"cluster.mechanisms.zk_correct_vote_order=true"});
  Settings s;
  s.max_delay_ns = 5 * k_ms;
  Explorer ex(spec, registry(), s);
  Explorer fixed(correct, registry(), s);
  std::vector<std::pair<std::string, Rule>> rules = {
      {"time", [](const ExploreEngine&, const std::vector<Option>&) { return std::size_t{0}; }},
      {"latest", [](const ExploreEngine&, const std::vector<Option>& o) { return last_event(o); }},
      {"zookeeper-5 late",
       [](const ExploreEngine& e, const std::vector<Option>& o) {
         return avoiding(e, o, "zookeeper-5");
       }},
      {"zookeeper-4 late",
       [](const ExploreEngine& e, const std::vector<Option>& o) {
         return avoiding(e, o, "zookeeper-4");
       }},
      {"timers first", [](const ExploreEngine&, const std::vector<Option>& o) {
         for (std::size_t i = 0; i < o.size(); ++i)
           if (!o[i].injected && o[i].kind == StepKind::timer) return i;
         return std::size_t{0};
       }}};
  for (auto& [name, rule] : rules) {
    ByRule sch(rule);
    RunResult r = ex.run(sch);
    bool led = false;  // the right reason: no server leads after the restart at 11 s
    for (const TimelineEntry& e : r.outcome.timeline)
      led = led || (e.time_ns >= 11 * k_s && e.text.find("LEADING") != std::string::npos);
    ByRule again(rule);
    RunResult c = fixed.run(again);
    std::printf("%s: %zu steps, %s, %s after 11 s; correct order: %zu steps, %s\n", name.c_str(),
                r.picks.size(), r.violation ? "fails" : "passes", led ? "a leader" : "no leader",
                c.picks.size(), c.violation ? "fails" : "passes");
    std::fflush(stdout);
  }
}

namespace {

// Three phases: `before` until the full restart at 11 s (the scenario's scripted restart), time's
// order from it until `switch_ns`, and the latest event the delay bound allows after that. Counts
// the steps before the restart and, after it, the steps by message or timer name.
class Phased final : public Scheduler {
 public:
  Phased(Rule before, TimeNs switch_ns) : before_(std::move(before)), switch_ns_(switch_ns) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    const TimeNs now = engine.now();
    if (now < k_restart_ns) {
      ++steps_before;
      return before_(engine, options);
    }
    std::size_t i = now < switch_ns_ ? 0 : last_event(options);
    PickIdentity id = engine.identify(options[i]);
    ++after_by_name[id.kind + " " + id.name];
    return i;
  }
  static constexpr TimeNs k_restart_ns = 11 * k_s;
  std::uint64_t steps_before = 0;
  std::map<std::string, std::uint64_t> after_by_name;

 private:
  Rule before_;
  TimeNs switch_ns_;
};

const Rule k_time = [](const ExploreEngine&, const std::vector<Option>&) { return std::size_t{0}; };
const Rule k_latest = [](const ExploreEngine&, const std::vector<Option>& o) {
  return last_event(o);
};

// The leaders after the restart, one line each.
std::string leaders_after_restart(const RunResult& r) {
  std::string out;
  for (const TimelineEntry& e : r.outcome.timeline)
    if (e.time_ns >= Phased::k_restart_ns && e.text.find("LEADING") != std::string::npos)
      out += fmt::format("{} {}\n", e.time_ns, e.text);
  return out;
}

Settings d_settings() {
  Settings s;
  s.max_delay_ns = 5 * k_ms;
  return s;
}

}  // namespace

// How (d)'s hand-minimal run was chosen: before the restart time's order or the latest event
// first, after it time's order until a switch point (every 10 ms from 11 s to 11.4 s) and the
// latest event first from there, each run bounded by the fewest steps found so far; the best is
// then run under the correct vote order too. Not run by default (minutes); pinned below.
TEST_CASE("known bug (d): search the hand-minimal burnt epoch", "[.][hand-minimal]") {
  ScenarioSpec spec = parse(known_bug("zk-1419"), {});
  const std::vector<std::pair<std::string, Rule>> rules = {{"time", k_time}, {"latest", k_latest}};
  std::uint64_t best = 200000;
  for (const auto& [bn, before] : rules) {
    for (TimeNs sw = Phased::k_restart_ns; sw <= Phased::k_restart_ns + 400 * k_ms;
         sw += 10 * k_ms) {
      Settings s = d_settings();
      s.depth = best;
      Phased sch(before, sw);
      RunResult r = Explorer(spec, registry(), s).run(sch);
      if (!r.violation || r.picks.size() >= best) continue;
      best = r.picks.size();
      std::printf(
          "%s before 11 s, time's order to %lld ms, then latest: %zu steps (%llu before "
          "11 s)\n%s",
          bn.c_str(), static_cast<long long>(sw / k_ms), r.picks.size(),
          static_cast<unsigned long long>(sch.steps_before), leaders_after_restart(r).c_str());
      for (const auto& [name, n] : sch.after_by_name)
        std::printf("    %6llu %s\n", static_cast<unsigned long long>(n), name.c_str());
      std::fflush(stdout);
    }
  }
}

TEST_CASE("known bug (d): the hand-minimal burnt epoch takes 3605 steps") {
  // The run must reach the 16 s deadline, and under the 5 ms delay bound it takes every event due
  // before it, so the fewest steps come from the election that settles soonest while still
  // burning epoch 3. Before the restart time's order takes 920 steps (the start, zookeeper-5
  // leading epoch 1, its crash at 2 s, the four electing zookeeper-4 for epoch 2, the pings to
  // 10 s). After it, time's order for 30 ms and then the latest event first: the buggy vote order
  // elects zookeeper-5 (epoch 1, the highest id), which steps down when its followers are ahead,
  // so epoch 3 is burnt, and zookeeper-4 leads epoch 4 at 11.88 s; the rest is pings to 16 s.
  // Among the schedules of the search above (82 of them) this is the shortest that fails. It was
  // 3,092 steps (the latest event first before the restart, 917 steps, and the switch at
  // 11.04 s) until a follower gave up after five refused connects (zk_learner_connect_tries):
  // the refusals are messages of their own (zk.learner_refused) and move every election.
  // Time's order throughout never settles. Under the correct vote order the same schedule
  // passes.
  ScenarioSpec spec = parse(known_bug("zk-1419"), {});
  Phased sch(k_time, 11030 * k_ms);
  RunResult r = Explorer(spec, registry(), d_settings()).run(sch);
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->property == "{log: {node: zookeeper-*, contains: leads epoch 3}, by: 16s}");
  CHECK(r.picks.size() == 3605);
  CHECK(sch.steps_before == 920);
  const std::string leaders = leaders_after_restart(r);
  INFO(leaders);
  CHECK(leaders.find("zookeeper-4 leads epoch 4") != std::string::npos);
  CHECK(leaders.find("leads epoch 3") == std::string::npos);
  ScenarioSpec correct =
      parse(known_bug("zk-1419"), {"cluster.mechanisms.zk_correct_vote_order=true"});
  Phased again(k_time, 11030 * k_ms);
  CHECK_FALSE(Explorer(correct, registry(), d_settings()).run(again).violation.has_value());
}

TEST_CASE("known bug (b): the hand-minimal stale action takes 161 steps") {
  // One fault (with none, no session expires: the timed run passes), four nodes (HA mode needs
  // two servers, the db and one ZooKeeper server; the stale action needs no agent and no Redis),
  // and time's order everywhere else: with the 5 ms delay bound a reordering cannot leave out
  // an event due more than 5 ms before the violation. Among every placement of the pause (the
  // search above: each step of the first 300, lengths from 16 s down to 6 s by 0.5 s) the
  // fewest steps come from pausing server-1 at step 79, between its read under the service's
  // lock and its handling of the read's answer, for 10 s, just past what expires its ZooKeeper
  // session (at 12 s); it resumes and acts on the lock at step 161. The boot is Cattle's
  // (the scenario keeps every mechanism at its default): Liquibase's changelog lock holds the
  // first 2 s, the pool opens on demand and the configuration source has its own connection, so
  // server-1 takes the service's lock at about 2.09 s, where it took it at 0.85 s on the boot
  // the scenario ran before (eager pools, no migration: 282 steps, the pause 9.5 s at step 144).
  // The idle 2 s of the migration take few steps, so the walk is shorter than it was.
  ScenarioSpec spec = parse(known_bug("ha-stale-lock-holder"), b_smallest());
  Explorer ex(spec, registry(), b_settings(10 * k_s));
  PauseAtStep sch(79);
  RunResult r = ex.run(sch);
  REQUIRE(r.violation.has_value());
  CHECK(r.violation->property == "{never: lock.no_stale_holder_action}");
  CHECK(r.faults_used == 1);
  CHECK(r.picks.size() == 161);
}

namespace {

// Random's first counterexample under the flags of tests/explore/test_explore_cli.cpp (seed 12,
// the pause drawn at 60 a simulated minute for server-1 alone), within `max_runs`, and its
// shrink with 1,000 candidates.
struct BRandom {
  std::uint64_t run = 0;
  RunResult found;
  ShrinkResult r;
};

BRandom b_random_shrunk(std::uint64_t max_runs) {
  const std::string path = known_bug("ha-stale-lock-holder");
  ScenarioSpec spec = parse(path, k_b_sets);
  Settings s = b_settings(60 * k_s);
  s.seed = 12;
  s.max_runs = max_runs;
  s.fault_rate_per_min = 60;
  s.fault_targets = {"server-1"};
  Explorer ex(spec, registry(), s);
  Report rep = ex.search(Strategy::random, k_never_stop);
  BRandom b;
  if (!rep.first_violation) return b;
  b.run = rep.first_violation_run;
  b.found = *rep.first_violation;
  ShrinkOptions opt;
  opt.max_candidates = 1000;
  opt.scenario = rebuild(path, k_b_sets);
  b.r = shrink(ex, b.found, opt);
  return b;
}

}  // namespace

// Prints the figures the (b) tests here pin, for scripts/rederive-b.sh (with the search of the
// hand-minimal above, "[hand-minimal]").
TEST_CASE("known bug (b): print the shrinker's figures", "[.][rederive-b]") {
  BRandom b = b_random_shrunk(5000);
  REQUIRE(b.r.best.violation.has_value());
  std::printf(
      "test_hand_minimal.cpp: random run %llu (%zu steps, %d nodes) shrinks to %llu "
      "steps on %d nodes, pause %lld ms (%s)\n",
      static_cast<unsigned long long>(b.run), b.found.picks.size(), b.r.before.nodes,
      static_cast<unsigned long long>(b.r.after.steps), b.r.after.nodes,
      static_cast<long long>(b.r.pause_ns.value_or(0) / k_ms),
      b.r.best.violation->property.c_str());
}

TEST_CASE("known bug (b): the shrinker lands within 1.5x of the hand-minimal 161 steps") {
  // The explorer's counterexample of tests/explore/test_explore_cli.cpp: random, seed 12, the
  // pause drawn at 60 a simulated minute for server-1 alone, run 30 (run 22 before the process
  // instances' ZooKeeper locks and pings over the Redis bus). (On the boot the scenario
  // ran before, eager pools and no migration, the rate was 100 a minute and the run 14; at 100 a
  // minute most draws now fall in the 2 s of the boot's migration, before server-1 holds the
  // lock, and the first violation is run 963.)
  BRandom b = b_random_shrunk(30);
  REQUIRE(b.run == 30);
  const ShrinkResult& r = b.r;
  REQUIRE(r.best.violation.has_value());
  CHECK(r.best.violation->property == "{never: lock.no_stale_holder_action}");
  // Measured: run 30's walk (1,885 steps, 11 nodes; 1,708 before the agent commands went over
  // the Redis bus, cattle_agent_commands_over_redis) shrinks to 203 steps on 4 nodes (no agent),
  // the pause 60 s -> 10.312 s, as `stampede shrink` gives (tests/regressions holds that trace):
  // 1.26 times the hand-minimal. Before the process instances' locks (cattle_process_lock) and
  // pings over the Redis bus (cattle_agent_events_over_redis), run 22's walk (1,221 steps) shrank
  // to 202 steps on 5 nodes. On the boot the scenario ran before (eager pools, no migration, one
  // Redis) run 14's walk (1,287 steps) shrank to 329 steps against a hand-minimal 282.
  CHECK(r.after.nodes == 4);
  CHECK(r.after.faults == 1);
  CHECK(r.after.steps == 203);
  CHECK(r.after.steps * 2 <= 161 * 3);
}
