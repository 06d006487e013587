#include <catch2/catch.hpp>

#include "analysis/errors.hpp"
#include "analysis/study_table.hpp"
#include "sim/core/random.hpp"

using namespace stampede::analysis;
using stampede::RandomStream;

namespace {

RunRow run(const std::string& point, std::uint64_t seed, double api, bool passed = true) {
  RunRow r;
  r.point = point;
  r.seed = seed;
  r.passed = passed;
  r.metrics = {{"availability:api", api, "ratio"}, {"over_scale_episodes", 0.0, ""}};
  if (seed != 2) r.metrics.push_back({"repair_time_p50", 10.0 * static_cast<double>(seed), "s"});
  return r;
}

}  // namespace

TEST_CASE("the bootstrap gives the intervals known inputs must have") {
  RandomStream rng(1, "test");
  auto constant = bootstrap_mean(std::vector<double>(8, 0.75), rng);
  REQUIRE(constant);
  CHECK(constant->mean == 0.75);
  CHECK(constant->low == 0.75);
  CHECK(constant->high == 0.75);
  // Resampled means of [0, 1] are 0, 0.5 and 1 with probabilities 1/4, 1/2, 1/4: about 500 of
  // 2000 draws at each end, so the 2.5% and 97.5% quantiles are 0 and 1.
  auto two = bootstrap_mean({0.0, 1.0}, rng);
  CHECK(two->low == 0.0);
  CHECK(two->high == 1.0);
  auto five = bootstrap_mean({1, 2, 3, 4, 5}, rng);
  CHECK(five->mean == 3.0);
  CHECK(1.0 < five->low);
  CHECK(five->low < 3.0);
  CHECK(3.0 < five->high);
  CHECK(five->high < 5.0);
  auto diff = bootstrap_difference(std::vector<double>(4, 0.75), std::vector<double>(4, 0.5), rng);
  CHECK(diff->mean == 0.25);
  CHECK(diff->low == 0.25);
  CHECK(diff->high == 0.25);
  auto one = bootstrap_mean({0.5}, rng);
  CHECK((one->low == 0.5 && one->high == 0.5));
  CHECK_FALSE(bootstrap_mean({}, rng));
  CHECK_FALSE(bootstrap_difference({1.0}, {1.0, 2.0}, rng));
}

TEST_CASE("the bootstrap's draws are the seeded named stream's, the same every time") {
  const std::vector<double> xs = {0.91, 0.95, 0.97, 0.88, 0.99, 0.93};
  RandomStream a(14, "report.bootstrap/x"), b(14, "report.bootstrap/x");
  RandomStream c(15, "report.bootstrap/x");
  auto ia = bootstrap_mean(xs, a), ib = bootstrap_mean(xs, b), ic = bootstrap_mean(xs, c);
  CHECK((ia->low == ib->low && ia->high == ib->high));
  CHECK((ia->low != ic->low || ia->high != ic->high));
}

TEST_CASE("points are ordered by their values, numbers as numbers") {
  const std::string p3 = R"([["cluster.servers","3"]])", p10 = R"([["cluster.servers","10"]])",
                    p1 = R"([["cluster.servers","1"]])";
  CHECK(order_points({p10, p3, p1}) == std::vector<std::string>{p1, p3, p10});
  const std::string a = R"([["mode","b"]])", b = R"([["mode","a"]])";
  CHECK(order_points({a, b}) == std::vector<std::string>{b, a});
}

TEST_CASE("the baseline is the one point a KEY=VALUE list names, with keys shortened or not") {
  const std::string p33 = R"([["cluster.servers","3"],["cluster.zookeeper","3"]])";
  const std::string p35 = R"([["cluster.servers","3"],["cluster.zookeeper","5"]])";
  const std::vector<std::string> keys = {p33, p35};
  CHECK(find_baseline(keys, "servers=3,zookeeper=5") == p35);
  CHECK(find_baseline(keys, "cluster.zookeeper=3") == p33);
  CHECK_THROWS_WITH(find_baseline(keys, "servers=3"), Catch::Contains("matches several points"));
  CHECK_THROWS_WITH(find_baseline(keys, "servers=4"), Catch::Contains("matches no point"));
  CHECK_THROWS_WITH(find_baseline(keys, "ervers=3"), Catch::Contains("matches no point"));
  CHECK_THROWS_AS(find_baseline(keys, "servers"), BadInput);
}

TEST_CASE("the study table: runs in seed order, differences from a baseline, counts of runs") {
  const std::string p1 = R"([["cluster.servers","1"]])", p3 = R"([["cluster.servers","3"]])";
  std::vector<RunRow> runs = {run(p3, 1, 0.9), run(p3, 2, 0.8, false), run(p3, 3, 1.0),
                              run(p1, 1, 0.5), run(p1, 2, 0.7), run(p1, 3, 0.6)};
  const auto columns = study_columns("availability:api");
  StudyTable t = study_table(runs, columns, p3);
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0].key == p1);
  CHECK(t.rows[1].failed == 1);
  CHECK(t.rows[0].cells[0].value->mean == Approx(0.6));
  CHECK(t.rows[0].cells[0].difference->mean == Approx(-0.3));
  CHECK_FALSE(t.rows[1].cells[0].difference);  // the baseline
  CHECK(t.rows[0].cells[1].n == 2);           // repair_time_p50: seeds 1 and 3 only
  // Stored in another order (a sweep with --jobs), the same table.
  std::vector<RunRow> shuffled(runs.rbegin(), runs.rend());
  CHECK(format_study_markdown(study_table(shuffled, columns, p3)) == format_study_markdown(t));
  const std::string md = format_study_markdown(t);
  CHECK(md.find("| cluster.servers=3 | 3 | 1 | 0.9000 [") != std::string::npos);
  CHECK(md.find("(n=2)") != std::string::npos);
  CHECK(md.find("| cluster.servers=3 | baseline | baseline |") != std::string::npos);
  CHECK(md.find("| cluster.servers=1 | -0.3000 [") != std::string::npos);
  // The default baseline is the first point.
  CHECK(study_table(runs, columns, "").baseline == p1);
}
