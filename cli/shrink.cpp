// `stampede shrink TRACE`: minimise a failing explorer trace (sim/explore/shrink.hpp) and write
// a trace of the smaller run that `replay` reproduces.
#include <cstdio>
#include <fmt/format.h>
#include <functional>

#include "cli/app.hpp"
#include "sim/explore/shrink.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::cli {

using namespace stampede::explore;

// From cli/explore.cpp.
std::function<bool()> deadline(std::optional<DurationNs> budget_ns);
void print_timeline(const RunResult& r, std::size_t last_n);
void print_violation(const RunResult& r);

namespace {

std::string default_out(const std::string& path) {
  const std::string ext = ".trace.jsonl";
  if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
    return path.substr(0, path.size() - ext.size()) + ".shrunk" + ext;
  return path + ".shrunk";
}

std::string size_text(const ShrinkSize& s) {
  return fmt::format("{} injected faults, {} nodes, {} steps, {} out-of-order picks", s.faults,
                     s.nodes, s.steps, s.nonzero - static_cast<std::uint64_t>(s.faults));
}

}  // namespace

int cmd_shrink(const std::string& trace_path, const std::string& out_arg,
               const std::string& budget) {
  DurationNs budget_ns = parse_budget_flag("shrink --budget", budget);
  ExploreTrace t = read_explore_trace(trace_path, STAMPEDE_VERSION);
  ScenarioSpec spec = parse_trace_scenario(trace_path, t.trace.header);
  Explorer ex(spec, registry(), settings_for(t));
  RunResult original = ex.replay(t.picks);
  if (!original.violation)
    throw InputError(fmt::format("{}:1:1: the trace's run violates nothing: there is nothing to "
                                 "shrink", trace_path));
  std::printf("stampede shrink %s  (scenario %s, property %s)\n", trace_path.c_str(),
              spec.name.c_str(), original.violation->property.c_str());
  ShrinkOptions opt;
  opt.max_candidates = 20000;
  opt.should_stop = deadline(budget_ns);
  // Smaller clusters are the trace's scenario with more overrides (`cluster.agents=1`), which the
  // written trace records after the trace's own, so that it replays on its own.
  const TraceHeader& h = t.trace.header;
  opt.scenario = ShrinkScenario{[&h](const std::vector<std::string>& extra) {
                                  std::vector<std::string> all = h.overrides;
                                  all.insert(all.end(), extra.begin(), extra.end());
                                  return parse_scenario_with_overrides(
                                      h.scenario_text, h.scenario_file, all, registry());
                                },
                                &registry()};
  ShrinkResult r = shrink(ex, original, opt);
  std::printf("before    %s\n", size_text(r.before).c_str());
  std::printf("after     %s  (%llu candidates run, %llu kept)\n", size_text(r.after).c_str(),
              static_cast<unsigned long long>(r.candidates),
              static_cast<unsigned long long>(r.accepted));
  for (const std::string& o : r.overrides) std::printf("cluster   --set %s\n", o.c_str());
  if (r.pause_ns)
    std::printf("pause     %s instead of %s\n", format_duration(*r.pause_ns).c_str(),
                format_duration(settings_for(t).pause_ns).c_str());
  print_timeline(r.best, 30);
  print_violation(r.best);
  std::string out = out_arg.empty() ? default_out(trace_path) : out_arg;
  Settings s = settings_for(t);
  if (r.pause_ns) s.pause_ns = *r.pause_ns;
  TraceHeader header = t.trace.header;
  header.overrides.insert(header.overrides.end(), r.overrides.begin(), r.overrides.end());
  write_explore_trace(out, header, s, t.strategy, r.best);
  std::printf("shrunk trace  %s (%zu steps)\n", out.c_str(), r.best.steps.size());
  return k_exit_ok;
}

}  // namespace stampede::cli
