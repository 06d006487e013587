// `stampede export TRACE (--perfetto FILE | --dot FILE)`: a trace as a Chrome/Perfetto timeline
// or a Graphviz happens-before graph (see analysis/trace_export.hpp for what each holds).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "analysis/errors.hpp"
#include "analysis/trace_export.hpp"
#include "cli/app.hpp"
#include "cli/study.hpp"
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

TimeNs duration_flag(const std::string& flag, const std::string& value) {
  try {
    return parse_duration(value);
  } catch (const std::invalid_argument& e) {
    throw an::BadInput(flag + " " + value + ": " + e.what());
  }
}

}  // namespace

int cmd_export(const ExportArgs& args) {
  if (args.perfetto.empty() && args.dot.empty())
    throw an::BadInput("export: give --perfetto FILE or --dot FILE (or both)");
  an::ExportOptions options;
  if (!args.from.empty()) options.from_ns = duration_flag("--from", args.from);
  if (!args.to.empty()) options.to_ns = duration_flag("--to", args.to);
  const Trace trace = read_trace(args.trace, STAMPEDE_VERSION);
  options.fault_labels = fault_labels(trace);
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
  return k_exit_ok;
}

}  // namespace stampede::cli
