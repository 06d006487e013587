#include "sim/run/run.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "sim/fault/faults.hpp"
#include "sim/kernel/kernel.hpp"
#include "sim/run/repair.hpp"

namespace stampede {

TimingMap resolve_timings(const ScenarioSpec& spec, const Registry& reg) {
  TimingMap out;
  for (const TimingDef& t : reg.timings()) out[t.name] = t.default_value;
  for (const auto& [name, value] : spec.cluster.timing) out[name] = value;
  return out;
}

MechanismMap resolve_mechanisms(const ScenarioSpec& spec, const Registry& reg) {
  MechanismMap out;
  for (const MechanismDef& m : reg.mechanisms()) out[m.name] = m.default_on;
  for (const auto& [name, on] : spec.cluster.mechanisms) out[name] = on;
  return out;
}

namespace {

class EngineBuilder final : public WorldBuilder {
 public:
  explicit EngineBuilder(Engine& k) : k_(k) {}
  NodeId add_node(std::string name, std::unique_ptr<Node> node) override {
    return k_.add_node(std::move(name), std::move(node));
  }

 private:
  Engine& k_;
};

class EngineFaults final : public FaultTarget {
 public:
  EngineFaults(Engine& k, Chooser& chooser, std::vector<TimelineEntry>& timeline)
      : k_(k), chooser_(chooser), timeline_(timeline) {}
  TimeNs now() const override { return k_.now(); }
  std::vector<NodeId> resolve(std::string_view pattern) const override {
    std::vector<NodeId> ids;
    for (NodeId id = 0; id < k_.node_count(); ++id)
      if (name_matches(pattern, k_.node_name(id))) ids.push_back(id);
    return ids;
  }
  std::string_view node_name(NodeId id) const override { return k_.node_name(id); }
  void schedule(TimeNs at, std::function<void()> fn) override {
    k_.at(at, StepKind::fault, std::move(fn));
  }
  void crash(NodeId id) override { k_.crash(id); }
  void restart(NodeId id) override { k_.restart(id); }
  void power_off(NodeId id) override { k_.power_off(id); }
  void power_on(NodeId id) override { k_.power_on(id); }
  bool is_up(NodeId id) const override { return k_.is_up(id); }
  void pause(NodeId id, DurationNs for_ns) override { k_.pause(id, for_ns); }
  void set_clock_skew(NodeId id, DurationNs skew_ns) override { k_.set_clock_skew(id, skew_ns); }
  bool model_fault(const ModelFault& f) override { return k_.model_fault(f); }
  Network& network() override { return k_.network(); }
  Chooser& chooser() override { return chooser_; }
  void note(std::string text) override {
    timeline_.push_back(TimelineEntry{k_.now(), "", std::move(text)});
  }

 private:
  Engine& k_;
  Chooser& chooser_;
  std::vector<TimelineEntry>& timeline_;
};

// Measures the time the world takes to settle after the last fault: the start of the final
// unbroken stretch over which the registry's convergence predicate held.
class ConvergenceTracker final : public StepObserver {
 public:
  // `faults_before_judging`: how many faults are certain to come (see run_scenario); until they
  // have all been injected, judging is skipped.
  ConvergenceTracker(const Registry& reg, const WorldView& world, const FaultInjector& faults,
                     int faults_before_judging)
      : inert_(reg),
        predicate_(reg.converged()),
        affects_(reg.converged_depends_on()),
        world_(world),
        faults_(faults),
        faults_before_judging_(faults_before_judging) {}
  bool may_stop() const override { return false; }
  // A step at a node the predicate does not read is judged only when a fault came since the last
  // judgement; faults come in fault steps, which every observer is shown, and faults_seen_
  // catches up there (or the step before the last certain fault is not judged either).
  bool watches(const WorldView& world, NodeId node) override {
    return predicate_ && affects_.may_affect(world, node);
  }
  // An inert delivery is never judged (on_step).
  bool watches_message(std::uint32_t type) override { return !inert_.inert(type); }
  void on_step(const StepInfo& step) override {
    if (!predicate_) return;
    if (step.kind == StepKind::deliver && inert_.inert(step.msg_type)) return;
    // Every judgement made before the last fault is thrown away when that fault resets the
    // streak, so when the last fault is known in advance nothing is judged before it.
    if (faults_.faults_injected() < faults_before_judging_) return;
    if (step.node != k_no_node && step.kind != StepKind::fault && step.kind != StepKind::check &&
        faults_.faults_injected() == faults_seen_ &&
        !affects_.may_affect(world_, step.node))
      return;
    TimeNs now = world_.now();
    // Judge each instant once, after its first step: cheap, and enough at nanosecond grain.
    if (now == last_judged_ns_ && faults_.faults_injected() == faults_seen_) return;
    last_judged_ns_ = now;
    if (faults_.faults_injected() != faults_seen_) {
      faults_seen_ = faults_.faults_injected();
      streak_start_.reset();
    }
    if (predicate_(world_)) {
      if (!streak_start_) streak_start_ = now;
    } else {
      streak_start_.reset();
    }
  }
  // Seconds from the last fault to convergence; nullopt when the world had not settled at the end.
  std::optional<TimeNs> convergence_ns() const {
    if (!predicate_ || !streak_start_) return std::nullopt;
    return std::max<TimeNs>(0, *streak_start_ - faults_.last_fault_ns());
  }
  bool has_predicate() const { return static_cast<bool>(predicate_); }

