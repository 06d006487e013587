// `stampede replay`: re-execute a trace's embedded scenario and compare every step's rolling hash
// with the recorded one. A trace that carries its picks by identity (explorer traces since
// identities), a trace of another stampede version and a replay asked for a verdict
// (`--expect`) are followed as far as their schedule still exists, and the report says where the
// run first differs, where the schedule stops matching and the verdict reached
// (docs/exploration.md, "Picks by identity").
#include <cstdio>
#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/print.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::cli {

using explore::ExploreTrace;
using explore::Explorer;
using explore::RunResult;

void print_violation(const RunResult& r);  // cli/explore.cpp

LogLevel log_level_from_name(const std::string& name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  return LogLevel::notable;
}

void print_replay_timeline(const std::vector<TimelineEntry>& timeline) {
  std::printf("\ntimeline (the re-run's; it stops where the replay stops)\n");
  for (const TimelineEntry& e : timeline) print_timeline_entry(e);
  std::printf("\n");
}

namespace {

// A trace of another version is followed, not refused: its schedule is what a bug report
// carries, and most of it usually still exists in the next release.
bool other_version(const std::string& path, const TraceHeader& h) {
  if (h.version == STAMPEDE_VERSION) return false;
  std::fprintf(stderr,
               "stampede: warning: %s was written by stampede %s, this is %s: following its "
               "schedule as far as it still exists\n",
               path.c_str(), h.version.c_str(), STAMPEDE_VERSION);
  return true;
}

// The exit status once the replay is over: with --expect, whether the verdict reached is the one
// expected; without, whether the trace was reproduced step for step.
int verdict_exit(const ReplayArgs& args, bool passed, bool reproduced) {
  if (args.expect.empty()) return reproduced ? k_exit_ok : k_exit_failed;
  const bool want = args.expect == "pass";
  std::printf("%s verdict %s, --expect %s\n", passed == want ? "✓" : "✗", passed ? "PASS" : "FAIL",
              args.expect.c_str());
  return passed == want ? k_exit_ok : k_exit_failed;
}

// What the replay found where it was not a step-for-step reproduction: where the run first
// differs from the recording and the verdict it reached against the recorded one.
void print_followed(const ReplayComparer& comparer, const TraceEnd& recorded, bool passed,
                    std::uint64_t steps) {
  if (comparer.diverged())
    std::printf("  the run differs from the recording from here: %s\n",
                comparer.divergence().c_str());
  if (steps > recorded.steps)
    std::printf("  after the recorded %llu steps the run went on in time order to step %llu\n",
                static_cast<unsigned long long>(recorded.steps),
                static_cast<unsigned long long>(steps));
  std::printf("verdict %s (recorded %s)\n", passed ? "PASS" : "FAIL",
              recorded.passed ? "PASS" : "FAIL");
}

// An explorer trace followed by identity (or by index, for a trace written before identities):
// the report after the run.
int report_followed(const ReplayArgs& args, const ExploreTrace& t, const RunResult& r,
                    const ReplayComparer& comparer) {
  const std::size_t recorded = t.trace.steps.size();
  const bool reproduced = !comparer.diverged() && r.unmatched.empty() &&
                          r.picks.size() == recorded && r.digest == t.trace.end.digest;
  if (reproduced) {
    if (r.violation) print_violation(r);
    std::printf("✓ reproduced all %zu steps; digest %s matches; verdict %s as recorded\n",
                recorded, hex64(r.digest).c_str(), r.passed ? "PASS" : "FAIL");
    return verdict_exit(args, r.passed, true);
  }
  const std::uint64_t found = r.unmatched.empty() ? std::min(recorded, r.picks.size())
                                                  : r.unmatched_step - 1;
  if (t.identities.empty())
    std::printf("followed the recorded picks by index (the trace has no identities)\n");
  else
    std::printf("followed the recorded schedule by identity: %llu of %zu picks found (%llu of "
                "them with another sequence number)\n",
                static_cast<unsigned long long>(found), recorded,
                static_cast<unsigned long long>(r.loose_matches));
  if (!r.unmatched.empty())
    std::printf("✗ the schedule stops matching at step %llu (%s): %s\n",
                static_cast<unsigned long long>(r.unmatched_step),
                format_duration(r.unmatched_ns).c_str(), r.unmatched.c_str());
  if (r.violation) print_violation(r);
  print_followed(comparer, t.trace.end, r.passed, r.picks.size());
  if (!r.unmatched.empty())
    std::printf("  (judged where the schedule stops: invariants only, the run did not reach its "
                "end)\n");
  return verdict_exit(args, r.passed, false);
}

// An explorer trace replayed by index and compared step by step, as before identities.
int report_by_index(const ReplayArgs& args, const ExploreTrace& t, const RunResult& r,
                    const ReplayComparer& comparer) {
  if (comparer.diverged()) {
    std::printf("✗ %s\n", comparer.divergence().c_str());
    return k_exit_failed;
  }
  if (r.picks.size() < t.trace.steps.size()) {
    std::printf("✗ the replay ended after %zu steps; the trace goes on to %s\n", r.picks.size(),
                describe_step(t.trace.steps[r.picks.size()]).c_str());
    return k_exit_failed;
  }
  if (r.digest != t.trace.end.digest) {
    std::printf("✗ every step matched but the final digest differs: recorded %s, replay %s\n",
                hex64(t.trace.end.digest).c_str(), hex64(r.digest).c_str());
    return k_exit_failed;
  }
  if (r.violation) print_violation(r);
  std::printf("✓ reproduced all %llu steps; digest %s matches; verdict %s as recorded\n",
              static_cast<unsigned long long>(comparer.steps_compared()),
              hex64(r.digest).c_str(), r.passed ? "PASS" : "FAIL");
  return verdict_exit(args, r.passed, true);
}

// A kernel or SimGrid trace: the schedule is the seed and the embedded scenario, so the re-run
// follows it by itself; step for step, or (following) to its end whatever it meets.
int report_kernel(const ReplayArgs& args, const Trace& trace, const RunOutcome& out,
                  const ReplayComparer& comparer, bool follow) {
  const bool reproduced = !comparer.diverged() && out.steps == trace.steps.size() &&
                          out.digest == trace.end.digest;
  if (follow && !reproduced) {
    std::printf("followed the recorded seed and scenario to the run's end (%llu steps)\n",
                static_cast<unsigned long long>(out.steps));
    print_followed(comparer, trace.end, out.passed, out.steps);
    for (const ExpectResult& e : out.results)
      if (!e.passed) std::printf("  ✗ %s: %s\n", e.spec->text.c_str(), e.detail.c_str());
    return verdict_exit(args, out.passed, false);
  }
  if (comparer.diverged()) {
    std::printf("✗ %s\n", comparer.divergence().c_str());
    return k_exit_failed;
  }
  if (out.steps < trace.steps.size()) {
    std::printf("✗ the replay ended after %llu steps; the trace goes on to %s\n",
                static_cast<unsigned long long>(out.steps),
                describe_step(trace.steps[out.steps]).c_str());
    return k_exit_failed;
  }
  if (out.digest != trace.end.digest) {
    std::printf("✗ every step matched but the final digest differs: recorded %s, replay %s\n",
                hex64(trace.end.digest).c_str(), hex64(out.digest).c_str());
    return k_exit_failed;
  }
  std::printf("✓ reproduced all %llu steps; digest %s matches; verdict %s as recorded\n",
              static_cast<unsigned long long>(comparer.steps_compared()),
              hex64(out.digest).c_str(), out.passed ? "PASS" : "FAIL");
  return verdict_exit(args, out.passed, true);
}

// The trace's scenario with `replay --set` appended to its overrides. The recorded scenario is
// read alone first, so that an error of a --set is not reported as one of the recording.
ScenarioSpec replay_scenario(const ReplayArgs& args, const TraceHeader& h) {
  ScenarioSpec spec = parse_trace_scenario(args.trace, h);
  if (args.sets.empty()) return spec;
  std::vector<std::string> all = h.overrides;
  all.insert(all.end(), args.sets.begin(), args.sets.end());
  return parse_scenario_with_overrides(h.scenario_text, h.scenario_file, all, registry());
}

}  // namespace

