// `stampede explore`: search a scenario's choices for a violation (sim/explore), write the first
// counterexample as an explorer trace (cli/replay.cpp replays them).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <functional>
#include <memory>

#include "cli/app.hpp"
#include "cli/print.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/explore/shrink.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::cli {

using namespace stampede::explore;


// A wall-clock budget: the clock is read here, in cli/, never inside a run.
std::function<bool()> deadline(std::optional<DurationNs> budget_ns) {
  if (!budget_ns) return [] { return false; };
  auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(*budget_ns);
  return [end] { return std::chrono::steady_clock::now() >= end; };
}

DurationNs parse_budget_flag(const std::string& flag, const std::string& text) {
  DurationNs d = 0;
  try {
    d = parse_duration(text);
  } catch (const std::invalid_argument&) {
    throw InputError(fmt::format("stampede: {}: bad duration '{}': expected a number and a unit "
                                 "ns/us/ms/s/m/h, e.g. 60s", flag, text));
  }
  if (d <= 0) throw InputError(fmt::format("stampede: {}: '{}' must be more than 0", flag, text));
  return d;
}

namespace {

std::string mark(const RunResult& r, std::size_t i) {
  if (i < r.injected.size() && r.injected[i]) return "  [injected]";
  if (i < r.out_of_order.size() && r.out_of_order[i]) return "  [out of time order]";
  return "";
}

}  // namespace

void print_timeline(const RunResult& r, std::size_t last_n) {
  std::size_t n = r.steps.size();
  std::size_t from = n > last_n ? n - last_n : 0;
  std::printf("timeline (%s%zu steps; * = not what time alone would do next)\n",
              from > 0 ? "last " : "", n - from);
  if (from > 0) std::printf("  ... %zu earlier steps\n", from);
  for (std::size_t i = from; i < n; ++i) {
    const TraceStep& s = r.steps[i];
    std::string m = mark(r, i);
    std::printf("  %c %4llu  %10s  %s%s\n", m.empty() ? ' ' : '*',
                static_cast<unsigned long long>(s.index), format_duration(s.time_ns).c_str(),
                r.descriptions[i].c_str(), m.c_str());
  }
}

void print_violation(const RunResult& r) {
  const Violation& v = *r.violation;
  std::printf("✗ %s violated at step %llu (%s): %s\n", v.property.c_str(),
              static_cast<unsigned long long>(v.step), format_duration(v.time_ns).c_str(),
              v.detail.c_str());
}

TraceHeader header_for(const ScenarioSpec& spec, const std::string& path, const std::string& text,
                       const std::vector<std::string>& sets, std::uint64_t seed) {
  (void)spec;
  TraceHeader h;
  h.version = STAMPEDE_VERSION;
  h.engine = "explore";
  h.scenario_file = path;
  h.scenario_text = text;
  h.overrides = sets;
  h.seed = seed;
  return h;
}

struct ExploreCommands {
  CLI::App* explore = nullptr;
  CLI::App* shrink = nullptr;
  std::string scenario;
  std::string strategy = "random";
  std::string budget;
  std::uint64_t runs = 0;
  std::optional<int> depth;
  std::uint64_t max_steps = 0;
  int max_faults = 0;
  std::vector<std::string> faults;
  int delay_bound = -1;
  std::string max_delay;
  std::vector<std::string> pause_for;
  bool placements = false;
  bool no_placements = false;
  double fault_rate = 0;
  int fault_instants = 0;
  std::vector<std::string> fault_targets;
  std::string settle;
  std::string fault_phase;
  bool no_reduction = false;
  std::string reduction = "dpor";
  bool swarm = false;
  std::string pct_points = "deliveries";
  bool state_clock = false;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> sets;
  std::string out;
  std::string from;
  std::optional<std::uint64_t> at;
  bool quiet = false;
  // shrink
  std::string shrink_trace;
  std::string shrink_out;
  std::string shrink_budget = "60s";
};

