#include <catch2/catch.hpp>

#include "analysis/baselines.hpp"

using namespace stampede::analysis;

TEST_CASE("majority sizes") {
  CHECK(majority(1) == 1);
  CHECK(majority(2) == 2);
  CHECK(majority(3) == 2);
  CHECK(majority(4) == 3);
  CHECK(majority(5) == 3);
  CHECK(majority(7) == 4);
}

TEST_CASE("up fraction is MTTF over MTTF plus MTTR") {
  CHECK(up_fraction(600, 60) == Approx(10.0 / 11.0));
  CHECK(up_fraction(9, 1) == Approx(0.9));
  CHECK_THROWS(up_fraction(0, 1));
}

TEST_CASE("binomial majority availability against hand-computed values") {
  const double p = 0.9;
  // N=1: p.  N=2: both up, p^2.  N=3: p^3 + 3p^2(1-p) = 0.729 + 0.243.
  CHECK(majority_quorum_availability(1, p) == Approx(0.9));
  CHECK(majority_quorum_availability(2, p) == Approx(0.81));
  CHECK(majority_quorum_availability(3, p) == Approx(0.972));
  // N=4 needs 3: p^4 + 4p^3(1-p) = 0.6561 + 0.2916.
  CHECK(majority_quorum_availability(4, p) == Approx(0.9477));
  // N=5 needs 3: 0.59049 + 5*0.6561*0.1 + 10*0.729*0.01 = 0.59049 + 0.32805 + 0.0729.
  CHECK(majority_quorum_availability(5, p) == Approx(0.99144));
  // N=7 needs 4: sum_{k=4..7} C(7,k) .9^k .1^(7-k)
  //   = 35*.6561*.001 + 35*.59049*.01 + 21*.531441*.01*... computed term by term:
  //   k=4: 35 * 0.6561 * 0.001   = 0.0229635
  //   k=5: 21 * 0.59049 * 0.01   = 0.1240029
  //   k=6: 7 * 0.531441 * 0.1    = 0.3720087
  //   k=7: 0.4782969
  CHECK(majority_quorum_availability(7, p) == Approx(0.997272));
  CHECK(at_least_k_of_n(1, 3, 0.5) == Approx(0.875));
}

TEST_CASE("even ensembles add no fault tolerance over the odd size below") {
  for (double p : {0.5, 0.8, 0.9, 0.99}) {
    for (int n = 1; n <= 5; n += 2) {
      INFO("p=" << p << " n=" << n);
      CHECK(majority_quorum_availability(n + 1, p) < majority_quorum_availability(n, p));
      CHECK(majority_quorum_availability(n + 2, p) >= majority_quorum_availability(n, p) - 1e-12);
    }
  }
}

TEST_CASE("the baseline applies only to crashes of exactly the ensemble") {
  CrashModel m{3, 3, 540.0, 60.0};
  REQUIRE(quorum_baseline(m));
  CHECK(*quorum_baseline(m) == Approx(0.972));
  CHECK_FALSE(quorum_baseline(CrashModel{3, 1, 540.0, 60.0}));   // one member targeted
  CHECK_FALSE(quorum_baseline(CrashModel{3, -1, 540.0, 60.0}));  // servers crash too
  CHECK_FALSE(quorum_baseline(CrashModel{0, 0, 540.0, 60.0}));   // no ensemble
}
