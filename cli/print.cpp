#include "cli/print.hpp"

#include <cstdio>
#include <fmt/format.h>

namespace stampede::cli {

static constexpr std::size_t k_timeline_max_lines = 40;

static std::string clock(TimeNs t) {
  // m:ss.mmm, readable for runs of minutes to hours.
  long long ms = t / k_ms;
  return fmt::format("{:>3}:{:02}.{:03}", ms / 60000, (ms / 1000) % 60, ms % 1000);
}

void print_timeline_entry(const TimelineEntry& e) {
  std::printf("  %s  %-12s %s\n", clock(e.time_ns).c_str(), e.node.empty() ? "*" : e.node.c_str(),
              e.text.c_str());
}

void print_run(const ScenarioSpec& spec, std::uint64_t seed, std::string_view engine,
               const RunOutcome& out, double wall_s, bool quiet, bool full_timeline) {
  std::printf("stampede run %s  (seed %llu, engine %.*s, %s simulated)\n", spec.name.c_str(),
              static_cast<unsigned long long>(seed), static_cast<int>(engine.size()), engine.data(),
              format_duration(spec.duration_ns).c_str());
  if (!quiet) {
    std::printf("\ntimeline\n");
    std::size_t shown = 0;
    for (const TimelineEntry& e : out.timeline) {
      if (shown == k_timeline_max_lines && !full_timeline) {
        std::printf("  ... %zu more events (use --trace to keep every step)\n",
                    out.timeline.size() - shown);
        break;
      }
      print_timeline_entry(e);
      ++shown;
    }
  }
  std::printf("\nexpectations\n");
  if (out.results.empty()) std::printf("  (none)\n");
  for (const ExpectResult& r : out.results) {
    std::string extra;
    if (r.holds_since_ns)
      extra = fmt::format("; held since {:.3f}s", static_cast<double>(*r.holds_since_ns) / k_s);
    std::printf("  %s %s  -- %s%s\n", r.passed ? "✓" : "✗", r.spec->text.c_str(), r.detail.c_str(),
                extra.c_str());
  }
  std::printf("\nmetrics\n");
  for (const MetricValue& m : out.metrics) {
    std::string v;
    if (m.unit == "ratio") v = fmt::format("{:.4f}", m.value);
    else if (m.unit == "s") v = m.value < 0 ? "never" : fmt::format("{:.3f} s", m.value);
    else v = fmt::format("{:.0f}", m.value);
    std::printf("  %-28s %s\n", m.name.c_str(), v.c_str());
  }
  double sim_s = static_cast<double>(out.simulated_ns) / static_cast<double>(k_s);
  std::printf("  %-28s %.3f s\n", "wall_time", wall_s);
  std::printf("  %-28s %.0fx\n", "simulated_to_wall", wall_s > 0 ? sim_s / wall_s : 0.0);
  std::printf("\ndigest    %s\n", hex64(out.digest).c_str());
  std::printf("verdict   %s\n", out.passed ? "PASS" : "FAIL");
}

}  // namespace stampede::cli
