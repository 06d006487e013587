#include "analysis/csv.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "analysis/sweep_plan.hpp"

namespace stampede::analysis {
namespace {

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string results_csv(const ResultsDb& db) {
  std::map<std::string, std::string> names;  // hash -> scenario name
  for (const auto& s : db.scenarios()) names[s.hash] = s.name;
  const auto runs = db.runs();
  std::set<std::string> axis_keys, metric_names;
  std::vector<Point> points;
  points.reserve(runs.size());
  for (const auto& r : runs) {
    points.push_back(point_from_key(r.point));
    for (const auto& [k, _] : points.back()) axis_keys.insert(k);
    for (const auto& m : r.metrics) metric_names.insert(m.name);
  }
  std::string out = "scenario,scenario_hash,point";
  // Fields are appended piece by piece rather than as `"," + quote(k)`: GCC 12 warns
  // (-Wrestrict) on that operator+ over a temporary string, a false positive of its inlined
  // memcpy, and the build keeps no warnings.
  for (const auto& k : axis_keys) {
    out += ',';
    out += quote(k);
  }
  out += ",seed,verdict,failed_expectations,digest,steps,simulated_s,version,wall_s";
  for (const auto& m : metric_names) {
    out += ',';
    out += quote(m);
  }
  out += "\r\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    out +=
        quote(names[r.scenario_hash]) + "," + r.scenario_hash + "," + quote(point_label(points[i]));
    std::map<std::string, std::string> pv(points[i].begin(), points[i].end());
    for (const auto& k : axis_keys) {
      out += ',';
      if (pv.count(k)) out += quote(pv[k]);
    }
    out += fmt::format(",{},{},{},{},{},{},{},{}", r.seed, r.passed ? "pass" : "fail",
                       r.failed_expectations, r.digest, r.steps, r.simulated_s, quote(r.version),
                       r.wall_s);
    for (const auto& name : metric_names) {
      auto v = r.metric(name);
      out += ',';
      if (v) out += fmt::format("{}", *v);
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace stampede::analysis
