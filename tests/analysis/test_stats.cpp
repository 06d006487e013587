#include <catch2/catch.hpp>

#include "analysis/stats.hpp"

using namespace stampede::analysis;

TEST_CASE("mean with a Student-t 95 percent interval") {
  // Hand computed: mean 2.5, sd = sqrt(5/3) = 1.29099, t(0.975, 3) = 3.18245,
  // half width = 3.18245 * 1.29099 / 2 = 2.05426.
  auto i = mean_interval_95({1, 2, 3, 4});
  REQUIRE(i);
  CHECK(i->mean == Approx(2.5));
  CHECK(i->low == Approx(2.5 - 2.05426).epsilon(1e-4));
  CHECK(i->high == Approx(2.5 + 2.05426).epsilon(1e-4));
  auto one = mean_interval_95({0.7});
  REQUIRE(one);
  CHECK(one->low == one->high);
  CHECK_FALSE(mean_interval_95({}));
}

TEST_CASE("Wilson interval stays inside 0..1") {
  // Hand computed for 0 of 10: upper bound z^2/n / (1 + z^2/n) = 0.27753.
  auto zero = wilson_interval_95(0, 10);
  REQUIRE(zero);
  CHECK(zero->mean == 0.0);
  CHECK(zero->low == 0.0);
  CHECK(zero->high == Approx(0.27753).epsilon(1e-4));
  auto all = wilson_interval_95(10, 10);
  CHECK(all->high == Approx(1.0));
  CHECK(all->low == Approx(1.0 - 0.27753).epsilon(1e-4));
  CHECK_FALSE(wilson_interval_95(0, 0));
}

TEST_CASE("nearest-rank percentiles") {
  std::vector<double> xs{5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
  CHECK(*percentile(xs, 50) == 5);
  CHECK(*percentile(xs, 95) == 10);
  CHECK(*percentile(xs, 99) == 10);
  CHECK(*percentile(xs, 10) == 1);
  CHECK(*percentile({3.5}, 99) == 3.5);
  CHECK_FALSE(percentile({}, 50));
}
