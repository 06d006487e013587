#include "analysis/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace stampede::analysis {
namespace {

constexpr const char* k_availability_prefix = "availability:";

std::string fmt_opt(const std::optional<double>& v, const char* spec_unit) {
  return v ? fmt::format(fmt::runtime(spec_unit), *v) : "-";
}

std::string fmt_interval(const std::optional<Interval>& i) {
  return i ? fmt::format("{:.4f} [{:.4f}, {:.4f}]", i->mean, i->low, i->high) : "-";
}

}  // namespace

std::string default_availability_metric(const std::vector<RunRow>& runs) {
  std::map<std::string, std::size_t> count;  // name order breaks ties
  for (const auto& r : runs) {
    std::set<std::string> names;  // a metric counts once per run
    for (const auto& m : r.metrics)
      if (m.name.rfind(k_availability_prefix, 0) == 0) names.insert(m.name);
    for (const auto& n : names) ++count[n];
  }
  std::string best;
  std::size_t most = 0;
  for (const auto& [name, n] : count)
    if (n > most) {
      best = name;
      most = n;
    }
  return best;
}

std::vector<PointSummary> summarise(const std::vector<RunRow>& runs,
                                    const std::vector<PointRow>& points,
                                    const std::vector<std::string>& order,
                                    const std::string& availability_metric) {
  std::map<std::string, std::vector<const RunRow*>> by_point;
  for (const auto& r : runs) by_point[r.point].push_back(&r);
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& k : order)
    if (by_point.count(k) && seen.insert(k).second) keys.push_back(k);
  for (const auto& [k, _] : by_point)
    if (seen.insert(k).second) keys.push_back(k);

  const std::string metric =
      availability_metric.empty() ? default_availability_metric(runs) : availability_metric;
  std::vector<PointSummary> out;
  for (const auto& key : keys) {
    PointSummary s;
    s.key = key;
    s.availability_metric = metric;
    s.point = point_from_key(key);
    const auto& rs = by_point[key];
    s.runs = rs.size();
    std::vector<double> avail;
    for (const RunRow* r : rs) {
      if (!r->passed) ++s.violations;
      for (const auto& m : r->metrics) {
        if (!s.availability_metric.empty() && m.name == s.availability_metric)
          avail.push_back(m.value);
        if (m.name == "convergence_time") {
          if (m.value >= 0.0)
            s.convergence_s.push_back(m.value);
          else
            ++s.not_converged;
        }
      }
    }
    s.violation_rate = wilson_interval_95(s.violations, s.runs);
    s.availability = mean_interval_95(avail);
    // Availability is a fraction: the t interval's tails past 0 or 1 mean nothing.
    if (s.availability) {
      s.availability->low = std::max(0.0, s.availability->low);
      s.availability->high = std::min(1.0, s.availability->high);
    }
    s.conv_p50 = percentile(s.convergence_s, 50);
    s.conv_p95 = percentile(s.convergence_s, 95);
    s.conv_p99 = percentile(s.convergence_s, 99);
    for (const auto& p : points)
      if (p.point == key) {
        s.baseline_availability = p.baseline_availability;
        s.baseline_note = p.baseline_note;
      }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> swept_axes(const std::vector<PointSummary>& s) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto& p : s)
    for (const auto& [k, v] : p.point) values[k].insert(v);
  std::vector<std::string> out;
  for (const auto& [k, vs] : values)
    if (vs.size() > 1) out.push_back(k);
  return out;
}

std::string format_table(const std::vector<PointSummary>& s) {
  std::size_t w = 5;
  for (const auto& p : s) w = std::max(w, point_label(p.point).size());
  const std::string metric = s.empty() || s.front().availability_metric.empty()
                                 ? std::string("availability")
                                 : s.front().availability_metric;
  const std::string head = metric + " (95% interval)";
  const std::size_t aw = std::max<std::size_t>(30, head.size());
  std::string out =
      fmt::format("{:<{}}  {:>6}  {:>5}  {:<{}}  {:>9}  {:>9}  {:>9}\n", "point", w, "runs", "viol",
                  head, aw, "conv p50", "conv p95", "conv p99");
  for (const auto& p : s) {
    out += fmt::format("{:<{}}  {:>6}  {:>5}  {:<{}}  {:>9}  {:>9}  {:>9}", point_label(p.point), w,
                       p.runs, p.violations, fmt_interval(p.availability), aw,
                       fmt_opt(p.conv_p50, "{:.3f}s"), fmt_opt(p.conv_p95, "{:.3f}s"),
                       fmt_opt(p.conv_p99, "{:.3f}s"));
    if (p.not_converged) out += fmt::format("  ({} never converged)", p.not_converged);
    out += '\n';
  }
  return out;
}

std::string format_markdown_table(const std::vector<PointSummary>& s) {
  const std::string metric = s.empty() || s.front().availability_metric.empty()
                                 ? std::string("availability")
                                 : "`" + s.front().availability_metric + "`";
  std::string out = fmt::format(
      "| point | runs | violations | {} mean [95% interval] | baseline | convergence "
      "p50 / p95 / p99 | never converged |\n| --- | ---: | ---: | --- | ---: | --- | ---: |\n",
      metric);
  for (const auto& p : s) {
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} / {} / {} | {} |\n", point_label(p.point),
                       p.runs, p.violations, fmt_interval(p.availability),
                       fmt_opt(p.baseline_availability, "{:.4f}"), fmt_opt(p.conv_p50, "{:.3f} s"),
                       fmt_opt(p.conv_p95, "{:.3f} s"), fmt_opt(p.conv_p99, "{:.3f} s"),
                       p.not_converged);
  }
  return out;
}

}  // namespace stampede::analysis
