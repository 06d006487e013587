#include "analysis/study_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "analysis/errors.hpp"
#include "sim/core/random.hpp"

namespace stampede::analysis {
namespace {

// Summed left to right, as the reference implementation does, so both give the same bits.
double mean_of(const std::vector<double>& xs) {
  double s = 0.0;
  for (double x : xs) s += x;
  return s / static_cast<double>(xs.size());
}

// One resample's mean: n draws with replacement.
double resampled_mean(const std::vector<double>& xs, RandomStream& rng) {
  const auto last = static_cast<std::int64_t>(xs.size()) - 1;
  double s = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i)
    s += xs[static_cast<std::size_t>(rng.uniform_int(0, last))];
  return s / static_cast<double>(xs.size());
}

Interval quantiles(std::vector<double> draws, double mean) {
  std::sort(draws.begin(), draws.end());
  const std::size_t r = draws.size();
  return Interval{mean, draws[r * 25 / 1000], draws[r * 975 / 1000 - 1]};
}

bool is_decimal(const std::string& s) {
  std::size_t i = s.starts_with('-') ? 1 : 0;
  const std::size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  const std::size_t frac = ++i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i > frac && i == s.size();
}

// -1, 0 or 1.
int compare_values(const std::string& a, const std::string& b) {
  if (is_decimal(a) && is_decimal(b)) {
    const double x = std::stod(a), y = std::stod(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

bool point_less(const Point& a, const Point& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i].first != b[i].first) return a[i].first < b[i].first;
    if (int c = compare_values(a[i].second, b[i].second)) return c < 0;
  }
  return a.size() < b.size();
}

bool key_matches(const std::string& key, const std::string& want) {
  return key == want || (key.size() > want.size() && key.ends_with(want) &&
                         key[key.size() - want.size() - 1] == '.');
}

std::string cell_text(const std::optional<Interval>& i, int precision, bool sign) {
  if (!i) return "–";
  const std::string spec = fmt::format("{{:{}.{}f}}", sign ? "+" : "", precision);
  return fmt::format(fmt::runtime(spec), i->mean) + " [" +
         fmt::format(fmt::runtime(spec), i->low) + ", " +
         fmt::format(fmt::runtime(spec), i->high) + "]";
}

std::string markdown_label(const Point& p) {
  std::string out;
  for (char c : point_label(p)) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::optional<Interval> bootstrap_mean(const std::vector<double>& xs, RandomStream& rng,
                                       int resamples) {
  if (xs.empty()) return std::nullopt;
  if (xs.size() == 1) return Interval{xs[0], xs[0], xs[0]};
  std::vector<double> draws;
  draws.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) draws.push_back(resampled_mean(xs, rng));
  return quantiles(std::move(draws), mean_of(xs));
}

std::optional<Interval> bootstrap_difference(const std::vector<double>& xs,
                                             const std::vector<double>& base, RandomStream& rng,
                                             int resamples) {
  if (xs.size() < 2 || base.size() < 2) return std::nullopt;
  std::vector<double> draws;
  draws.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    const double a = resampled_mean(xs, rng);
    draws.push_back(a - resampled_mean(base, rng));
  }
  return quantiles(std::move(draws), mean_of(xs) - mean_of(base));
}

std::vector<std::string> order_points(std::vector<std::string> keys) {
  std::map<std::string, Point> parsed;
  for (const auto& k : keys) parsed.emplace(k, point_from_key(k));
  std::stable_sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) {
    return point_less(parsed.at(a), parsed.at(b));
  });
  return keys;
}

std::string find_baseline(const std::vector<std::string>& keys, const std::string& spec) {
  std::vector<std::pair<std::string, std::string>> want;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string part = spec.substr(start, comma - start);
    const std::size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0)
      throw BadInput("--baseline " + spec + ": '" + part + "' is not KEY=VALUE");
    want.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    start = comma + 1;
  }
  std::vector<std::string> found;
  for (const auto& key : keys) {
    bool all = true;
    for (const auto& [k, v] : want) {
      bool one = false;
      for (const auto& [pk, pv] : point_from_key(key)) one = one || (key_matches(pk, k) && pv == v);
      all = all && one;
    }
    if (all) found.push_back(key);
  }
  if (found.size() == 1) return found.front();
  std::vector<std::string> labels;
  for (const auto& key : found.empty() ? keys : found)
    labels.push_back(point_label(point_from_key(key)));
  throw BadInput(fmt::format("--baseline {}: {} ({})", spec,
                             found.empty() ? "matches no point" : "matches several points",
                             fmt::join(labels, "; ")));
}

