#include "sim/explore/explorer.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "sim/core/chooser.hpp"

#include "sim/core/assert.hpp"
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

std::size_t count_events(const std::vector<Option>& options) {
  std::size_t n = 0;
  while (n < options.size() && !options[n].injected) ++n;
  return n;
}

// Seeded random walks: every pending event equally likely; an injected fault with probability
// p_fault while the budget lasts.
class RandomScheduler final : public Scheduler {
 public:
  RandomScheduler(std::uint64_t seed, std::uint64_t run, double p_fault, std::uint64_t depth,
                  std::unordered_set<std::uint64_t>* states)
      : rng_(derive_seed(seed, fmt::format("explore.random.{}", run)), "walk"),
        p_fault_(p_fault),
        depth_(depth),
        states_(states) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    if (depth_ != 0 && engine.picks().size() >= depth_) return k_stop;
    if (states_) states_->insert(engine.state_hash());
    std::size_t ne = count_events(options);
    std::size_t nf = options.size() - ne;
    if (nf > 0 && rng_.unit() < p_fault_)
      return ne + static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(nf) - 1));
    return static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(ne) - 1));
  }

 private:
  RandomStream rng_;
  double p_fault_;
  std::uint64_t depth_;
  std::unordered_set<std::uint64_t>* states_;
};

// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010) over nodes: each node gets
// a random priority; the highest-priority node with a pending event steps (its earliest event);
// at d-1 random steps the node that steps drops below every initial priority.
class PctScheduler final : public Scheduler {
 public:
  PctScheduler(std::uint64_t seed, std::uint64_t run, int d, std::uint64_t k_est,
               double p_fault, std::uint64_t depth, std::unordered_set<std::uint64_t>* states)
      : rng_(derive_seed(seed, fmt::format("explore.pct.{}", run)), "pct"),
        d_(std::max(1, d)),
        p_fault_(p_fault),
        depth_(depth),
        states_(states) {
    for (int i = 0; i + 1 < d_; ++i)
      change_points_.push_back(
          static_cast<std::uint64_t>(rng_.uniform_int(1, static_cast<std::int64_t>(k_est))));
  }
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    std::size_t k = engine.picks().size();
    if (depth_ != 0 && k >= depth_) return k_stop;
    if (states_) states_->insert(engine.state_hash());
    if (priority_.empty()) {
      // A random permutation of d .. d+n-1 (Fisher-Yates on the seeded stream).
      std::size_t n = engine.node_count();
      for (std::size_t i = 0; i < n; ++i) priority_.push_back(d_ + static_cast<int>(i));
      for (std::size_t i = n; i > 1; --i) {
        auto j = static_cast<std::size_t>(rng_.uniform_int(0, static_cast<std::int64_t>(i) - 1));
        std::swap(priority_[i - 1], priority_[j]);
      }
    }
    std::size_t ne = count_events(options);
    std::size_t nf = options.size() - ne;
    if (nf > 0 && rng_.unit() < p_fault_)
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
    for (std::size_t c = 0; c < change_points_.size(); ++c)
      if (change_points_[c] == k + 1 && options[best].node != k_no_node)
        priority_[options[best].node] = d_ - 1 - static_cast<int>(c);
    return best;
  }

 private:
  RandomStream rng_;
  int d_;
  double p_fault_;
  std::uint64_t depth_;
  std::unordered_set<std::uint64_t>* states_;
  std::vector<int> priority_;
  std::vector<std::uint64_t> change_points_;
};

// ---- bounded DFS with state hashing and sleep sets ----

struct OptRef {
  std::uint64_t ident = 0;
  NodeId node = k_no_node;
  bool local = true;
};

// Steps of different nodes commute: each changes only its own node's state and adds events;
// neither disables the other. Scripted actions and injected faults touch everything.
bool independent(const OptRef& a, const OptRef& b) {
  return a.local && b.local && a.node != b.node;
}

struct Frame {
  std::vector<OptRef> opts;
  std::vector<bool> injected;
  std::vector<std::uint32_t> todo;
  std::size_t next = 0;
  std::vector<OptRef> sleep;
  std::vector<OptRef> done;
  int delays = 0;
};

// What dfs saved at a frame with options left to explore, to restore when it backtracks there.
struct Saved {
  std::shared_ptr<ExploreEngine::Snapshot> engine;
  std::optional<SeededChooser> chooser;
};

