#include "sim/explore/explorer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <unordered_map>
#include <unordered_set>

#include "sim/core/assert.hpp"
#include "sim/core/chooser.hpp"
#include "sim/core/random.hpp"

namespace stampede::explore {

std::optional<Strategy> strategy_from_name(std::string_view name) {
  if (name == "random") return Strategy::random;
  if (name == "pct") return Strategy::pct;
  if (name == "dfs") return Strategy::dfs;
  return std::nullopt;
}

std::string_view strategy_name(Strategy s) {
  switch (s) {
    case Strategy::random: return "random";
    case Strategy::pct: return "pct";
    case Strategy::dfs: return "dfs";
  }
  return "?";
}

std::optional<std::uint32_t> inject_kinds_from_names(const std::vector<std::string>& names) {
  std::uint32_t mask = 0;
  for (const std::string& n : names) {
    bool found = false;
    for (int k = 0; k < k_inject_kinds; ++k)
      if (inject_kind_name(static_cast<InjectKind>(k)) == n) {
        mask |= 1u << k;
        found = true;
      }
    if (!found) return std::nullopt;
  }
  return mask;
}

std::vector<std::string> inject_kind_names(std::uint32_t mask) {
  std::vector<std::string> out;
  for (int k = 0; k < k_inject_kinds; ++k)
    if (mask & (1u << k)) out.emplace_back(inject_kind_name(static_cast<InjectKind>(k)));
  return out;
}

namespace {

// The scenario's named invariants (`always:` / `never:`), after every step that may change them;
// the first violation ends the run there, so a counterexample stops at the step that broke it.
class InvariantWatch final : public StepObserver {
 public:
  InvariantWatch(const ScenarioSpec& spec, const Registry& registry) {
    for (const ExpectSpec& e : spec.expect)
      if (e.what == ExpectWhat::invariant)
        if (const InvariantDef* d = registry.find_invariant(e.subject)) watched_.push_back({&e, d});
  }
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override {
    if (violation_) return;
    for (const auto& [e, def] : watched_) {
      if (step.node != k_no_node && step.kind != StepKind::fault &&
          step.kind != StepKind::check &&
          !step_may_affect(def->depends_on, world_->node_name(step.node)))
        continue;
      if (auto why = def->check(*world_)) {
        violation_ = Violation{e->text, *why, step.index, step.time_ns};
        return;
      }
    }
  }
  bool stop_requested() const override { return violation_.has_value(); }
  const std::optional<Violation>& violation() const { return violation_; }
  // Writable, so that dfs can clear it when it restores a state from before the violation.
  std::optional<Violation>& violation() { return violation_; }

 private:
  std::vector<std::pair<const ExpectSpec*, const InvariantDef*>> watched_;
  const WorldView* world_ = nullptr;
  std::optional<Violation> violation_;
};

// Keeps every step and a human description of it (for counterexample traces and timelines).
class Recorder final : public StepObserver {
 public:
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& s) override {
    TraceStep t;
    t.index = s.index;
    t.time_ns = s.time_ns;
    t.kind = s.kind;
    if (s.node != k_no_node) t.node = std::string(world_->node_name(s.node));
    if (s.kind == StepKind::deliver) {
      t.from = std::string(world_->node_name(s.from));
      t.message = std::string(world_->node(s.node).message_name(s.msg_type));
    }
    t.rolling_hash = s.rolling_hash;
    steps.push_back(std::move(t));
    std::string text(step_kind_name(s.kind));
    if (s.node != k_no_node) text += fmt::format(" {}", world_->node_name(s.node));
    if (s.kind == StepKind::deliver)
      text += fmt::format(" <- {} {}", world_->node_name(s.from),
                          world_->node(s.node).message_name(s.msg_type));
    if (s.kind == StepKind::timer) text += fmt::format(" (tag {})", s.detail);
    if (s.kind == StepKind::connection)
      text += fmt::format(" <- {} {}", world_->node_name(s.from),
                          connection_event_name(static_cast<ConnectionEvent>(s.detail)));
    descriptions.push_back(std::move(text));
  }
  std::vector<TraceStep> steps;
  std::vector<std::string> descriptions;

 private:
  const WorldView* world_ = nullptr;
};

class ReplayScheduler final : public Scheduler {
 public:
  ReplayScheduler(const std::vector<std::uint32_t>& picks, std::uint64_t max_steps)
      : picks_(picks), max_steps_(max_steps) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    std::size_t k = engine.picks().size();
    if (max_steps_ != 0 && k >= max_steps_) return k_stop;
    std::size_t v = k < picks_.size() ? picks_[k] : 0;
    return v < options.size() ? v : 0;
  }

 private:
  const std::vector<std::uint32_t>& picks_;
  std::uint64_t max_steps_;
};

// Follows recorded picks by identity (Explorer::replay_by_identity).
class IdentityScheduler final : public Scheduler {
 public:
  IdentityScheduler(const std::vector<PickIdentity>& ids, const std::vector<std::uint32_t>& picks,
                    std::uint64_t max_steps)
      : ids_(ids), picks_(picks), max_steps_(max_steps) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    const std::size_t k = engine.picks().size();
    if (max_steps_ != 0 && k >= max_steps_) return k_stop;
    if (k >= ids_.size()) return 0;
    const PickIdentity& want = ids_[k];
    if (k < picks_.size() && picks_[k] < options.size() &&
        engine.identify(options[picks_[k]]) == want)
      return picks_[k];
    std::size_t loose = k_stop;
    for (std::size_t i = 0; i < options.size(); ++i) {
      const PickIdentity got = engine.identify(options[i]);
      if (got == want) return i;
      if (loose == k_stop && got.same_but_seq(want)) loose = i;
    }
    if (loose != k_stop) {
      ++loose_;
      return loose;
    }
    unmatched_step_ = k + 1;
    unmatched_ns_ = engine.now();
    unmatched_ = fmt::format("recorded {}; enabled: {}", describe_identity(want),
                             describe_enabled(engine, options, want));
    return k_stop;
  }
  // The options of a step where the recorded one is missing: those of the same node first (the
  // likeliest stand-ins), at most 12.
  static std::string describe_enabled(const ExploreEngine& engine,
                                      const std::vector<Option>& options,
                                      const PickIdentity& want) {
    std::vector<std::string> near, far;
    for (const Option& o : options) {
      const PickIdentity id = engine.identify(o);
      (id.node == want.node ? near : far).push_back(describe_identity(id));
    }
    near.insert(near.end(), far.begin(), far.end());
    const std::size_t shown = std::min<std::size_t>(near.size(), 12);
    std::string text = fmt::format("{}", fmt::join(near.begin(), near.begin() + shown, "; "));
    if (shown < near.size()) text += fmt::format("; and {} more", near.size() - shown);
    return text;
  }
  const std::string& unmatched() const { return unmatched_; }
  std::uint64_t unmatched_step() const { return unmatched_step_; }
  TimeNs unmatched_ns() const { return unmatched_ns_; }
  std::uint64_t loose_matches() const { return loose_; }

 private:
  const std::vector<PickIdentity>& ids_;
  const std::vector<std::uint32_t>& picks_;
  std::uint64_t max_steps_;
  std::string unmatched_;
  std::uint64_t unmatched_step_ = 0;
  TimeNs unmatched_ns_ = 0;
  std::uint64_t loose_ = 0;
};

std::size_t count_events(const std::vector<Option>& options) {
  std::size_t n = 0;
  while (n < options.size() && !options[n].injected) ++n;
  return n;
}

// The instants of a run's injected faults over simulated time (Settings::fault_rate_per_min,
// Settings::fault_instants), from a stream of their own, so that the walk's draws stay those of
// a run without faults up to the first instant.
class FaultClock {
 public:
  FaultClock(const Settings& s, std::uint64_t run, TimeNs horizon_ns)
      : rng_(derive_seed(s.seed, fmt::format("explore.fault_times.{}", run)), "fault_times") {
    if (s.fault_instants > 0) {
      for (int i = 0; i < s.fault_instants; ++i)
        instants_.push_back(rng_.uniform_int(0, std::max<TimeNs>(0, horizon_ns - 1)));
      std::sort(instants_.begin(), instants_.end(), std::greater<>());
    } else {
      // A Poisson process: exponential gaps with the mean the rate gives.
      const auto mean_ns = static_cast<DurationNs>(60.0 * static_cast<double>(k_s) /
                                                   s.fault_rate_per_min);
      for (TimeNs t = rng_.exponential(mean_ns); t < horizon_ns; t += rng_.exponential(mean_ns))
        instants_.push_back(t);
      std::reverse(instants_.begin(), instants_.end());
    }
  }
  static bool wanted(const Settings& s) {
    return s.fault_instants > 0 || s.fault_rate_per_min > 0;
  }
  // Whether a fault instant falls at or before `at_ns` (the time of the step about to be
  // taken); consumes it.
  bool due(TimeNs at_ns) {
    if (instants_.empty() || instants_.back() > at_ns) return false;
    instants_.pop_back();
    return true;
  }
  std::size_t pick(std::size_t nf) {
    return static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(nf) - 1));
  }

 private:
  RandomStream rng_;
  std::vector<TimeNs> instants_;  // latest first
};