namespace {

// Whether dfs tries the fault placements first (Settings::placements; they matter only with
// --max-faults). They are dfs's default: on every bug of bench/RESULTS.md's ex17 table that
// needs an injected fault they found it in fewer runs than plain dfs ((b) among them, which plain
// dfs does not find), and on (a), which needs none, they cost 188 more runs of a few steps
// (docs/exploration.md, "Fault placements").
bool placements_from_flags(const ExploreCommands& a, Strategy strategy) {
  if ((a.placements || a.no_placements) && strategy != Strategy::dfs)
    throw InputError(
        "stampede explore: --placements and --no-placements are for dfs (random "
        "and pct place faults by chance; see --fault-rate)");
  if (a.placements && a.no_placements)
    throw InputError("stampede explore: --placements and --no-placements contradict each other");
  if (a.no_placements && !a.settle.empty())
    throw InputError(
        "stampede explore: --no-placements: liveness mode (--settle) always tries "
        "the fault placements first");
  return strategy == Strategy::dfs && !a.no_placements;
}

// The explorer's settings from the flags and the scenario (before --from adjusts them).
Settings explore_settings(const ExploreCommands& a, const ScenarioSpec& spec, std::uint32_t kinds,
                          Strategy strategy) {
  Settings s;
  s.seed = a.seed.value_or(spec.seed);
  s.max_faults = a.max_faults;
  s.inject_kinds = kinds;
  s.delay_bound = a.delay_bound;
  if (!a.max_delay.empty()) s.max_delay_ns = parse_budget_flag("explore --max-delay", a.max_delay);
  if (!a.pause_for.empty()) {
    // A list (60s,15s): the first is every strategy's pause, dfs's placements try them all.
    for (const std::string& p : a.pause_for)
      s.placement_pauses.push_back(parse_budget_flag("explore --pause-for", p));
    s.pause_ns = s.placement_pauses.front();
    if (s.placement_pauses.size() == 1) s.placement_pauses.clear();
  }
  s.placements = placements_from_flags(a, strategy);
  if (a.reduction != "none" && a.reduction != "sleep" && a.reduction != "dpor")
    throw InputError(fmt::format("stampede explore: --reduction: unknown reduction '{}' "
                                 "(expected none, sleep or dpor)", a.reduction));
  s.reduction = !a.no_reduction && a.reduction != "none";
  s.dpor = s.reduction && a.reduction == "dpor";
  if (s.dpor && a.delay_bound >= 0) {
    // A delay bound counts out-of-order picks, which reordering equivalent steps changes.
    if (a.explore->count("--reduction") > 0)
      throw InputError("stampede explore: --reduction dpor cannot be combined with --delay-bound "
                       "(reordering equivalent steps changes how many are out of order); use "
                       "--reduction sleep");
    s.dpor = false;
  }
  s.fault_rate_per_min = a.fault_rate;
  s.fault_instants = a.fault_instants;
  if (s.fault_rate_per_min < 0 || s.fault_rate_per_min > 1e6)
    throw InputError("stampede explore: --fault-rate: expected faults per simulated minute, "
                     "from 0 to 1000000");
  if (s.fault_rate_per_min > 0 && s.fault_instants > 0)
    throw InputError("stampede explore: --fault-rate and --fault-instants exclude each other");
  if ((s.fault_rate_per_min > 0 || s.fault_instants > 0) && strategy == Strategy::dfs)
    throw InputError("stampede explore: --fault-rate and --fault-instants are for random and "
                     "pct (dfs offers every fault at every step)");
  s.fault_targets = a.fault_targets;
  if (!a.settle.empty()) s.settle_ns = parse_budget_flag("explore --settle", a.settle);
  if (!a.fault_phase.empty()) {
    if (a.settle.empty())
      throw InputError("stampede explore: --fault-phase needs --settle (liveness mode)");
    s.fault_phase_ns = parse_budget_flag("explore --fault-phase", a.fault_phase);
  }
  if (s.settle_ns > 0 && fault_phase_end(s, spec) + s.settle_ns > spec.duration_ns)
    throw InputError(fmt::format("stampede explore: --settle: the fault phase and the settle "
                                 "window ({} + {}) go past the scenario's duration ({})",
                                 format_duration(fault_phase_end(s, spec)),
                                 format_duration(s.settle_ns),
                                 format_duration(spec.duration_ns)));
  s.max_runs = a.runs;
  s.state_clock = a.state_clock;
  s.swarm = a.swarm;
  s.depth = a.max_steps;
  if (strategy == Strategy::pct) {
    s.pct_depth = a.depth.value_or(3);
    if (a.pct_points != "deliveries" && a.pct_points != "steps")
      throw InputError(fmt::format("stampede explore: --pct-points '{}' (expected deliveries or "
                                   "steps)", a.pct_points));
    s.pct_at_deliveries = a.pct_points == "deliveries";
  } else if (a.depth) {
    s.depth = static_cast<std::uint64_t>(*a.depth);
  }
  return s;
}

// --from TRACE [--at N]: checks that the trace is of this scenario's text and flags, takes its
// seed and fault settings (unless given here) and returns its first N picks, the prefix dfs
// searches below.
std::vector<std::uint32_t> prefix_from_trace(const ExploreCommands& a, const ScenarioSpec& spec,
                                             const std::string& text, Settings& s) {
  ExploreTrace t = read_explore_trace(a.from, STAMPEDE_VERSION);
  ScenarioSpec traced = parse_trace_scenario(a.from, t.trace.header);
  if (traced.name != spec.name)
    throw InputError(fmt::format("{}:1:1: the trace is of scenario '{}', not '{}'", a.from,
                                 traced.name, spec.name));
  if (t.trace.header.scenario_text != text || t.trace.header.overrides != a.sets)
    throw InputError(fmt::format("{}:1:1: the trace was recorded from another version of "
                                 "scenario '{}' (its text or --set flags differ)", a.from,
                                 spec.name));
  std::uint64_t at = a.at.value_or(t.picks.size());
  if (at > t.picks.size())
    throw InputError(fmt::format("stampede explore: --at {}: past the end of {} ({} steps)", at,
                                 a.from, t.picks.size()));
  s.seed = t.trace.header.seed;
  s.inject_kinds = t.inject_kinds;
  s.fault_targets = t.fault_targets;
  if (a.max_faults == 0) s.max_faults = t.max_faults;
  if (a.max_delay.empty()) s.max_delay_ns = t.max_delay_ns;
  if (a.pause_for.empty()) s.pause_ns = t.pause_ns;
  if (a.settle.empty()) {
    s.settle_ns = t.settle_ns;
    s.fault_phase_ns = t.fault_phase_ns;
  }
  return {t.picks.begin(), t.picks.begin() + static_cast<std::ptrdiff_t>(at)};
}

void print_search_stats(const Report& rep, bool dfs, bool dpor, double wall_s) {
  std::printf("runs %llu  %s %llu  distinct states %llu  max depth %llu  reductions %llu  "
              "states/s %.0f  wall %.2fs\n",
              static_cast<unsigned long long>(rep.runs), dfs ? "transitions" : "steps",
              static_cast<unsigned long long>(rep.transitions),
              static_cast<unsigned long long>(rep.distinct_states),
              static_cast<unsigned long long>(rep.max_depth),
              static_cast<unsigned long long>(rep.reductions),
              wall_s > 0 ? static_cast<double>(rep.distinct_states) / wall_s : 0.0, wall_s);
  if (dfs && rep.restores + rep.restore_failures > 0)
    std::printf("snapshots: %llu backtracks restored a saved state, %llu re-ran from the start\n",
                static_cast<unsigned long long>(rep.restores),
                static_cast<unsigned long long>(rep.restore_failures));
  if (dfs && dpor)
    std::printf("dpor: %llu races reversed, %llu options never needed\n",
                static_cast<unsigned long long>(rep.races),
                static_cast<unsigned long long>(rep.dpor_skipped));
}

int report_pass(const Report& rep, bool dfs, const ExploreCommands& a) {
  if (dfs && rep.exhausted)
    std::printf("✓ no violation: the bounded space was searched exhaustively%s\n",
                rep.depth_cut ? " (some runs cut at the depth bound)" : "");
  else
    std::printf("✓ no violation found in %llu runs (search stopped by %s; not exhaustive)\n",
                static_cast<unsigned long long>(rep.runs), a.runs ? "--runs" : "the budget");
  std::printf("verdict   PASS\n");
  return k_exit_ok;
}

// The first violation: replayed with its timeline, and written as a counterexample trace.
int report_violation(const Report& rep, const Explorer& ex, const ExploreCommands& a,
                     const std::string& scenario_name, const TraceHeader& header,
                     const Settings& s, Strategy strategy) {
  // The run's own fault kinds (a swarm run's subset), not the search's: they decide its options.
  Settings run_s = s;
  run_s.inject_kinds = rep.first_violation->inject_kinds;
  run_s.pause_ns = rep.first_violation->pause_ns;  // dfs's placements try several lengths
  Explorer run_ex(ex.spec(), registry(), run_s);
  RunResult cex = run_ex.replay(rep.first_violation->picks, true);
  std::printf("first violation in run %llu\n",
              static_cast<unsigned long long>(rep.first_violation_run));
  if (!a.quiet) print_timeline(cex, 15);
  print_violation(cex);
  if (!s.placement_pauses.empty())
    std::printf("pause     %s (of the --pause-for lengths)\n",
                format_duration(run_s.pause_ns).c_str());
  std::string out = a.out.empty() ? scenario_name + ".explore.trace.jsonl" : a.out;
  write_explore_trace(out, header, run_s, std::string(strategy_name(strategy)), cex);
  std::printf("counterexample  %s (%zu steps; `stampede replay` reproduces it, `stampede shrink` "
              "minimises it)\n", out.c_str(), cex.steps.size());
  std::printf("verdict   FAIL\n");
  return k_exit_failed;
}

}  // namespace

