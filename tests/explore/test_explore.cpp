// The explorer on the lease-lock model: every strategy finds the known bugs, dfs exhausts the
// fixed variants, reductions keep the verdicts and terminal states, traces replay, shrinking
// keeps the property and makes the run no larger.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/explore/explore_registry.hpp"
#include "tests/explore/same_search.hpp"
#include "models/lease_lock/register.hpp"
#include "models/register.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/explore/shrink.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;
using namespace stampede::explore;

namespace {

const Registry& registry() { return test::explore_registry(); }

std::string read(const std::string& path) { return test::read_text(path); }

ScenarioSpec lease_spec(int clients, int writes, bool fencing,
                        const std::string& file = "lease-lock.yaml",
                        std::vector<std::string> extra = {}) {
  std::string path = std::string(SCENARIOS_DIR) + "/known-bugs/" + file;
  std::vector<std::string> sets = {
      "cluster.timing.lease_lock_clients=" + std::to_string(clients),
      "cluster.timing.lease_lock_writes=" + std::to_string(writes),
      std::string("cluster.mechanisms.lease_lock_fencing=") + (fencing ? "true" : "false")};
  for (auto& e : extra) sets.push_back(e);
  return parse_scenario_with_overrides(read(path), path, sets, registry());
}

const std::function<bool()> k_never_stop = [] { return false; };

}  // namespace

TEST_CASE("strategy names and fault kinds parse, unknown ones are refused") {
  CHECK(strategy_from_name("dfs") == Strategy::dfs);
  CHECK(strategy_from_name("pct") == Strategy::pct);
  CHECK(strategy_from_name("random") == Strategy::random);
  CHECK_FALSE(strategy_from_name("bfs").has_value());
  CHECK(inject_kinds_from_names({"crash", "drop"}).value() == 0b10001u);
  CHECK_FALSE(inject_kinds_from_names({"explode"}).has_value());
  CHECK(inject_kind_names(k_all_inject_kinds).size() == 6);
}

TEST_CASE("the timed default schedule of the lease lock passes") {
  ScenarioSpec spec = lease_spec(2, 1, false);
  Explorer ex(spec, registry(), Settings{});
  RunResult r = ex.replay({});
  CHECK(r.passed);
  CHECK(r.ended_naturally);
  for (std::uint32_t p : r.picks) CHECK(p == 0);
}

TEST_CASE("dfs finds the stale write without fencing and shrinks it") {
  ScenarioSpec spec = lease_spec(2, 1, false);
  Settings s;
  Explorer ex(spec, registry(), s);
  Report rep = ex.search(Strategy::dfs, k_never_stop);
  REQUIRE(rep.first_violation.has_value());
  CHECK(rep.first_violation->violation->property == "{never: lease_lock.stale_write}");
  // Known answer: within 200 dfs runs.
  CHECK(rep.runs <= 200);
  ShrinkResult sh = shrink(ex, *rep.first_violation, 2000, k_never_stop);
  REQUIRE(sh.best.violation.has_value());
  CHECK(sh.best.violation->property == "{never: lease_lock.stale_write}");
  CHECK_FALSE(sh.before < sh.after);
  // Known answer: a stale write needs 2 starts of clients, their acquires, two grants, two
  // writes and the lease timer: at most 16 steps with server-1's and storage's starts.
  CHECK(sh.after.steps <= 16);
}

TEST_CASE("random and pct find the stale write within a stated number of runs") {
  ScenarioSpec spec = lease_spec(3, 2, false);
  for (Strategy st : {Strategy::random, Strategy::pct}) {
    Settings s;
    s.max_runs = 2000;
    s.pct_depth = 3;
    Explorer ex(spec, registry(), s);
    Report rep = ex.search(st, k_never_stop);
    INFO(strategy_name(st));
    REQUIRE(rep.first_violation.has_value());
    CHECK(rep.first_violation_run <= 2000);
  }
}