// Seeded random walks: every pending event equally likely; an injected fault with probability
// p_fault per step while the budget lasts, or, with a FaultClock, one at each of its instants.
class RandomScheduler final : public Scheduler {
 public:
  RandomScheduler(std::uint64_t seed, std::uint64_t run, double p_fault, std::uint64_t depth,
                  std::unordered_set<std::uint64_t>* states, FaultClock* clock = nullptr)
      : rng_(derive_seed(seed, fmt::format("explore.random.{}", run)), "walk"),
        p_fault_(p_fault),
        depth_(depth),
        states_(states),
        clock_(clock) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    if (depth_ != 0 && engine.picks().size() >= depth_) return k_stop;
    if (states_) states_->insert(engine.state_hash());
    std::size_t ne = count_events(options);
    std::size_t nf = options.size() - ne;
    if (clock_) {
      auto ev = static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(ne) - 1));
      if (clock_->due(std::max(engine.now(), options[ev].due_ns)) && nf > 0)
        return ne + clock_->pick(nf);
      return ev;
    }
    if (nf > 0 && rng_.unit() < p_fault_)
      return ne + static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(nf) - 1));
    return static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(ne) - 1));
  }

 private:
  RandomStream rng_;
  double p_fault_;
  std::uint64_t depth_;
  std::unordered_set<std::uint64_t>* states_;
  FaultClock* clock_;
};

// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi and Nagarakatte, ASPLOS 2010)
// over nodes: each node gets a random priority d .. d+n-1; the highest-priority node with a
// pending event steps (its earliest event); at the change points, d-1 numbers drawn uniformly
// from 1..k, the node taking the step drops to priority d-1-c, below every initial one. In the
// paper k counts every step of the program, and a bug of depth d (d ordering constraints) is
// found with probability at least 1/(n k^(d-1)). In a message-passing system the orderings that
// make bugs are those of messages between nodes: a node's own timers and boots do not order it
// against anyone. So by default (Settings::pct_at_deliveries) the change points are drawn among
// the deliveries of a message from one node to another, and k estimates their number per run,
// the adaptation of PCTCP (Ozkan, Majumdar, Niksic, Tabaei Befrouei and Weissenbacher,
// "Randomized Testing of Distributed Systems with Probabilistic Guarantees", OOPSLA 2018), which
// counts the bound over message deliveries, not over every step. Runs are typically 100-1000x
// longer in steps than in inter-node deliveries with many timers, so k shrinks by that much and
// the bound 1/(n k^(d-1)) grows by its square at d = 3.
class PctScheduler final : public Scheduler {
 public:
  PctScheduler(std::uint64_t seed, std::uint64_t run, int d, std::uint64_t k_est,
               double p_fault, std::uint64_t depth, std::unordered_set<std::uint64_t>* states,
               FaultClock* clock = nullptr, bool at_deliveries = false)
      : rng_(derive_seed(seed, fmt::format("explore.pct.{}", run)), "pct"),
        d_(std::max(1, d)),
        p_fault_(p_fault),
        depth_(depth),
        states_(states),
        clock_(clock),
        at_deliveries_(at_deliveries) {
    for (int i = 0; i + 1 < d_; ++i)
      change_points_.push_back(
          static_cast<std::uint64_t>(rng_.uniform_int(1, static_cast<std::int64_t>(k_est))));
  }
  // Whether an option is a delivery of a message from one node to another.
  static bool inter_node(const Option& o) {
    return !o.injected && o.kind == StepKind::deliver && o.from != k_no_node &&
           o.node != k_no_node && o.from != o.node;
  }
  // The deliveries between nodes this run took (the estimate of k for the next runs).
  std::uint64_t deliveries() const { return deliveries_; }
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    std::size_t k = engine.picks().size();
    if (depth_ != 0 && k >= depth_) return k_stop;
    if (states_) states_->insert(engine.state_hash());
    if (priority_.empty()) draw_priorities(engine.node_count());
    std::size_t ne = count_events(options);
    std::size_t nf = options.size() - ne;
    if (!clock_ && nf > 0 && rng_.unit() < p_fault_)
      return ne + static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(nf) - 1));
    std::size_t best = 0;
    int best_p = -1;
    for (std::size_t i = 0; i < ne; ++i) {
      // Scripted actions have no node: they go when no node has anything to do before them.
      int p = options[i].node == k_no_node ? 0 : priority_[options[i].node];
      if (p > best_p) {
        best_p = p;
        best = i;
      }
    }
    if (clock_) {
      if (clock_->due(std::max(engine.now(), options[best].due_ns)) && nf > 0)
        return ne + clock_->pick(nf);
      // Change points count the events taken, so an injected fault does not skip one.
      k = events_++;
    }
    if (at_deliveries_) {
      if (!inter_node(options[best])) return best;
      k = deliveries_++;
    }
    for (std::size_t c = 0; c < change_points_.size(); ++c)
      if (change_points_[c] == k + 1 && options[best].node != k_no_node)
        priority_[options[best].node] = d_ - 1 - static_cast<int>(c);
    return best;
  }

 private:
  // A random permutation of d .. d+n-1 (Fisher-Yates on the seeded stream).
  void draw_priorities(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) priority_.push_back(d_ + static_cast<int>(i));
    for (std::size_t i = n; i > 1; --i) {
      auto j = static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(i) - 1));
      std::swap(priority_[i - 1], priority_[j]);
    }
  }

  RandomStream rng_;
  int d_;
  double p_fault_;
  std::uint64_t depth_;
  std::unordered_set<std::uint64_t>* states_;
  FaultClock* clock_;
  bool at_deliveries_;
  std::uint64_t events_ = 0;
  std::uint64_t deliveries_ = 0;
  std::vector<int> priority_;
  std::vector<std::uint64_t> change_points_;
};

// ---- bounded DFS with state hashing, sleep sets and source-set DPOR ----
//
// Sleep sets (Godefroid 1996) skip transitions whose reordering was already explored; with state
// hashing they keep every reachable state but cut redundant edges. Source-set DPOR (Abdulla,
// Aronis, Jonsson and Sagonas, POPL 2014) also cuts states: a fresh state explores one option, and
// more are added at an earlier state only when a later step races with the step taken there.
//
// Dependence (independent() below) is coarse and sound for the engine: two steps conflict when
// they run on the same node, when either is not local (a scripted action or an injected fault
// touches everything), or when they share a connection: each touched the other's node (see
// independent()). Happens-before is the transitive closure of "created the event of" (a send or a
// timer) and "conflicts with and came earlier", kept as one vector clock per step (one entry per
// node plus one for the non-local steps). The direct predecessors of a step are the last earlier
// step of its node, the last non-local step, and, for each peer it touched, the last step of
// that peer that touched it (DfsState::last_touch). A race is a pair of conflicting steps i < f with no step between
// them in happens-before; reversing it means exploring, at the state before i, an initial of
// notdep(i).f (the steps after i that do not depend on it, then f).
//
// DPOR assumes every explored path either runs or revisits. State hashing cuts a path at a state
// explored before, whose continuations were never checked for races against the current path. So
// each state keeps a summary: the nodes (and whether any non-local step) that stepped anywhere in
// the search below it. A cut at such a state assumes every one of those future steps races with
// the last step of its node on the current path (and with the last non-local step, and with the
// last step of every node that touched its node's connection), and explores every option there. A state still on the stack (a cycle) has no summary yet and counts as "every
// node". This is the conservative end of stateful DPOR (Yang, Chen, Gopalakrishnan and Kirby,
// SPIN 2008): sound, and it keeps most of the reduction because only one step per node is widened.
//
// Injected faults are optional (a run can end without them), so no race would ever add one: every
// state explores its injectable faults outright. A delay bound counts out-of-order picks, which
// reordering equivalent steps changes, so DPOR is off under one (sleep sets stay).

struct OptRef {
  std::uint64_t ident = 0;
  NodeId node = k_no_node;
  bool local = true;
  std::uint64_t created_pick = 0;
  // The step's footprint in the connection table (ExploreEngine::pick_peers), known once it has
  // run; 0 before.
  std::uint64_t peers = 0;
};

// The independence of two steps that have run (their footprints are known). A local step of node
// A changes A's state, adds pending events, and reads or changes the connections of the pairs
// {A, X} for the peers X in its footprint: a stream send may open, reset or find refused the
// pair's connection, a close closes it, and taking a stream message or `closed` event needs it
// live or awaiting (the engine drops the events of a connection that dies, which disables
// them). Steps of A and B ≠ A therefore share state only through the connection {A, B}, and only
// when each touched it: A's footprint holds B and B's holds A. That is the rule; it
// over-approximates (two reads of a live connection commute) but needs nothing beyond the
// footprints. Adding an event disables nothing (a FIFO head stays the head: later sends queue
// behind it). A sleeping option's footprint is the one it had where it ran: it is independent of
// every step taken since, so it would run the same way now. Scripted actions and injected faults
// touch everything.
bool independent(const OptRef& a, const OptRef& b) {
  if (!a.local || !b.local || a.node == b.node) return false;
  return (a.peers & peer_bit(b.node)) == 0 || (b.peers & peer_bit(a.node)) == 0;
}

