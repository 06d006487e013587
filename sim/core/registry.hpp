#pragma once
// The registry each model folder fills in: the nodes it builds from a scenario, and the names a
// scenario may use (timings, mechanisms, invariants, metrics, signals, log messages). sim/ knows
// models only through this: the scenario reader checks names against it, the engines build the
// world through it, and `stampede list` prints it.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/changes.hpp"
#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"

namespace stampede {

// A check's cache of what it computed from the world, one per type per run (WorldView::cache).
class ViewCache {
 public:
  virtual ~ViewCache() = default;
};

// The slot of a ViewCache type in every view's cache table, given on first use.
std::size_t next_view_cache_slot();
template <class T>
std::size_t view_cache_slot() {
  static const std::size_t slot = next_view_cache_slot();
  return slot;
}

// Read-only access to the world for invariants and expectations.
class WorldView {
 public:
  virtual ~WorldView() = default;
  virtual TimeNs now() const = 0;
  virtual std::size_t node_count() const = 0;
  virtual std::string_view node_name(NodeId id) const = 0;
  virtual NodeId find(std::string_view name) const = 0;  // k_no_node if absent
  virtual bool is_up(NodeId id) const = 0;               // not crashed (paused counts as up)
  virtual const Node& node(NodeId id) const = 0;

  // The sum of probe(key, arg) over the nodes whose name matches `pattern` and that know the key.
  std::int64_t probe_sum(std::string_view pattern, std::string_view key, std::string_view arg) const;
  // probe(key, arg) on one node, nullopt when the node is down, absent or does not know the key.
  std::optional<std::int64_t> probe_one(std::string_view node, std::string_view key,
                                        std::string_view arg) const;

  // The nodes whose names start with `prefix`, in id order. Kept per run (names never change
  // once the world is built): checks that read "every server" find them without a pass over
  // every node, which at thousands of agents cost more than the check.
  const std::vector<NodeId>& nodes_with_prefix(std::string_view prefix) const;

  // The nodes that may have changed since a reader last looked (engines record them).
  const ChangeLog& changes() const { return changes_; }
  // This run's cache of type T (made on first use), for checks that keep sums between steps:
  // invariants are functions shared by every run of a sweep, the view is the run's own. A cache
  // refreshes itself from changes(), so it stays exact across restored snapshots.
  template <class T>
  T& cache() const {
    const std::size_t slot = view_cache_slot<T>();
    if (slot >= caches_.size()) caches_.resize(slot + 1);
    if (!caches_[slot]) caches_[slot] = std::make_unique<T>();
    return static_cast<T&>(*caches_[slot]);
  }

 protected:
  ChangeLog changes_;

 private:
  mutable std::vector<std::unique_ptr<ViewCache>> caches_;
};

enum class TimingUnit { duration, count };

struct TimingDef {
  std::string name;
  TimingUnit unit = TimingUnit::duration;
  std::int64_t default_value = 0;  // ns for durations
  std::string source;              // where the default comes from
  std::string description;
  // The values a scenario may set, inclusive (ns for durations), checked by the scenario parser.
  // A period, backoff or timeout of 0 re-arms its timer at the same instant for ever (the run
  // never ends), and a count of nodes or ticks past what the engine can hold builds for minutes
  // or overflows; models/timing_bounds.cpp sets each bound and `stampede list timings` shows it.
  std::int64_t min_value = 0;
  std::int64_t max_value = INT64_MAX;
};

struct MechanismDef {
  std::string name;
  std::string description;  // what switching it off removes
  // Whether a scenario that does not mention the mechanism has it. A mechanism that the modelled
  // release does not have (a fix the model offers) is off unless a scenario switches it on.
  bool default_on = true;
};

struct InvariantDef {
  std::string name;
  std::string description;
  // nullopt while the property holds; otherwise a one-line account of the violation.
  std::function<std::optional<std::string>(const WorldView&)> check;
  // The nodes whose state the check reads (name patterns). After a step at any other node the
  // property cannot have changed, so the checker skips it there; fault and check steps, which
  // may crash or restart any node, always re-evaluate. Empty means every node.
  std::vector<std::string> depends_on = {};
};

// A run's resolved timings and mechanism switches, by name. The transparent comparator lets a
// Ctx look a name up without building a std::string on every model call.
using TimingMap = std::map<std::string, std::int64_t, std::less<>>;
using MechanismMap = std::map<std::string, bool, std::less<>>;

// A model's timing or mechanism switch, from the resolved maps every engine's Ctx holds. Asking
// for a name no model registered is a bug in the model, so it fails an assertion.
std::int64_t resolved_timing(const TimingMap& timings,
                             std::string_view name);
bool resolved_mechanism(const MechanismMap& mechanisms, std::string_view name);

// True when a step at `node` may change a property that reads the nodes of `depends_on`.
bool step_may_affect(const std::vector<std::string>& depends_on, std::string_view node);

// step_may_affect, remembered per node id: names never change during a run, and this is asked
// after every step, where matching patterns against names would cost more than the check.
class AffectCache {
 public:
  explicit AffectCache(const std::vector<std::string>& depends_on) : depends_on_(depends_on) {}
  bool may_affect(const WorldView& world, NodeId node) {
    if (depends_on_.empty()) return true;
    if (node >= known_.size()) known_.resize(node + 1, k_unknown);
    if (known_[node] == k_unknown)
      known_[node] = step_may_affect(depends_on_, world.node_name(node)) ? 1 : 0;
    return known_[node] == 1;
  }