 private:
  InertTypes inert_;
  const std::function<bool(const WorldView&)>& predicate_;
  AffectCache affects_;
  const WorldView& world_;
  const FaultInjector& faults_;
  TimeNs last_judged_ns_ = -1;
  int faults_seen_ = 0;
  int faults_before_judging_ = 0;
  std::optional<TimeNs> streak_start_;
};

double seconds(TimeNs t) { return static_cast<double>(t) / static_cast<double>(k_s); }

// The run's timeline: the log lines at or above `level`, and each failed expectation where it
// failed, in time order.
void add_timeline(RunOutcome& out, const Engine& kernel, LogLevel level) {
  for (const LogRecord& l : kernel.logs())
    if (l.level >= level)
      out.timeline.push_back(TimelineEntry{l.time_ns, std::string(kernel.node_name(l.node)), l.text});
  for (const ExpectResult& r : out.results)
    if (!r.passed && r.violated_at_ns)
      out.timeline.push_back(TimelineEntry{*r.violated_at_ns, "",
                                           "✗ " + r.spec->text + ": " + r.detail});
  std::stable_sort(out.timeline.begin(), out.timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.time_ns < b.time_ns; });
}

// Repair times and scale violations (sim/run/repair.hpp), for runs with services. The
// percentiles are over this run's repairs and absent when it had none, so that a sweep's report
// averages them over the runs that measured them.
void add_repair_metrics(RunOutcome& out, const RepairTracker& repairs) {
  if (!repairs.has_services()) return;
  const std::vector<DurationNs>& r = repairs.repairs_ns();
  out.metrics.push_back({"repairs", static_cast<double>(r.size()), ""});
  out.metrics.push_back({"repairs_unfinished", static_cast<double>(repairs.unfinished()), ""});
  if (!r.empty()) {
    out.metrics.push_back({"repair_time_p50", seconds(percentile_ns(r, 0.50)), "s"});
    out.metrics.push_back({"repair_time_p95", seconds(percentile_ns(r, 0.95)), "s"});
    out.metrics.push_back({"repair_time_p99", seconds(percentile_ns(r, 0.99)), "s"});
    out.metrics.push_back({"repair_time_max", seconds(percentile_ns(r, 1.0)), "s"});
  }
  out.metrics.push_back({"over_scale_episodes", static_cast<double>(repairs.over_scale_episodes()), ""});
  out.metrics.push_back({"over_scale_time", seconds(repairs.over_scale_ns()), "s"});
}

// The run's metrics: availability per load-balanced target, the models' counters, then the
// run's own.
void add_metrics(RunOutcome& out, const Engine& kernel, const ConvergenceTracker& convergence,
                 const RepairTracker& repairs, const FaultInjector& faults) {
  for (const std::string& name : kernel.metric_names()) {
    if (name.rfind("requests:", 0) != 0) continue;
    const std::vector<Sample>* s = kernel.series(name);
    std::int64_t ok = 0;
    for (const Sample& x : *s) ok += x.value != 0;
    double a = s->empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(s->size());
    out.metrics.push_back({"availability:" + name.substr(9), a, "ratio"});
  }
  for (const std::string& name : kernel.metric_names()) {
    if (name.rfind("requests:", 0) == 0) continue;
    out.metrics.push_back({name, static_cast<double>(kernel.counter(name)), ""});
  }
  if (convergence.has_predicate()) {
    auto c = convergence.convergence_ns();
    out.metrics.push_back({"convergence_time", c ? seconds(*c) : -1.0, "s"});
  }
  add_repair_metrics(out, repairs);
  out.metrics.push_back({"faults_injected", static_cast<double>(faults.faults_injected()), ""});
  out.metrics.push_back({"steps", static_cast<double>(out.steps), ""});
  out.metrics.push_back({"messages_delivered", static_cast<double>(out.messages), ""});
  out.metrics.push_back({"simulated_time", seconds(out.simulated_ns), "s"});
}

}  // namespace

