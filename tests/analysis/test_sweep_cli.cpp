// Sweeps, merges and reports through the stampede binary: determinism whatever --jobs, resuming
// after SIGKILL, shards that merge into the whole sweep, and bad input.
#include <fcntl.h>
#include <spawn.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "analysis/results_db.hpp"
#include "cli_helpers.hpp"
#include "tests/tmpdir.hpp"

using namespace stampede::analysis;

extern char** environ;

namespace {

const std::string k_scenario = std::string(SOURCE_DIR) + "/scenarios/agent-partition.yaml";

// (point, seed) -> digest
std::map<std::pair<std::string, std::uint64_t>, std::string> digests(const std::string& db) {
  std::map<std::pair<std::string, std::uint64_t>, std::string> out;
  for (const auto& r : ResultsDb(db, ResultsDb::Mode::read_only).runs())
    out[{r.point, r.seed}] = r.digest;
  return out;
}

}  // namespace

TEST_CASE("a sweep gives the same runs whatever the number of threads") {
  TmpDir tmp;
  const std::string sweep = "sweep " + k_scenario + " --seeds 3 --set cluster.agents=2,3";
  Cmd one = stampede_cmd(sweep + " --jobs 1 --db one.db", tmp.path.string());
  INFO(one.err);
  REQUIRE(one.rc == 0);
  Cmd two = stampede_cmd(sweep + " --jobs 2 --db two.db", tmp.path.string());
  REQUIRE(two.rc == 0);
  const auto a = digests(tmp / "one.db");
  CHECK(a.size() == 6);
  CHECK(a == digests(tmp / "two.db"));
  // The closing table: one line per point after the header.
  CHECK(count_lines(one.out) == 3);
  CHECK(one.out.find("cluster.agents=3") != std::string::npos);
  CHECK(one.out == two.out);
  // Seed 1 at the scenario's defaults is the run `stampede run` prints.
  Cmd run =
      stampede_cmd("run " + k_scenario + " --quiet --set cluster.agents=2", tmp.path.string());
  CHECK(run.out.find(a.at({R"([["cluster.agents","2"]])", 1})) != std::string::npos);
  // Started again, it has nothing left to run.
  Cmd again = stampede_cmd(sweep + " --jobs 2 --db two.db", tmp.path.string());
  CHECK(again.rc == 0);
  CHECK(again.err.find("6 already in two.db, 0 to run") != std::string::npos);
}

