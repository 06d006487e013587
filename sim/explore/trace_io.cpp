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
  return j.is_object() && j.value("trace", "") == "stampede" && j.value("engine", "") == "explore";
}

static std::uint64_t parse_hex(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string())
    throw TraceError(fmt::format("{}: expected a string field '{}'", where, key));
  std::string s = j[key].get<std::string>();
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw TraceError(fmt::format("{}: '{}' must be 16 hex digits, got '{}'", where, key, s));
  return std::stoull(s, nullptr, 16);
}

ExploreTrace read_explore_trace(const std::string& path, const std::string& expected_version) {
  std::ifstream in(path);
  if (!in) throw TraceError(fmt::format("{}:1:1: cannot open the trace file", path));
  ExploreTrace x;
  Trace& t = x.trace;
  std::string line;
  int line_no = 0;
  bool have_header = false, have_end = false;
  while (std::getline(in, line)) {
    ++line_no;
    std::string where = fmt::format("{}:{}:1", path, line_no);
    if (line.empty()) continue;
    if (have_end) throw TraceError(where + ": unexpected line after the end record");
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      throw TraceError(fmt::format("{}:{}:{}: not valid JSON (a truncated or edited trace?)", path,
                                   line_no, e.byte == 0 ? 1 : e.byte));
    }
    if (!j.is_object()) throw TraceError(where + ": expected a JSON object");
    try {
      if (!have_header) {
        if (j.value("trace", "") != "stampede")
          throw TraceError(where + ": not a stampede trace (the first line has no \"trace\": "
                                   "\"stampede\")");
        t.header.format = j.at("format").get<int>();
        if (t.header.format != k_trace_format)
          throw TraceError(fmt::format("{}: trace format {} is not supported (this stampede "
                                       "reads {})", where, t.header.format, k_trace_format));
        t.header.version = j.at("version").get<std::string>();
        if (t.header.version != expected_version)
          throw TraceError(fmt::format("{}: trace written by stampede {}, this is {}: re-record "
                                       "it with this version", where, t.header.version,
                                       expected_version));
        t.header.engine = j.at("engine").get<std::string>();
        if (t.header.engine != "explore")
          throw TraceError(fmt::format("{}: engine '{}': this is not a trace written by "
                                       "`stampede explore` (engine 'explore')", where,
                                       t.header.engine));
        t.header.scenario_file = j.at("scenario_file").get<std::string>();
        t.header.scenario_text = j.at("scenario").get<std::string>();
        t.header.overrides = j.at("overrides").get<std::vector<std::string>>();
        t.header.seed = j.at("seed").get<std::uint64_t>();
        const json& e = j.at("explore");
        x.max_faults = e.at("max_faults").get<int>();
        auto kinds = inject_kinds_from_names(e.at("inject_kinds").get<std::vector<std::string>>());
        if (!kinds) throw TraceError(where + ": unknown fault kind in explore.inject_kinds");
        x.inject_kinds = *kinds;
        x.depth = e.value("depth", std::uint64_t{0});
        x.strategy = e.value("strategy", "");
        x.property = e.value("property", "");
        have_header = true;
        continue;
      }
      if (j.contains("end")) {
        t.end.steps = j.at("steps").get<std::uint64_t>();
        t.end.digest = parse_hex(j, "digest", where);
        t.end.passed = j.at("verdict").get<std::string>() == "pass";
        have_end = true;
        continue;
      }
      TraceStep s;
      s.index = j.at("i").get<std::uint64_t>();
      if (s.index != t.steps.size() + 1)
        throw TraceError(fmt::format("{}: step {} follows step {}: steps must be consecutive",
                                     where, s.index, t.steps.size()));
      s.time_ns = j.at("t").get<std::int64_t>();
      auto kind = step_kind_from_name(j.at("k").get<std::string>());
      if (!kind)
        throw TraceError(where + ": unknown step kind '" + j.at("k").get<std::string>() + "'");
      s.kind = *kind;
      s.node = j.value("n", "");
      s.from = j.value("f", "");
      s.message = j.value("m", "");
      s.rolling_hash = parse_hex(j, "h", where);
      std::int64_t c = j.at("c").get<std::int64_t>();
      if (c < 0) throw TraceError(where + ": 'c' (the option picked) must be >= 0");
      x.picks.push_back(static_cast<std::uint32_t>(c));
      t.steps.push_back(std::move(s));
    } catch (const json::exception& e) {
      throw TraceError(fmt::format("{}: missing or mistyped field ({})", where, e.what()));
    }
  }
  if (!have_header) throw TraceError(fmt::format("{}:1:1: empty trace: no header line", path));
  if (!have_end)
    throw TraceError(fmt::format("{}:{}:1: truncated trace: no end record after step {}", path,
                                 line_no + 1, t.steps.size()));
  if (t.end.steps != t.steps.size())
    throw TraceError(fmt::format("{}:{}:1: the end record counts {} steps but the trace holds {}",
                                 path, line_no, t.end.steps, t.steps.size()));
  return x;
}

void write_explore_trace(const std::string& path, const TraceHeader& header,
                         const Settings& settings, const std::string& strategy,
                         const RunResult& run) {
  std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write the trace", tmp));
  json ex = {{"max_faults", settings.max_faults},
             {"inject_kinds", inject_kind_names(settings.inject_kinds)},
             {"depth", settings.depth},
             {"strategy", strategy},
             {"property", run.violation ? run.violation->property : ""}};
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
  s.depth = t.depth;
  return s;
}

}  // namespace stampede::explore
