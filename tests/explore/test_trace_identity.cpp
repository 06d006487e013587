// Traces that outlive the code: every pick of an explorer trace records what it chose by
// identity, so `replay` follows the schedule when the options around it change (here: extra
// fault kinds insert options before the recorded one and shift its index), says where a recorded
// option no longer exists, and follows a trace of another stampede version with a warning.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/explore/explore_registry.hpp"
#include "sim/explore/explorer.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;
using namespace stampede::explore;

namespace {

const std::vector<std::string> k_sets = {"cluster.timing.lease_lock_clients=2",
                                         "cluster.timing.lease_lock_writes=1"};

ScenarioSpec lease_spec() {
  const std::string path = std::string(SCENARIOS_DIR) + "/known-bugs/lease-lock.yaml";
  return parse_scenario_with_overrides(test::read_text(path), path, k_sets,
                                       test::explore_registry());
}

Settings pause_settings(std::uint32_t kinds) {
  Settings s;
  s.max_faults = 1;
  s.inject_kinds = kinds;
  return s;
}

// Time's choice at every step, except that lease-client-1 is paused (60 s, past the 10 s lease)
// while the lock's grant is on its way to it: the grant lands after lease-client-2 has written
// with the next token, and the late write is the stale write.
class PauseBeforeGrant final : public Scheduler {
 public:
  std::size_t choose(const ExploreEngine& e, const std::vector<Option>& options) override {
    if (paused_) return 0;
    bool grant_due = false;
    for (const Option& o : options)
      grant_due |= !o.injected && o.kind == StepKind::deliver &&
                   e.node_name(o.node) == "lease-client-1" && e.node_name(o.from) == "lease-lock";
    if (!grant_due) return 0;
    for (std::size_t i = 0; i < options.size(); ++i)
      if (options[i].injected && options[i].inject == InjectKind::pause &&
          e.node_name(options[i].node) == "lease-client-1") {
        paused_ = true;
        pause_step = e.picks().size() + 1;
        pause_index = i;
        return i;
      }
    return 0;
  }
  bool paused_ = false;
  std::uint64_t pause_step = 0;
  std::size_t pause_index = 0;
};

std::string tmp(const std::string& name) { return test::temp_path("trace-identity", name); }

// Writes the recorded run as an explorer trace, as `explore --out` does.
std::string write_trace(const RunResult& run, const Settings& s, const std::string& name) {
  ScenarioSpec spec = lease_spec();
  TraceHeader h;
  h.version = STAMPEDE_VERSION;
  h.scenario_file = spec.source_file;
  h.scenario_text = spec.source_text;
  h.seed = s.seed;
  h.overrides = k_sets;
  const std::string path = tmp(name);
  write_explore_trace(path, h, s, "random", run);
  return path;
}

// The trace's text with every occurrence of `from` replaced by `to` (at least one).
void edit(const std::string& path, const std::string& from, const std::string& to,
          const std::string& out) {
  std::string text = test::read_text(path);
  REQUIRE(text.find(from) != std::string::npos);
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  std::ofstream(out, std::ios::trunc) << text;
}

// The trace without its identities: what a trace written before them holds.
void strip_identities(const std::string& path, const std::string& out) {
  std::istringstream in(test::read_text(path));
  std::ofstream o(out, std::ios::trunc);
  for (std::string line; std::getline(in, line);) {
    const std::size_t p = line.find(",\"p\":{");
    if (p != std::string::npos) line.erase(p, line.find('}', p) - p + 1);
    o << line << '\n';
  }
}

constexpr std::uint32_t k_pause = inject_bit(InjectKind::pause);
constexpr std::uint32_t k_crash_pause =
    k_pause | inject_bit(InjectKind::crash) | inject_bit(InjectKind::restart);

}  // namespace

TEST_CASE("a pick followed by identity keeps its verdict when inserted options shift its index, "
          "by index it does not") {
  ScenarioSpec spec = lease_spec();
  Explorer rec(spec, test::explore_registry(), pause_settings(k_pause));
  PauseBeforeGrant sched;
  RunResult recorded = rec.run(sched, true);
  REQUIRE(sched.paused_);
  REQUIRE(recorded.violation.has_value());
  CHECK(recorded.violation->property == "{never: lease_lock.stale_write}");
  REQUIRE(recorded.identities.size() == recorded.picks.size());
  const PickIdentity& paused = recorded.identities[sched.pause_step - 1];
  CHECK(paused.injected);
  CHECK(paused.kind == "pause");
  CHECK(paused.node == "lease-client-1");

  // The same scenario where crash and restart may be injected too: each node's crash comes
  // before its pause among the options, so the recorded index now points elsewhere.
  Explorer changed(spec, test::explore_registry(), pause_settings(k_crash_pause));
  RunResult by_id = changed.replay_by_identity(recorded.identities, recorded.picks);
  CHECK(by_id.unmatched.empty());
  CHECK(by_id.loose_matches == 0);
  REQUIRE(by_id.violation.has_value());
  CHECK(by_id.violation->property == recorded.violation->property);
  CHECK(by_id.violation->step == recorded.violation->step);
  CHECK(by_id.picks.size() == recorded.picks.size());
  CHECK(by_id.digest == recorded.digest);
  CHECK(by_id.picks[sched.pause_step - 1] != sched.pause_index);  // the index did move

  RunResult by_index = changed.replay(recorded.picks);
  CHECK(by_index.digest != recorded.digest);
  CHECK_FALSE(by_index.violation.has_value());  // the pause is lost, and the bug with it
}