struct Frame {
  std::vector<OptRef> opts;
  std::vector<bool> injected;
  std::vector<std::uint32_t> todo;  // the options to explore here, in order; grows under DPOR
  std::size_t next = 0;
  std::vector<OptRef> sleep;
  std::vector<OptRef> done;
  int delays = 0;
  // DPOR: the state's key, the summary of the search below this frame so far (summary_bit of
  // every step), the vector clock of the step taken now (frame indices; -1 for none), and
  // whether that step's races have been looked for.
  std::uint64_t key = 0;
  std::uint64_t below = 0;
  std::vector<std::int32_t> clock;
  bool checked = false;
  // DfsState::widen has listed every option not asleep. A pushed frame's options and sleep set
  // do not change and its list only grows, so widening it again adds nothing: assume_races
  // widens the same frames at most leaves, and looking again was 2% of (b)'s plain dfs.
  bool widened = false;
  std::int64_t prev_at = -1;  // DfsState::last_at of its thread before this step was checked
  // DfsState::last_touch entries (peer, previous value) that checking this step replaced.
  std::vector<std::pair<std::size_t, std::int64_t>> touch_prev;
  // DfsState::last_bit entries (peer bit, previous value) that checking this step replaced.
  std::vector<std::pair<std::uint8_t, std::int64_t>> bit_prev;
  const OptRef& taken() const { return opts[todo[next]]; }
  OptRef& taken() { return opts[todo[next]]; }
};

// dfs's chooser (with snapshots), counting its calls: a copy of it is 15 KB (six Mersenne
// twisters), so a frame's snapshot shares the copy of an earlier frame when nothing was drawn
// since (DfsState::chooser_copy).
class CountingChooser final : public Chooser {
 public:
  explicit CountingChooser(std::uint64_t seed) : inner_(seed) {}
  std::size_t pick(ChoiceKind kind, std::size_t n) override {
    ++calls_;
    return inner_.pick(kind, n);
  }
  std::int64_t uniform(ChoiceKind kind, std::int64_t lo, std::int64_t hi) override {
    ++calls_;
    return inner_.uniform(kind, lo, hi);
  }
  double unit(ChoiceKind kind) override {
    ++calls_;
    return inner_.unit(kind);
  }
  std::uint64_t calls() const { return calls_; }

 private:
  SeededChooser inner_;
  std::uint64_t calls_ = 0;
};

// What dfs saved at a frame with options left to explore, to restore when it backtracks there.
struct Saved {
  std::shared_ptr<ExploreEngine::Snapshot> engine;
  std::shared_ptr<const CountingChooser> chooser;  // shared between frames while it is unchanged
};

struct Visit {
  std::vector<std::uint64_t> sleep;  // the sleep set it was explored with (sorted identities)
  std::uint64_t below = 0;  // DPOR: summary bits of every step explored below it
  int open = 0;             // DPOR: frames of this state on the stack now
  bool closed = false;      // DPOR: a frame of this state has been searched to the end
};

constexpr std::uint64_t k_bit_global = std::uint64_t{1} << 63;
constexpr std::uint64_t k_bits_all = ~std::uint64_t{0};

// Nodes 62 and up share bit 62: the summary may only over-approximate.
std::uint64_t summary_bit(const OptRef& o) {
  if (!o.local) return k_bit_global;
  return std::uint64_t{1} << std::min<NodeId>(o.node, 62);
}

struct DfsState {
  DfsState(const Settings& s, std::vector<std::uint32_t> p) : settings(s), prefix(std::move(p)) {}
  const Settings& settings;
  std::vector<std::uint32_t> prefix;
  std::vector<Frame> stack;
  // Parallel to `stack` when snapshots are on (empty entries at frames never backtracked to).
  std::vector<Saved> saved;
  CountingChooser* chooser = nullptr;  // non-null when snapshots are on
  // A copy of *chooser as it was when its call count was chooser_copy->calls(): equal to it
  // while the count has not moved, since calls only add to it and a restore or a new run
  // resets both (null: no copy yet in this run).
  std::shared_ptr<const CountingChooser> chooser_copy;

  // Snapshots: the chooser of a new run, from the seed.
  void reset_chooser(std::uint64_t seed) {
    *chooser = CountingChooser(seed);
    chooser_copy.reset();
  }
  // Snapshots: puts the engine and the chooser back as they were saved at the deepest frame
  // with options left, or at the nearest frame above it that kept a snapshot (the frames in
  // between are then re-executed, DfsScheduler::replay_frame); false when the engine cannot be
  // (ExploreEngine::restore).
  bool restore_saved(ExploreEngine& e) {
    std::size_t at = saved.size();
    while (at > 0 && !saved[at - 1].engine) --at;
    if (at == 0) return false;
    const Saved& sv = saved[at - 1];
    if (!e.restore(*sv.engine)) return false;
    replayed_steps += saved.size() - at;
    // The saved chooser is the current one's ancestor on this path: while the current one was
    // copied into it and has made no call since (chooser_copy), the two are equal already.
    if (chooser_copy != sv.chooser || chooser->calls() != sv.chooser->calls())
      *chooser = *sv.chooser;
    chooser_copy = sv.chooser;
    return true;
  }
  bool dpor = false;
  std::size_t threads = 0;  // DPOR: vector clock entries: one per node, then the non-local one
  // DPOR: per thread, the last checked frame whose step ran on it (-1: none). Checks happen in
  // stack order and are undone in reverse (uncheck), so this stays a stack discipline.
  std::vector<std::int64_t> last_at;
  // DPOR: [b * threads + x]: the last checked frame whose step ran on node b and touched its
  // connection to node x (-1: none). Kept like last_at.
  std::vector<std::int64_t> last_touch;
  // DPOR: [t * 64 + b]: the last checked frame whose step ran on thread t (a node) with peer
  // bit b in its footprint (-1: none), kept like last_at: assume_races reads the frames it
  // widens from here and last_at instead of walking the whole stack.
  std::vector<std::int64_t> last_bit;
  // DPOR: buffers reused at every step (this runs once per transition).
  std::vector<std::uint64_t> after_ids, before_ids, lost_ids;
  std::vector<std::int64_t> last_buf;
  std::vector<std::size_t> reverse_steps;       // reverse(): the steps not ordered after i
  std::vector<std::uint64_t> reverse_initials;  // reverse(): their initials
  // State hash -> how it was explored. Looked up, never iterated, so its unordered layout cannot
  // leak into the search order.
  std::unordered_map<std::uint64_t, Visit> visited;
  std::uint64_t transitions = 0;
  std::uint64_t reductions = 0;
  std::uint64_t pruned_visited = 0;
  std::uint64_t races = 0;
  std::uint64_t dpor_skipped = 0;
  std::uint64_t snapshots_saved = 0;
  std::uint64_t replayed_steps = 0;
  std::uint64_t max_depth = 0;
  bool depth_cut = false;

  std::size_t thread_of(const OptRef& o) const { return o.local ? o.node : threads - 1; }

  // The footprint of the step that frame `frames_run` - 1 took, which has just run, from the
  // engine's per-pick footprints (ExploreEngine::pick_peers, RunResult::pick_peers).
  // (pick_peers: the engine's ChunkedLog, or a finished run's copy of it.)
  template <class Peers>
  void note_footprint(std::size_t frames_run, const Peers& pick_peers) {
    if (frames_run == 0 || frames_run > stack.size()) return;
    const std::size_t pick = prefix.size() + frames_run - 1;
    if (pick < pick_peers.size()) stack[frames_run - 1].taken().peers = pick_peers[pick];
  }
  // Whether the step of frame a happens before the (checked) step of frame b > a.
  bool before(std::size_t a, std::size_t b) const {
    return stack[b].clock[thread_of(stack[a].taken())] >= static_cast<std::int32_t>(a);
  }
  bool in_todo(const Frame& f, std::uint64_t ident) const {
    for (std::uint32_t i : f.todo)
      if (f.opts[i].ident == ident) return true;
    return false;
  }
  bool asleep(const Frame& f, std::uint64_t ident) const {
    for (const OptRef& z : f.sleep)
      if (z.ident == ident) return true;
    return false;
  }
  // Every option of frame i that is neither asleep nor already listed goes on its list.
  void widen(std::size_t i) {
    Frame& f = stack[i];
    if (f.widened) return;
    f.widened = true;
    for (std::uint32_t k = 0; k < f.opts.size(); ++k)
      if (!asleep(f, f.opts[k].ident) &&
          std::find(f.todo.begin(), f.todo.end(), k) == f.todo.end())
        f.todo.push_back(k);
  }

  // Reverses the race between the steps of frames i < f: at frame i, explore an initial of
  // notdep(i).f unless one is already listed there or asleep.
  void reverse(std::size_t i, std::size_t f) {
    ++races;
    std::size_t ti = thread_of(stack[i].taken());
    std::vector<std::size_t>& v = reverse_steps;
    v.clear();
    for (std::size_t j = i + 1; j < f; ++j)
      if (stack[j].clock[ti] < static_cast<std::int32_t>(i)) v.push_back(j);
    v.push_back(f);
    // Initials are found among the first k_initials_scanned steps of v and f itself: on runs of
    // thousands of steps the exact set costs |v|^2. Missing one can only make the search add an
    // option that was already covered, never skip a needed one.
    constexpr std::size_t k_initials_scanned = 64;
    std::vector<std::uint64_t>& initials = reverse_initials;
    initials.clear();
    for (std::size_t a = 0; a < v.size(); ++a) {
      if (a >= k_initials_scanned && a + 1 < v.size()) continue;
      bool initial = true;
      for (std::size_t b = 0; b < a && initial; ++b) initial = !before(v[b], v[a]);
      if (initial) initials.push_back(stack[v[a]].taken().ident);
    }
    Frame& fr = stack[i];
    for (std::uint64_t q : initials)
      if (in_todo(fr, q) || asleep(fr, q)) return;
    for (std::uint64_t q : initials)
      for (std::uint32_t k = 0; k < fr.opts.size(); ++k)
        if (fr.opts[k].ident == q) {
          fr.todo.push_back(k);
          return;
        }
    // No initial is an option there (a bounded delay or a scripted action's horizon hid it).
    widen(i);
  }

