#pragma once
// Per-point summaries of stored runs: what the sweep's closing table and the report show.
#include <optional>
#include <string>
#include <vector>

#include "analysis/results_db.hpp"
#include "analysis/stats.hpp"
#include "analysis/sweep_plan.hpp"

namespace stampede::analysis {

struct PointSummary {
  std::string key;  // point_key
  Point point;
  std::size_t runs = 0;
  std::size_t violations = 0;              // runs whose verdict is fail
  std::optional<Interval> violation_rate;  // Wilson 95%
  std::string availability_metric;         // the same for every point of one summarise call
  std::optional<Interval> availability;    // Student-t 95% over runs, clipped to [0, 1]
  std::vector<double> convergence_s;       // runs that converged
  std::size_t not_converged = 0;           // convergence_time < 0: the run never converged
  std::optional<double> conv_p50, conv_p95, conv_p99;
  std::optional<double> baseline_availability;
  std::string baseline_note;
};

// The metric a table summarises as availability when none is asked for: of the `availability:*`
// metrics, the one the most runs recorded, the first in name order among equals; empty when no
// run recorded one. One name for every point, so that a column compares like with like (a run
// records its metrics in its own order, so "a run's first availability metric" differed
// between points).
std::string default_availability_metric(const std::vector<RunRow>& runs);

// Groups runs by point, in the order of `order` (point keys) when given, then any other point
// in key order. `availability_metric` names the metric summarised as availability at every
// point; empty: default_availability_metric(runs).
std::vector<PointSummary> summarise(const std::vector<RunRow>& runs,
                                    const std::vector<PointRow>& points,
                                    const std::vector<std::string>& order = {},
                                    const std::string& availability_metric = "");

// The keys that take more than one value across the points, in key order: the swept axes.
std::vector<std::string> swept_axes(const std::vector<PointSummary>& s);

// A fixed-width text table, one line per point (for the terminal); the availability column is
// headed by the metric's name.
std::string format_table(const std::vector<PointSummary>& s);
// The same as a Markdown table.
std::string format_markdown_table(const std::vector<PointSummary>& s);

}  // namespace stampede::analysis
