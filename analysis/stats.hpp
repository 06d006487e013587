#pragma once
// Summary statistics for sweeps and reports: means with Student-t 95% intervals (runs per point
// are often few, so the normal approximation would be too narrow), Wilson intervals for rates
// (they stay inside [0, 1] at 0 or n violations), and nearest-rank percentiles.
#include <cstddef>
#include <optional>
#include <vector>

namespace stampede::analysis {

struct Interval {
  double mean = 0.0;
  double low = 0.0;
  double high = 0.0;
};

// Mean of `xs` with a two-sided 95% Student-t interval; one value gives a zero-width interval.
// Empty input gives nullopt.
std::optional<Interval> mean_interval_95(const std::vector<double>& xs);

// The rate k/n with a 95% Wilson score interval; n == 0 gives nullopt.
std::optional<Interval> wilson_interval_95(std::size_t k, std::size_t n);

// The nearest-rank percentile (p in (0, 100]): the smallest value with at least p% of the values
// at or below it. Always one of the values, so p99 of 10 runs is the worst run. Empty: nullopt.
std::optional<double> percentile(std::vector<double> xs, double p);

}  // namespace stampede::analysis
