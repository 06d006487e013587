// `stampede sweep`: the cross product of the `--set` axes times the seeds, run on `--jobs`
// threads (one run per thread at a time; runs share nothing, so results do not depend on the
// thread count), each run committed to the results database as it finishes. A sweep started
// again with the same flags skips the runs already stored.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include "analysis/baselines.hpp"
#include "analysis/errors.hpp"
#include "analysis/results_db.hpp"
#include "analysis/summary.hpp"
#include "analysis/sweep_plan.hpp"
#include "cli/app.hpp"
#include "cli/study.hpp"
#include "sim/core/digest.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::cli {
namespace an = stampede::analysis;
namespace {

// More threads than this only queue on the cores and cost memory; the bound also keeps a slip
// such as --jobs 100000 from reaching the system's thread limit.
constexpr int k_max_jobs = 512;

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) {
  g_interrupted.store(true);
}

constexpr int k_exit_interrupted = 130;  // 128 + SIGINT, as shells report it

// What the baseline needs from a point's scenario: the quorum's size and its random crashes.
an::PointRow point_row(const std::string& hash, const std::string& key, const ScenarioSpec& s) {
  an::PointRow row{hash, key, std::nullopt, ""};
  const auto& crash = s.random_faults.crash;
  if (!crash || s.cluster.zookeeper < 1) return row;
  an::CrashModel m;
  m.ensemble = s.cluster.zookeeper;
  for (int i = 1; i <= m.ensemble; ++i)
    if (name_matches(crash->targets, "zookeeper-" + std::to_string(i))) ++m.crash_targets;
  // A nemesis that also crashes servers or agents is not the model the baseline describes.
  for (const char* other : {"server-1", "agent-1", "db", "redis-1"})
    if (name_matches(crash->targets, other)) m.crash_targets = -1;
  m.mttf_s = static_cast<double>(crash->mttf_ns) / 1e9;
  m.mttr_s = static_cast<double>(crash->mttr_ns) / 1e9;
  row.baseline_availability = an::quorum_baseline(m);
  if (row.baseline_availability)
    row.baseline_note = fmt::format(
        "binomial availability of a majority quorum of the N = cluster.zookeeper ensemble, each "
        "member up MTTF/(MTTF+MTTR) of the time (random_faults.crash, independent crashes)");
  return row;
}

an::RunRow run_row(const std::string& hash, const std::string& key, std::uint64_t seed,
                   const RunOutcome& out, double wall_s) {
  an::RunRow r;
  r.scenario_hash = hash;
  r.point = key;
  r.seed = seed;
  r.passed = out.passed;
  for (const auto& e : out.results)
    if (!e.passed) {
      ++r.failed_expectations;
      if (!r.failed.empty()) r.failed += '\n';
      r.failed += e.spec ? e.spec->text : std::string("?");
    }
  r.digest = hex64(out.digest);
  r.steps = out.steps;
  r.simulated_s = static_cast<double>(out.simulated_ns) / 1e9;
  r.version = STAMPEDE_VERSION;
  r.wall_s = wall_s;
  for (const auto& m : out.metrics) r.metrics.push_back({m.name, m.value, m.unit});
  return r;
}

std::string clock_text(double s) {
  if (!(s >= 0.0) || s > 1e7) return "--:--";
  const auto t = static_cast<long>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
                   : fmt::format("{}:{:02}", t / 60, t % 60);
}

// The runs a sweep is to do: every point's scenario (validated), key and planned runs, in this
// shard.
struct SweepWork {
  std::vector<ScenarioSpec> specs;
  std::vector<std::string> keys;
  std::vector<an::PlannedRun> plan;
  an::Shard shard;
};