int cmd_replay_explore(const ReplayArgs& args) {
  ExploreTrace t = explore::read_explore_trace(args.trace, "");
  const bool other = other_version(args.trace, t.trace.header) || !args.sets.empty();
  ScenarioSpec spec = replay_scenario(args, t.trace.header);
  explore::Settings settings = explore::settings_for(t);
  if (!args.log_level.empty()) settings.timeline_level = log_level_from_name(args.log_level);
  Explorer ex(spec, registry(), settings);
  ReplayComparer comparer(t.trace, args.verbose);
  const bool by_identity = !t.identities.empty();
  const bool follow = by_identity || other || !args.expect.empty();
  if (follow) comparer.keep_going();
  RunResult r = by_identity ? ex.replay_by_identity(t.identities, t.picks, false, {&comparer})
                            : ex.replay(t.picks, false, {&comparer});
  std::printf("stampede replay %s  (scenario %s, engine explore, seed %llu, %zu recorded steps, "
              "picks by %s)\n",
              args.trace.c_str(), spec.name.c_str(),
              static_cast<unsigned long long>(t.trace.header.seed), t.trace.steps.size(),
              by_identity ? "identity" : "index");
  if (!args.log_level.empty()) print_replay_timeline(r.outcome.timeline);
  return follow ? report_followed(args, t, r, comparer) : report_by_index(args, t, r, comparer);
}

int cmd_replay(const ReplayArgs& args) {
  if (explore::is_explore_trace(args.trace)) return cmd_replay_explore(args);
  Trace trace = read_trace(args.trace, "");
  const bool follow =
      other_version(args.trace, trace.header) || !args.expect.empty() || !args.sets.empty();
  ScenarioSpec spec = replay_scenario(args, trace.header);
  ReplayComparer comparer(trace, args.verbose);
  if (follow) comparer.keep_going();
  RunConfig config;
  config.seed = trace.header.seed;
  if (trace.header.engine == "simgrid")
    config.make_engine = simgrid_engine_factory(
        trace.header.platform.empty() ? std::nullopt
                                      : std::optional<std::string>(trace.header.platform));
  config.observers.push_back(&comparer);
  if (!args.log_level.empty()) {
    config.timeline_level = log_level_from_name(args.log_level);
    config.keep_debug_logs = config.timeline_level == LogLevel::debug;
  }
  RunOutcome out = run_scenario(spec, registry(), config);

  std::printf("stampede replay %s  (scenario %s, engine %s, seed %llu, %zu recorded steps)\n",
              args.trace.c_str(), spec.name.c_str(), trace.header.engine.c_str(),
              static_cast<unsigned long long>(trace.header.seed), trace.steps.size());
  if (!args.log_level.empty()) print_replay_timeline(out.timeline);
  return report_kernel(args, trace, out, comparer, follow);
}

}  // namespace stampede::cli