struct DfsState {
  const Settings& settings;
  std::vector<std::uint32_t> prefix;
  std::vector<Frame> stack;
  // Parallel to `stack` when snapshots are on (empty entries at frames with one option).
  std::vector<Saved> saved;
  SeededChooser* chooser = nullptr;  // non-null when snapshots are on
  // State hash -> the sleep set it was explored with (sorted identities). Looked up, never
  // iterated, so its unordered layout cannot leak into the search order.
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> visited;
  std::uint64_t transitions = 0;
  std::uint64_t reductions = 0;
  std::uint64_t pruned_visited = 0;
  std::uint64_t max_depth = 0;
  bool depth_cut = false;
};

class DfsScheduler final : public Scheduler {
 public:
  explicit DfsScheduler(DfsState& st) : st_(st) {}
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    std::size_t k = engine.picks().size();
    if (k < st_.prefix.size()) return st_.prefix[k] < options.size() ? st_.prefix[k] : 0;
    std::size_t fi = k - st_.prefix.size();
    if (fi < st_.stack.size()) {
      const Frame& f = st_.stack[fi];
      STAMPEDE_ASSERT(f.opts.size() == options.size() &&
                          f.opts[f.todo[f.next]].ident == options[f.todo[f.next]].ident,
                      "a re-executed dfs prefix reached a different state");
      return f.todo[f.next];
    }
    if (st_.settings.depth != 0 && k >= st_.settings.depth) {
      st_.depth_cut = true;
      return k_stop;
    }
    ++st_.transitions;
    Frame f;
    f.opts.reserve(options.size());
    for (const Option& o : options) {
      f.opts.push_back(OptRef{o.ident, o.node, o.local});
      f.injected.push_back(o.injected);
    }
    std::vector<std::uint64_t> zs;  // this state's sleep set, as sorted identities
    if (fi > 0) {
      const Frame& parent = st_.stack[fi - 1];
      std::uint32_t taken = parent.todo[parent.next];
      f.delays = parent.delays + (taken > 0 && !parent.injected[taken] ? 1 : 0);
      if (st_.settings.reduction) {
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
      }
    }
    std::uint64_t key = engine.state_hash();
    if (st_.settings.delay_bound >= 0)
      key = Digest().add(key).add(static_cast<std::uint64_t>(f.delays)).value();
    auto asleep = [&](std::uint64_t ident) {
      return std::binary_search(zs.begin(), zs.end(), ident);
    };
    auto it = st_.visited.find(key);
    if (it != st_.visited.end()) {
      std::vector<std::uint64_t>& stored = it->second;
      if (std::includes(zs.begin(), zs.end(), stored.begin(), stored.end())) {
        ++st_.pruned_visited;
        return k_stop;
      }
      // Explore what was asleep on the earlier visit and is awake now, and remember that only
      // the common part of both sleep sets stays unexplored.
      for (std::uint32_t i = 0; i < options.size(); ++i)
        if (std::binary_search(stored.begin(), stored.end(), options[i].ident) &&
            !asleep(options[i].ident))
          f.todo.push_back(i);
      std::vector<std::uint64_t> common;
      std::set_intersection(stored.begin(), stored.end(), zs.begin(), zs.end(),
                            std::back_inserter(common));
      stored = std::move(common);
      ++st_.reductions;
    } else {
      st_.visited.emplace(key, zs);
      for (std::uint32_t i = 0; i < options.size(); ++i) {
        if (asleep(options[i].ident)) {
          ++st_.reductions;
          continue;
        }
        f.todo.push_back(i);
      }
    }
    if (st_.settings.delay_bound >= 0) {
      std::erase_if(f.todo, [&](std::uint32_t i) {
        return i > 0 && !options[i].injected && f.delays + 1 > st_.settings.delay_bound;
      });
    }
    if (f.todo.empty()) return k_stop;  // every successor is covered by a sleeping step
    st_.max_depth = std::max<std::uint64_t>(st_.max_depth, k + 1);
    std::uint32_t first = f.todo.front();
    if (st_.chooser) {
      // Only a frame with a second option is ever backtracked to.
      Saved sv;
      if (f.todo.size() > 1) {
        sv.engine = engine.save();
        sv.chooser = *st_.chooser;
      }
      st_.saved.push_back(std::move(sv));
    }
    st_.stack.push_back(std::move(f));
    return first;
  }

 private:
  DfsState& st_;
};

}  // namespace