SweepWork plan_sweep(const SweepArgs& args, const std::string& path, const std::string& text) {
  std::vector<an::Axis> axes;
  for (const auto& s : args.sets) axes.push_back(an::parse_axis(s));
  const std::vector<an::Point> points = an::cross_product(axes);
  std::optional<std::vector<std::uint64_t>> seeds;
  if (!args.seeds.empty()) seeds = an::parse_seeds(args.seeds);
  if (seeds && points.size() * seeds->size() > an::k_max_runs)
    throw an::BadInput(fmt::format("--seeds {}: {} point(s) times {} seeds is more than {} runs: "
                                   "split the sweep (--shard K/N runs a slice of it)",
                                   args.seeds, points.size(), seeds->size(), an::k_max_runs));
  if (args.jobs < 0 || args.jobs > k_max_jobs)
    throw an::BadInput("--jobs " + std::to_string(args.jobs) + ": expected N from 1 to " +
                       std::to_string(k_max_jobs) + " (0 or no flag: one per core)");
  auto env = [](const char* name) -> const char* { return std::getenv(name); };
  SweepWork w;
  w.shard = !args.shard.empty() ? an::parse_shard(args.shard)
                                : an::shard_from_env(env).value_or(an::Shard{});

  // Every point is validated before anything runs or is written: a bad value in the last axis
  // fails the sweep at once, with the flag named.
  std::vector<std::vector<std::uint64_t>> seeds_per_point;
  for (const auto& p : points) {
    w.specs.push_back(
        parse_scenario_with_overrides(text, path, an::point_overrides(p), registry()));
    w.keys.push_back(an::point_key(p));
    seeds_per_point.push_back(seeds ? *seeds : std::vector<std::uint64_t>{w.specs.back().seed});
  }
  w.plan = an::plan_runs(seeds_per_point, w.shard);
  return w;
}

// What the worker threads share while a sweep runs.
struct SweepRun {
  SweepRun(const SweepWork& w, const std::vector<an::PlannedRun>& t, const std::string& h,
           an::ResultsDb& d)
      : work(w), todo(t), hash(h), db(d) {}
  const SweepWork& work;
  const std::vector<an::PlannedRun>& todo;
  const std::string& hash;
  an::ResultsDb& db;
  std::atomic<std::size_t> next{0}, finished{0}, violations{0};
  std::mutex db_mutex;
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
};

// One worker thread: takes the next run to do until none is left, the sweep is interrupted or a
// run failed; commits each run's row as it finishes.
void sweep_worker(SweepRun& run) {
  while (!g_interrupted.load() && !run.failed.load()) {
    const std::size_t i = run.next.fetch_add(1);
    if (i >= run.todo.size()) return;
    const auto& job = run.todo[i];
    try {
      RunConfig config;
      config.seed = job.seed;
      const auto start = std::chrono::steady_clock::now();
      const RunOutcome out = run_scenario(run.work.specs[job.point], registry(), config);
      const double wall_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const an::RunRow row = run_row(run.hash, run.work.keys[job.point], job.seed, out, wall_s);
      {
        std::lock_guard lock(run.db_mutex);
        run.db.insert_run(row);
      }
      if (!out.passed) ++run.violations;
      ++run.finished;
    } catch (...) {
      std::lock_guard lock(run.db_mutex);
      if (!run.failure) run.failure = std::current_exception();
      run.failed.store(true);
    }
  }
}

void show_progress(const SweepRun& run, std::chrono::steady_clock::time_point started) {
  const double el =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::size_t n = run.finished.load();
  const double rate = el > 0 ? static_cast<double>(n) / el : 0.0;
  const double eta = rate > 0 ? static_cast<double>(run.todo.size() - n) / rate : -1.0;
  std::fprintf(stderr, "\r%zu/%zu runs  %.1f runs/s  %zu violation(s)  ETA %s\x1b[K", n,
               run.todo.size(), rate, run.violations.load(), clock_text(eta).c_str());
}

