// `stampede export TRACE (--perfetto FILE | --dot FILE | --html FILE)`: a trace of any engine
// (a run's, a SimGrid run's, the explorer's counterexamples and shrunk traces) as a
// Chrome/Perfetto timeline, a Graphviz happens-before graph or an HTML space-time diagram (see
// analysis/trace_export.hpp for what each holds), over a window of time, steps and nodes. The
// trace is re-run to recover what it does not record: the model's log lines and where a
// property failed.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <fstream>

#include "analysis/errors.hpp"
#include "analysis/trace_export.hpp"
#include "cli/app.hpp"
#include "cli/study.hpp"
#include "sim/core/spec.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::cli {
namespace an = stampede::analysis;
namespace {

std::string join_groups(const std::vector<std::vector<std::string>>& groups, const char* sep) {
  std::string out;
  for (const auto& g : groups) {
    out += fmt::format("{}[{}]", out.empty() ? "" : sep, fmt::join(g, ", "));
  }
  return out;
}

std::string describe(const FaultSpec& f) {
  switch (f.kind) {
    case FaultKind::crash:
      return fmt::format("crash {}", f.node);
    case FaultKind::restart:
      return fmt::format("restart {}", f.node);
    case FaultKind::power_off:
      return fmt::format("power_off {}", f.node);
    case FaultKind::power_on:
      return fmt::format("power_on {}", f.node);
    case FaultKind::pause:
      return fmt::format("pause {}", f.node);
    case FaultKind::partition:
      return fmt::format("partition {}", join_groups(f.groups, " | "));
    case FaultKind::partition_oneway:
      return fmt::format("partition {}", join_groups(f.groups, " -> "));
    case FaultKind::heal:
      return "heal all";
    case FaultKind::clock_skew:
      return fmt::format("clock_skew {}", f.node);
    case FaultKind::kill_container:
      return fmt::format("kill_container {}", f.container);
    case FaultKind::truncate:
      return fmt::format("truncate {}", fmt::join(f.tables, ", "));
    case FaultKind::clean_state:
      return fmt::format("clean_state {}", f.node);
  }
  return "fault";
}

// The scripted faults of the trace's embedded scenario, to name its fault steps. A scenario
// that no longer parses (another model version) leaves the steps named "fault".
std::vector<std::pair<TimeNs, std::string>> fault_labels(const Trace& t) {
  std::vector<std::pair<TimeNs, std::string>> out;
  try {
    const ScenarioSpec s = parse_scenario_with_overrides(
        t.header.scenario_text, t.header.scenario_file, t.header.overrides, registry());
    for (const auto& f : s.faults) out.emplace_back(f.at_ns, describe(f));
  } catch (const std::exception&) {
  }
  return out;
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw an::BadInput(path + ": cannot write the file");
  }
  std::filesystem::rename(tmp, path);
}

// A window bound: "step:N" or a duration ("12.5s").
struct Bound {
  std::optional<TimeNs> time_ns;
  std::optional<std::uint64_t> step;
};

Bound parse_bound(const std::string& flag, const std::string& value) {
  Bound b;
  if (value.rfind("step:", 0) == 0) {
    const std::string digits = value.substr(5);
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      throw an::BadInput(fmt::format("export {} {}: expected step:N with N a whole number of "
                                     "steps (step:300) or a time with a unit (12.5s)",
                                     flag, value));
    b.step = std::stoull(digits);
    return b;
  }
  try {
    b.time_ns = parse_duration(value);
  } catch (const std::invalid_argument& e) {
    throw an::BadInput(fmt::format("export {} {}: {} (or step:N for a step)", flag, value,
                                   e.what()));
  }
  return b;
}

// What `export` draws besides the steps, from a re-run of the trace: the log lines, the first
// violation and (explorer traces) the injected faults' descriptions. A trace whose re-run no
// longer matches keeps what the re-run saw up to there, with a warning.
struct Replayed {
  Trace trace;
  std::vector<std::pair<TimeNs, std::string>> fault_labels;
  std::vector<an::ExportLog> logs;
  std::optional<an::ExportViolation> violation;
};