int cmd_explore(const ExploreCommands& a) {
  auto strategy = strategy_from_name(a.strategy);
  if (!strategy)
    throw InputError(fmt::format("stampede explore: --strategy: unknown strategy '{}' "
                                 "(expected random, pct or dfs)", a.strategy));
  std::optional<DurationNs> budget;
  if (!a.budget.empty()) budget = parse_budget_flag("explore --budget", a.budget);
  if (!budget && a.runs == 0) budget = 60 * k_s;  // a search always ends on its own
  std::optional<std::uint32_t> kinds = k_all_inject_kinds;
  if (!a.faults.empty()) {
    kinds = inject_kinds_from_names(a.faults);
    if (!kinds)
      throw InputError("stampede explore: --faults: unknown fault kind (expected some of crash, "
                    "restart, isolate, heal, drop, duplicate, pause, power_off, power_on, "
                    "kill_container, truncate)");
  }
  if (a.at && a.from.empty()) throw InputError("stampede explore: --at needs --from TRACE");

  std::string path = resolve_scenario_path(a.scenario);
  std::string text = read_file(path);
  ScenarioSpec spec = parse_scenario_with_overrides(text, path, a.sets, registry());
  Settings s = explore_settings(a, spec, *kinds, *strategy);
  std::vector<std::uint32_t> prefix;
  if (!a.from.empty()) {
    prefix = prefix_from_trace(a, spec, text, s);
    *strategy = Strategy::dfs;
  }

  Explorer ex(spec, registry(), s);
  std::printf("stampede explore %s  (strategy %s, seed %llu, max faults %d%s)\n",
              spec.name.c_str(), std::string(strategy_name(*strategy)).c_str(),
              static_cast<unsigned long long>(s.seed), s.max_faults,
              a.from.empty()
                  ? ""
                  : fmt::format(", from step {} of {}", prefix.size(), a.from).c_str());
  auto wall_start = std::chrono::steady_clock::now();
  Report rep = prefix.empty() && a.from.empty() ? ex.search(*strategy, deadline(budget))
                                                : ex.dfs_from(prefix, deadline(budget));
  double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  bool dfs = *strategy == Strategy::dfs;
  print_search_stats(rep, dfs, s.dpor, wall_s);
  if (!rep.first_violation) return report_pass(rep, dfs, a);
  return report_violation(rep, ex, a, spec.name, header_for(spec, path, text, a.sets, s.seed), s,
                          *strategy);
}