 private:
  static constexpr std::int8_t k_unknown = -1;
  const std::vector<std::string>& depends_on_;
  std::vector<std::int8_t> known_;
};

struct NamedDef {
  std::string name;
  std::string description;
};

// A structured event a model records (Ctx::event): its stable name and the fields it carries.
struct EventDef {
  std::string name;
  std::vector<std::string> fields;
  std::string description;
};

// What a model adds when a world is built from a scenario.
class WorldBuilder {
 public:
  virtual ~WorldBuilder() = default;
  virtual NodeId add_node(std::string name, std::unique_ptr<Node> node) = 0;
};

struct ModelEntry {
  std::string name;  // the model folder: "mysql", "cattle", ...
  // Adds this model's nodes for the scenario (in a fixed order: node ids follow it).
  std::function<void(const ScenarioSpec&, WorldBuilder&)> build;
};

class Registry {
 public:
  void add_model(ModelEntry m) { models_.push_back(std::move(m)); }
  void add_timing(TimingDef t) { timings_.push_back(std::move(t)); }
  // Sets the range of every timing called `name`; false when none is registered.
  bool bound_timing(std::string_view name, std::int64_t min_value, std::int64_t max_value);
  void add_mechanism(MechanismDef m) { mechanisms_.push_back(std::move(m)); }
  void add_invariant(InvariantDef i) { invariants_.push_back(std::move(i)); }
  void add_metric(NamedDef m) { metrics_.push_back(std::move(m)); }
  void add_signal(NamedDef s) { signals_.push_back(std::move(s)); }
  void add_log_message(NamedDef l) { log_messages_.push_back(std::move(l)); }
  void add_event(EventDef e) { events_.push_back(std::move(e)); }
  // Whether the world as a whole has settled (every service at scale, every host active); the
  // engine measures the time to converge after the last fault with it.
  void set_converged(std::function<bool(const WorldView&)> f,
                     std::vector<std::string> depends_on = {}) {
    converged_ = std::move(f);
    converged_depends_on_ = std::move(depends_on);
  }

  const std::vector<ModelEntry>& models() const { return models_; }
  const std::vector<TimingDef>& timings() const { return timings_; }
  const std::vector<MechanismDef>& mechanisms() const { return mechanisms_; }
  const std::vector<InvariantDef>& invariants() const { return invariants_; }
  const std::vector<NamedDef>& metrics() const { return metrics_; }
  const std::vector<NamedDef>& signals() const { return signals_; }
  const std::vector<NamedDef>& log_messages() const { return log_messages_; }
  const std::vector<EventDef>& events() const { return events_; }
  // Message types whose delivery changes nothing that an invariant, a state expectation or the
  // convergence predicate reads (a client request on its way through the app): the checker does
  // not judge the world again after such a step. A model declares them beside its checks.
  void add_inert_message(std::uint32_t type) { inert_messages_.insert(type); }
  bool inert_message(std::uint32_t type) const { return inert_messages_.count(type) != 0; }
  const std::function<bool(const WorldView&)>& converged() const { return converged_; }
  const std::vector<std::string>& converged_depends_on() const { return converged_depends_on_; }

  const TimingDef* find_timing(std::string_view name) const;
  const MechanismDef* find_mechanism(std::string_view name) const;
  const InvariantDef* find_invariant(std::string_view name) const;
  const NamedDef* find_signal(std::string_view name) const;
  const EventDef* find_event(std::string_view name) const;

 private:
  std::vector<ModelEntry> models_;
  std::vector<TimingDef> timings_;
  std::vector<MechanismDef> mechanisms_;
  std::vector<InvariantDef> invariants_;
  std::vector<NamedDef> metrics_;
  std::vector<NamedDef> signals_;
  std::vector<NamedDef> log_messages_;
  std::vector<EventDef> events_;
  std::function<bool(const WorldView&)> converged_;
  std::set<std::uint32_t> inert_messages_;
  std::vector<std::string> converged_depends_on_;
};

}  // namespace stampede
