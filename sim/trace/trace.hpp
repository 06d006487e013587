#pragma once
// Traces: self-contained JSON Lines. The first line embeds the scenario (its YAML text and the
// --set overrides), the seed, the engine and the stampede version; then one line per step with its
// rolling hash; the last line holds the step count, the digest and the verdict. `replay` re-runs
// the embedded scenario and stops at the first step whose rolling hash differs.
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"

namespace stampede {

inline constexpr int k_trace_format = 1;

struct TraceHeader {
  int format = k_trace_format;
  std::string version;  // stampede's
  std::string engine = "kernel";  // or "simgrid" ("explore" traces are read by sim/explore)
  std::string platform;           // simgrid: the --platform file, empty for the built platform
  std::string scenario_file;
  std::string scenario_text;
  std::vector<std::string> overrides;
  std::uint64_t seed = 1;
  // An engine's own header object, as JSON text (the explorer's bounds under "explore"); empty
  // when the trace has none.
  std::string extension_json;
};

struct TraceStep {
  std::uint64_t index = 0;
  TimeNs time_ns = 0;
  StepKind kind = StepKind::start;
  std::string node;
  std::string from;
  std::string message;
  std::uint64_t rolling_hash = 0;
  int line = 0;  // in the trace file, for errors
  std::optional<std::int64_t> choice;  // "c": the option the explorer picked at this step
  // "p": the explorer's pick by identity (sim/explore/trace_io.hpp reads it), as JSON text;
  // empty when the step has none (traces written before identities, and kernel traces).
  std::string pick_json;
};

struct TraceEnd {
  std::uint64_t steps = 0;
  std::uint64_t digest = 0;
  bool passed = false;
};

struct Trace {
  TraceHeader header;
  std::vector<TraceStep> steps;
  TraceEnd end;
};

// A bad trace file: what() is "FILE:LINE:COL: message".
class TraceError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads and validates a whole trace. `expected_version` must match the header's version (empty:
// any version is read, and the caller compares header.version itself: `replay` follows a trace
// of another version with a warning), and the header's engine must be one of `engines` (the
// explorer reads its own traces with {"explore"}).
Trace read_trace(const std::string& path, const std::string& expected_version,
                 const std::vector<std::string>& engines = {"kernel", "simgrid"});

// Writes steps as they happen to PATH.tmp; commit() adds the end line and renames it to PATH, so
// a run that dies leaves no file that looks whole.
class TraceWriter final : public StepObserver {
 public:
  TraceWriter(std::string path, TraceHeader header);
  ~TraceWriter() override;
  void on_world(const WorldView& world) override;
  void on_step(const StepInfo& step) override;
  bool may_stop() const override { return false; }
  // Throws std::runtime_error when the file cannot be written.
  void commit(const TraceEnd& end);

 private:
  std::string path_;
  std::string tmp_path_;
  std::ofstream out_;
  const WorldView* world_ = nullptr;
  bool committed_ = false;
};

// Compares a re-run's steps with a recorded trace and stops at the first difference.
class ReplayComparer final : public StepObserver {
 public:
  explicit ReplayComparer(const Trace& trace, bool verbose);
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override;
  bool stop_requested() const override { return diverged_ && !keep_going_; }
  // Notes the first difference but lets the run go on: `replay` following a schedule after a
  // code change (or a trace of another version) reports where the run first differs and the
  // verdict it reaches, not only the difference.
  void keep_going() { keep_going_ = true; }
  bool diverged() const { return diverged_; }
  std::uint64_t steps_compared() const { return compared_; }
  const std::string& divergence() const { return divergence_; }

 private:
  const Trace& trace_;
  const WorldView* world_ = nullptr;
  bool verbose_;
  bool keep_going_ = false;
  bool diverged_ = false;
  std::uint64_t compared_ = 0;
  std::string divergence_;
};

std::string describe_step(const TraceStep& s);

}  // namespace stampede
