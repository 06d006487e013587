#pragma once
// Analytic baselines drawn beside measurements in reports.
//
// Majority quorum under independent crash faults: each of the N members alternates between up
// (exponential, mean MTTF) and down (mean MTTR), independently, so in the long run each is up
// with probability p = MTTF / (MTTF + MTTR), and the ensemble has a quorum while at least
// floor(N/2) + 1 members are up:  A(N) = sum_{k=q}^{N} C(N,k) p^k (1-p)^(N-k).
// Even sizes add no fault tolerance: N = 2m tolerates m - 1 failures, like N = 2m - 1, and
// A(2m) < A(2m - 1) since one more member can fail.
#include <optional>
#include <string>

namespace stampede::analysis {

// floor(n/2) + 1; n must be >= 1.
int majority(int n);

// MTTF / (MTTF + MTTR); both must be positive.
double up_fraction(double mttf, double mttr);

// Probability that at least `quorum` of `n` independent members, each up with probability `p`,
// are up. n >= 1, 1 <= quorum <= n, p in [0, 1].
double at_least_k_of_n(int quorum, int n, double p);

// Binomial availability of an n-member majority quorum with per-member up-fraction p.
double majority_quorum_availability(int n, double p);

// What a sweep point knows about its random crash faults, for the baseline.
struct CrashModel {
  int ensemble = 0;       // the quorum's members (cluster.zookeeper)
  int crash_targets = 0;  // how many of them random_faults.crash targets
  double mttf_s = 0.0;
  double mttr_s = 0.0;
};

// The baseline for a point, when it applies: a non-empty ensemble whose every member (and only
// members of it) are crash targets. Otherwise nullopt (the report then draws no baseline).
std::optional<double> quorum_baseline(const CrashModel& m);

}  // namespace stampede::analysis