  // Computes the vector clock of frame f's step, which has just run, and reverses its races.
  void check_races(std::size_t f) {
    Frame& fr = stack[f];
    fr.checked = true;
    const OptRef& o = fr.taken();
    std::size_t t = thread_of(o);
    std::int64_t creator = -1;
    if (o.created_pick > prefix.size())
      creator = static_cast<std::int64_t>(o.created_pick - 1 - prefix.size());
    // The direct predecessors by conflict: the last earlier step of the same node, the last
    // non-local step and, for each peer this step touched, the last step of that peer that
    // touched this node; for a non-local step, the last step of every thread.
    if (last_at.empty()) {
      last_at.assign(threads, -1);
      last_touch.assign(threads * threads, -1);
      last_bit.assign(threads * 64, -1);
    }
    std::vector<std::int64_t>& last = last_buf;
    if (o.local) {
      last.assign({last_at[t], last_at[threads - 1]});
      for (std::size_t b = 0; b + 1 < threads; ++b)
        if (b != t && (o.peers & peer_bit(static_cast<NodeId>(b))) != 0)
          last.push_back(last_touch[b * threads + t]);
    } else {
      last = last_at;
    }
    fr.prev_at = last_at[t];
    last_at[t] = static_cast<std::int64_t>(f);
    fr.touch_prev.clear();
    note_bits(f, t);
    if (o.local)
      for (std::size_t x = 0; x + 1 < threads; ++x)
        if (x != t && (o.peers & peer_bit(static_cast<NodeId>(x))) != 0) {
          std::int64_t& slot = last_touch[t * threads + x];
          fr.touch_prev.emplace_back(x, slot);
          slot = static_cast<std::int64_t>(f);
        }
    auto join = [](std::vector<std::int32_t>& into, const std::vector<std::int32_t>& c) {
      for (std::size_t k = 0; k < into.size(); ++k) into[k] = std::max(into[k], c[k]);
    };
    // The frame's own clock is rebuilt in place (every frame in `last` is an earlier one).
    std::vector<std::int32_t>& clock = fr.clock;
    clock.assign(threads, -1);
    if (creator >= 0) join(clock, stack[static_cast<std::size_t>(creator)].clock);
    for (std::int64_t p : last)
      if (p >= 0) join(clock, stack[static_cast<std::size_t>(p)].clock);
    clock[t] = static_cast<std::int32_t>(f);
    for (std::int64_t i : last) {
      if (i < 0 || i == creator) continue;
      // A race only if nothing else orders i before f: of the other predecessors' joined clock
      // only i's thread's entry is read, so only that entry is joined (a non-local step has
      // every thread's last step as a predecessor, and whole clocks cost threads^3 a step).
      std::size_t ti = thread_of(stack[static_cast<std::size_t>(i)].taken());
      std::int32_t others = -1;
      if (creator >= 0) others = stack[static_cast<std::size_t>(creator)].clock[ti];
      for (std::int64_t p : last)
        if (p >= 0 && p != i)
          others = std::max(others, stack[static_cast<std::size_t>(p)].clock[ti]);
      if (others >= i) continue;
      reverse(static_cast<std::size_t>(i), f);
    }
  }

  // check_races: frame f (of thread t) is the last checked one of its thread with each peer bit
  // of its footprint.
  void note_bits(std::size_t f, std::size_t t) {
    Frame& fr = stack[f];
    fr.bit_prev.clear();
    if (!fr.taken().local) return;
    for (std::uint64_t bits = fr.taken().peers & ~k_bit_global; bits != 0; bits &= bits - 1) {
      const auto b = static_cast<std::uint8_t>(std::countr_zero(bits));
      std::int64_t& slot = last_bit[t * 64 + b];
      fr.bit_prev.emplace_back(b, slot);
      slot = static_cast<std::int64_t>(f);
    }
  }

  // Frame f's step is about to be replaced or popped: its check no longer holds.
  void uncheck(std::size_t f) {
    Frame& fr = stack[f];
    if (fr.checked && !last_at.empty()) {
      const std::size_t t = thread_of(fr.taken());
      for (auto it = fr.bit_prev.rbegin(); it != fr.bit_prev.rend(); ++it)
        last_bit[t * 64 + it->first] = it->second;
      fr.bit_prev.clear();
      last_at[t] = fr.prev_at;
      for (auto it = fr.touch_prev.rbegin(); it != fr.touch_prev.rend(); ++it)
        last_touch[t * threads + it->first] = it->second;
      fr.touch_prev.clear();
    }
    fr.checked = false;
  }

  // A step that takes away another option (a timer it cancels, a message a crash loses, a
  // message whose connection the step ended) is in a race with it that no later step will show,
  // because the option never runs: explore the lost option at frame f too (Flanagan and
  // Godefroid's rule for disabled transitions), even when it is asleep there. Source-set DPOR
  // is proved for transitions that stay enabled; this rule is the repair for those that do not,
  // and trusting the sleep set on top of it (runs taking the option first were explored from an
  // earlier state) proved unsound once a step of one node could disable another node's option
  // through their connection: with the sleeping lost options left out, dpor reached 543 of the
  // 602 terminal states of the unreduced search on the ring of three talkers in tests/explore/
  // test_explore_connections.cpp. With them in it reaches every one on each toy tried there, and
  // the lease-lock counts (where only crashes and a node's own cancels disable) do not move. It
  // can only add exploration. `after` is the identities of the events that are options after
  // frame f's step; nullptr: none are.
  void check_disabled(std::size_t f, const std::vector<std::uint64_t>* after) {
    Frame& fr = stack[f];
    before_ids.clear();
    bool skipped_taken = false;
    for (std::uint32_t k = 0; k < fr.opts.size(); ++k) {
      if (fr.injected[k]) continue;
      if (!skipped_taken && k == fr.todo[fr.next]) {
        skipped_taken = true;
        continue;
      }
      before_ids.push_back(fr.opts[k].ident);
    }
    std::sort(before_ids.begin(), before_ids.end());
    std::vector<std::uint64_t>& lost = lost_ids;
    lost.clear();
    if (after) {
      std::set_difference(before_ids.begin(), before_ids.end(), after->begin(), after->end(),
                          std::back_inserter(lost));
    } else {
      lost = before_ids;
    }
    for (std::uint64_t q : lost) {
      if (in_todo(fr, q)) continue;
      for (std::uint32_t k = 0; k < fr.opts.size(); ++k)
        if (!fr.injected[k] && fr.opts[k].ident == q) {
          fr.todo.push_back(k);
          break;
        }
    }
  }

  // The last step of a run has not been checked for races when no choice followed it: the run
  // ended with nothing left to happen, or an invariant failed there. A run cut by a violation
  // leaves events pending that never run, so no race with them shows: assume every node has one.
  void check_leaf(bool violation, bool ended_naturally) {
    if (stack.empty() || stack.back().checked) return;
    check_races(stack.size() - 1);
    if (violation) {
      assume_races(stack.size(), k_bits_all);
    } else if (ended_naturally) {
      check_disabled(stack.size() - 1, nullptr);
    }
  }

  // A run ended (a leaf) and the search goes on: the last step's footprint (no choice followed
  // it, so it is noted here), its races under DPOR, and the backtrack. False when the whole tree
  // is explored.
  template <class Peers>
  bool leave(bool violation, bool ended_naturally, const Peers& pick_peers) {
    note_footprint(stack.size(), pick_peers);
    if (dpor) check_leaf(violation, ended_naturally);
    return backtrack();
  }

  // After a leaf: marks the deepest frame's step done and pops every frame with nothing left to
  // explore. False when the stack is empty: the whole tree is explored.
  bool backtrack() {
    while (!stack.empty()) {
      Frame& f = stack.back();
      f.done.push_back(f.taken());
      f.below |= summary_bit(f.taken());
      uncheck(stack.size() - 1);
      if (++f.next < f.todo.size()) break;
      if (dpor) {
        Visit& visit = visited[f.key];
        visit.below |= f.below;
        --visit.open;
        visit.closed = true;
        if (stack.size() > 1) stack[stack.size() - 2].below |= f.below;
        for (const OptRef& o : f.opts)
          if (!in_todo(f, o.ident) && !asleep(f, o.ident)) ++dpor_skipped;
      }
      stack.pop_back();
      if (chooser) saved.pop_back();
    }
    return !stack.empty();
  }