TEST_CASE("a recorded option that no longer exists stops the replay there, saying what was "
          "recorded and what is enabled") {
  ScenarioSpec spec = lease_spec();
  Explorer rec(spec, test::explore_registry(), pause_settings(k_pause));
  PauseBeforeGrant sched;
  RunResult recorded = rec.run(sched, true);
  REQUIRE(sched.paused_);
  Explorer no_pause(spec, test::explore_registry(),
                    pause_settings(inject_bit(InjectKind::crash) | inject_bit(InjectKind::restart)));
  RunResult r = no_pause.replay_by_identity(recorded.identities, recorded.picks);
  CHECK(r.unmatched_step == sched.pause_step);
  CHECK(r.picks.size() == sched.pause_step - 1);
  CHECK(r.unmatched.find("recorded pause lease-client-1 (injected); enabled: ") == 0);
  CHECK(r.unmatched.find("crash lease-client-1 (injected)") != std::string::npos);
  CHECK(r.passed);  // stopped before the pause, no stale write
}

TEST_CASE("replay follows picks by identity through the binary: a changed option list, a "
          "vanished option, another version, and traces without identities") {
  ScenarioSpec spec = lease_spec();
  const Settings s = pause_settings(k_pause);
  Explorer rec(spec, test::explore_registry(), s);
  PauseBeforeGrant sched;
  RunResult recorded = rec.run(sched, true);
  REQUIRE(recorded.violation.has_value());
  const std::string trace = write_trace(recorded, s, "lease.trace.jsonl");
  ExploreTrace t = read_explore_trace(trace, STAMPEDE_VERSION);
  CHECK(t.identities == recorded.identities);

  test::CliResult r = test::run_cli("replay " + trace);
  CHECK(r.code == 0);
  CHECK(r.out.find("picks by identity") != std::string::npos);
  CHECK(r.out.find("✓ reproduced all") != std::string::npos);

  // Crash and restart allowed as well: the recorded pause sits at another index.
  const std::string kinds = "\"inject_kinds\":[\"pause\"]";
  const std::string more = tmp("more-kinds.trace.jsonl");
  edit(trace, kinds, "\"inject_kinds\":[\"crash\",\"restart\",\"pause\"]", more);
  r = test::run_cli("replay " + more);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("{never: lease_lock.stale_write} violated") != std::string::npos);
  const std::string more_index = tmp("more-kinds-index.trace.jsonl");
  strip_identities(more, more_index);
  r = test::run_cli("replay " + more_index);
  CHECK(r.code == 1);
  CHECK(r.out.find("picks by index") != std::string::npos);
  CHECK(r.out.find(fmt::format("✗ diverged at step {}", sched.pause_step)) != std::string::npos);

  // A longer lease (30 s, still shorter than the 60 s pause): every step happens later, so the
  // run differs from the recording from the lease's timer on, but every pick is still there and
  // the stale write is found again. Not a reproduction (exit 1), the verdict held (--expect).
  const std::string sets = "\"cluster.timing.lease_lock_writes=1\"";
  const std::string longer = tmp("longer-lease.trace.jsonl");
  edit(trace, sets, sets + ",\"cluster.timing.lease_duration=30s\"", longer);
  r = test::run_cli("replay " + longer);
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find(fmt::format("followed the recorded schedule by identity: {} of {} picks found",
                               recorded.picks.size(), recorded.picks.size())) !=
        std::string::npos);
  CHECK(r.out.find("the run differs from the recording from here: diverged at step") !=
        std::string::npos);
  CHECK(r.out.find("verdict FAIL (recorded FAIL)") != std::string::npos);
  CHECK(test::run_cli("replay --expect fail " + longer).code == 0);

  // Pause no longer allowed: the recorded option is gone.
  const std::string gone = tmp("no-pause.trace.jsonl");
  edit(trace, kinds, "\"inject_kinds\":[\"crash\",\"restart\"]", gone);
  r = test::run_cli("replay " + gone);
  CHECK(r.code == 1);
  CHECK(r.out.find(fmt::format("✗ the schedule stops matching at step {} (", sched.pause_step)) !=
        std::string::npos);
  CHECK(r.out.find("recorded pause lease-client-1 (injected); enabled: ") != std::string::npos);
  CHECK(r.out.find("verdict PASS (recorded FAIL)") != std::string::npos);
  CHECK(test::run_cli("replay --expect pass " + gone).code == 0);
  CHECK(test::run_cli("replay --expect fail " + gone).code == 1);

  // Another version: followed, with a warning, not refused.
  const std::string old = tmp("old-version.trace.jsonl");
  edit(trace, fmt::format("\"version\":\"{}\"", STAMPEDE_VERSION), "\"version\":\"0.0.1\"", old);
  r = test::run_cli("replay " + old);
  CHECK(r.code == 0);
  CHECK(r.out.find("warning: " + old + " was written by stampede 0.0.1") != std::string::npos);
  CHECK(r.out.find("✓ reproduced all") != std::string::npos);
  CHECK(test::run_cli("replay --expect fail " + old).code == 0);

  // A trace written before identities replays by index as before, step for step.
  const std::string plain = tmp("index-only.trace.jsonl");
  strip_identities(trace, plain);
  REQUIRE(read_explore_trace(plain, STAMPEDE_VERSION).identities.empty());
  r = test::run_cli("replay " + plain);
  CHECK(r.code == 0);
  CHECK(r.out.find("picks by index") != std::string::npos);
  CHECK(r.out.find("✓ reproduced all") != std::string::npos);
  for (const std::string& p : {trace, more, more_index, longer, gone, old, plain})
    std::remove(p.c_str());
}
