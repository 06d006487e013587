#pragma once
// What an engine records while it runs, in a form shared by every engine: the steps it takes
// (for traces, digests and per-step checks), log lines, named signals and metric samples.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/message.hpp"
#include "sim/core/node.hpp"
#include "sim/core/time.hpp"

namespace stampede {

// `connection`: a connection event reaches a node (from = the peer, detail = the event).
enum class StepKind : std::uint8_t { start, deliver, timer, fault, check, resume, connection };
std::string_view step_kind_name(StepKind k);
std::optional<StepKind> step_kind_from_name(std::string_view name);

struct StepInfo {
  std::uint64_t index = 0;  // 1-based
  TimeNs time_ns = 0;
  StepKind kind = StepKind::start;
  NodeId node = k_no_node;
  NodeId from = k_no_node;        // deliver, connection (the peer)
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
  // Whether stop_requested can ever be true. An engine asks it once, when the observer is added,
  // and after each step asks stop_requested only of those that may stop: the HA hour's observers
  // never stop a run, and asking each of them after all of its 1.6 M steps cost 1% of the run.
  virtual bool may_stop() const { return true; }
  // Whether the observer needs the steps at `node` of the kinds that run a node's handler
  // (start, deliver, timer, connection). An engine may ask it of every node once, before its
  // first step, and then skip on_step for those steps at the nodes answered false; fault, check
  // and resume steps and steps at no node reach every observer. The HA hour's client and load
  // balancer steps, half of its 1.6 M, change nothing the checker and the trackers read, and
  // calling each of them after every one of these steps cost 3% of the run.
  virtual bool watches(const WorldView& world, NodeId node) {
    (void)world;
    (void)node;
    return true;
  }
  // Whether the observer needs the deliveries of messages of `type` at the nodes it watches. An
  // engine may ask it once per type and then skip on_step for the other deliveries: the HA
  // hour's requests on their way through the app (Registry::inert_message), a third of its
  // steps, change nothing the checker reads.
  virtual bool watches_message(std::uint32_t type) {
    (void)type;
    return true;
  }
  // An engine that skips steps (watches, watches_message) calls this when it stops running
  // (run_until returns), with the time of the last step it took, if any: an observer that
  // keeps the last step's time need not watch every step for it.
  virtual void on_paused(TimeNs last_step_ns) { (void)last_step_ns; }
  // The explorer's dfs backtracks by restoring a saved state of the world (ExploreEngine::save):
  // an observer whose own state decides a run's verdict returns a copy of it here and takes it
  // back in restore_state, so that the run that goes on from the restored state is judged as a
  // run from the start would be. Null (the default): nothing of it is put back.
  virtual std::shared_ptr<const void> save_state() const { return nullptr; }
  virtual void restore_state(const void* state) { (void)state; }
};

struct LogRecord {
  TimeNs time_ns = 0;
  NodeId node = k_no_node;
  LogLevel level = LogLevel::info;
  std::string text;
  std::string event;  // the structured event's name, or empty for a plain log line
  std::vector<std::pair<std::string, std::string>> fields;  // the event's fields, in order
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

// A run's log lines, in order, kept in chunks that copies share: the explorer copies the
// record at nearly every snapshot it saves while something was logged, and a plain vector made
// each of those copies (and the frees when a snapshot went) copy every line of the run so far,
// about a seventh of known bug (b)'s plain dfs (bench/RESULTS.md, session 25, cowdfs, measured
// again for the dfsclone branch). A full chunk is never written again, so a copy costs one
// pointer per full chunk and at most k_chunk - 1 lines.
class LogLines {
 public:
  static constexpr std::size_t k_chunk = 8;

