#include "analysis/results_db.hpp"

#include <sqlite3.h>

#include <filesystem>

#include "analysis/errors.hpp"

namespace stampede::analysis {
namespace {

constexpr const char* k_schema = R"sql(
CREATE TABLE stampede_schema (version INTEGER NOT NULL);
CREATE TABLE scenarios (
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, file TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE points (
  scenario_hash TEXT NOT NULL, point TEXT NOT NULL,
  baseline_availability REAL, baseline_note TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (scenario_hash, point));
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  scenario_hash TEXT NOT NULL, point TEXT NOT NULL, seed INTEGER NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
  failed_expectations INTEGER NOT NULL, failed TEXT NOT NULL,
  digest TEXT NOT NULL, steps INTEGER NOT NULL, simulated_s REAL NOT NULL,
  version TEXT NOT NULL, wall_s REAL NOT NULL,
  UNIQUE (scenario_hash, point, seed));
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs (id), name TEXT NOT NULL,
  value REAL NOT NULL, unit TEXT NOT NULL,
  PRIMARY KEY (run_id, name));
)sql";

// What a failed SQLite call means to the user: a corrupted, locked, read-only or full file is bad
// input (one line naming the file, exit 2); anything else is stampede's own fault.
[[noreturn]] void throw_sqlite_failure(sqlite3* db, int rc) {
  const char* file = sqlite3_db_filename(db, "main");
  const std::string path = file ? file : "results database";
  const std::string msg = sqlite3_errmsg(db);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      throw BadInput(path + ": the results database is corrupted (sqlite: " + msg +
                      "); use another --db file or restore it from a copy");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw BadInput(path + ": the results database is locked by another process (waited 10 s); "
                      "try again when that sweep or merge has finished");
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_FULL:
    case SQLITE_IOERR:
      throw BadInput(path + ": cannot write the results database (sqlite: " + msg + ")");
    default:
      throw std::runtime_error("sqlite: " + msg);
  }
}

