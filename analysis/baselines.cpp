#include "analysis/baselines.hpp"

#include <cmath>
#include <stdexcept>

namespace stampede::analysis {

int majority(int n) {
  if (n < 1) throw std::invalid_argument("majority: ensemble size must be >= 1");
  return n / 2 + 1;
}

double up_fraction(double mttf, double mttr) {
  if (!(mttf > 0.0) || !(mttr > 0.0))
    throw std::invalid_argument("up_fraction: MTTF and MTTR must be > 0");
  return mttf / (mttf + mttr);
}

double at_least_k_of_n(int quorum, int n, double p) {
  if (n < 1 || quorum < 1 || quorum > n || p < 0.0 || p > 1.0)
    throw std::invalid_argument("at_least_k_of_n: bad arguments");
  // Summed term by term with the binomial coefficient built incrementally: n is small (an
  // ensemble), so this is exact enough and needs no lgamma.
  double total = 0.0;
  double coeff = 1.0;  // C(n, k), starting at k = 0
  for (int k = 0; k <= n; ++k) {
    if (k > 0) coeff = coeff * static_cast<double>(n - k + 1) / static_cast<double>(k);
    if (k >= quorum) total += coeff * std::pow(p, k) * std::pow(1.0 - p, n - k);
  }
  return total;
}

double majority_quorum_availability(int n, double p) {
  return at_least_k_of_n(majority(n), n, p);
}

std::optional<double> quorum_baseline(const CrashModel& m) {
  if (m.ensemble < 1 || m.crash_targets != m.ensemble || !(m.mttf_s > 0.0) || !(m.mttr_s > 0.0))
    return std::nullopt;
  return majority_quorum_availability(m.ensemble, up_fraction(m.mttf_s, m.mttr_s));
}

}  // namespace stampede::analysis