  // A search below frames [0, depth) reaches a state explored before, whose own search had the
  // summary `below`: every step in it may race with the last step of its node on the stack (and
  // with the last non-local one), so those frames explore everything.
  void assume_races(std::size_t depth, std::uint64_t below) {
    if (below == 0) return;
    if (depth > 0 && depth == stack.size() && stack[depth - 1].checked && !last_at.empty()) {
      assume_races_checked(below);
      return;
    }
    std::vector<bool> seen(threads, false);
    // Per thread: the nodes whose future steps are already assumed to race with a step of it
    // that touched their connection (a later one, which every earlier one happens before).
    std::vector<std::uint64_t> touched_seen(threads, 0);
    for (std::size_t j = depth; j-- > 0;) {
      const OptRef& o = stack[j].taken();
      std::size_t tj = thread_of(o);
      bool races_with = false;
      if (!seen[tj]) {
        seen[tj] = true;
        races_with = o.local ? (below & (summary_bit(o) | k_bit_global)) != 0 : true;
      }
      if (o.local) {
        // A future step of a node this step touched may touch this node back.
        const std::uint64_t fresh = o.peers & below & ~touched_seen[tj] & ~k_bit_global;
        touched_seen[tj] |= fresh;
        races_with = races_with || fresh != 0;
      }
      if (races_with) widen(j);
    }
  }

  // assume_races on a stack whose every frame is checked (checks run in stack order), from the
  // last frames per thread and per thread and peer bit that the checks keep: the same frames
  // as the walk above, which widens the last step of each thread that `below` may race with,
  // and, per thread, the last step that touched each node of `below` (where the walk first meets
  // that bit), in O(threads * 64) rather than O(depth). widen() adds nothing the second time.
  void assume_races_checked(std::uint64_t below) {
    for (std::size_t t = 0; t < threads; ++t) {
      const std::int64_t j = last_at[t];
      if (j >= 0) {
        const OptRef& o = stack[static_cast<std::size_t>(j)].taken();
        if (!o.local || (below & (summary_bit(o) | k_bit_global)) != 0)
          widen(static_cast<std::size_t>(j));
      }
      if (t + 1 == threads) continue;  // the non-local steps touch no connection of their own
      for (std::uint64_t bits = below & ~k_bit_global; bits != 0; bits &= bits - 1) {
        const std::int64_t k = last_bit[t * 64 + static_cast<std::size_t>(std::countr_zero(bits))];
        if (k >= 0) widen(static_cast<std::size_t>(k));
      }
    }
  }
};

class DfsScheduler final : public Scheduler {
 public:
  explicit DfsScheduler(DfsState& st) : st_(st) {}
  // In liveness mode (Settings::settle_ns) a run that dfs cuts (at a state explored before, or
  // with every option asleep) is not stopped: time takes it on (option 0 at every step; the
  // engine undoes the explorer's faults at the end of the fault phase) to the scenario's end,
  // where it is judged after its settle window like every other run. Stopped there, it would
  // never be judged: with clock-free state hashing nearly every run of an HA scenario is cut at
  // a repeated heartbeat, and dfs judged none (issue 17). A replay of its picks runs the same
  // way, since option 0 is what a replay takes past the recorded picks.
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    const std::size_t k = engine.picks().size();
    if (coasting_ && k >= coast_from_) return 0;
    coasting_ = false;  // a new run, or a restored state from before the cut
    std::size_t pick = choose_frame(engine, options);
    if (pick == k_stop && st_.settings.settle_ns > 0) {
      coasting_ = true;
      coast_from_ = k;
      return 0;
    }
    return pick;
  }

 private:
  std::size_t choose_frame(const ExploreEngine& engine, const std::vector<Option>& options) {
    std::size_t k = engine.picks().size();
    if (k < st_.prefix.size()) return st_.prefix[k] < options.size() ? st_.prefix[k] : 0;
    std::size_t fi = k - st_.prefix.size();
    st_.note_footprint(fi, engine.pick_peers());
    if (fi < st_.stack.size()) return replay_frame(fi, options);
    if (st_.dpor) check_last_step(engine, fi, options);
    if (st_.settings.depth != 0 && k >= st_.settings.depth) return cut_at_depth(fi, options);
    ++st_.transitions;
    std::vector<std::uint64_t> zs;  // this state's sleep set, as sorted identities
    Frame f = new_frame(fi, options, zs);
    f.key = state_key(engine, options, f.delays);
    auto it = st_.visited.find(f.key);
    if (it != st_.visited.end()) {
      if (!revisit(it->second, f, fi, options, zs)) return k_stop;
    } else {
      first_visit(f, options, zs);
    }
    if (st_.settings.delay_bound >= 0) {
      std::erase_if(f.todo, [&](std::uint32_t i) {
        return i > 0 && !options[i].injected && f.delays + 1 > st_.settings.delay_bound;
      });
    }
    if (f.todo.empty()) return k_stop;  // every successor is covered by a sleeping step
    if (st_.dpor) ++st_.visited[f.key].open;
    st_.max_depth = std::max<std::uint64_t>(st_.max_depth, k + 1);
    return push_frame(engine, std::move(f));
  }

  static bool asleep(const std::vector<std::uint64_t>& zs, std::uint64_t ident) {
    return std::binary_search(zs.begin(), zs.end(), ident);
  }

  // A re-executed prefix of the stack takes the option its frame is exploring now.
  std::size_t replay_frame(std::size_t fi, const std::vector<Option>& options) const {
    const Frame& f = st_.stack[fi];
    STAMPEDE_ASSERT(f.opts.size() == options.size() &&
                        f.opts[f.todo[f.next]].ident == options[f.todo[f.next]].ident,
                    "a re-executed dfs prefix reached a different state");
    return f.todo[f.next];
  }

  // DPOR: the step just taken: find its races before anything cuts the run here.
  void check_last_step(const ExploreEngine& engine, std::size_t fi,
                       const std::vector<Option>& options) {
    if (st_.threads == 0) st_.threads = engine.node_count() + 1;
    if (fi == 0 || st_.stack[fi - 1].checked) return;
    st_.check_races(fi - 1);
    std::vector<std::uint64_t>& after = st_.after_ids;
    after.clear();
    for (const Option& o : options)
      if (!o.injected) after.push_back(o.ident);
    std::sort(after.begin(), after.end());
    st_.check_disabled(fi - 1, &after);
  }

  std::size_t cut_at_depth(std::size_t fi, const std::vector<Option>& options) {
    st_.depth_cut = true;
    if (st_.dpor) {
      // Cut here, the pending events never run, so no race with them shows: assume one.
      std::uint64_t below = 0;
      for (const Option& o : options) below |= summary_bit(OptRef{o.ident, o.node, o.local, 0});
      st_.assume_races(fi, below);
    }
    return k_stop;
  }

  // The frame of a state reached for the first time on this path: its options, its delay count
  // and (with reduction) the sleep set it inherits from its parent, also returned in zs.
  Frame new_frame(std::size_t fi, const std::vector<Option>& options,
                  std::vector<std::uint64_t>& zs) const {
    Frame f;
    f.opts.reserve(options.size());
    for (const Option& o : options) {
      f.opts.push_back(OptRef{o.ident, o.node, o.local, o.created_pick});
      f.injected.push_back(o.injected);
    }
    if (fi == 0) return f;
    const Frame& parent = st_.stack[fi - 1];
    std::uint32_t taken = parent.todo[parent.next];
    f.delays = parent.delays + (taken > 0 && !parent.injected[taken] ? 1 : 0);
    if (!st_.settings.reduction) return f;
    const OptRef& cur = parent.opts[taken];
    auto consider = [&](const OptRef& u) {
      if (!independent(u, cur)) return;
      for (const OptRef& o : f.opts)
        if (o.ident == u.ident) {
          f.sleep.push_back(u);
          zs.push_back(u.ident);
          return;
        }
    };
    for (const OptRef& u : parent.sleep) consider(u);
    for (const OptRef& u : parent.done) consider(u);
    std::sort(zs.begin(), zs.end());
    zs.erase(std::unique(zs.begin(), zs.end()), zs.end());
    return f;
  }

  // The key of the visited table: the state hash, with the clock and the options' due times
  // when the settings say so, and the delays spent under a delay bound.
  std::uint64_t state_key(const ExploreEngine& engine, const std::vector<Option>& options,
                          int delays) const {
    std::uint64_t key = engine.state_hash();
    if (st_.settings.state_clock) {
      Digest d;
      d.add(key).add(static_cast<std::uint64_t>(engine.now()));
      for (const Option& o : options) d.add(static_cast<std::uint64_t>(o.due_ns));
      key = d.value();
    }
    if (st_.settings.delay_bound >= 0)
      key = Digest().add(key).add(static_cast<std::uint64_t>(delays)).value();
    return key;
  }

  // A state explored before: false if its earlier search covers this one (prune it), else the
  // options to explore again go on f's list.
  bool revisit(Visit& visit, Frame& f, std::size_t fi, const std::vector<Option>& options,
               const std::vector<std::uint64_t>& zs) {
    std::vector<std::uint64_t>& stored = visit.sleep;
    if (st_.dpor) {
      // What was searched below this state before is not searched again: assume its steps
      // race with this path (see the comment above OptRef).
      std::uint64_t below = visit.closed ? visit.below : k_bits_all;
      st_.assume_races(fi, below);
      if (fi > 0) st_.stack[fi - 1].below |= below;
    }
    if (std::includes(zs.begin(), zs.end(), stored.begin(), stored.end())) {
      ++st_.pruned_visited;
      return false;
    }
    // Explore what was asleep on the earlier visit and is awake now, and remember that only
    // the common part of both sleep sets stays unexplored.
    for (std::uint32_t i = 0; i < options.size(); ++i)
      if (std::binary_search(stored.begin(), stored.end(), options[i].ident) &&
          !asleep(zs, options[i].ident))
        f.todo.push_back(i);
    std::vector<std::uint64_t> common;
    std::set_intersection(stored.begin(), stored.end(), zs.begin(), zs.end(),
                          std::back_inserter(common));
    stored = std::move(common);
    ++st_.reductions;
    return true;
  }

  // A state never explored: record it and list the options to explore from it.
  void first_visit(Frame& f, const std::vector<Option>& options,
                   const std::vector<std::uint64_t>& zs) {
    Visit& visit = st_.visited.emplace(f.key, Visit{zs, 0, 0, false}).first->second;
    for (std::uint32_t i = 0; i < options.size(); ++i) {
      if (asleep(zs, options[i].ident)) {
        ++st_.reductions;
        continue;
      }
      // Under DPOR a fresh state starts with one event (the first awake, which is what time
      // would do when it is awake) and every injectable fault; races add the rest.
      if (st_.dpor && !options[i].injected &&
          std::any_of(f.todo.begin(), f.todo.end(),
                      [&](std::uint32_t j) { return !options[j].injected; }))
        continue;
      f.todo.push_back(i);
    }
    if (f.todo.empty()) visit.closed = true;  // every option asleep: nothing below it
  }

  // Pushes the new frame (with a snapshot to come back to, when snapshots are on) and takes its
  // first option.
  std::size_t push_frame(const ExploreEngine& engine, Frame f) {
    std::uint32_t first = f.todo.front();
    if (st_.chooser) {
      // Only a frame with a second option is ever backtracked to; under DPOR any frame may get
      // one later, when a race is found below it.
      Saved sv;
      const std::size_t fi = st_.stack.size();
      const bool kept = fi < st_.settings.snapshot_all_depth ||
                        (fi - st_.settings.snapshot_all_depth) %
                                std::max<std::size_t>(1, st_.settings.snapshot_every) ==
                            0;
      if (kept && (f.todo.size() > 1 || st_.dpor || fi >= st_.settings.snapshot_all_depth)) {
        ++st_.snapshots_saved;
        sv.engine = engine.save();
        if (!st_.chooser_copy || st_.chooser_copy->calls() != st_.chooser->calls())
          st_.chooser_copy = std::make_shared<const CountingChooser>(*st_.chooser);
        sv.chooser = st_.chooser_copy;
      }
      st_.saved.push_back(std::move(sv));
    }
    st_.stack.push_back(std::move(f));
    return first;
  }

  DfsState& st_;
  bool coasting_ = false;      // liveness mode: time takes the run on from coast_from_
  std::size_t coast_from_ = 0;
};

}  // namespace