Explorer::Explorer(const ScenarioSpec& spec, const Registry& registry, Settings settings)
    : spec_(spec), registry_(registry), settings_(settings) {}

RunResult Explorer::run_with(Scheduler& scheduler, const Settings& s, bool record,
                             std::vector<StepObserver*> observers, const LeafFn* leaf,
                             Chooser* chooser) const {
  RunResult r;
  InvariantWatch watch(spec_, registry_);
  Recorder recorder;
  RunConfig cfg;
  cfg.seed = s.seed;
  cfg.chooser = chooser;
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
    if (leaf)
      o.on_leaf = [leaf, &watch](ExploreEngine& e) { return (*leaf)(e, watch.violation()); };
    o.on_end = [&r](const ExploreEngine& e) {
      r.picks = e.picks();
      for (std::uint8_t f : e.pick_flags()) {
        r.injected.push_back((f & ExploreEngine::k_flag_injected) != 0);
        r.out_of_order.push_back((f & ExploreEngine::k_flag_out_of_order) != 0);
      }
      r.final_state = e.state_hash();
      r.ended_naturally = e.ended_naturally();
      r.faults_used = e.faults_used();
    };
    return std::make_unique<ExploreEngine>(std::move(o), chooser, scheduler);
  };
  r.outcome = run_scenario(spec_, registry_, cfg);
  r.digest = r.outcome.digest;
  r.violation = watch.violation();
  // The other expectations (`eventually ... by`, `log`, timed states) speak of a whole run: a run
  // the scheduler cut short (a depth bound, a state dfs had already explored) is not judged on
  // them, or every cut run would "miss" what it had no time to see (README, "Properties").
  if (!r.violation && r.ended_naturally) {
    for (const ExpectResult& e : r.outcome.results)
      if (!e.passed) {
        r.violation = Violation{e.spec->text, e.detail, e.violated_step,
                                e.violated_at_ns.value_or(r.outcome.simulated_ns)};
        break;
      }
  }
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
  std::uint64_t cap = settings_.depth != 0 ? settings_.depth : 0;
  ReplayScheduler s(picks, cap);
  return run_with(s, settings_, record, std::move(observers));
}

Report Explorer::search(Strategy strategy, const std::function<bool()>& should_stop) const {
  if (strategy == Strategy::dfs) return dfs_from({}, should_stop);
  return random_search(strategy == Strategy::pct, should_stop);
}

