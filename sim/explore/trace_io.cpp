#include "sim/explore/trace_io.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

namespace stampede::explore {

using json = nlohmann::json;

bool is_explore_trace(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  json j = json::parse(line, nullptr, false);
  // A field of another type is not an explorer trace's: read_trace then names it as mistyped.
  auto is = [&j](const char* key, const char* want) {
    return j.contains(key) && j[key].is_string() && j[key].get<std::string>() == want;
  };
  return j.is_object() && is("trace", "stampede") && is("engine", "explore");
}

ExploreTrace read_explore_trace(const std::string& path, const std::string& expected_version) {
  // The format is sim/trace's; the explorer adds its bounds to the header (under "explore") and
  // the option picked to every step ("c").
  ExploreTrace x;
  x.trace = read_trace(path, expected_version, {"explore"});
  const Trace& t = x.trace;
  std::string where = fmt::format("{}:1:1", path);
  try {
    if (t.header.extension_json.empty())
      throw TraceError(where + ": the header has no \"explore\" object");
    json e = json::parse(t.header.extension_json);
    x.max_faults = e.at("max_faults").get<int>();
    auto kinds = inject_kinds_from_names(e.at("inject_kinds").get<std::vector<std::string>>());
    if (!kinds) throw TraceError(where + ": unknown fault kind in explore.inject_kinds");
    x.inject_kinds = *kinds;
    x.depth = e.value("depth", std::uint64_t{0});
    if (e.contains("fault_targets"))
      x.fault_targets = e["fault_targets"].get<std::vector<std::string>>();
    x.max_delay_ns = e.value("max_delay_ns", std::int64_t{-1});
    x.pause_ns = e.value("pause_ns", std::int64_t{60 * k_s});
    x.settle_ns = e.value("settle_ns", std::int64_t{0});
    x.fault_phase_ns = e.value("fault_phase_ns", std::int64_t{0});
    // The bounds must be ones the explorer can have written: a negative count would wrap.
    if (e.at("max_faults").get<std::int64_t>() < 0 ||
        (e.contains("depth") && e["depth"].get<std::int64_t>() < 0) || x.max_delay_ns < -1 ||
        x.pause_ns <= 0 || x.settle_ns < 0 || x.fault_phase_ns < 0)
      throw TraceError(where + ": explore.max_faults and explore.depth must be >= 0, "
                               "explore.max_delay_ns >= -1 and explore.pause_ns > 0");
    x.strategy = e.value("strategy", "");
    x.property = e.value("property", "");
  } catch (const json::exception& e) {
    throw TraceError(fmt::format("{}: missing or mistyped field in \"explore\" ({})", where,
                                 e.what()));
  }
  for (const TraceStep& s : t.steps) {
    if (!s.choice || *s.choice < 0)
      throw TraceError(fmt::format("{}:{}:1: step {} needs 'c' (the option picked), >= 0", path,
                                   s.line, s.index));
    x.picks.push_back(static_cast<std::uint32_t>(*s.choice));
  }
  return x;
}

void write_explore_trace(const std::string& path, const TraceHeader& header,
                         const Settings& settings, const std::string& strategy,
                         const RunResult& run) {
  std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::trunc);
  if (!out)
    throw TraceError(fmt::format("{}: cannot write the trace: expected a file in an existing, "
                                 "writable folder",
                                 path));
  json ex = {{"max_faults", settings.max_faults},
             {"inject_kinds", inject_kind_names(settings.inject_kinds)},
             {"depth", settings.depth},
             {"strategy", strategy},
             {"property", run.violation ? run.violation->property : ""}};
  // Only bounded-delay searches write it, so traces of unbounded ones stay byte for byte as
  // before; readers take its absence as unbounded.
  if (settings.max_delay_ns >= 0) ex["max_delay_ns"] = settings.max_delay_ns;
  // Likewise only targeted searches write their targets (they decide the options).
  if (!settings.fault_targets.empty()) ex["fault_targets"] = settings.fault_targets;
  // And only liveness searches their phases (the run's options and verdict depend on them).
  if (settings.settle_ns > 0) {
    ex["settle_ns"] = settings.settle_ns;
    if (settings.fault_phase_ns > 0) ex["fault_phase_ns"] = settings.fault_phase_ns;
  }
  // Likewise only searches that may pause write the pause's length.
  if (settings.inject_kinds & (1u << static_cast<unsigned>(InjectKind::pause)))
    ex["pause_ns"] = settings.pause_ns;
  json h = {{"trace", "stampede"},
            {"format", header.format},
            {"version", header.version},
            {"engine", "explore"},
            {"scenario_file", header.scenario_file},
            {"seed", header.seed},
            {"overrides", header.overrides},
            {"scenario", header.scenario_text},
            {"explore", ex}};
  out << h.dump() << '\n';
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const TraceStep& s = run.steps[i];
    json j = {{"i", s.index}, {"t", s.time_ns}, {"k", std::string(step_kind_name(s.kind))}};
    if (!s.node.empty()) j["n"] = s.node;
    if (!s.from.empty()) j["f"] = s.from;
    if (!s.message.empty()) j["m"] = s.message;
    j["c"] = i < run.picks.size() ? run.picks[i] : 0;
    j["h"] = hex64(s.rolling_hash);
    out << j.dump() << '\n';
  }
  json e = {{"end", true},
            {"steps", run.steps.size()},
            {"digest", hex64(run.digest)},
            {"verdict", run.passed ? "pass" : "fail"}};
  out << e.dump() << '\n';
  out.close();
  if (!out) {
    std::remove(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: writing the trace failed", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(fmt::format("{}: cannot rename the trace into place", path));
}

Settings settings_for(const ExploreTrace& t) {
  Settings s;
  s.seed = t.trace.header.seed;
  s.max_faults = t.max_faults;
  s.inject_kinds = t.inject_kinds;
  s.fault_targets = t.fault_targets;
  s.settle_ns = t.settle_ns;
  s.fault_phase_ns = t.fault_phase_ns;
  s.depth = t.depth;
  s.max_delay_ns = t.max_delay_ns;
  s.pause_ns = t.pause_ns;
  return s;
}

}  // namespace stampede::explore