std::vector<StudyColumn> study_columns(const std::string& availability_metric) {
  return {{availability_metric, availability_metric, 4},
          {"repair_time_p50", "repair p50 (s)", 1},
          {"repair_time_p95", "repair p95 (s)", 1},
          {"repair_time_p99", "repair p99 (s)", 1},
          {"over_scale_episodes", "over-scale episodes", 2}};
}

StudyTable study_table(const std::vector<RunRow>& runs, const std::vector<StudyColumn>& columns,
                       const std::string& baseline, std::uint64_t seed, int resamples) {
  // Per point, the runs in seed order (a sweep with --jobs stores them in any order).
  std::map<std::string, std::vector<const RunRow*>> by_point;
  for (const auto& r : runs) by_point[r.point].push_back(&r);
  std::vector<std::string> keys;
  for (auto& [k, rs] : by_point) {
    std::stable_sort(rs.begin(), rs.end(),
                     [](const RunRow* a, const RunRow* b) { return a->seed < b->seed; });
    keys.push_back(k);
  }
  StudyTable t;
  t.columns = columns;
  keys = order_points(keys);
  if (keys.empty()) return t;
  t.baseline = baseline.empty() ? keys.front() : baseline;
  if (!by_point.count(t.baseline)) throw BadInput("the baseline point has no runs: " + t.baseline);
  auto values = [&](const std::string& key, const std::string& metric) {
    std::vector<double> xs;
    for (const RunRow* r : by_point.at(key))
      if (auto v = r->metric(metric)) xs.push_back(*v);
    return xs;
  };
  for (const auto& key : keys) {
    StudyRow row{key, point_from_key(key), by_point[key].size(), 0, {}};
    for (const RunRow* r : by_point[key]) row.failed += r->passed ? 0 : 1;
    for (const auto& c : columns) {
      const std::string stream = "report.bootstrap/" + key + "/" + c.metric;
      const std::vector<double> xs = values(key, c.metric);
      StudyCell cell{xs.size(), {}, {}};
      RandomStream rng(seed, stream);
      cell.value = bootstrap_mean(xs, rng, resamples);
      if (key != t.baseline) {
        RandomStream diff(seed, stream + "/minus/" + t.baseline);
        cell.difference = bootstrap_difference(xs, values(t.baseline, c.metric), diff, resamples);
      }
      row.cells.push_back(cell);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string format_study_markdown(const StudyTable& t) {
  std::string head = "| point | runs | failed |", rule = "| --- | ---: | ---: |";
  std::string dhead = "| point |", drule = "| --- |";
  for (const auto& c : t.columns) {
    head += fmt::format(" {} [95% bootstrap] |", c.header);
    rule += " --- |";
    dhead += fmt::format(" Δ {} [95%] |", c.header);
    drule += " --- |";
  }
  std::string values = head + "\n" + rule + "\n", diffs = dhead + "\n" + drule + "\n";
  for (const auto& row : t.rows) {
    const std::string label = markdown_label(row.point);
    values += fmt::format("| {} | {} | {} |", label, row.runs, row.failed);
    diffs += fmt::format("| {} |", label);
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const StudyCell& c = row.cells[i];
      const int p = t.columns[i].precision;
      // A count beside a mean that fewer runs than the point's recorded (a run without repairs
      // has no repair-time percentiles).
      // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive of its inlined
      // memcpy) on " " + a temporary string here.
      values += ' ';
      values += cell_text(c.value, p, false);
      if (c.value && c.n < row.runs) values += fmt::format(" (n={})", c.n);
      values += " |";
      diffs += ' ';
      diffs += row.key == t.baseline ? std::string("baseline") : cell_text(c.difference, p, true);
      diffs += " |";
    }
    values += "\n";
    diffs += "\n";
  }
  return values + "\n" + diffs;
}

}  // namespace stampede::analysis