TEST_CASE("with fencing dfs exhausts the bounded space with no violation") {
  for (auto [n, w] : {std::pair{2, 1}, std::pair{2, 2}, std::pair{3, 1}}) {
    ScenarioSpec spec = lease_spec(n, w, true);
    Explorer ex(spec, registry(), Settings{});
    Report rep = ex.search(Strategy::dfs, k_never_stop);
    INFO("N=" << n << " WRITES=" << w);
    CHECK_FALSE(rep.first_violation.has_value());
    CHECK(rep.exhausted);
    CHECK_FALSE(rep.depth_cut);
    CHECK(rep.distinct_states > 10);
  }
}

TEST_CASE("sleep sets and dpor reach the verdicts and terminal states of the unreduced dfs") {
  for (bool fencing : {true, false}) {
    for (auto [n, w] : {std::pair{2, 1}, std::pair{2, 2}, std::pair{3, 1}, std::pair{3, 2}}) {
      if (n == 3 && w == 2 && fencing) continue;  // 570k states unreduced: too slow for ctest
      ScenarioSpec spec = lease_spec(n, w, fencing);
      Settings plain;
      plain.stop_at_first = false;
      plain.reduction = false;
      Report full = Explorer(spec, registry(), plain).search(Strategy::dfs, k_never_stop);
      REQUIRE(full.exhausted);
      CHECK(full.reductions == 0);
      CHECK(full.races == 0);
      for (bool dpor : {false, true}) {
        Settings s;
        s.stop_at_first = false;
        s.dpor = dpor;
        Report reduced = Explorer(spec, registry(), s).search(Strategy::dfs, k_never_stop);
        INFO("fencing=" << fencing << " N=" << n << " WRITES=" << w << " dpor=" << dpor);
        REQUIRE(reduced.exhausted);
        CHECK(reduced.verdicts == full.verdicts);
        CHECK(reduced.terminal_states == full.terminal_states);
        CHECK(reduced.reductions > 0);
        CHECK(reduced.runs < full.runs);
        if (dpor) {
          // DPOR cuts states; sleep sets, stored with visited states, cut only edges.
          CHECK(reduced.races > 0);
          CHECK(reduced.distinct_states < full.distinct_states);
        } else {
          CHECK(reduced.distinct_states == full.distinct_states);
        }
      }
    }
  }
}

TEST_CASE("pinned: states and runs of the fenced lease lock under dpor") {
  // The sleep-set and unreduced counts are pinned in test_engine_cache.cpp. These drift only when
  // the model, the engine's options or the reduction changes; if one moves, say why.
  struct Pin {
    int n, w;
    std::uint64_t states, runs;
  };
  for (Pin p : {Pin{3, 1, 1055, 666}, Pin{2, 2, 1378, 1359}}) {
    Settings s;
    s.dpor = true;
    Report rep = Explorer(lease_spec(p.n, p.w, true), registry(), s)
                     .search(Strategy::dfs, k_never_stop);
    INFO("N=" << p.n << " WRITES=" << p.w);
    CHECK(rep.exhausted);
    CHECK(rep.distinct_states == p.states);
    CHECK(rep.runs == p.runs);
  }
}

TEST_CASE("dpor keeps verdicts and terminal states with injected faults and a second bug") {
  struct Case {
    const char* file;
    int n, w;
    bool fencing;
    int max_faults;
    std::vector<std::string> kinds;
  };
  for (const Case& c :
       {Case{"lease-lock.yaml", 2, 1, true, 1, {"crash", "drop"}},
        Case{"lease-lock.yaml", 2, 2, true, 1, {"crash", "restart", "duplicate"}},
        Case{"lease-lock.yaml", 2, 1, false, 1, {"isolate", "heal", "drop"}},
        Case{"lease-lock-expired-waiter.yaml", 2, 1, true, 0, {}},
        Case{"lease-lock-expired-waiter.yaml", 3, 1, true, 0, {}}}) {
    ScenarioSpec spec = lease_spec(c.n, c.w, c.fencing, c.file);
    Settings s;
    s.stop_at_first = false;
    s.dpor = true;
    s.max_faults = c.max_faults;
    if (!c.kinds.empty()) s.inject_kinds = inject_kinds_from_names(c.kinds).value();
    Settings plain = s;
    plain.reduction = false;
    Report dpor = Explorer(spec, registry(), s).search(Strategy::dfs, k_never_stop);
    Report full = Explorer(spec, registry(), plain).search(Strategy::dfs, k_never_stop);
    INFO(c.file << " N=" << c.n << " WRITES=" << c.w << " fencing=" << c.fencing
                << " max_faults=" << c.max_faults);
    REQUIRE(dpor.exhausted);
    REQUIRE(full.exhausted);
    CHECK(dpor.verdicts == full.verdicts);
    CHECK(dpor.terminal_states == full.terminal_states);
    CHECK(dpor.distinct_states <= full.distinct_states);
  }
}

