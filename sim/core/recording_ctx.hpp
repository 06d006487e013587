#pragma once
// The half of a Ctx that every engine implements the same way: timings and mechanism switches
// from the run's resolved maps, and logs, signals and metrics into the run's Recorder. An
// engine's Ctx derives from it and adds what differs between engines: clocks, sends and timers.
#include <map>
#include <string>

#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"

namespace stampede {

class RecordingCtx : public Ctx {
 public:
  RecordingCtx(NodeId node, Recorder& recorder, const TimingMap& timings,
               const MechanismMap& mechanisms, bool keep_debug_logs)
      : node_(node),
        recorder_(recorder),
        timings_(timings),
        mechanisms_(mechanisms),
        keep_debug_logs_(keep_debug_logs) {}

  std::int64_t timing(std::string_view name) const override {
    return resolved_timing(timings_, name);
  }
  bool mechanism(std::string_view name) const override {
    return resolved_mechanism(mechanisms_, name);
  }
  void log(LogLevel level, std::string_view text) override {
    if (level == LogLevel::debug && !keep_debug_logs_) return;
    recorder_.log(record_time(), node_, level, text);
  }
  void event(LogLevel level, const Event& e, std::string_view text) override {
    if (level == LogLevel::debug && !keep_debug_logs_) return;
    recorder_.event(record_time(), node_, level, e, text);
  }
  void signal(std::string_view name) override { recorder_.signal(record_time(), node_, name); }
  SeriesId intern(std::string_view metric_name) override { return recorder_.intern(metric_name); }
  void count(SeriesId metric, std::int64_t delta) override { recorder_.count(metric, delta); }
  void sample(SeriesId series, std::int64_t value) override {
    recorder_.sample(series, record_time(), value);
  }

 protected:
  // The instant records are stamped with: the engine's simulated time, never a node's skewed
  // clock, so that records of all nodes order on one time line.
  virtual TimeNs record_time() const = 0;

 private:
  NodeId node_;
  Recorder& recorder_;
  const TimingMap& timings_;
  const MechanismMap& mechanisms_;
  bool keep_debug_logs_;
};

}  // namespace stampede