// Bounds of the explorer's counts: a negative value is refused rather than wrapped, and a
// count of faults per run past 1,000 is refused as a slip (no scenario needs more).
constexpr long long k_max_count = 1'000'000'000'000LL;
constexpr long long k_max_faults = 1000;

CLI::Validator count_check(long long max) {
  return CLI::Validator([max](std::string& v) { return check_count(v, max); }, "N");
}

// explore's flags for faults over time, their targets and the liveness mode.
void add_fault_time_flags(CLI::App* e, ExploreCommands& c) {
  e->add_option("--fault-rate", c.fault_rate,
                "random, pct: inject faults at a rate per simulated minute (a Poisson process "
                "over the run's time) instead of with probability 0.02 per step");
  e->add_option("--fault-instants", c.fault_instants,
                "random, pct: inject faults at K instants drawn uniformly over the run's "
                "simulated time")
      ->check(count_check(k_max_faults));
  e->add_option("--fault-targets", c.fault_targets,
                "node patterns injected faults may target, e.g. 'agent-*,server-*' (default: "
                "every node; repairs of the explorer's faults are always offered)")
      ->delimiter(',');
  e->add_option("--settle", c.settle,
                "liveness mode: after the fault phase every injected fault is undone and the run "
                "goes on fault-free for this window (with a unit, 60s); expectations are judged "
                "only after it (docs/exploration.md, \"Liveness mode\")");
  e->add_option("--fault-phase", c.fault_phase,
                "liveness mode: when the fault phase ends (default: the duration less --settle); "
                "a step bound (--max-steps) also ends it, and the run then goes on in time order");
}