// Runs the sweep's runs on `jobs` threads (progress on a terminal; SIGINT and SIGTERM stop it
// between runs), rethrows a run's failure, and returns the wall time it took in seconds.
double run_sweep_jobs(SweepRun& run, int jobs) {
  g_interrupted.store(false);
  auto old_int = std::signal(SIGINT, on_interrupt);
  auto old_term = std::signal(SIGTERM, on_interrupt);
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < jobs; ++t) {
    try {
      threads.emplace_back([&run] { sweep_worker(run); });
    } catch (const std::system_error& e) {
      // The system refused a thread (its limit, or memory): go on with those that started, or
      // refuse the flag if none did, rather than abort with threads still running.
      if (threads.empty())
        throw an::BadInput(fmt::format("--jobs {}: cannot start a thread ({}): try fewer jobs",
                                       jobs, e.what()));
      std::fprintf(stderr, "stampede sweep: only %zu of %d threads could start (%s); going on "
                   "with %zu\n", threads.size(), jobs, e.what(), threads.size());
      break;
    }
  }
  if (tty) {
    while (run.finished.load() < run.todo.size() && !g_interrupted.load() &&
           !run.failed.load()) {
      show_progress(run, started);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  for (auto& t : threads) t.join();
  if (tty) {
    show_progress(run, started);
    std::fputc('\n', stderr);
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (run.failure) std::rethrow_exception(run.failure);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// The closing table covers this sweep's runs (this shard's), whether run now or before; the
// exit code says whether any of them violated an expectation.
int close_sweep(const SweepArgs& args, const SweepWork& work, const an::ResultsDb& db,
                const std::string& hash) {
  std::set<std::pair<std::string, std::uint64_t>> planned;
  for (const auto& r : work.plan) planned.emplace(work.keys[r.point], r.seed);
  std::vector<an::RunRow> mine;
  for (auto& r : db.runs(hash))
    if (planned.count({r.point, r.seed})) mine.push_back(std::move(r));
  const auto sums = an::summarise(mine, db.points(hash), work.keys);
  if (!args.quiet) std::fputs(an::format_table(sums).c_str(), stdout);
  for (const auto& s : sums)
    if (s.violations > 0) return k_exit_failed;
  return k_exit_ok;
}

}  // namespace

int cmd_sweep(const SweepArgs& args) {
  const std::string path = resolve_scenario_path(args.scenario);
  const std::string text = read_file(path);
  const std::string hash = hex64(hash_bytes(text));
  const SweepWork work = plan_sweep(args, path, text);
  const auto& plan = work.plan;

  an::ResultsDb db(args.db, an::ResultsDb::Mode::create_or_update);
  db.put_scenario({hash, work.specs.front().name, path, text});
  for (std::size_t i = 0; i < work.specs.size(); ++i)
    db.put_point(point_row(hash, work.keys[i], work.specs[i]));
  const auto done = db.done(hash);
  std::vector<an::PlannedRun> todo;
  for (const auto& r : plan)
    if (!done.count({work.keys[r.point], r.seed})) todo.push_back(r);

  const int jobs = args.jobs > 0
                       ? args.jobs
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::fprintf(
      stderr,
      "sweep %s: %zu point(s), %zu run(s)%s; %zu already in %s, %zu to run on %d thread(s)\n",
      work.specs.front().name.c_str(), work.specs.size(), plan.size(),
      work.shard.count > 1
          ? fmt::format(" in shard {}/{}", work.shard.index, work.shard.count).c_str()
          : "",
      plan.size() - todo.size(), args.db.c_str(), todo.size(), jobs);

  SweepRun run(work, todo, hash, db);
  const double elapsed = run_sweep_jobs(run, jobs);
  if (g_interrupted.load()) {
    std::fprintf(stderr,
                 "sweep interrupted: %zu of %zu run(s) stored in %s; run the same command "
                 "again to resume\n",
                 run.finished.load(), todo.size(), args.db.c_str());
    return k_exit_interrupted;
  }
  std::fprintf(stderr, "sweep done: %zu run(s) in %.2f s (%.0f runs/min)\n", todo.size(), elapsed,
               elapsed > 0 ? static_cast<double>(todo.size()) * 60.0 / elapsed : 0.0);
  return close_sweep(args, work, db, hash);
}

}  // namespace stampede::cli