TEST_CASE("a sweep killed with SIGKILL resumes without losing or repeating a run") {
  TmpDir tmp;
  const std::string db = tmp / "r.db";
  const std::string seeds = "1..120";
  std::vector<std::string> argv_s = {STAMPEDE_BIN, "sweep", k_scenario, "--seeds", seeds,
                                     "--jobs",     "2",     "--db",     db,        "--quiet"};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, STAMPEDE_BIN, &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  // Wait until some runs are committed, then kill it mid-sweep.
  std::size_t rows = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (rows < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    try {
      rows = ResultsDb(db, ResultsDb::Mode::read_only).run_count();
    } catch (const std::exception&) {
      rows = 0;  // not created yet
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const std::size_t before = ResultsDb(db, ResultsDb::Mode::read_only).run_count();
  INFO("runs stored when killed: " << before);
  CHECK(before >= 10);
  CHECK(before < 120);

  Cmd resumed = stampede_cmd("sweep " + k_scenario + " --seeds " + seeds + " --jobs 2 --db r.db",
                             tmp.path.string());
  INFO(resumed.err);
  REQUIRE(resumed.rc == 0);
  CHECK(resumed.err.find(std::to_string(before) + " already in r.db, " +
                         std::to_string(120 - before) + " to run") != std::string::npos);
  ResultsDb out(db, ResultsDb::Mode::read_only);
  const auto runs = out.runs();
  CHECK(runs.size() == 120);
  std::set<std::uint64_t> seen;
  for (const auto& r : runs) {
    CHECK(seen.insert(r.seed).second);  // none twice
    CHECK(r.metrics.size() > 5);        // every run has its metrics (same transaction)
  }
  CHECK(*seen.begin() == 1);
  CHECK(*seen.rbegin() == 120);
}

TEST_CASE("shards of a sweep merge into the whole sweep") {
  TmpDir tmp;
  const std::string sweep =
      "sweep " + k_scenario + " --seeds 2..4 --set cluster.agents=2,3 --jobs 2";
  REQUIRE(stampede_cmd(sweep + " --db all.db", tmp.path.string()).rc == 0);
  REQUIRE(stampede_cmd(sweep + " --shard 1/3 --db s1.db", tmp.path.string()).rc == 0);
  // Shards also come from the environment of a Slurm array or a Kubernetes Indexed Job.
  REQUIRE(shell_cmd("env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 " +
                        std::string(STAMPEDE_BIN) + " " + sweep + " --db s2.db",
                    tmp.path.string())
              .rc == 0);
  REQUIRE(stampede_cmd(sweep + " --shard 3/3 --db s3.db", tmp.path.string()).rc == 0);
  const auto s1 = digests(tmp / "s1.db"), s3 = digests(tmp / "s3.db");
  CHECK(s1.size() == 2);
  CHECK(s3.size() == 2);
  Cmd merged = stampede_cmd("merge s1.db s2.db s3.db --into merged.db", tmp.path.string());
  INFO(merged.err);
  REQUIRE(merged.rc == 0);
  CHECK(digests(tmp / "merged.db") == digests(tmp / "all.db"));
  CHECK(digests(tmp / "all.db").size() == 6);
}

TEST_CASE("sweep, merge and report refuse bad input with one line and exit 2") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  const std::string sweep = "sweep " + k_scenario + " --seeds 2";
  for (const std::string& flags :
       {std::string("--set cluster.nope=1,2"), std::string("--set cluster.agents="),
        std::string("--set cluster.agents=1,,2"), std::string("--set cluster.agents=2,two"),
        std::string("--shard 3/2"), std::string("--shard 0/2"), std::string("--seeds 5..1")}) {
    Cmd c = stampede_cmd(sweep + " " + flags + " --db fresh.db", d);
    INFO(flags << ": " << c.err);
    CHECK(c.rc == 2);
    CHECK(count_lines(c.err) == 1);
    CHECK_FALSE(std::filesystem::exists(tmp / "fresh.db"));
  }
  // Not SQLite, and another schema version: refused, and the file is unchanged.
  { std::ofstream(tmp / "notes.db") << "my notes\n"; }
  Cmd c = stampede_cmd(sweep + " --db notes.db", d);
  CHECK(c.rc == 2);
  CHECK(count_lines(c.err) == 1);
  CHECK(read_text(tmp / "notes.db") == "my notes\n");
  REQUIRE(std::system(("sqlite3 '" + (tmp / "v9.db") +
                       "' 'CREATE TABLE stampede_schema (version "
                       "INTEGER); INSERT INTO stampede_schema VALUES (9);'")
                          .c_str()) == 0);
  const std::string v9 = read_text(tmp / "v9.db");
  c = stampede_cmd(sweep + " --db v9.db", d);
  CHECK(c.rc == 2);
  CHECK(c.err.find("schema version 9") != std::string::npos);
  CHECK(read_text(tmp / "v9.db") == v9);
  c = stampede_cmd("report notes.db --out rep", d);
  CHECK(c.rc == 2);
  CHECK_FALSE(std::filesystem::exists(tmp / "rep"));
  c = stampede_cmd("merge notes.db --into m.db", d);
  CHECK(c.rc == 2);
  CHECK_FALSE(std::filesystem::exists(tmp / "m.db"));
  c = stampede_cmd("export-csv missing.db", d);
  CHECK(c.rc == 2);
}

TEST_CASE("report writes Markdown, CSV and gnuplot plots") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  REQUIRE(
      stampede_cmd("sweep " + k_scenario + " --seeds 3 --set cluster.agents=2,3 --db r.db", d).rc ==
      0);
  Cmd c = stampede_cmd("report r.db --out rep", d);
  INFO(c.err);
  REQUIRE(c.rc == 0);
  const std::string md = read_text(tmp / "rep/report.md");
  CHECK(md.find("## agent-partition") != std::string::npos);
  CHECK(md.find("| `cluster.agents=2` | 3 |") != std::string::npos);
  CHECK(md.find("swept: `cluster.agents`") != std::string::npos);
  CHECK(count_lines(read_text(tmp / "rep/runs.csv")) == 7);
  CHECK(std::filesystem::exists(tmp / "rep/plots/"));
  if (std::system("gnuplot --version > /dev/null 2>&1") == 0) {
    for (const char* what : {"availability", "convergence", "violations", "availability-bootstrap"}) {
      INFO(what);
      CHECK(md.find(std::string("-") + what + ".svg)") != std::string::npos);
    }
    CHECK(c.err.empty());
  } else {
    WARN("gnuplot is not installed: plots not checked");
  }
  Cmd csv = stampede_cmd("export-csv r.db", d);
  CHECK(csv.rc == 0);
  CHECK(csv.out == read_text(tmp / "rep/runs.csv"));
}