void take_logs(Replayed& r, const std::vector<TimelineEntry>& timeline) {
  for (const TimelineEntry& e : timeline) r.logs.push_back(an::ExportLog{e.time_ns, e.node, e.text});
}

void warn_divergence(const ReplayComparer& comparer) {
  if (comparer.diverged())
    std::fprintf(stderr, "export: warning: the re-run for the log lines stopped matching the "
                         "trace (%s); log lines after that are missing\n",
                 comparer.divergence().c_str());
}

Replayed load_explore(const std::string& path) {
  explore::ExploreTrace t = explore::read_explore_trace(path, STAMPEDE_VERSION);
  Replayed r;
  r.trace = t.trace;
  const ScenarioSpec spec = parse_trace_scenario(path, t.trace.header);
  explore::Settings settings = explore::settings_for(t);
  settings.timeline_level = LogLevel::info;
  explore::Explorer ex(spec, registry(), settings);
  ReplayComparer comparer(t.trace, false);
  explore::RunResult run = ex.replay(t.picks, true, {&comparer});
  warn_divergence(comparer);
  for (std::size_t i = 0; i < run.steps.size() && i < run.descriptions.size(); ++i)
    if (run.steps[i].kind == StepKind::fault)
      r.fault_labels.emplace_back(run.steps[i].time_ns, run.descriptions[i]);
  take_logs(r, run.outcome.timeline);
  if (run.violation)
    r.violation = an::ExportViolation{run.violation->step, run.violation->time_ns,
                                      run.violation->property, run.violation->detail};
  else if (!t.property.empty() && !t.trace.steps.empty())
    r.violation = an::ExportViolation{t.trace.steps.back().index, t.trace.steps.back().time_ns,
                                      t.property, "(recorded; the re-run did not reach it)"};
  return r;
}

// The earliest failed expectation of a run, where it failed (the run's end when it names no
// instant).
std::optional<an::ExportViolation> first_violation(const RunOutcome& out) {
  std::optional<an::ExportViolation> v;
  for (const ExpectResult& e : out.results) {
    if (e.passed) continue;
    const TimeNs at = e.violated_at_ns.value_or(out.simulated_ns);
    if (!v || at < v->time_ns) v = an::ExportViolation{e.violated_step, at, e.spec->text, e.detail};
  }
  return v;
}

Replayed load_run(const std::string& path) {
  Replayed r;
  r.trace = read_trace(path, STAMPEDE_VERSION);
  const Trace& t = r.trace;
  r.fault_labels = fault_labels(t);
  const ScenarioSpec spec = parse_trace_scenario(path, t.header);
  ReplayComparer comparer(t, false);
  RunConfig config;
  config.seed = t.header.seed;
  config.timeline_level = LogLevel::info;
  // A SimGrid trace re-runs on SimGrid: the call hands the whole command over to
  // stampede-simgrid (cli/app.hpp), before anything is written.
  if (t.header.engine == "simgrid")
    config.make_engine = simgrid_engine_factory(
        t.header.platform.empty() ? std::nullopt : std::optional<std::string>(t.header.platform));
  config.observers.push_back(&comparer);
  const RunOutcome out = run_scenario(spec, registry(), config);
  warn_divergence(comparer);
  take_logs(r, out.timeline);
  if (!comparer.diverged()) r.violation = first_violation(out);
  return r;
}

// Steps shown around a violation when no --from/--to is given: enough for the messages that led
// to it, few enough for Graphviz to lay out in seconds.
constexpr std::uint64_t k_steps_before_violation = 200;
constexpr std::uint64_t k_steps_after_violation = 20;

