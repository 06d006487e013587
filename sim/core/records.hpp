#pragma once
// What an engine records while it runs, in a form shared by every engine: the steps it takes
// (for traces, digests and per-step checks), log lines, named signals and metric samples.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/message.hpp"
#include "sim/core/node.hpp"
#include "sim/core/time.hpp"

namespace stampede {

enum class StepKind : std::uint8_t { start, deliver, timer, fault, check, resume };
std::string_view step_kind_name(StepKind k);
std::optional<StepKind> step_kind_from_name(std::string_view name);

struct StepInfo {
  std::uint64_t index = 0;  // 1-based
  TimeNs time_ns = 0;
  StepKind kind = StepKind::start;
  NodeId node = k_no_node;
  NodeId from = k_no_node;        // deliver
  std::uint32_t msg_type = 0;     // deliver
  std::uint64_t detail = 0;       // a digest of the message, timer tag or action
  std::uint64_t rolling_hash = 0; // the trace's running hash after this step
};

class WorldView;

class StepObserver {
 public:
  virtual ~StepObserver() = default;
  // Called once the world is built, before the first step.
  virtual void on_world(const WorldView& world) { (void)world; }
  virtual void on_step(const StepInfo& step) = 0;
  // Asked after every step: true ends the run there (replay stops at a divergence).
  virtual bool stop_requested() const { return false; }
};

struct LogRecord {
  TimeNs time_ns = 0;
  NodeId node = k_no_node;
  LogLevel level = LogLevel::info;
  std::string text;
};

struct SignalRecord {
  TimeNs time_ns = 0;
  NodeId node = k_no_node;
  std::string name;
};

struct Sample {
  TimeNs time_ns = 0;
  std::int64_t value = 0;
};

// Read access to what a run has recorded so far.
class RunRecord {
 public:
  virtual ~RunRecord() = default;
  virtual const std::vector<LogRecord>& logs() const = 0;
  virtual const std::vector<SignalRecord>& signals() const = 0;
  virtual const std::vector<Sample>* series(std::string_view name) const = 0;
  virtual std::vector<std::string> metric_names() const = 0;
  virtual std::int64_t counter(std::string_view name) const = 0;
};

}  // namespace stampede