TEST_CASE("deploy scripts run Kubernetes-style shards that merge into the whole sweep") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  const std::string deploy = std::string(SOURCE_DIR) + "/deploy";
  REQUIRE(std::system(("bash -n " + deploy + "/run-shard.sh " + deploy + "/slurm-sweep.sh " +
                       deploy + "/slurm-merge.sh")
                          .c_str()) == 0);
  const std::string bin_dir = std::filesystem::path(STAMPEDE_BIN).parent_path().string();
  const std::string flags = k_scenario + " --seeds 3 --set cluster.agents=2,3 --jobs 1";
  for (int index = 0; index < 2; ++index) {
    Cmd c = shell_cmd("env PATH='" + bin_dir + "':\"$PATH\" JOB_COMPLETION_INDEX=" +
                          std::to_string(index) + " STAMPEDE_SHARD_COUNT=2 STAMPEDE_SCRATCH='" + d +
                          "/scratch' bash " + deploy + "/run-shard.sh '" + d + "/results' " + flags,
                      d);
    INFO(c.err);
    REQUIRE(c.rc == 0);
  }
  REQUIRE(stampede_cmd("merge results/shard-1.db results/shard-2.db --into all.db", d).rc == 0);
  REQUIRE(stampede_cmd("sweep " + flags + " --db whole.db", d).rc == 0);
  const auto a = digests(tmp / "results/shard-1.db");
  const auto b = digests(tmp / "results/shard-2.db");
  CHECK(a.size() == 3);
  CHECK(b.size() == 3);
  for (const auto& [k, _] : a) CHECK(b.count(k) == 0);          // disjoint
  CHECK(digests(tmp / "all.db") == digests(tmp / "whole.db"));  // and they cover the sweep
}

TEST_CASE("points with random crashes of the whole ensemble carry the binomial baseline") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  Cmd c = stampede_cmd("sweep " + k_scenario +
                           " --set cluster.zookeeper=1,3 --set 'random_faults.crash={targets: "
                           "zookeeper-*, mttf: 9m, mttr: 1m}' --db z.db --quiet",
                       d);
  if (c.rc == 2) {
    WARN("this build's models refuse zookeeper nodes in single mode: " << c.err);
    return;
  }
  REQUIRE(c.rc <= 1);
  ResultsDb db(tmp / "z.db", ResultsDb::Mode::read_only);
  const auto sc = db.scenarios();
  REQUIRE(sc.size() == 1);
  std::map<std::string, double> baselines;  // ensemble size -> baseline
  for (const auto& p : db.points(sc[0].hash)) {
    REQUIRE(p.baseline_availability);
    for (const char* n : {"1", "3"})
      if (p.point.find(std::string("\"cluster.zookeeper\",\"") + n + "\"") != std::string::npos)
        baselines[n] = *p.baseline_availability;
  }
  CHECK(baselines.at("1") == Approx(0.9));    // p = 9m / (9m + 1m)
  CHECK(baselines.at("3") == Approx(0.972));  // p^3 + 3 p^2 (1 - p)
  REQUIRE(stampede_cmd("report z.db --out rep", d).rc == 0);
  CHECK(read_text(tmp / "rep/report.md").find("| 0.9720 |") != std::string::npos);
  bool drawn = false;
  for (const auto& e : std::filesystem::directory_iterator(tmp / "rep/plots"))
    if (e.path().string().ends_with("-availability.gp"))
      drawn = read_text(e.path().string()).find("binomial baseline") != std::string::npos;
  CHECK(drawn);
  // A metric no run has is refused (issue 16) rather than plotted as nothing, and no report is
  // written.
  CHECK(stampede_cmd("report z.db --out rep2 --availability no_such_metric", d).rc == 2);
  CHECK_FALSE(std::filesystem::exists(tmp / "rep2"));
}
