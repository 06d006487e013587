// RandomStream::uniform_int takes a shift for ranges of 2^k values (the kernel's order keys); it
// must give exactly what Boost's uniform_int_distribution gives, or every digest would drift.
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <catch2/catch.hpp>

#include "sim/core/chooser.hpp"
#include "sim/core/random.hpp"

using namespace stampede;

TEST_CASE("uniform_int over 2^k values draws what Boost draws, and so do other ranges",
          "[random]") {
  const std::pair<std::int64_t, std::int64_t> ranges[] = {
      {0, 1},          {0, 3},           {5, 12},          {-8, 7},
      {0, 1023},       {0, (1LL << 32) - 1}, {0, (1LL << 62) - 1}, {-(1LL << 62), (1LL << 62) - 1},
      {0, 2},          {0, 999},         {3, 3},           {-5, 100}};
  for (const auto& [lo, hi] : ranges) {
    RandomStream ours(7, "shortcut");
    boost::random::mt19937_64 engine(derive_seed(7, "shortcut"));
    boost::random::uniform_int_distribution<std::int64_t> boost_dist(lo, hi);
    for (int i = 0; i < 2000; ++i) {
      std::int64_t a = ours.uniform_int(lo, hi);
      std::int64_t b = boost_dist(engine);
      INFO("range [" << lo << ", " << hi << "] draw " << i);
      REQUIRE(a == b);
    }
  }
}

TEST_CASE("the seeded chooser's uniform draws what its kind's stream draws, over 2^k and others",
          "[random]") {
  // SeededChooser::uniform takes the 2^k shortcut itself (the kernel's order keys): its draws
  // must be those of the stream "choice/<kind>" asked through RandomStream::uniform_int.
  const std::pair<std::int64_t, std::int64_t> ranges[] = {
      {1, std::int64_t{1} << 62}, {0, 1}, {-8, 7}, {0, 2}, {1000000, 5000000}, {3, 3}};
  SeededChooser chooser(5);
  RandomStream order(5, "choice/order");
  for (int i = 0; i < 6000; ++i) {
    const auto& [lo, hi] = ranges[i % std::size(ranges)];
    INFO("range [" << lo << ", " << hi << "] draw " << i);
    REQUIRE(chooser.uniform(ChoiceKind::order, lo, hi) == order.uniform_int(lo, hi));
  }
}

TEST_CASE("uniform_int's kept bucket draws what Boost draws as ranges change between draws",
          "[random]") {
  // The bucket kept for the last range must be found again for each new one; the wide ranges
  // reject draws past the range (about half of them for 2^63 + 1 values).
  const std::pair<std::int64_t, std::int64_t> ranges[] = {
      {1000000, 5000000},        {1000000, 5000000}, {0, 2},         {INT64_MIN, INT64_MAX},
      {-(1LL << 62), 1LL << 62}, {0, INT64_MAX},     {INT64_MIN, 0}, {-5, 100},
      {1000000, 5000000}};
  RandomStream ours(11, "bucket");
  boost::random::mt19937_64 engine(derive_seed(11, "bucket"));
  for (int i = 0; i < 9000; ++i) {
    const auto& [lo, hi] = ranges[i % std::size(ranges)];
    boost::random::uniform_int_distribution<std::int64_t> boost_dist(lo, hi);
    INFO("range [" << lo << ", " << hi << "] draw " << i);
    REQUIRE(ours.uniform_int(lo, hi) == boost_dist(engine));
  }
}
