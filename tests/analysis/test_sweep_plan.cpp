#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "analysis/errors.hpp"
#include "analysis/sweep_plan.hpp"

using namespace stampede::analysis;

TEST_CASE("an axis splits on top-level commas only") {
  auto a = parse_axis("cluster.agents=1, 2,3");
  CHECK(a.key == "cluster.agents");
  CHECK(a.values == std::vector<std::string>{"1", "2", "3"});
  auto b = parse_axis("cluster.network.latency={min: 1ms, max: 5ms},2ms");
  CHECK(b.values == std::vector<std::string>{"{min: 1ms, max: 5ms}", "2ms"});
  auto c = parse_axis("description='a, b',\"c, d\"");
  CHECK(c.values.size() == 2);
  auto d = parse_axis("faults=[],[{at: 1s, heal: all}]");
  CHECK(d.values.size() == 2);
}

TEST_CASE("bad axes are one-line errors naming the flag") {
  CHECK_THROWS_WITH(parse_axis("cluster.agents="), "--set cluster.agents: empty value list");
  CHECK_THROWS_AS(parse_axis("cluster.agents"), BadInput);
  CHECK_THROWS_WITH(parse_axis("cluster.agents=1,,2"),
                    "--set cluster.agents: empty value at position 2 of the list");
  CHECK_THROWS_AS(parse_axis("=1"), BadInput);
  CHECK_THROWS_AS(cross_product({parse_axis("a=1"), parse_axis("a=2")}), BadInput);
}

TEST_CASE("seeds as a count or a range") {
  CHECK(parse_seeds("3") == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(parse_seeds("5..7") == std::vector<std::uint64_t>{5, 6, 7});
  CHECK_THROWS_AS(parse_seeds("0"), BadInput);
  CHECK_THROWS_AS(parse_seeds("7..5"), BadInput);
  CHECK_THROWS_AS(parse_seeds("x"), BadInput);
}

TEST_CASE("the cross product has one point per combination with sorted keys") {
  auto points = cross_product({parse_axis("z.b=1,2"), parse_axis("a.c=x,y,z")});
  REQUIRE(points.size() == 6);
  std::set<std::string> keys;
  for (const auto& p : points) {
    REQUIRE(p.size() == 2);
    CHECK(p[0].first == "a.c");  // sorted, whatever the flag order
    keys.insert(point_key(p));
    CHECK(point_from_key(point_key(p)) == p);
  }
  CHECK(keys.size() == 6);
  CHECK(cross_product({}).size() == 1);
  CHECK(point_label({}) == "(defaults)");
}

TEST_CASE("shard flags") {
  CHECK(parse_shard("1/4").index == 1);
  CHECK(parse_shard("4/4").count == 4);
  CHECK_THROWS_WITH(parse_shard("3/2"), "--shard 3/2: K must be in 1..2 (K counts from 1)");
  CHECK_THROWS_AS(parse_shard("0/2"), BadInput);
  CHECK_THROWS_AS(parse_shard("1/0"), BadInput);
  CHECK_THROWS_AS(parse_shard("2"), BadInput);
}

namespace {
std::map<std::string, std::string> g_env;
const char* fake_env(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}
}  // namespace

TEST_CASE("shards from Slurm and Kubernetes environments") {
  g_env = {};
  CHECK_FALSE(shard_from_env(fake_env));
  g_env = {{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};
  auto s = shard_from_env(fake_env);
  REQUIRE(s);
  CHECK(s->index == 1);
  CHECK(s->count == 4);
  g_env = {
      {"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_COUNT", "3"}};
  CHECK(shard_from_env(fake_env)->index == 3);
  g_env = {{"JOB_COMPLETION_INDEX", "2"}, {"STAMPEDE_SHARD_COUNT", "3"}};
  CHECK(shard_from_env(fake_env)->index == 3);
  g_env = {{"JOB_COMPLETION_INDEX", "2"}};
  CHECK_THROWS_AS(shard_from_env(fake_env), BadInput);
  g_env = {{"JOB_COMPLETION_INDEX", "3"}, {"STAMPEDE_SHARD_COUNT", "3"}};
  CHECK_THROWS_AS(shard_from_env(fake_env), BadInput);
}

TEST_CASE("shard slices are disjoint and cover the sweep") {
  std::vector<std::vector<std::uint64_t>> seeds(7, parse_seeds("1..13"));
  seeds[3] = {42};  // a point may have its own seeds
  const auto whole = plan_runs(seeds, Shard{1, 1});
  CHECK(whole.size() == 6 * 13 + 1);
  for (int n : {1, 2, 3, 5, 8, 100}) {
    std::multiset<std::pair<std::size_t, std::uint64_t>> seen;
    for (int k = 1; k <= n; ++k) {
      const auto slice = plan_runs(seeds, Shard{k, n});
      // Balanced: round robin gives every shard floor or ceil of total / n.
      CHECK(slice.size() >= whole.size() / n);
      CHECK(slice.size() <= whole.size() / n + 1);
      for (const auto& r : slice) seen.emplace(r.point, r.seed);
    }
    INFO("n=" << n);
    CHECK(seen.size() == whole.size());
    for (const auto& r : whole) CHECK(seen.count({r.point, r.seed}) == 1);
  }
}