EngineOptions engine_options(const ScenarioSpec& spec, const Registry& registry,
                             const RunConfig& config) {
  EngineOptions opts;
  opts.seed = config.seed;
  opts.network = spec.cluster.network;
  opts.timings = resolve_timings(spec, registry);
  opts.mechanisms = resolve_mechanisms(spec, registry);
  opts.keep_debug_logs = config.keep_debug_logs;
  return opts;
}

std::unique_ptr<Engine> make_kernel(const ScenarioSpec& spec, const Registry& registry,
                                    const RunConfig& config, Chooser& chooser) {
  return std::make_unique<Kernel>(engine_options(spec, registry, config), &chooser);
}

RunOutcome run_scenario(const ScenarioSpec& spec, const Registry& registry, const RunConfig& config) {
  SeededChooser seeded(config.seed);
  Chooser& chooser = config.chooser ? *config.chooser : seeded;
  std::unique_ptr<Engine> engine = config.make_engine
                                       ? config.make_engine(spec, registry, config, chooser)
                                       : make_kernel(spec, registry, config, chooser);
  Engine& kernel = *engine;  // whichever engine runs it

  EngineBuilder builder(kernel);
  for (const ModelEntry& m : registry.models()) m.build(spec, builder);

  RunOutcome out;
  EngineFaults fault_target(kernel, chooser, out.timeline);
  FaultInjector faults(spec, fault_target, config.seed);
  faults.arm();
  Checker checker(spec, registry, kernel, kernel);
  checker.arm([&kernel](TimeNs t, std::function<void()> fn) {
    kernel.at(t, StepKind::check, std::move(fn));
  });
  if (config.on_checker) config.on_checker(checker);
  // With scripted faults only, every fault up to the run's end is known now, and the kernel runs
  // to the end unless an observer (a trace, a replay) stops it: then the tracker need not judge
  // the world before the last of them (nothing judged earlier survives it). Another engine or
  // observers of the caller's keep the judging of every instant.
  int certain_faults = 0;
  if (!spec.random_faults.any() && config.observers.empty() &&
      !config.make_engine)
    for (const FaultSpec& f : spec.faults) certain_faults += f.at_ns <= spec.duration_ns;
  ConvergenceTracker convergence(registry, kernel, faults, certain_faults);
  RepairTracker repairs(spec, kernel, &registry);
  kernel.add_observer(&checker);
  kernel.add_observer(&convergence);
  kernel.add_observer(&repairs);
  for (StepObserver* o : config.observers) {
    o->on_world(kernel);
    kernel.add_observer(o);
  }

  kernel.run_until(spec.duration_ns);
  checker.finish();

  out.passed = checker.all_passed();
  out.results = checker.results();
  out.digest = kernel.digest();
  out.steps = kernel.steps();
  out.messages = kernel.messages_delivered();
  out.simulated_ns = kernel.now();
  out.stopped_early = kernel.now() < spec.duration_ns;

  add_timeline(out, kernel, config.timeline_level);
  add_metrics(out, kernel, convergence, repairs, faults);
  return out;
}

}  // namespace stampede
