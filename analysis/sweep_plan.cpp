#include "analysis/sweep_plan.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "analysis/errors.hpp"

namespace stampede::analysis {
namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<long> parse_long(const char* s) {
  if (s == nullptr) return std::nullopt;
  std::string_view v(s);
  long x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return x;
}

}  // namespace

Axis parse_axis(const std::string& flag) {
  const auto eq = flag.find('=');
  if (eq == std::string::npos)
    throw BadInput("--set " + flag + ": expected KEY=V1,V2,... (no '=')");
  Axis axis;
  axis.key = trim(std::string_view(flag).substr(0, eq));
  if (axis.key.empty()) throw BadInput("--set " + flag + ": empty key before '='");
  const std::string_view rest = std::string_view(flag).substr(eq + 1);
  if (trim(rest).empty()) throw BadInput("--set " + axis.key + ": empty value list");
  int depth = 0;
  char quote = 0;
  std::size_t start = 0;
  auto push = [&](std::size_t end) {
    std::string v = trim(rest.substr(start, end - start));
    if (v.empty())
      throw BadInput("--set " + axis.key + ": empty value at position " +
                     std::to_string(axis.values.size() + 1) + " of the list");
    axis.values.push_back(std::move(v));
  };
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      push(i);
      start = i + 1;
    }
  }
  push(rest.size());
  return axis;
}

std::vector<std::uint64_t> parse_seeds(const std::string& text) {
  constexpr std::uint64_t k_max_seeds = k_max_runs;
  const auto dots = text.find("..");
  std::uint64_t first = 1;
  std::uint64_t last = 0;
  if (dots == std::string::npos) {
    auto n = parse_u64(text);
    if (!n || *n == 0)
      throw BadInput("--seeds " + text + ": expected a count N >= 1 or a range A..B");
    last = *n;
  } else {
    auto a = parse_u64(std::string_view(text).substr(0, dots));
    auto b = parse_u64(std::string_view(text).substr(dots + 2));
    if (!a || !b) throw BadInput("--seeds " + text + ": expected a count N >= 1 or a range A..B");
    if (*a > *b) throw BadInput("--seeds " + text + ": the range is empty (A > B)");
    first = *a;
    last = *b;
  }
  if (last - first >= k_max_seeds)
    throw BadInput("--seeds " + text + ": more than " + std::to_string(k_max_seeds) +
                   " seeds per point");
  std::vector<std::uint64_t> seeds;
  seeds.reserve(last - first + 1);
  for (std::uint64_t s = first;; ++s) {
    seeds.push_back(s);
    if (s == last) break;
  }
  return seeds;
}

std::vector<Point> cross_product(const std::vector<Axis>& axes) {
  std::set<std::string> keys;
  for (const auto& a : axes)
    if (!keys.insert(a.key).second) throw BadInput("--set " + a.key + ": the key is given twice");
  // Counted before any point is built: ten axes of eight values are 10^9 points, which would
  // exhaust memory before the first run.
  std::uint64_t count = 1;
  for (const auto& a : axes) {
    count *= std::max<std::size_t>(a.values.size(), 1);
    if (count > k_max_points)
      throw BadInput("--set " + a.key + ": the --set axes make more than " +
                     std::to_string(k_max_points) +
                     " points (each is a scenario to check before the sweep starts): split the "
                     "sweep");
  }
  std::vector<Point> points{Point{}};
  for (const auto& a : axes) {
    std::vector<Point> next;
    next.reserve(points.size() * a.values.size());
    for (const auto& p : points)
      for (const auto& v : a.values) {
        Point q = p;
        q.emplace_back(a.key, v);
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  for (auto& p : points) std::sort(p.begin(), p.end());
  return points;
}

std::vector<std::string> point_overrides(const Point& p) {
  std::vector<std::string> out;
  for (const auto& [k, v] : p) out.push_back(k + "=" + v);
  return out;
}

std::string point_key(const Point& p) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [k, v] : p) j.push_back({k, v});
  return j.dump();
}

Point point_from_key(const std::string& key) {
  Point p;
  auto j = nlohmann::json::parse(key, nullptr, false);
  if (!j.is_array()) throw BadInput("results database: bad parameter point '" + key + "'");
  for (const auto& kv : j) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
      throw BadInput("results database: bad parameter point '" + key + "'");
    p.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
  return p;
}

std::string point_label(const Point& p) {
  if (p.empty()) return "(defaults)";
  std::string out;
  for (const auto& [k, v] : p) {
    if (!out.empty()) out += ' ';
    out += k + "=" + v;
  }
  return out;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  std::optional<std::uint64_t> k, n;
  if (slash != std::string::npos) {
    k = parse_u64(std::string_view(text).substr(0, slash));
    n = parse_u64(std::string_view(text).substr(slash + 1));
  }
  if (!k || !n) throw BadInput("--shard " + text + ": expected K/N, e.g. 1/4 (K counts from 1)");
  if (*n < 1 || *n > 1'000'000) throw BadInput("--shard " + text + ": N must be in 1..1000000");
  if (*k < 1 || *k > *n)
    throw BadInput("--shard " + text + ": K must be in 1.." + std::to_string(*n) +
                   " (K counts from 1)");
  return Shard{static_cast<int>(*k), static_cast<int>(*n)};
}

std::optional<Shard> shard_from_env(GetEnv getenv_fn) {
  if (const char* id = getenv_fn("SLURM_ARRAY_TASK_ID")) {
    auto task = parse_long(id);
    auto count = parse_long(getenv_fn("SLURM_ARRAY_TASK_COUNT"));
    auto min = getenv_fn("SLURM_ARRAY_TASK_MIN") ? parse_long(getenv_fn("SLURM_ARRAY_TASK_MIN"))
                                                 : std::optional<long>(0);
    if (!task || !count || !min)
      throw BadInput(
          "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT/SLURM_ARRAY_TASK_MIN: expected "
          "integers (or pass --shard K/N)");
    return parse_shard(std::to_string(*task - *min + 1) + "/" + std::to_string(*count));
  }
  if (const char* idx = getenv_fn("JOB_COMPLETION_INDEX")) {
    auto i = parse_long(idx);
    auto count = parse_long(getenv_fn("STAMPEDE_SHARD_COUNT"));
    if (!i || !count)
      throw BadInput(
          "JOB_COMPLETION_INDEX is set: STAMPEDE_SHARD_COUNT must hold the Job's "
          "completions (or pass --shard K/N)");
    return parse_shard(std::to_string(*i + 1) + "/" + std::to_string(*count));
  }
  return std::nullopt;
}

bool in_shard(std::size_t run_index, const Shard& s) {
  return static_cast<int>(run_index % static_cast<std::size_t>(s.count)) + 1 == s.index;
}

std::vector<PlannedRun> plan_runs(const std::vector<std::vector<std::uint64_t>>& seeds_per_point,
                                  const Shard& shard) {
  std::vector<PlannedRun> out;
  std::size_t i = 0;
  for (std::size_t p = 0; p < seeds_per_point.size(); ++p)
    for (auto seed : seeds_per_point[p]) {
      if (in_shard(i, shard)) out.push_back({p, seed});
      ++i;
    }
  return out;
}

}  // namespace stampede::analysis