// The index of the violation's step: its own, or the last step at or before its instant.
std::uint64_t violation_step(const Trace& t, const an::ExportViolation& v) {
  if (v.step > 0) return v.step;
  std::uint64_t index = t.steps.empty() ? 0 : t.steps.front().index;
  for (const TraceStep& s : t.steps)
    if (s.time_ns <= v.time_ns) index = s.index;
  return index;
}

void apply_window(const ExportArgs& args, const Replayed& r, an::ExportOptions& options) {
  if (!args.from.empty()) {
    const Bound b = parse_bound("--from", args.from);
    if (b.time_ns) options.from_ns = *b.time_ns;
    if (b.step) options.from_step = *b.step;
  }
  if (!args.to.empty()) {
    const Bound b = parse_bound("--to", args.to);
    if (b.time_ns) options.to_ns = *b.time_ns;
    if (b.step) options.to_step = *b.step;
  }
  if (options.from_ns > options.to_ns || options.from_step > options.to_step)
    throw an::BadInput(fmt::format("export --from {} --to {}: the window ends before it starts",
                                   args.from, args.to));
  if (args.from.empty() && args.to.empty() && r.violation) {
    const std::uint64_t v = violation_step(r.trace, *r.violation);
    options.from_step = v > k_steps_before_violation ? v - k_steps_before_violation : 0;
    options.to_step = v + k_steps_after_violation;
    std::printf("window    steps %llu to %llu, around the violation at step %llu (--from/--to "
                "choose another)\n",
                static_cast<unsigned long long>(options.from_step),
                static_cast<unsigned long long>(options.to_step),
                static_cast<unsigned long long>(v));
  }
}

// Every --nodes pattern must match a node of the trace: a misspelt one would silently draw
// nothing.
void check_node_patterns(const std::vector<std::string>& patterns, const Trace& t) {
  std::vector<std::string> names;
  for (const TraceStep& s : t.steps)
    if (!s.node.empty() && std::find(names.begin(), names.end(), s.node) == names.end())
      names.push_back(s.node);
  for (const std::string& p : patterns) {
    bool any = false;
    for (const std::string& n : names) any = any || name_matches(p, n);
    if (!any)
      throw an::BadInput(fmt::format(
          "export --nodes {}: matches no node of the trace (its nodes: {}{})", p,
          fmt::join(names.begin(), names.begin() + std::min<std::size_t>(names.size(), 12), ", "),
          names.size() > 12 ? ", ..." : ""));
  }
}

}  // namespace

int cmd_export(const ExportArgs& args) {
  if (args.perfetto.empty() && args.dot.empty() && args.html.empty())
    throw an::BadInput("export: give --perfetto FILE, --dot FILE or --html FILE (or several)");
  // Flags first, so that a bad one costs no re-run.
  if (!args.from.empty()) parse_bound("--from", args.from);
  if (!args.to.empty()) parse_bound("--to", args.to);
  const Replayed r =
      explore::is_explore_trace(args.trace) ? load_explore(args.trace) : load_run(args.trace);
  an::ExportOptions options;
  apply_window(args, r, options);
  check_node_patterns(args.nodes, r.trace);
  options.nodes = args.nodes;
  options.fault_labels = r.fault_labels;
  options.logs = r.logs;
  options.violation = r.violation;
  const Trace& trace = r.trace;
  if (!args.perfetto.empty()) {
    write_atomically(args.perfetto, an::to_chrome_json(trace, options));
    std::printf("perfetto  %s (open in https://ui.perfetto.dev or chrome://tracing)\n",
                args.perfetto.c_str());
  }
  if (!args.dot.empty()) {
    write_atomically(args.dot, an::to_dot(trace, options));
    std::printf("dot       %s (render with: dot -Tsvg %s -o graph.svg)\n", args.dot.c_str(),
                args.dot.c_str());
  }
  if (!args.html.empty()) {
    write_atomically(args.html, an::to_html(trace, options));
    std::printf("html      %s (one self-contained page; open it in any browser)\n",
                args.html.c_str());
  }
  return k_exit_ok;
}

}  // namespace stampede::cli