namespace {

// kill_container's candidates: every container the scenario's stacks run (STACK/SERVICE/K, the
// scripted fault's names).
std::vector<std::string> container_names(const ScenarioSpec& spec) {
  std::vector<std::string> out;
  for (const StackSpec& stack : spec.stacks)
    for (const ServiceSpec& svc : stack.services)
      for (int k = 1; k <= svc.scale; ++k)
        out.push_back(fmt::format("{}/{}/{}", stack.name, svc.name, k));
  return out;
}

// truncate's candidates: the table lists the scenario truncates itself, else the field report's
// (docs/field-notes.md observation 3: the operator truncated `service` and `network`).
std::vector<std::vector<std::string>> truncations(const ScenarioSpec& spec) {
  std::vector<std::vector<std::string>> out;
  for (const FaultSpec& f : spec.faults)
    if (f.kind == FaultKind::truncate &&
        std::find(out.begin(), out.end(), f.tables) == out.end())
      out.push_back(f.tables);
  if (out.empty()) out.push_back({"service", "network"});
  return out;
}

}  // namespace

TimeNs fault_phase_end(const Settings& s, const ScenarioSpec& spec) {
  if (s.fault_phase_ns > 0) return s.fault_phase_ns;
  return std::max<TimeNs>(0, spec.duration_ns - s.settle_ns);
}

bool judged_in_liveness(const ExpectSpec& e, TimeNs settled_ns) {
  switch (e.form) {
    case ExpectForm::at:
    case ExpectForm::by: return e.at_ns >= settled_ns;
    case ExpectForm::during: return e.from_ns >= settled_ns;
    case ExpectForm::always:
      // An event with no deadline may happen at any moment, the settle window included; a state
      // over the whole run would include the fault phase.
      return e.what == ExpectWhat::log || e.what == ExpectWhat::event ||
             e.what == ExpectWhat::eventually || e.what == ExpectWhat::invariant;
  }
  return true;
}

namespace {

// What a run's result keeps of the engine at its end (ExploreOptions::on_end).
void take_run_end(const ExploreEngine& e, RunResult& r) {
  r.picks = e.picks().to_vector();
  r.identities = e.identities().to_vector();
  r.pick_peers = e.pick_peers().to_vector();
  for (std::uint8_t f : e.pick_flags().to_vector()) {
    r.injected.push_back((f & ExploreEngine::k_flag_injected) != 0);
    r.out_of_order.push_back((f & ExploreEngine::k_flag_out_of_order) != 0);
  }
  r.final_state = e.state_hash();
  r.ended_naturally = e.ended_naturally();
  r.faults_used = e.faults_used();
  r.faults_outstanding = e.faults_outstanding();
}

}  // namespace

Explorer::Explorer(const ScenarioSpec& spec, const Registry& registry, Settings settings)
    : spec_(spec), registry_(registry), settings_(settings) {}

// The first expectation other than the invariants that a run which reached its end at `end_ns`
// failed (the invariants are the watch's). The other expectations (`eventually ... by`, `log`,
// timed states) speak of a whole run: a run the scheduler cut short (a depth bound, a state dfs
// had already explored) is not judged on them, or every cut run would "miss" what it had no time
// to see (docs/exploration.md, "Properties"). In liveness mode only what is judged after the
// settle window counts.
std::optional<Violation> Explorer::judge_end(const std::vector<ExpectResult>& results,
                                             const Settings& s, TimeNs end_ns) const {
  const TimeNs settled_ns = s.settle_ns > 0 ? fault_phase_end(s, spec_) + s.settle_ns : TimeNs{0};
  for (const ExpectResult& e : results)
    if (!e.passed && (s.settle_ns <= 0 || judged_in_liveness(*e.spec, settled_ns)))
      return Violation{e.spec->text, e.detail, e.violated_step, e.violated_at_ns.value_or(end_ns)};
  return std::nullopt;
}

RunResult Explorer::run_with(Scheduler& scheduler, const Settings& s, bool record,
                             std::vector<StepObserver*> observers, const LeafFn* leaf,
                             Chooser* chooser, bool identities) const {
  RunResult r;
  InvariantWatch watch(spec_, registry_);
  Recorder recorder;
  RunConfig cfg;
  Checker* checker = nullptr;
  cfg.on_checker = [&checker](Checker& c) { checker = &c; };
  cfg.seed = s.seed;
  cfg.chooser = chooser;
  cfg.timeline_level = s.timeline_level;
  cfg.keep_debug_logs = s.timeline_level == LogLevel::debug;
  cfg.observers.push_back(&watch);
  if (record) cfg.observers.push_back(&recorder);
  for (StepObserver* o : observers) cfg.observers.push_back(o);
  cfg.make_engine = [&](const ScenarioSpec& sp, const Registry& reg, const RunConfig& c,
                        Chooser& chooser) -> std::unique_ptr<Engine> {
    ExploreOptions o;
    static_cast<EngineOptions&>(o) = engine_options(sp, reg, c);
    o.max_faults = s.max_faults;
    o.inject_kinds = s.inject_kinds;
    o.max_delay_ns = s.max_delay_ns;
    o.pause_ns = s.pause_ns;
    o.fault_targets = s.fault_targets;
    o.identities = record || identities;
    if (s.settle_ns > 0) {
      o.fault_phase_end_ns = fault_phase_end(s, sp);
      o.settle_after_steps = s.depth;
    }
    if (s.inject_kinds & inject_bit(InjectKind::kill_container))
      o.kill_containers = container_names(sp);
    if (s.inject_kinds & inject_bit(InjectKind::truncate)) o.truncate_tables = truncations(sp);
    if (leaf)
      o.on_leaf = [this, leaf, &watch, &checker, &s](ExploreEngine& e) {
        // A run that reached its end is judged on its other expectations here, as below: dfs
        // may restore a saved state and go on with another run in the same engine (the checker
        // goes back with it, Checker::save_state).
        if (!watch.violation() && e.ended_naturally() && checker) {
          checker->finish();
          watch.violation() = judge_end(checker->results(), s, e.now());
        }
        return (*leaf)(e, watch.violation());
      };
    o.on_end = [&r](const ExploreEngine& e) { take_run_end(e, r); };
    return std::make_unique<ExploreEngine>(std::move(o), chooser, scheduler);
  };
  r.inject_kinds = s.inject_kinds;
  r.pause_ns = s.pause_ns;
  r.outcome = run_scenario(spec_, registry_, cfg);
  r.digest = r.outcome.digest;
  r.violation = watch.violation();
  if (!r.violation && r.ended_naturally)
    r.violation = judge_end(r.outcome.results, s, r.outcome.simulated_ns);
  r.passed = !r.violation.has_value();
  if (record) {
    r.steps = std::move(recorder.steps);
    r.descriptions = std::move(recorder.descriptions);
  }
  return r;
}