Report Explorer::random_search(bool pct, const std::function<bool()>& should_stop) const {
  Report rep;
  std::unordered_set<std::uint64_t> states;
  RandomStream swarm_rng(derive_seed(settings_.seed, "explore.swarm"), "swarm");
  // PCT needs an estimate of a run's length: the timed schedule's, then the longest seen.
  std::uint64_t k_est = std::max<std::uint64_t>(1, replay({}).picks.size());
  for (std::uint64_t run = 1;; ++run) {
    if (settings_.max_runs != 0 && run > settings_.max_runs) break;
    if (run > 1 && should_stop && should_stop()) break;
    Settings s = settings_;
    double p_fault = 0.02;
    if (settings_.swarm) {
      // Swarm testing (Groce et al., ISSTA 2012): each run leaves some fault kinds out entirely,
      // which makes the remaining ones more frequent and exposes bugs that a fault suppresses.
      std::uint32_t mask = 0;
      for (int k = 0; k < k_inject_kinds; ++k)
        if (swarm_rng.bernoulli(0.5)) mask |= 1u << k;
      s.inject_kinds = mask & settings_.inject_kinds;
      static constexpr double k_rates[] = {0.005, 0.02, 0.1};
      p_fault = k_rates[swarm_rng.uniform_int(0, 2)];
    }
    RunResult r;
    if (pct) {
      PctScheduler sch(s.seed, run, s.pct_depth, k_est, p_fault, s.depth, &states);
      r = run_with(sch, s, false, {});
    } else {
      RandomScheduler sch(s.seed, run, p_fault, s.depth, &states);
      r = run_with(sch, s, false, {});
    }
    ++rep.runs;
    rep.transitions += r.picks.size();
    rep.max_depth = std::max<std::uint64_t>(rep.max_depth, r.picks.size());
    k_est = std::max<std::uint64_t>(k_est, r.picks.size());
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
  // The checker's and the nemesis's state is not saved: only invariants (judged by the watch,
  // which dfs clears) and scripted faults (armed before the first step) are safe to restore.
  if (spec_.random_faults.crash || spec_.random_faults.partition) return false;
  for (const ExpectSpec& e : spec_.expect)
    if (e.what != ExpectWhat::invariant) return false;
  return true;
}

Report Explorer::dfs_from(const std::vector<std::uint32_t>& prefix,
                          const std::function<bool()>& should_stop) const {
  Report rep;
  DfsState st{settings_, prefix, {}, {}, nullptr, {}, 0, 0, 0, 0, false};
  std::optional<SeededChooser> chooser;
  if (snapshots_apply()) {
    chooser.emplace(settings_.seed);
    st.chooser = &*chooser;
  }
  DfsScheduler sch(st);
  bool done = false;  // a violation with stop_at_first, or exhaustion
  std::vector<std::uint32_t> violation_picks;
  // Accounts a leaf (a run's end) and backtracks to the deepest state with an unexplored option.
  auto account = [&](const std::optional<Violation>& violation, bool ended_naturally,
                     std::uint64_t final_state, const std::vector<std::uint32_t>& picks) {
    ++rep.runs;
    if (violation) {
      rep.verdicts.push_back(violation->property);
      if (rep.first_violation_run == 0) {
        rep.first_violation_run = rep.runs;
        violation_picks = picks;
      }
      if (settings_.stop_at_first) {
        done = true;
        return;
      }
    } else if (ended_naturally) {
      rep.verdicts.push_back("pass");
      rep.terminal_states.push_back(final_state);
    }
    while (!st.stack.empty()) {
      Frame& f = st.stack.back();
      f.done.push_back(f.opts[f.todo[f.next]]);
      if (++f.next < f.todo.size()) break;
      st.stack.pop_back();
      if (st.chooser) st.saved.pop_back();
    }
    if (st.stack.empty()) {
      rep.exhausted = true;
      done = true;
    }
  };
  auto out_of_budget = [&] {
    return (settings_.max_runs != 0 && rep.runs >= settings_.max_runs) ||
           (rep.runs > 0 && should_stop && should_stop());
  };
  // With snapshots, a leaf inside a run restores the state saved at the frame dfs backtracks to
  // and the same run goes on from there; the run ends only when that cannot be done.
  bool in_run_accounted = false;
  LeafFn leaf = [&](ExploreEngine& e, std::optional<Violation>& violation) {
    account(violation, e.ended_naturally() && !violation, e.state_hash(), e.picks());
    in_run_accounted = true;
    if (done || out_of_budget()) return false;
    const Saved& sv = st.saved.back();
    if (!sv.engine || !e.restore(*sv.engine)) return false;
    *st.chooser = *sv.chooser;
    violation.reset();
    ++rep.restores;
    return true;
  };
  for (;;) {
    if (out_of_budget()) break;
    if (st.chooser) *st.chooser = SeededChooser(settings_.seed);
    in_run_accounted = false;
    RunResult r = run_with(sch, settings_, false, {}, st.chooser ? &leaf : nullptr,
                           st.chooser);
    if (!in_run_accounted) {
      account(r.violation, r.ended_naturally, r.final_state, r.picks);
      if (rep.first_violation_run == rep.runs && r.violation) rep.first_violation = std::move(r);
    }
    if (done) break;
  }
  if (rep.first_violation_run != 0 && !rep.first_violation) {
    // Re-run the violating picks on their own: the same run a re-executing dfs would keep, with
    // its outcome, timeline and digest.
    rep.first_violation = replay(violation_picks);
  }
  rep.transitions = st.transitions;
  rep.distinct_states = st.visited.size();
  rep.max_depth = st.max_depth;
  rep.reductions = st.reductions;
  rep.pruned_visited = st.pruned_visited;
  rep.depth_cut = st.depth_cut;
  std::sort(rep.verdicts.begin(), rep.verdicts.end());
  rep.verdicts.erase(std::unique(rep.verdicts.begin(), rep.verdicts.end()), rep.verdicts.end());
  std::sort(rep.terminal_states.begin(), rep.terminal_states.end());
  rep.terminal_states.erase(std::unique(rep.terminal_states.begin(), rep.terminal_states.end()),
                            rep.terminal_states.end());
  return rep;
}

}  // namespace stampede::explore
