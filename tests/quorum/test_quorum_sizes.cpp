// The quorum-size study in small (docs/sweeps.md, "The quorum-size study"): scenarios/quorum-sizes.yaml
// run in-process for ensembles of 1 to 7 over a few seeds; the measured availability:zookeeper
// agrees with the binomial majority-quorum baseline, and even sizes add no fault tolerance.
//
// To keep it to seconds, the test shortens the crash cycle (MTTF 40m, MTTR 10m: the same
// p = 0.8 as the study's 4h/1h, so the same baseline) and runs 100 simulated hours: 150 crash
// cycles per member, as many as the study's 200 h at 4h/1h gives in 40.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "analysis/baselines.hpp"
#include "analysis/stats.hpp"
#include "models/register.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;
namespace an = stampede::analysis;

namespace {

const Registry& registry() { return test::models_registry(); }

const std::string k_file = std::string(SCENARIOS_DIR) + "/quorum-sizes.yaml";

ScenarioSpec load(const std::vector<std::string>& sets) {
  ScenarioSpec base = load_scenario(k_file, registry());
  return parse_scenario_with_overrides(base.source_text, k_file, sets, registry());
}

double metric(const RunOutcome& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return 0.0;
}

constexpr int k_max_size = 7;
constexpr int k_seeds = 4;

struct Measured {
  an::Interval availability;
  double baseline = 0.0;
  double elections = 0.0;  // leaderships established per run, mean
  bool all_passed = true;  // every run met the scenario's expectations
};

// Sizes 1..7 x seeds 1..k_seeds, two runs at a time (runs share only the registry).
const std::map<int, Measured>& study() {
  static const std::map<int, Measured> result = [] {
    struct Job {
      int size;
      std::uint64_t seed;
      double availability = 0.0, elections = 0.0;
      bool passed = false;
    };
    std::vector<ScenarioSpec> specs;
    for (int n = 1; n <= k_max_size; ++n)
      specs.push_back(load({"cluster.zookeeper=" + std::to_string(n), "duration=100h",
                            "random_faults.crash.mttf=40m", "random_faults.crash.mttr=10m"}));
    std::vector<Job> jobs;
    for (int n = 1; n <= k_max_size; ++n)
      for (int s = 1; s <= k_seeds; ++s) jobs.push_back({n, static_cast<std::uint64_t>(s)});
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < jobs.size();) {
        Job& j = jobs[i];
        RunConfig c;
        c.seed = j.seed;
        RunOutcome out = run_scenario(specs[j.size - 1], registry(), c);
        j.passed = out.passed;
        for (const auto& m : out.metrics) {
          if (m.name == "availability:zookeeper") j.availability = m.value;
          if (m.name == "zk_elections") j.elections = m.value;
        }
      }
    };
    std::thread t(worker);
    worker();
    t.join();
    std::map<int, Measured> out;
    for (int n = 1; n <= k_max_size; ++n) {
      std::vector<double> xs;
      double elections = 0.0;
      bool all_passed = true;
      for (const Job& j : jobs)
        if (j.size == n) {
          xs.push_back(j.availability);
          elections += j.elections / k_seeds;
          all_passed = all_passed && j.passed;
        }
      out[n] = Measured{*an::mean_interval_95(xs),
                        *an::quorum_baseline({n, n, 40 * 60.0, 10 * 60.0}), elections,
                        all_passed};
    }
    return out;
  }();
  return result;
}

}  // namespace

TEST_CASE("the study scenario probes the ensemble and gets the binomial baseline",
          "[quorum]") {
  ScenarioSpec spec = load({});
  REQUIRE(spec.random_faults.crash);
  REQUIRE(spec.cluster.servers == 3);
  an::CrashModel m{spec.cluster.zookeeper, spec.cluster.zookeeper,
                   static_cast<double>(spec.random_faults.crash->mttf_ns) / 1e9,
                   static_cast<double>(spec.random_faults.crash->mttr_ns) / 1e9};
  CHECK(an::up_fraction(m.mttf_s, m.mttr_s) == Approx(0.8));
  CHECK(an::quorum_baseline(m).has_value());
  RunConfig c;
  c.seed = spec.seed;
  RunOutcome out = run_scenario(spec, registry(), c);
  CHECK(out.passed);
  double a = metric(out, "availability:zookeeper");
  CHECK(a > 0.0);
  CHECK(a <= 1.0);
}

// One test case for the sweep, so that ctest (one process per test case) runs it once.
TEST_CASE("sizes 1 to 7: measured availability agrees with the binomial baseline, and even sizes "
          "add no fault tolerance",
          "[quorum]") {
  const auto& s = study();
  for (const auto& [n, m] : s) {
    INFO("N = " << n << ": measured " << m.availability.mean << " [" << m.availability.low << ", "
                << m.availability.high << "], baseline " << m.baseline << ", elections/run "
                << m.elections);
    // Within the 95% interval, widened by the election allowance: after a leader's crash the
    // followers notice it only after syncLimit x tickTime (10 s) and then elect, so each
    // leadership costs up to about 15 s the quorum was up but no write could commit.
    CHECK(m.all_passed);
    double allowance = m.elections * 15.0 / (100.0 * 3600.0);
    CHECK(m.baseline >= m.availability.low - 0.002);
    CHECK(m.baseline <= m.availability.high + allowance + 0.002);
    // Nothing makes writes more available than a quorum allows (beyond noise).
    CHECK(m.availability.mean <= m.baseline + 0.02);
  }
  for (int odd : {1, 3, 5}) {
    const Measured& o = s.at(odd);
    const Measured& e = s.at(odd + 1);
    INFO("N = " << odd << ": " << o.availability.mean << ", N = " << odd + 1 << ": "
                << e.availability.mean);
    // The baseline says so: 2m members tolerate m - 1 failures, like 2m - 1, with one more
    // member to fail.
    CHECK(e.baseline < o.baseline);
    // And so does the measurement: the even size is no more available than the odd one below.
    CHECK(e.availability.mean < o.availability.mean);
  }
  // Odd sizes do gain: each adds a tolerated failure.
  CHECK(s.at(3).availability.mean > s.at(1).availability.mean);
  CHECK(s.at(5).availability.mean > s.at(3).availability.mean);
  CHECK(s.at(7).availability.mean > s.at(5).availability.mean);
}