// explore's flags for the pause's length, dfs's fault placements and its reduction.
void add_dfs_flags(CLI::App* e, ExploreCommands& c) {
  e->add_option("--pause-for", c.pause_for,
                "how long an injected pause lasts (--faults pause), with a unit; default 60s. "
                "A list (60s,15s): dfs's fault placements try each length, every other search "
                "uses the first")
      ->delimiter(',');
  e->add_flag("--placements", c.placements,
              "dfs with --max-faults (the default; --no-placements turns it off): first one "
              "fault at each step of the timed schedule where one is offered (spread over the "
              "step bound: 0, P/2, P/4, 3P/4, ...), each fault option and pause length, with "
              "time's order after it; then the plain dfs");
  e->add_flag("--no-placements", c.no_placements,
              "dfs with --max-faults: no fault placements first, the plain dfs only (its faults "
              "come at the deepest steps first). Not in liveness mode (--settle), where the "
              "placements are always on");
  e->add_flag("--no-reduction", c.no_reduction,
              "dfs: turn every reduction off (the same as --reduction none)");
  e->add_option("--reduction", c.reduction,
                "dfs: none | sleep (sleep sets) | dpor (source-set dynamic partial-order "
                "reduction on top of sleep sets; the default)")
      ->capture_default_str();
}

