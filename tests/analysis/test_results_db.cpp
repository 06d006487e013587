#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "analysis/csv.hpp"
#include "analysis/errors.hpp"
#include "analysis/results_db.hpp"
#include "analysis/summary.hpp"
#include "tests/tmpdir.hpp"

using namespace stampede::analysis;

namespace {

RunRow row(const std::string& point, std::uint64_t seed, bool passed, double avail) {
  RunRow r;
  r.scenario_hash = "h1";
  r.point = point;
  r.seed = seed;
  r.passed = passed;
  r.failed_expectations = passed ? 0 : 1;
  r.failed = passed ? "" : "{by: 180s, running: {service: wordpress/web, count: 2}}";
  r.digest = "00000000000000" + std::to_string(10 + seed % 90);
  r.steps = 100 + seed;
  r.simulated_s = 300;
  r.version = "0.1.0";
  r.wall_s = 0.02;
  r.metrics = {{"availability:wordpress/lb", avail, "ratio"},
               {"convergence_time", seed == 3 ? -1.0 : 1.0 + static_cast<double>(seed), "s"}};
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("runs are stored once per scenario, point and seed") {
  TmpDir tmp;
  const std::string p = R"([["cluster.agents","2"]])";
  {
    ResultsDb db(tmp / "r.db", ResultsDb::Mode::create_or_update);
    db.put_scenario({"h1", "agent-partition", "scenarios/agent-partition.yaml", "name: x"});
    db.put_point({"h1", p, 0.972, "note"});
    CHECK(db.insert_run(row(p, 1, true, 1.0)));
    CHECK(db.insert_run(row(p, 2, false, 0.9)));
    CHECK_FALSE(db.insert_run(row(p, 1, true, 0.5)));  // already there: ignored
  }
  ResultsDb db(tmp / "r.db", ResultsDb::Mode::read_only);
  CHECK(db.run_count() == 2);
  auto done = db.done("h1");
  CHECK(done.count({p, 1}) == 1);
  CHECK(done.count({p, 2}) == 1);
  auto runs = db.runs();
  REQUIRE(runs.size() == 2);
  CHECK(*runs[0].metric("availability:wordpress/lb") == 1.0);  // the first insert won
  CHECK_FALSE(runs[1].passed);
  CHECK(runs[1].metrics.size() == 2);
  REQUIRE(db.points("h1").size() == 1);
  CHECK(*db.points("h1")[0].baseline_availability == 0.972);
}

TEST_CASE("summaries per point") {
  const std::string a = R"([["cluster.agents","2"]])";
  const std::string b = R"([["cluster.agents","3"]])";
  std::vector<RunRow> runs = {row(a, 1, true, 1.0), row(a, 2, true, 0.98), row(a, 3, false, 0.5),
                              row(b, 1, true, 1.0)};
  auto s = summarise(runs, {{"h1", a, 0.99, "n"}}, {b, a});
  REQUIRE(s.size() == 2);
  CHECK(s[0].key == b);  // in the order asked for
  CHECK(s[1].runs == 3);
  CHECK(s[1].violations == 1);
  CHECK(s[1].not_converged == 1);
  CHECK(s[1].convergence_s.size() == 2);
  CHECK(*s[1].conv_p50 == 2.0);
  CHECK(s[1].availability->mean == Approx((1.0 + 0.98 + 0.5) / 3));
  CHECK(s[1].availability->high <= 1.0);
  CHECK(*s[1].baseline_availability == 0.99);
  CHECK(swept_axes(s) == std::vector<std::string>{"cluster.agents"});
  CHECK(format_table(s).find("cluster.agents=2") != std::string::npos);
  CHECK(format_markdown_table(s).find("| `cluster.agents=3` | 1 | 0 |") != std::string::npos);
}

TEST_CASE("the closing table summarises one availability metric at every point, named in its header") {
  // The sizing study's runs record availability:api and availability:wordpress/lb, each run in
  // its own order: point a's runs list the balancer first, point b's the API. The table used to
  // average "the first availability metric" of each point's runs, mixing the two across rows.
  const std::string a = R"([["cluster.servers","1"]])";
  const std::string b = R"([["cluster.servers","3"]])";
  std::vector<RunRow> runs;
  for (std::uint64_t seed : {1, 2}) {
    RunRow ra = row(a, seed, true, 0.5);  // availability:wordpress/lb first
    ra.metrics.push_back({"availability:api", 0.9, "ratio"});
    RunRow rb = row(b, seed, true, 0.25);
    rb.metrics.insert(rb.metrics.begin(), {"availability:api", 0.8, "ratio"});
    runs.push_back(ra);
    runs.push_back(rb);
  }
  // Both are in every run: name order decides.
  CHECK(default_availability_metric(runs) == "availability:api");
  auto s = summarise(runs, {});
  REQUIRE(s.size() == 2);
  CHECK(s[0].availability_metric == "availability:api");
  CHECK(s[1].availability_metric == "availability:api");
  CHECK(s[0].availability->mean == 0.9);
  CHECK(s[1].availability->mean == 0.8);
  const std::string table = format_table(s);
  CHECK(table.find("availability:api (95% interval)") != std::string::npos);
  CHECK(table.find("0.9000 [0.9000, 0.9000]") != std::string::npos);
  CHECK(table.find("0.5000") == std::string::npos);
  CHECK(format_markdown_table(s).find("`availability:api` mean") != std::string::npos);
  // A metric asked for by name is used at every point, and the one most runs recorded wins
  // over name order.
  auto lb = summarise(runs, {}, {}, "availability:wordpress/lb");
  CHECK(lb[1].availability->mean == 0.25);
  CHECK(format_table(lb).find("availability:wordpress/lb (95% interval)") != std::string::npos);
  runs.push_back(row(a, 3, true, 1.0));  // records no availability:api
  CHECK(default_availability_metric(runs) == "availability:wordpress/lb");
}

TEST_CASE("a file that is not SQLite is refused and left untouched") {
  TmpDir tmp;
  const std::string path = tmp / "notes.db";
  { std::ofstream(path) << "these are my notes, not a database\n"; }
  const std::string before = slurp(path);
  CHECK_THROWS_AS(ResultsDb(path, ResultsDb::Mode::create_or_update), BadInput);
  try {
    ResultsDb db(path, ResultsDb::Mode::create_or_update);
  } catch (const BadInput& e) {
    CHECK(std::string(e.what()).find("not a SQLite results database") != std::string::npos);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
  CHECK(slurp(path) == before);
  CHECK_THROWS_AS(ResultsDb(tmp / "missing.db", ResultsDb::Mode::read_only), BadInput);
}

TEST_CASE("another schema version or a foreign SQLite database is refused") {
  TmpDir tmp;
  { ResultsDb db(tmp / "old.db", ResultsDb::Mode::create_or_update); }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open((tmp / "old.db").c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "UPDATE stampede_schema SET version = 7", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(raw);
  CHECK_THROWS_WITH(ResultsDb(tmp / "old.db", ResultsDb::Mode::create_or_update),
                    Catch::Contains("schema version 7"));

  REQUIRE(sqlite3_open((tmp / "other.db").c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  CHECK_THROWS_WITH(ResultsDb(tmp / "other.db", ResultsDb::Mode::create_or_update),
                    Catch::Contains("not a stampede results database"));
}

TEST_CASE("merging shard databases keeps each run once") {
  TmpDir tmp;
  const std::string p = R"([["cluster.agents","2"]])";
  {
    ResultsDb a(tmp / "a.db", ResultsDb::Mode::create_or_update);
    a.put_scenario({"h1", "s", "f", "t"});
    a.insert_run(row(p, 1, true, 1.0));
    a.insert_run(row(p, 3, true, 1.0));
    ResultsDb b(tmp / "b.db", ResultsDb::Mode::create_or_update);
    b.put_scenario({"h1", "s", "f", "t"});
    b.insert_run(row(p, 2, true, 1.0));
    b.insert_run(row(p, 3, true, 1.0));  // overlaps a.db
  }
  ResultsDb c(tmp / "c.db", ResultsDb::Mode::create_or_update);
  auto sa = c.merge_from(ResultsDb(tmp / "a.db", ResultsDb::Mode::read_only));
  auto sb = c.merge_from(ResultsDb(tmp / "b.db", ResultsDb::Mode::read_only));
  CHECK(sa.added == 2);
  CHECK(sb.added == 1);
  CHECK(sb.already_present == 1);
  CHECK(c.run_count() == 3);
  CHECK(c.scenarios().size() == 1);
  for (const auto& r : c.runs()) CHECK(r.metrics.size() == 2);

  const std::string csv = results_csv(c);
  CHECK(csv.rfind("scenario,scenario_hash,point,cluster.agents,seed,verdict", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  CHECK(csv.find("availability:wordpress/lb") != std::string::npos);
}