// A prepared statement that finalises itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (int rc = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); rc != SQLITE_OK) {
      if ((rc & 0xff) == SQLITE_ERROR)
        throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db) + " in: " + sql);
      throw_sqlite_failure(db, rc);
    }
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, std::optional<double> v) {
    if (v)
      sqlite3_bind_double(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite_failure(db_, rc);
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string text(int i) const {
    auto p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  std::int64_t integer(int i) const { return sqlite3_column_int64(s_, i); }
  double real(int i) const { return sqlite3_column_double(s_, i); }
  bool is_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// Corrupted pages can still let the first queries through (a schema row read as 0): every page
// is checked before the file is trusted, so corruption is named as such.
void check_integrity(sqlite3* db, const std::string& path) {
  Stmt s(db, "PRAGMA quick_check(1)");
  std::string verdict = s.step() ? s.text(0) : "no answer";
  for (char& c : verdict)
    if (c == '\n') c = ' ';
  if (verdict != "ok")
    throw BadInput(path + ": the results database is corrupted (sqlite quick_check: " + verdict +
                   "); use another --db file or restore it from a copy");
}

// The columns of each table, as `PRAGMA table_info` lists them.
std::map<std::string, std::set<std::string>> columns(sqlite3* db) {
  std::map<std::string, std::set<std::string>> out;
  for (const char* table : {"stampede_schema", "scenarios", "points", "runs", "metrics"}) {
    Stmt s(db, (std::string("PRAGMA table_info(") + table + ")").c_str());
    auto& cols = out[table];
    while (s.step()) cols.insert(s.text(1));
  }
  return out;
}

// A file with the right schema row but a table or column missing (edited by hand, or cut short)
// is refused before anything reads or writes it: every table and column of k_schema must exist.
void check_columns(sqlite3* db, const std::string& path) {
  sqlite3* want_db = nullptr;
  sqlite3_open(":memory:", &want_db);
  std::map<std::string, std::set<std::string>> want;
  try {
    sqlite3_exec(want_db, k_schema, nullptr, nullptr, nullptr);
    want = columns(want_db);
  } catch (...) {
    sqlite3_close(want_db);
    throw;
  }
  sqlite3_close(want_db);
  const auto have = columns(db);
  for (const auto& [table, cols] : want) {
    const auto& got = have.at(table);
    if (got.empty())
      throw BadInput(path + ": not a complete stampede results database: table " + table +
                     " is missing (use a new --db file)");
    for (const std::string& c : cols)
      if (!got.count(c))
        throw BadInput(path + ": not a complete stampede results database: table " + table +
                       " has no column " + c + " (use a new --db file)");
  }
}

}  // namespace

std::optional<double> RunRow::metric(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

ResultsDb::ResultsDb(const std::string& path, Mode mode) : path_(path) {
  if (mode == Mode::read_only && !std::filesystem::is_regular_file(path))
    throw BadInput(path + ": no such results database");
  if (std::filesystem::is_directory(path))
    throw BadInput(path + ": is a directory, not a results database");
  const int flags =
      mode == Mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw BadInput(path + ": cannot open the results database: " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    // The first read tells a SQLite file from anything else, before a single byte is written.
    std::set<std::string> tables;
    {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", -1,
                                  &s, nullptr);
      if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
          tables.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
      sqlite3_finalize(s);
      if (rc != SQLITE_DONE) {
        if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_BUSY) throw_sqlite_failure(db_, rc);
        std::string msg = sqlite3_errmsg(db_);
        throw BadInput(path + ": not a SQLite results database (" + msg + ")");
      }
    }
    if (tables.empty()) {
      if (mode == Mode::read_only)
        throw BadInput(path + ": empty database, no stampede results in it");
      exec("BEGIN");
      exec(k_schema);
      Stmt(db_, "INSERT INTO stampede_schema (version) VALUES (?)")
          .bind(1, std::int64_t{k_results_schema_version})
          .step();
      exec("COMMIT");
    } else if (!tables.count("stampede_schema")) {
      throw BadInput(path +
                     ": a SQLite database, but not a stampede results database "
                     "(no stampede_schema table)");
    } else {
      check_integrity(db_, path);
      Stmt s(db_, "SELECT version FROM stampede_schema");
      const std::int64_t v = s.step() ? s.integer(0) : -1;
      if (v != k_results_schema_version)
        throw BadInput(path + ": results database schema version " + std::to_string(v) +
                       ", this stampede reads and writes version " +
                       std::to_string(k_results_schema_version) + " (use a new --db file)");
      check_columns(db_, path);
    }
    if (mode != Mode::read_only) {
      // WAL with synchronous=NORMAL: a committed run survives the process being killed (only
      // a power loss may drop the last commits), and a commit costs no fsync.
      exec("PRAGMA journal_mode = WAL");
      exec("PRAGMA synchronous = NORMAL");
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

ResultsDb::~ResultsDb() {
  sqlite3_close(db_);
}

void ResultsDb::exec(const char* sql) const {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    if ((rc & 0xff) != SQLITE_ERROR) throw_sqlite_failure(db_, rc);
    throw std::runtime_error(path_ + ": sqlite: " + msg);
  }
}

void ResultsDb::put_scenario(const ScenarioRow& s) {
  Stmt(db_, "INSERT OR IGNORE INTO scenarios (hash, name, file, text) VALUES (?, ?, ?, ?)")
      .bind(1, s.hash)
      .bind(2, s.name)
      .bind(3, s.file)
      .bind(4, s.text)
      .step();
}

void ResultsDb::put_point(const PointRow& p) {
  Stmt(db_,
       "INSERT OR IGNORE INTO points (scenario_hash, point, baseline_availability, "
       "baseline_note) VALUES (?, ?, ?, ?)")
      .bind(1, p.scenario_hash)
      .bind(2, p.point)
      .bind(3, p.baseline_availability)
      .bind(4, p.baseline_note)
      .step();
}

bool ResultsDb::insert_run(const RunRow& r) {
  exec("BEGIN IMMEDIATE");
  try {
    Stmt ins(db_,
             "INSERT OR IGNORE INTO runs (scenario_hash, point, seed, verdict, "
             "failed_expectations, failed, digest, steps, simulated_s, version, wall_s) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, r.scenario_hash)
        .bind(2, r.point)
        .bind(3, static_cast<std::int64_t>(r.seed))
        .bind(4, std::string(r.passed ? "pass" : "fail"))
        .bind(5, std::int64_t{r.failed_expectations})
        .bind(6, r.failed)
        .bind(7, r.digest)
        .bind(8, static_cast<std::int64_t>(r.steps))
        .bind(9, r.simulated_s)
        .bind(10, r.version)
        .bind(11, r.wall_s);
    ins.step();
    if (sqlite3_changes(db_) == 0) {
      exec("ROLLBACK");
      return false;
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    Stmt m(db_, "INSERT INTO metrics (run_id, name, value, unit) VALUES (?, ?, ?, ?)");
    for (const auto& x : r.metrics) {
      m.bind(1, id).bind(2, x.name).bind(3, x.value).bind(4, x.unit);
      m.step();
      m.reset();
    }
    exec("COMMIT");
    return true;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::set<std::pair<std::string, std::uint64_t>> ResultsDb::done(const std::string& hash) const {
  std::set<std::pair<std::string, std::uint64_t>> out;
  Stmt s(db_, "SELECT point, seed FROM runs WHERE scenario_hash = ?");
  s.bind(1, hash);
  while (s.step()) out.emplace(s.text(0), static_cast<std::uint64_t>(s.integer(1)));
  return out;
}

std::vector<ScenarioRow> ResultsDb::scenarios() const {
  std::vector<ScenarioRow> out;
  Stmt s(db_, "SELECT hash, name, file, text FROM scenarios ORDER BY name, hash");
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
  return out;
}

std::vector<PointRow> ResultsDb::points(const std::string& hash) const {
  std::vector<PointRow> out;
  Stmt s(db_,
         "SELECT scenario_hash, point, baseline_availability, baseline_note FROM points "
         "WHERE scenario_hash = ? ORDER BY point");
  s.bind(1, hash);
  while (s.step()) {
    PointRow p{s.text(0), s.text(1), std::nullopt, s.text(3)};
    if (!s.is_null(2)) p.baseline_availability = s.real(2);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<RunRow> ResultsDb::runs(const std::string& hash) const {
  std::vector<RunRow> out;
  std::map<std::int64_t, std::size_t> by_id;
  const std::string where = hash.empty() ? "" : " WHERE scenario_hash = ?1";
  {
    Stmt s(db_, ("SELECT id, scenario_hash, point, seed, verdict, failed_expectations, failed, "
                 "digest, steps, simulated_s, version, wall_s FROM runs" +
                 where + " ORDER BY scenario_hash, point, seed")
                    .c_str());
    if (!hash.empty()) s.bind(1, hash);
    while (s.step()) {
      RunRow r;
      r.id = s.integer(0);
      r.scenario_hash = s.text(1);
      r.point = s.text(2);
      r.seed = static_cast<std::uint64_t>(s.integer(3));
      r.passed = s.text(4) == "pass";
      r.failed_expectations = static_cast<int>(s.integer(5));
      r.failed = s.text(6);
      r.digest = s.text(7);
      r.steps = static_cast<std::uint64_t>(s.integer(8));
      r.simulated_s = s.real(9);
      r.version = s.text(10);
      r.wall_s = s.real(11);
      by_id[r.id] = out.size();
      out.push_back(std::move(r));
    }
  }
  Stmt m(db_, ("SELECT m.run_id, m.name, m.value, m.unit FROM metrics m JOIN runs r ON r.id = "
               "m.run_id" +
               std::string(hash.empty() ? "" : " WHERE r.scenario_hash = ?1") +
               " ORDER BY m.run_id, m.rowid")
                  .c_str());
  if (!hash.empty()) m.bind(1, hash);
  while (m.step()) {
    auto it = by_id.find(m.integer(0));
    if (it != by_id.end()) out[it->second].metrics.push_back({m.text(1), m.real(2), m.text(3)});
  }
  return out;
}

std::size_t ResultsDb::run_count() const {
  Stmt s(db_, "SELECT COUNT(*) FROM runs");
  s.step();
  return static_cast<std::size_t>(s.integer(0));
}

MergeStats ResultsDb::merge_from(const ResultsDb& other) {
  MergeStats st;
  const auto src_scenarios = other.scenarios();
  const auto src_runs = other.runs();
  exec("BEGIN IMMEDIATE");
  try {
    for (const auto& sc : src_scenarios) {
      put_scenario(sc);
      for (const auto& p : other.points(sc.hash)) put_point(p);
    }
    Stmt ins(db_,
             "INSERT OR IGNORE INTO runs (scenario_hash, point, seed, verdict, "
             "failed_expectations, failed, digest, steps, simulated_s, version, wall_s) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Stmt met(db_, "INSERT INTO metrics (run_id, name, value, unit) VALUES (?, ?, ?, ?)");
    Stmt existing(db_,
                  "SELECT digest FROM runs WHERE scenario_hash = ? AND point = ? AND seed = ?");
    for (const auto& r : src_runs) {
      ins.bind(1, r.scenario_hash)
          .bind(2, r.point)
          .bind(3, static_cast<std::int64_t>(r.seed))
          .bind(4, std::string(r.passed ? "pass" : "fail"))
          .bind(5, std::int64_t{r.failed_expectations})
          .bind(6, r.failed)
          .bind(7, r.digest)
          .bind(8, static_cast<std::int64_t>(r.steps))
          .bind(9, r.simulated_s)
          .bind(10, r.version)
          .bind(11, r.wall_s);
      ins.step();
      ins.reset();
      if (sqlite3_changes(db_) == 0) {
        existing.bind(1, r.scenario_hash)
            .bind(2, r.point)
            .bind(3, static_cast<std::int64_t>(r.seed));
        if (existing.step() && existing.text(0) != r.digest)
          ++st.conflicting;
        else
          ++st.already_present;
        existing.reset();
        continue;
      }
      const std::int64_t id = sqlite3_last_insert_rowid(db_);
      for (const auto& x : r.metrics) {
        met.bind(1, id).bind(2, x.name).bind(3, x.value).bind(4, x.unit);
        met.step();
        met.reset();
      }
      ++st.added;
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return st;
}

}  // namespace stampede::analysis
