#pragma once
// The results store of sweeps: one SQLite file, one row per run, keyed by (scenario hash,
// parameter point, seed) with a UNIQUE constraint, each run committed in its own transaction so a
// sweep killed at any instant loses at most the runs in flight and, started again, skips exactly
// the runs already stored. Metrics go to their own table (one row per run and metric name) so
// any metric a model adds is kept without a schema change.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace stampede::analysis {

inline constexpr int k_results_schema_version = 1;

struct MetricRow {
  std::string name;
  double value = 0.0;
  std::string unit;
};

struct RunRow {
  std::int64_t id = 0;  // set when read back
  std::string scenario_hash;
  std::string point;  // point_key()
  std::uint64_t seed = 0;
  bool passed = false;
  int failed_expectations = 0;
  std::string failed;  // the failed expectations as written, one per line
  std::string digest;  // 16 hex digits
  std::uint64_t steps = 0;
  double simulated_s = 0.0;
  std::string version;  // stampede's
  double wall_s = 0.0;
  std::vector<MetricRow> metrics;

  std::optional<double> metric(const std::string& name) const;
};

struct ScenarioRow {
  std::string hash;  // of the scenario file's text
  std::string name;
  std::string file;
  std::string text;
};

struct PointRow {
  std::string scenario_hash;
  std::string point;
  std::optional<double> baseline_availability;  // see baselines.hpp
  std::string baseline_note;                    // how it was computed, for the report
};

struct MergeStats {
  std::size_t added = 0;
  std::size_t already_present = 0;
  std::size_t conflicting = 0;  // same key, different digest (another version?): kept the target's
};

class ResultsDb {
 public:
  enum class Mode { read_only, create_or_update };
  // Opens and validates: a file that is not SQLite, a SQLite file that is not a stampede results
  // database, or one of another schema version throws BadInput and leaves the file untouched.
  // read_only also refuses a missing file.
  ResultsDb(const std::string& path, Mode mode);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  const std::string& path() const { return path_; }

  void put_scenario(const ScenarioRow& s);
  void put_point(const PointRow& p);
  // Inserts the run and its metrics in one transaction; false (and nothing written) when a run
  // with the same key is already stored.
  bool insert_run(const RunRow& r);

  // The (point, seed) pairs already stored for a scenario.
  std::set<std::pair<std::string, std::uint64_t>> done(const std::string& scenario_hash) const;
  std::vector<ScenarioRow> scenarios() const;
  std::vector<PointRow> points(const std::string& scenario_hash) const;
  // Runs with their metrics, ordered by point and seed; every scenario when the hash is empty.
  std::vector<RunRow> runs(const std::string& scenario_hash = "") const;
  std::size_t run_count() const;

  // Copies every scenario, point and run of `other` that this database lacks, in one transaction.
  MergeStats merge_from(const ResultsDb& other);

 private:
  void exec(const char* sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace stampede::analysis