RunResult Explorer::run(Scheduler& scheduler, bool record,
                        std::vector<StepObserver*> observers) const {
  return run_with(scheduler, settings_, record, std::move(observers));
}

RunResult Explorer::replay(const std::vector<std::uint32_t>& picks, bool record,
                           std::vector<StepObserver*> observers) const {
  // A shrink candidate may wander: cap it well past the recorded length.
  // In liveness mode the depth bounds the fault phase only: the run goes on in time order.
  std::uint64_t cap = settings_.settle_ns > 0 ? 0 : settings_.depth;
  ReplayScheduler s(picks, cap);
  return run_with(s, settings_, record, std::move(observers));
}

RunResult Explorer::replay_by_identity(const std::vector<PickIdentity>& ids,
                                        const std::vector<std::uint32_t>& picks, bool record,
                                        std::vector<StepObserver*> observers) const {
  std::uint64_t cap = settings_.settle_ns > 0 ? 0 : settings_.depth;
  IdentityScheduler s(ids, picks, cap);
  RunResult r = run_with(s, settings_, record, std::move(observers), nullptr, nullptr, true);
  r.unmatched = s.unmatched();
  r.unmatched_step = s.unmatched_step();
  r.unmatched_ns = s.unmatched_ns();
  r.loose_matches = s.loose_matches();
  return r;
}

Report Explorer::search(Strategy strategy, const std::function<bool()>& should_stop) const {
  if (strategy == Strategy::dfs && settings_.max_faults > 0 &&
      (settings_.settle_ns > 0 || settings_.placements))
    return dfs_placements(should_stop);
  if (strategy == Strategy::dfs) return dfs_from({}, should_stop);
  return random_search(strategy == Strategy::pct, should_stop);
}

Report Explorer::random_search(bool pct, const std::function<bool()>& should_stop) const {
  Report rep;
  std::unordered_set<std::uint64_t> states;
  RandomStream swarm_rng(derive_seed(settings_.seed, "explore.swarm"), "swarm");
  // PCT needs an estimate of a run's length (in steps, or in deliveries between nodes): the
  // timed schedule's, then the longest seen.
  std::uint64_t k_est = 1;
  if (pct && settings_.pct_at_deliveries) {
    for (const TraceStep& t : replay({}, true).steps)
      if (t.kind == StepKind::deliver && t.from != t.node) ++k_est;
  } else {
    k_est = std::max<std::uint64_t>(1, replay({}).picks.size());
  }
  for (std::uint64_t run = 1;; ++run) {
    if (settings_.max_runs != 0 && run > settings_.max_runs) break;
    if (run > 1 && should_stop && should_stop()) break;
    Settings s = settings_;
    double p_fault = 0.02;
    if (settings_.swarm) {
      // Swarm testing (Groce et al., ISSTA 2012): each run leaves some fault kinds out entirely,
      // which makes the remaining ones more frequent and exposes bugs that a fault suppresses.
      // A kept fault keeps its repair (with_undos): leaving restart out would make every crash
      // permanent, which fails liveness for a reason no one needs the explorer to find.
      std::uint32_t mask = 0;
      for (int k = 0; k < k_inject_kinds; ++k)
        if (swarm_rng.bernoulli(0.5)) mask |= 1u << k;
      s.inject_kinds = with_undos(mask & settings_.inject_kinds) & settings_.inject_kinds;
      static constexpr double k_rates[] = {0.005, 0.02, 0.1};
      p_fault = k_rates[swarm_rng.uniform_int(0, 2)];
    }
    RunResult r;
    std::optional<FaultClock> clock;
    const bool liveness = s.settle_ns > 0;
    if (FaultClock::wanted(s))
      clock.emplace(s, run, liveness ? fault_phase_end(s, spec_) : spec_.duration_ns);
    FaultClock* c = clock ? &*clock : nullptr;
    // In liveness mode the engine ends the fault phase at the step bound (and goes on).
    const std::uint64_t depth = liveness ? 0 : s.depth;
    if (pct) {
      PctScheduler sch(s.seed, run, s.pct_depth, k_est, p_fault, depth, &states, c,
                       s.pct_at_deliveries);
      r = run_with(sch, s, false, {});
      if (s.pct_at_deliveries) k_est = std::max<std::uint64_t>(k_est, sch.deliveries());
    } else {
      RandomScheduler sch(s.seed, run, p_fault, depth, &states, c);
      r = run_with(sch, s, false, {});
    }
    ++rep.runs;
    rep.transitions += r.picks.size();
    rep.max_depth = std::max<std::uint64_t>(rep.max_depth, r.picks.size());
    if (!pct || !s.pct_at_deliveries) k_est = std::max<std::uint64_t>(k_est, r.picks.size());
    rep.verdicts.push_back(r.violation ? r.violation->property : "pass");
    if (r.ended_naturally && !r.violation) rep.terminal_states.push_back(r.final_state);
    if (r.violation && !rep.first_violation) {
      rep.first_violation = r;
      rep.first_violation_run = run;
      if (settings_.stop_at_first) break;
    }
  }
  rep.distinct_states = states.size();
  std::sort(rep.verdicts.begin(), rep.verdicts.end());
  rep.verdicts.erase(std::unique(rep.verdicts.begin(), rep.verdicts.end()), rep.verdicts.end());
  return rep;
}

bool Explorer::snapshots_apply() const {
  if (!settings_.snapshots) return false;
  // The nemesis's state is not saved: only scripted faults (armed before the first step) are
  // safe to restore. The checker's is (Checker::save_state), and the invariants' watch is
  // cleared by dfs at each restore.
  return !spec_.random_faults.any();
}

namespace {

template <class T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// A finished dfs search's counters, verdicts and terminal states, as the report gives them.
void add_counts(Report& rep, const DfsState& st) {
  rep.transitions = st.transitions;
  rep.distinct_states = st.visited.size();
  rep.max_depth = st.max_depth;
  rep.reductions = st.reductions;
  rep.pruned_visited = st.pruned_visited;
  rep.races = st.races;
  rep.dpor_skipped = st.dpor_skipped;
  rep.snapshots_saved = st.snapshots_saved;
  rep.replayed_steps = st.replayed_steps;
  rep.depth_cut = st.depth_cut;
  sort_unique(rep.verdicts);
  sort_unique(rep.terminal_states);
}

// Counts a leaf's verdict: the property it violated, or a pass and, for a run that ended
// naturally, its final state.
void count_verdict(Report& rep, const std::optional<Violation>& violation, bool ended_naturally,
                   std::uint64_t final_state) {
  if (violation) {
    rep.verdicts.push_back(violation->property);
  } else if (ended_naturally) {
    rep.verdicts.push_back("pass");
    rep.terminal_states.push_back(final_state);
  }
}

// Whether dfs must stop before another run: its run budget is spent, or the caller says stop
// (asked only once a run has been done).
bool budget_spent(const Settings& settings, const Report& rep,
                  const std::function<bool()>& should_stop) {
  return (settings.max_runs != 0 && rep.runs >= settings.max_runs) ||
         (rep.runs > 0 && should_stop && should_stop());
}

}  // namespace

Report Explorer::dfs_from(const std::vector<std::uint32_t>& prefix,
                          const std::function<bool()>& should_stop) const {
  Report rep;
  DfsState st(settings_, prefix);
  st.dpor = settings_.dpor && settings_.reduction && settings_.delay_bound < 0;
  std::optional<CountingChooser> chooser;
  if (snapshots_apply()) {
    chooser.emplace(settings_.seed);
    st.chooser = &*chooser;
  }
  DfsScheduler sch(st);
  bool done = false;  // a violation with stop_at_first, or exhaustion
  std::vector<std::uint32_t> violation_picks;
  // Accounts a leaf (a run's end) and backtracks to the deepest state with an unexplored option.
  auto account = [&](const std::optional<Violation>& violation, bool ended_naturally,
                     std::uint64_t final_state, const auto& picks, const auto& pick_peers) {
    ++rep.runs;
    count_verdict(rep, violation, ended_naturally, final_state);
    if (violation && rep.first_violation_run == 0) {
      rep.first_violation_run = rep.runs;
      violation_picks.assign(picks.size(), 0);
      for (std::size_t i = 0; i < picks.size(); ++i) violation_picks[i] = picks[i];
    }
    if (violation && settings_.stop_at_first) {
      done = true;
      return;
    }
    if (!st.leave(violation.has_value(), ended_naturally, pick_peers)) {
      rep.exhausted = true;
      done = true;
    }
  };
  auto out_of_budget = [&] { return budget_spent(settings_, rep, should_stop); };
  // With snapshots, a leaf inside a run restores the state saved at the frame dfs backtracks to
  // and the same run goes on from there; the run ends only when that cannot be done.
  bool in_run_accounted = false;
  LeafFn leaf = [&](ExploreEngine& e, std::optional<Violation>& violation) {
    // Only a run that ended naturally keeps its final state (Report::terminal_states).
    bool natural = e.ended_naturally() && !violation;
    account(violation, natural, natural ? e.state_hash() : 0, e.picks(), e.pick_peers());
    in_run_accounted = true;
    if (done || out_of_budget()) return false;
    if (!st.restore_saved(e)) {
      ++rep.restore_failures;
      return false;
    }
    violation.reset();
    ++rep.restores;
    return true;
  };
  for (;;) {
    if (out_of_budget()) break;
    if (st.chooser) st.reset_chooser(settings_.seed);
    in_run_accounted = false;
    RunResult r = run_with(sch, settings_, false, {}, st.chooser ? &leaf : nullptr,
                           st.chooser);
    if (!in_run_accounted) {
      account(r.violation, r.ended_naturally, r.final_state, r.picks, r.pick_peers);
      if (rep.first_violation_run == rep.runs && r.violation) rep.first_violation = std::move(r);
    }
    if (done) break;
  }
  if (rep.first_violation_run != 0 && !rep.first_violation) {
    // Re-run the violating picks on their own: the same run a re-executing dfs would keep, with
    // its outcome, timeline and digest.
    rep.first_violation = replay(violation_picks);
  }
  add_counts(rep, st);
  return rep;
}