TEST_CASE("dpor restoring snapshots explores exactly what dpor re-running from the start does") {
  for (auto [n, w] : {std::pair{2, 2}, std::pair{3, 1}}) {
    ScenarioSpec spec = lease_spec(n, w, true);
    Settings s;
    s.stop_at_first = false;
    s.dpor = true;
    Settings rerun = s;
    rerun.snapshots = false;
    Report snap = Explorer(spec, registry(), s).search(Strategy::dfs, k_never_stop);
    Report full = Explorer(spec, registry(), rerun).search(Strategy::dfs, k_never_stop);
    INFO("N=" << n << " WRITES=" << w);
    CHECK(snap.restores > 0);
    stampede::test::check_same_search(snap, full);
    CHECK(snap.races == full.races);
  }
}

TEST_CASE("reductions keep verdicts with injected faults too") {
  ScenarioSpec spec = lease_spec(2, 1, true);
  Settings s;
  s.stop_at_first = false;
  s.max_faults = 1;
  s.inject_kinds = inject_kinds_from_names({"crash", "drop"}).value();
  Settings plain = s;
  plain.reduction = false;
  Report reduced = Explorer(spec, registry(), s).search(Strategy::dfs, k_never_stop);
  Report full = Explorer(spec, registry(), plain).search(Strategy::dfs, k_never_stop);
  REQUIRE(reduced.exhausted);
  REQUIRE(full.exhausted);
  CHECK(reduced.verdicts == full.verdicts);
  CHECK(reduced.terminal_states == full.terminal_states);
}

TEST_CASE("the expired-waiter grant (etcd 3.4.3 class) is found, and not with the fix") {
  ScenarioSpec bad = lease_spec(2, 1, true, "lease-lock-expired-waiter.yaml");
  Report rep = Explorer(bad, registry(), Settings{}).search(Strategy::dfs, k_never_stop);
  REQUIRE(rep.first_violation.has_value());
  CHECK(rep.first_violation->violation->property == "{never: lease_lock.granted_expired}");
  ScenarioSpec good = lease_spec(2, 1, true, "lease-lock-expired-waiter.yaml",
                                 {"cluster.mechanisms.lease_lock_revoke_expired_waiters=true"});
  Report ok = Explorer(good, registry(), Settings{}).search(Strategy::dfs, k_never_stop);
  CHECK_FALSE(ok.first_violation.has_value());
  CHECK(ok.exhausted);
}