  class const_iterator {
   public:
    using value_type = LogRecord;
    using difference_type = std::ptrdiff_t;
    using reference = const LogRecord&;
    using pointer = const LogRecord*;
    using iterator_category = std::forward_iterator_tag;
    const_iterator() = default;
    const_iterator(const LogLines* lines, std::size_t i) : lines_(lines), i_(i) {}
    const LogRecord& operator*() const { return (*lines_)[i_]; }
    const LogRecord* operator->() const { return &(*lines_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++i_;
      return old;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const LogLines* lines_ = nullptr;
    std::size_t i_ = 0;
  };

  std::size_t size() const { return full_.size() * k_chunk + tail_.size(); }
  bool empty() const { return size() == 0; }
  const LogRecord& operator[](std::size_t i) const {
    const std::size_t c = i / k_chunk;
    return c < full_.size() ? (*full_[c])[i % k_chunk] : tail_[i - full_.size() * k_chunk];
  }
  const LogRecord& back() const { return (*this)[size() - 1]; }
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, size()); }
  void push_back(LogRecord r) {
    tail_.push_back(std::move(r));
    if (tail_.size() == k_chunk) {
      full_.push_back(std::make_shared<const std::vector<LogRecord>>(std::move(tail_)));
      tail_ = std::vector<LogRecord>();
      tail_.reserve(k_chunk);
    }
  }

 private:
  std::vector<std::shared_ptr<const std::vector<LogRecord>>> full_;  // each exactly k_chunk
  std::vector<LogRecord> tail_;                                      // fewer than k_chunk
};

// Read access to what a run has recorded so far.
class RunRecord {
 public:
  virtual ~RunRecord() = default;
  virtual const LogLines& logs() const = 0;
  virtual const std::vector<SignalRecord>& signals() const = 0;
  virtual const std::vector<Sample>* series(std::string_view name) const = 0;
  virtual std::vector<std::string> metric_names() const = 0;
  virtual std::int64_t counter(std::string_view name) const = 0;
};

// The record every engine keeps: it implements RunRecord, so engines differ only in how they
// schedule steps, never in what they remember of them.
class Recorder final : public RunRecord {
 public:
  void log(TimeNs time_ns, NodeId node, LogLevel level, std::string_view text) {
    logs_.push_back(LogRecord{time_ns, node, level, std::string(text), {}, {}});
  }
  void event(TimeNs time_ns, NodeId node, LogLevel level, const Event& e, std::string_view text) {
    LogRecord r{time_ns, node, level, std::string(text), std::string(e.name()), {}};
    r.fields.reserve(e.fields().size());
    for (const EventField& f : e.fields()) r.fields.emplace_back(std::string(f.key), f.value);
    logs_.push_back(std::move(r));
  }
  void signal(TimeNs time_ns, NodeId node, std::string_view name) {
    signals_.push_back(SignalRecord{time_ns, node, std::string(name)});
  }
  // The id of a metric or series name, created on first use.
  SeriesId intern(std::string_view name);
  void count(SeriesId metric, std::int64_t delta) { counters_[metric] += delta; }
  void sample(SeriesId series, TimeNs time_ns, std::int64_t value) {
    series_[series].push_back(Sample{time_ns, value});
  }

  const LogLines& logs() const override { return logs_; }
  const std::vector<SignalRecord>& signals() const override { return signals_; }
  const std::vector<Sample>* series(std::string_view name) const override;
  std::vector<std::string> metric_names() const override { return metric_names_; }
  std::int64_t counter(std::string_view name) const override;

 private:
  LogLines logs_;
  std::vector<SignalRecord> signals_;
  std::vector<std::string> metric_names_;
  std::vector<std::int64_t> counters_;
  std::vector<std::vector<Sample>> series_;
};

// The rolling hash after a step: every engine folds its steps the same way, so traces of every
// engine read alike.
std::uint64_t fold_step(std::uint64_t rolling_hash, const StepInfo& step);
// A run's digest: the rolling hash, the step count, and every node's name, liveness and state.
std::uint64_t world_digest(std::uint64_t rolling_hash, std::uint64_t steps, const WorldView& world);

}  // namespace stampede