namespace {

// The timed schedule's steps where faults are offered, how many events each offers and which of
// its fault options are pauses: the table of fault placements (Explorer::dfs_placements). In
// liveness mode it ends with the fault phase (which the step bound also ends), otherwise at the
// step bound `depth` (0: none).
class PlacementProbe final : public Scheduler {
 public:
  struct Step {
    std::uint64_t index;
    std::uint32_t events;
    std::vector<bool> pause;  // per fault option (option events + k): a pause
  };
  explicit PlacementProbe(std::uint64_t depth) : depth_(depth) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    if (engine.faults_closed()) return k_stop;
    if (depth_ != 0 && engine.picks().size() >= depth_) return k_stop;
    std::size_t ne = count_events(options);
    if (options.size() > ne) {
      Step st{engine.picks().size(), static_cast<std::uint32_t>(ne), {}};
      for (std::size_t i = ne; i < options.size(); ++i)
        st.pause.push_back(options[i].inject == InjectKind::pause);
      steps.push_back(std::move(st));
    }
    return 0;
  }
  std::vector<Step> steps;

 private:
  std::uint64_t depth_;
};

// One way to place a fault at a step: the fault option (its index among the step's faults) and,
// for a pause, its length.
struct Variant {
  std::uint32_t fault;
  DurationNs pause_ns;
};

// The variants of a step, length-major (every fault with the first pause length, then the pauses
// again with the second, ...): the rotation over neighbouring placements takes them in turn, so
// the first sweep already varies the fault, then the length, from one placement to the next.
std::vector<Variant> variants_of(const PlacementProbe::Step& st,
                                 const std::vector<DurationNs>& lengths) {
  std::vector<Variant> out;
  for (std::size_t l = 0; l < lengths.size(); ++l)
    for (std::uint32_t k = 0; k < st.pause.size(); ++k)
      if (l == 0 || st.pause[k]) out.push_back(Variant{k, lengths[l]});
  return out;
}

// 0, n/2, n/4, 3n/4, n/8, ...: the indexes below n in bit-reversed order, so that every prefix
// of the list spreads over the whole range.
std::vector<std::size_t> spread_order(std::size_t n) {
  std::size_t bits = 0;
  while ((std::size_t{1} << bits) < n) ++bits;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < (std::size_t{1} << bits); ++i) {
    std::size_t r = 0;
    for (std::size_t b = 0; b < bits; ++b)
      if (i & (std::size_t{1} << b)) r |= std::size_t{1} << (bits - 1 - b);
    if (r < n) out.push_back(r);
  }
  return out;
}

// Adds a sub-search's counts and verdicts to `rep`; its first violation becomes rep's when rep
// has none (its run index shifted by the runs before it).
void merge_report(Report& rep, Report&& sub) {
  if (sub.first_violation && !rep.first_violation) {
    rep.first_violation = std::move(sub.first_violation);
    rep.first_violation_run = rep.runs + sub.first_violation_run;
  }
  rep.runs += sub.runs;
  rep.transitions += sub.transitions;
  rep.distinct_states += sub.distinct_states;
  rep.max_depth = std::max(rep.max_depth, sub.max_depth);
  rep.reductions += sub.reductions;
  rep.pruned_visited += sub.pruned_visited;
  rep.restores += sub.restores;
  rep.restore_failures += sub.restore_failures;
  rep.snapshots_saved += sub.snapshots_saved;
  rep.replayed_steps += sub.replayed_steps;
  rep.races += sub.races;
  rep.dpor_skipped += sub.dpor_skipped;
  rep.depth_cut = rep.depth_cut || sub.depth_cut;
  rep.exhausted = sub.exhausted;
  rep.verdicts.insert(rep.verdicts.end(), sub.verdicts.begin(), sub.verdicts.end());
  rep.terminal_states.insert(rep.terminal_states.end(), sub.terminal_states.begin(),
                             sub.terminal_states.end());
  sort_unique(rep.verdicts);
  sort_unique(rep.terminal_states);
}

// A placement searched by a single run (Settings::placement_runs == 1, the default): the prefix,
// the fault, then time's choice (option 0) at every step up to the step bound, as the first run
// of a dfs below the prefix takes them (a fresh frame's first option is its first awake event,
// and nothing is asleep on a first run). A dfs of one run never backtracks, so its state hashing
// and race analysis would serve only to cut the run at a state it had already passed through in
// that same run; with the hashing gone that run goes on to the step bound instead (it can find
// more, never less), and no states are counted (Report::distinct_states, races stay 0). The
// hashing and the race analysis were 60% of a placement's time on known bug (b) (bench/RESULTS.md,
// dfsfast). In liveness mode the replay runs on past the fault phase in time order, as a dfs run
// cut at the bound coasts (DfsScheduler), and is judged after its settle window as that is.
Report one_run_placement(const Explorer& explorer, const std::vector<std::uint32_t>& prefix,
                         std::uint64_t depth) {
  Report rep;
  RunResult r = explorer.replay(prefix);
  const std::uint64_t steps = r.picks.size();
  const std::uint64_t framed = depth != 0 ? std::min(steps, depth) : steps;
  rep.runs = 1;
  rep.transitions = framed > prefix.size() ? framed - prefix.size() : 0;
  rep.max_depth = framed;
  rep.depth_cut = depth != 0 && (steps > depth || (steps == depth && !r.ended_naturally &&
                                                   !r.violation));
  const bool natural = r.ended_naturally && !r.violation;
  count_verdict(rep, r.violation, natural, natural ? r.final_state : 0);
  if (r.violation) {
    rep.first_violation_run = 1;
    rep.first_violation = std::move(r);
  }
  return rep;
}

}  // namespace

Report Explorer::dfs_placements(const std::function<bool()>& should_stop) const {
  Report rep;
  // In liveness mode the step bound ends the fault phase (the engine closes it there).
  PlacementProbe probe(settings_.settle_ns > 0 ? 0 : settings_.depth);
  run_with(probe, settings_, false, {});
  const std::vector<std::size_t> order = spread_order(probe.steps.size());
  std::vector<DurationNs> lengths = settings_.placement_pauses;
  if (lengths.empty()) lengths.push_back(settings_.pause_ns);
  std::vector<std::vector<Variant>> variants;
  std::size_t sweeps = 0;
  for (const PlacementProbe::Step& st : probe.steps) {
    variants.push_back(variants_of(st, lengths));
    sweeps = std::max(sweeps, variants.back().size());
  }
  auto stop = [&] {
    return (settings_.max_runs != 0 && rep.runs >= settings_.max_runs) ||
           (rep.runs > 0 && should_stop && should_stop());
  };
  Settings sub = settings_;
  for (std::size_t sweep = 0; sweep < sweeps; ++sweep) {
    for (std::size_t i = 0; i < order.size(); ++i) {
      const PlacementProbe::Step& st = probe.steps[order[i]];
      const std::vector<Variant>& vs = variants[order[i]];
      if (sweep >= vs.size()) continue;
      if (stop() || (rep.first_violation && settings_.stop_at_first)) return rep;
      // The timed schedule (option 0) up to the step, then one fault, rotating over the variants
      // offered there so that the first sweep tries a different fault at neighbouring steps.
      const Variant& v = vs[(sweep + i) % vs.size()];
      std::vector<std::uint32_t> prefix(st.index, 0);
      prefix.push_back(st.events + v.fault);
      sub.pause_ns = v.pause_ns;
      sub.max_runs = settings_.placement_runs;
      if (settings_.max_runs != 0)
        sub.max_runs = std::min(sub.max_runs, settings_.max_runs - rep.runs);
      if (sub.max_runs == 1) {
        merge_report(rep, one_run_placement(Explorer(spec_, registry_, sub), prefix, sub.depth));
      } else {
        sub.snapshots = settings_.snapshots && sub.max_runs > 1;
        merge_report(rep, Explorer(spec_, registry_, sub).dfs_from(prefix, should_stop));
      }
      rep.exhausted = false;
    }
  }
  if (stop() || (rep.first_violation && settings_.stop_at_first)) return rep;
  // Every placement tried: the plain dfs with what is left, whose exhaustion means what it says.
  sub.pause_ns = settings_.pause_ns;
  sub.snapshots = settings_.snapshots;
  sub.max_runs = settings_.max_runs == 0 ? 0 : settings_.max_runs - rep.runs;
  merge_report(rep, Explorer(spec_, registry_, sub).dfs_from({}, should_stop));
  return rep;
}

}  // namespace stampede::explore