TEST_CASE("a counterexample trace replays step by step, and dfs resumes from one of its steps") {
  ScenarioSpec spec = lease_spec(2, 2, false);
  Settings s;
  s.max_runs = 500;
  Explorer ex(spec, registry(), s);
  Report rep = ex.search(Strategy::random, k_never_stop);
  REQUIRE(rep.first_violation.has_value());
  RunResult recorded = ex.replay(rep.first_violation->picks, true);
  REQUIRE(recorded.violation.has_value());
  std::string path = test::temp_path("explore-test", "trace.jsonl");
  TraceHeader h;
  h.version = STAMPEDE_VERSION;
  h.scenario_file = spec.source_file;
  h.scenario_text = spec.source_text;
  h.seed = s.seed;
  h.overrides = {"cluster.timing.lease_lock_clients=2", "cluster.timing.lease_lock_writes=2",
                 "cluster.mechanisms.lease_lock_fencing=false"};
  write_explore_trace(path, h, s, "random", recorded);
  REQUIRE(is_explore_trace(path));
  ExploreTrace t = read_explore_trace(path, STAMPEDE_VERSION);
  CHECK(t.picks == recorded.picks);
  CHECK(t.property == recorded.violation->property);

  ScenarioSpec again = parse_scenario_with_overrides(t.trace.header.scenario_text,
                                                     t.trace.header.scenario_file,
                                                     t.trace.header.overrides, registry());
  Explorer rx(again, registry(), settings_for(t));
  ReplayComparer cmp(t.trace, false);
  RunResult back = rx.replay(t.picks, false, {&cmp});
  CHECK_FALSE(cmp.diverged());
  CHECK(cmp.steps_compared() == t.trace.steps.size());
  CHECK(back.digest == t.trace.end.digest);

  // The handoff: dfs from half-way through the trace finds the violation again.
  std::vector<std::uint32_t> prefix(t.picks.begin(), t.picks.begin() + t.picks.size() / 2);
  Report from = rx.dfs_from(prefix, k_never_stop);
  CHECK(from.first_violation.has_value());

  // A header whose bounds the explorer cannot have written (a negative count) is refused, not
  // wrapped; so is a header whose "engine" is not a string.
  std::string text;
  {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const std::string faults = fmt::format("\"max_faults\":{}", s.max_faults);
  REQUIRE(text.find(faults) != std::string::npos);
  std::string negative = text;
  negative.replace(negative.find(faults), faults.size(), "\"max_faults\":-1");
  { std::ofstream(path, std::ios::trunc) << negative; }
  CHECK_THROWS_AS(read_explore_trace(path, STAMPEDE_VERSION), TraceError);
  std::string numeric = text;
  numeric.replace(numeric.find("\"engine\":\"explore\""), 18, "\"engine\":7");
  { std::ofstream(path, std::ios::trunc) << numeric; }
  CHECK_FALSE(is_explore_trace(path));
  CHECK_THROWS_AS(read_trace(path, STAMPEDE_VERSION), TraceError);
  std::filesystem::remove(path);

  CHECK_THROWS_AS(read_explore_trace(path, STAMPEDE_VERSION), TraceError);
}

TEST_CASE("dfs restoring snapshots explores exactly what dfs re-running from the start does") {
  struct Case {
    int n, w;
    bool fencing;
    int max_faults;
    bool stop_at_first;
  };
  for (Case c : {Case{2, 1, true, 0, false}, Case{2, 2, false, 0, false},
                 Case{3, 1, true, 0, false}, Case{3, 2, false, 0, true},
                 Case{2, 1, true, 1, false}}) {
    ScenarioSpec spec = lease_spec(c.n, c.w, c.fencing);
    Settings s;
    s.stop_at_first = c.stop_at_first;
    s.max_faults = c.max_faults;
    Settings rerun = s;
    rerun.snapshots = false;
    Report snap = Explorer(spec, registry(), s).search(Strategy::dfs, k_never_stop);
    Report full = Explorer(spec, registry(), rerun).search(Strategy::dfs, k_never_stop);
    INFO("N=" << c.n << " WRITES=" << c.w << " fencing=" << c.fencing
              << " max_faults=" << c.max_faults);
    CHECK(snap.restores > 0);
    CHECK(full.restores == 0);
    test::check_same_search(snap, full);
    CHECK(snap.pruned_visited == full.pruned_visited);
    CHECK(snap.exhausted == full.exhausted);
    CHECK(snap.first_violation_run == full.first_violation_run);
    REQUIRE(snap.first_violation.has_value() == full.first_violation.has_value());
    if (snap.first_violation) {
      CHECK(snap.first_violation->picks == full.first_violation->picks);
      CHECK(snap.first_violation->digest == full.first_violation->digest);
    }
  }
}
