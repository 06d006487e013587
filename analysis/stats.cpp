#include "analysis/stats.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

namespace stampede::analysis {

std::optional<Interval> mean_interval_95(const std::vector<double>& xs) {
  if (xs.empty()) return std::nullopt;
  const double n = static_cast<double>(xs.size());
  double sum = 0.0;
  for (double x : xs) sum += x;
  const double mean = sum / n;
  if (xs.size() == 1) return Interval{mean, mean, mean};
  double ss = 0.0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  const double sd = std::sqrt(ss / (n - 1.0));
  boost::math::students_t dist(n - 1.0);
  const double t = boost::math::quantile(boost::math::complement(dist, 0.025));
  const double half = t * sd / std::sqrt(n);
  return Interval{mean, mean - half, mean + half};
}

std::optional<Interval> wilson_interval_95(std::size_t k, std::size_t n) {
  if (n == 0) return std::nullopt;
  const double z = 1.959963984540054;
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(k) / nn;
  const double denom = 1.0 + z * z / nn;
  const double centre = (p + z * z / (2.0 * nn)) / denom;
  const double half = z * std::sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn)) / denom;
  return Interval{p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::optional<double> percentile(std::vector<double> xs, double p) {
  if (xs.empty()) return std::nullopt;
  std::sort(xs.begin(), xs.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(xs.size()));
  const std::size_t i = rank < 1.0 ? 0 : static_cast<std::size_t>(rank) - 1;
  return xs[std::min(i, xs.size() - 1)];
}

}  // namespace stampede::analysis