std::shared_ptr<ExploreCommands> add_explore_commands(CLI::App& app) {
  auto c = std::make_shared<ExploreCommands>();
  CLI::App* e = app.add_subcommand(
      "explore", "Search a scenario's interleavings and faults for a violation (model checking)");
  c->explore = e;
  e->add_option("SCENARIO", c->scenario, "a scenario file, or a name from `stampede list`")
      ->required();
  e->add_option("--strategy", c->strategy, "random | pct | dfs")->capture_default_str();
  e->add_option("--budget", c->budget, "wall-clock budget with a unit (60s, 5m); default 60s");
  e->add_option("--runs", c->runs, "stop after N runs (dfs: N executions)")
      ->check(count_check(k_max_count));
  e->add_option("--depth", c->depth,
                "pct: the bug depth d (d-1 priority change points, default 3); random and dfs: "
                "the step bound per run")
      ->check(count_check(k_max_count));
  e->add_option("--pct-points", c->pct_points,
                "pct: where the change points fall: deliveries (between two nodes, the default) "
                "or steps (every event, as in the shared-memory original)");
  e->add_option("--max-steps", c->max_steps, "step bound per run, for every strategy")
      ->check(count_check(k_max_count));
  e->add_option("--max-faults", c->max_faults,
                "faults the explorer may inject per run (default 0)")
      ->check(count_check(k_max_faults));
  e->add_option("--faults", c->faults, "kinds it may inject: crash,restart,isolate,heal,drop,"
                                       "duplicate,pause,power_off,power_on,kill_container,"
                                       "truncate (default the first six)")
      ->delimiter(',');
  add_fault_time_flags(e, *c);
  e->add_option("--delay-bound", c->delay_bound,
                "dfs: steps taken out of time order per run (default unbounded)")
      ->check(count_check(k_max_count));
  e->add_option("--max-delay", c->max_delay,
                "bounded delay with a unit (5ms): an event may run out of time order only if it "
                "is due within this of the earliest pending one (default unbounded); needed by "
                "properties with deadlines (by:), which unbounded reordering breaks by letting "
                "time jump");
  add_dfs_flags(e, *c);
  e->add_flag("--swarm", c->swarm, "random: randomise the enabled fault kinds per run");
  e->add_flag("--state-clock", c->state_clock,
              "dfs: keep the clock and the pending events' due times in the state, so states "
              "that differ only in time are not merged; for properties that read the clock "
              "(a stale lock holder, a deadline). Bound the search with --max-steps");
  e->add_option("--seed", c->seed, "root seed (default: the scenario's seed)")
      ->check(CLI::Validator([](std::string& v) { return check_seed(v); }, "SEED"));
  e->add_option("--set", c->sets, "override KEY=VALUE (dotted path into the scenario)")
      ->allow_extra_args(false);
  e->add_option("--out", c->out, "where to write the counterexample trace "
                                 "(default NAME.explore.trace.jsonl)");
  e->add_option("--from", c->from, "an explorer trace: replay it up to --at, then dfs from there");
  e->add_option("--at", c->at, "the step of --from to search from (default: its last)")
      ->check(count_check(k_max_count));
  e->add_flag("--quiet", c->quiet, "omit the timeline");

  CLI::App* s = app.add_subcommand("shrink", "Minimise a failing explorer trace");
  c->shrink = s;
  s->add_option("TRACE", c->shrink_trace, "a trace written by `stampede explore`")->required();
  s->add_option("--out", c->shrink_out, "where to write the shrunk trace "
                                        "(default TRACE with .shrunk before .trace.jsonl)");
  s->add_option("--budget", c->shrink_budget, "wall-clock budget with a unit (default 60s)");
  return c;
}

std::optional<int> run_explore_command(const ExploreCommands& c) {
  if (c.explore && *c.explore) return cmd_explore(c);
  if (c.shrink && *c.shrink) return cmd_shrink(c.shrink_trace, c.shrink_out, c.shrink_budget);
  return std::nullopt;
}

}  // namespace stampede::cli
