#pragma once
// The study table of `stampede report` (docs/sizing.md, docs/sweeps.md): per parameter point, the
// mean over runs of availability, of each run's repair-time percentiles and of its over-scale
// episodes, each with a 95% percentile-bootstrap interval, and each point's difference from a
// baseline point with the bootstrap interval of the difference.
//
// The bootstrap resamples runs (in seed order) with replacement, 2000 times by default; the
// interval is the 2.5% and 97.5% quantiles of the resampled means by nearest rank (sorted draws
// [R*25/1000] and [R*975/1000 - 1]). A sample of one run has a zero-width interval, an empty one
// none; a difference needs two runs on each side. The draws come from named streams of
// sim/core/random.hpp (Boost.Random's mt19937_64 and uniform_int_distribution), derived from
// one seed: "report.bootstrap/POINT/METRIC" for a point's interval and
// "report.bootstrap/POINT/METRIC/minus/BASELINE" for its difference (POINT and BASELINE are
// point keys), so a point's numbers do not change when other points are added or left out.
// tests/study/sizing_reference.py computes the same table independently; the sizing_study test
// checks they agree digit for digit.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/results_db.hpp"
#include "analysis/stats.hpp"
#include "analysis/sweep_plan.hpp"

namespace stampede {
class RandomStream;
}

namespace stampede::analysis {

inline constexpr int k_bootstrap_resamples = 2000;
inline constexpr std::uint64_t k_bootstrap_seed = 1;

// The mean of `xs` with its 95% percentile-bootstrap interval; nullopt when empty.
std::optional<Interval> bootstrap_mean(const std::vector<double>& xs, RandomStream& rng,
                                       int resamples = k_bootstrap_resamples);
// mean(xs) - mean(base) with the bootstrap interval of the difference (each side resampled on
// its own, xs first in every resample); nullopt unless each has two values or more.
std::optional<Interval> bootstrap_difference(const std::vector<double>& xs,
                                             const std::vector<double>& base, RandomStream& rng,
                                             int resamples = k_bootstrap_resamples);

// Point keys in the table's order: pair by pair, keys as text, values as numbers when both are
// decimal numbers (so 3 before 10), else as text.
std::vector<std::string> order_points(std::vector<std::string> keys);

// The point of `keys` that `spec` names: comma-separated KEY=VALUE pairs, each matching a
// point's key exactly or by its last dotted parts (`servers=3` for `cluster.servers`). Exactly
// one point must match every pair; otherwise BadInput says which points there are.
std::string find_baseline(const std::vector<std::string>& keys, const std::string& spec);

struct StudyColumn {
  std::string metric;
  std::string header;
  int precision = 4;  // decimals printed
};

// Availability (the given metric), repair_time_p50/p95/p99 and over_scale_episodes.
std::vector<StudyColumn> study_columns(const std::string& availability_metric);

struct StudyCell {
  std::size_t n = 0;                   // runs that recorded the metric
  std::optional<Interval> value;       // bootstrap_mean
  std::optional<Interval> difference;  // bootstrap_difference from the baseline point
};

struct StudyRow {
  std::string key;
  Point point;
  std::size_t runs = 0;
  std::size_t failed = 0;  // runs that failed an expectation
  std::vector<StudyCell> cells;
};

struct StudyTable {
  std::vector<StudyColumn> columns;
  std::string baseline;  // a point key
  std::vector<StudyRow> rows;
};

// The table of one scenario's runs. `baseline`: a point key of the runs (find_baseline); empty:
// the first point in order_points.
StudyTable study_table(const std::vector<RunRow>& runs, const std::vector<StudyColumn>& columns,
                       const std::string& baseline, std::uint64_t seed = k_bootstrap_seed,
                       int resamples = k_bootstrap_resamples);

// Two Markdown tables: the values with their intervals, then the differences from the baseline.
std::string format_study_markdown(const StudyTable& t);

}  // namespace stampede::analysis
