#include "sim/explore/shrink.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "sim/core/digest.hpp"

namespace stampede::explore {

bool ShrinkSize::operator<(const ShrinkSize& o) const {
  if (faults != o.faults) return faults < o.faults;
  if (nodes != o.nodes) return nodes < o.nodes;
  if (steps != o.steps) return steps < o.steps;
  if (nonzero != o.nonzero) return nonzero < o.nonzero;
  return sum < o.sum;
}

ShrinkSize size_of(const RunResult& r, int nodes) {
  ShrinkSize s;
  s.faults = r.faults_used;
  s.nodes = nodes;
  s.steps = r.picks.size();
  for (std::uint32_t p : r.picks) {
    s.nonzero += p != 0;
    s.sum += p;
  }
  return s;
}

namespace {

// What a candidate takes at one step. Unkeyed: the option at `pick` (option 0 when out of range),
// as replay does. Keyed: the option that is the same event or fault (`exact`: its identity and
// the names of its nodes), else one of the same kind between the same nodes (`coarse`: names,
// step or fault kind, message type), else time's choice. The names are kept so that a smaller
// cluster can rename them (agent-3 becomes agent-2 when agent-2 is the one dropped).
struct Want {
  std::uint32_t pick = 0;
  bool keyed = false;
  std::uint64_t exact = 0;
  std::uint64_t coarse = 0;
  // What the keys are made of.
  std::uint64_t ident = 0;
  bool injected = false;
  std::uint64_t kind = 0;  // the fault kind for injected faults, else the step kind and type
  std::string node;
  std::string from;
};

std::uint64_t exact_key(std::uint64_t ident, bool injected, std::string_view node,
                        std::string_view from) {
  return Digest().add(ident).add(static_cast<std::uint64_t>(injected)).add(node).add(from)
             .value() | 1;
}

std::uint64_t coarse_key(bool injected, std::uint64_t kind, std::string_view node,
                         std::string_view from) {
  return Digest().add(static_cast<std::uint64_t>(injected)).add(kind).add(node).add(from)
             .value() | 1;
}

std::uint64_t kind_of(const Option& o) {
  if (o.injected) return static_cast<std::uint64_t>(o.inject);
  return (static_cast<std::uint64_t>(o.kind) << 32) | o.msg_type;
}

std::string_view name_of(const ExploreEngine& e, NodeId id) {
  return id == k_no_node ? std::string_view() : e.node_name(id);
}

std::uint64_t exact_key(const ExploreEngine& e, const Option& o) {
  return exact_key(o.ident, o.injected, name_of(e, o.node), name_of(e, o.from));
}

std::uint64_t coarse_key(const ExploreEngine& e, const Option& o) {
  return coarse_key(o.injected, kind_of(o), name_of(e, o.node), name_of(e, o.from));
}

Want want_of(const ExploreEngine& e, const Option& o, std::uint32_t pick) {
  Want w;
  w.pick = pick;
  w.keyed = true;
  w.ident = o.ident;
  w.injected = o.injected;
  w.kind = kind_of(o);
  w.node = std::string(name_of(e, o.node));
  w.from = std::string(name_of(e, o.from));
  w.exact = exact_key(w.ident, w.injected, w.node, w.from);
  w.coarse = coarse_key(w.injected, w.kind, w.node, w.from);
  return w;
}

class CandidateScheduler final : public Scheduler {
 public:
  // cap_steps: stop before step cap_steps + 1 once at least cap_faults faults are spent (such a
  // run cannot be smaller than the best); 0 = no such cap. hard_cap: the explorer's depth bound.
  CandidateScheduler(const std::vector<Want>& wants, std::uint64_t cap_steps, int cap_faults,
                     std::uint64_t hard_cap)
      : wants_(wants), cap_steps_(cap_steps), cap_faults_(cap_faults), hard_cap_(hard_cap) {}

  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    std::size_t k = engine.picks().size();
    if (nodes_ == 0) nodes_ = static_cast<int>(engine.node_count());
    if (hard_cap_ != 0 && k >= hard_cap_) return k_stop;
    if (cap_steps_ != 0 && k >= cap_steps_ && engine.faults_used() >= cap_faults_) return k_stop;
    std::size_t c = 0;
    if (!due_.empty()) {
      // A fault anchored after the step just taken: injected now when it is an option.
      const Want& f = anchors_[due_.front()].fault;
      due_.erase(due_.begin());
      c = match(engine, options, f);
      if (c != 0 && !options[c].injected) c = 0;
    } else if (k < wants_.size()) {
      const Want& w = wants_[k];
      if (!w.keyed)
        c = w.pick < options.size() ? w.pick : 0;
      else
        c = match(engine, options, w);
    }
    taken_.resize(k + 1);
    if (c != 0) {
      taken_[k] = want_of(engine, options[c], static_cast<std::uint32_t>(c));
    } else {
      // Time's choice stays unkeyed; its names say which steps a smaller cluster loses, and its
      // keys anchor the faults that follow it there.
      taken_[k] = want_of(engine, options[0], 0);
      taken_[k].keyed = false;
    }
    if (!anchors_.empty()) {
      std::uint64_t key = exact_or_coarse(engine, options[c]);
      std::uint64_t seen = ++seen_[key];
      while (next_anchor_ < anchors_.size() && anchors_[next_anchor_].key == key &&
             anchors_[next_anchor_].nth == seen)
        due_.push_back(next_anchor_++);
    }
    return c;
  }

  // Faults placed after an event rather than at a step: fault `fault` right after the nth time
  // an option with key `key` (exact, or coarse when `coarse`) is taken. In order of occurrence.
  struct Anchor {
    std::uint64_t key = 0;
    std::uint64_t nth = 0;
    Want fault;
  };
  void anchor(std::vector<Anchor> anchors, bool coarse) {
    anchors_ = std::move(anchors);
    coarse_anchors_ = coarse;
  }

  int nodes() const { return nodes_; }
  std::vector<Want>& taken() { return taken_; }

 private:
  static std::size_t match(const ExploreEngine& engine, const std::vector<Option>& options,
                           const Want& w) {
    if (w.pick < options.size() && exact_key(engine, options[w.pick]) == w.exact) return w.pick;
    std::size_t coarse = SIZE_MAX;
    for (std::size_t i = 0; i < options.size(); ++i) {
      if (exact_key(engine, options[i]) == w.exact) return i;
      if (coarse == SIZE_MAX && coarse_key(engine, options[i]) == w.coarse) coarse = i;
    }
    return coarse == SIZE_MAX ? 0 : coarse;
  }

  const std::vector<Want>& wants_;
  std::uint64_t cap_steps_;
  int cap_faults_;
  std::uint64_t hard_cap_;
  std::uint64_t exact_or_coarse(const ExploreEngine& engine, const Option& o) const {
    return coarse_anchors_ ? coarse_key(engine, o) : exact_key(engine, o);
  }

  int nodes_ = 0;
  std::vector<Want> taken_;
  std::vector<Anchor> anchors_;
  bool coarse_anchors_ = false;
  std::size_t next_anchor_ = 0;
  std::vector<std::size_t> due_;
  std::map<std::uint64_t, std::uint64_t> seen_;  // looked up only
};

// A node count of the scenario that may be lowered by `--set KEY=N`, down to `min`. Members are
// named PREFIX1..PREFIXn (`agent-1`); `boolean` counts (cluster.redis, its Redis servers) go
// from true to false, that is to none.
struct NodeCount {
  std::string key;
  int value = 0;
  int min = 0;
  std::string prefix;
  bool boolean = false;
};

// `liveness`: the property is one a run can fail only by not getting somewhere (not an
// invariant); such a counterexample keeps at least one agent, since a cluster with none fails
// every expectation on containers for that reason alone.
std::vector<NodeCount> node_counts(const ScenarioSpec& spec, bool liveness) {
  std::vector<NodeCount> out;
  const ClusterSpec& c = spec.cluster;
  const bool ha = c.servers > 1;
  // The mode stays as it is: single mode and HA mode are different systems, not one with fewer
  // nodes. HA needs a ZooKeeper ensemble for its locks.
  if (ha && c.servers > 2) out.push_back({"cluster.servers", c.servers, 2, "server-"});
  if (c.zookeeper > (ha ? 1 : 0))
    out.push_back({"cluster.zookeeper", c.zookeeper, ha ? 1 : 0, "zookeeper-"});
  if (ha && c.redis) out.push_back({"cluster.redis", 1, 0, "", true});
  const int min_agents = liveness ? 1 : 0;
  if (c.agents > min_agents) out.push_back({"cluster.agents", c.agents, min_agents, "agent-"});
  auto it = c.timing.find("lease_lock_clients");
  if (it != c.timing.end() && it->second > 1)
    out.push_back({"cluster.timing.lease_lock_clients", static_cast<int>(it->second), 1,
                   "lease-client-"});
  return out;
}

const std::string k_dropped = "\x01dropped";

// Shrinker::delete_any tries one candidate per step: only runs up to this long.
constexpr std::size_t k_delete_any_max_steps = 4000;

// Shrinker::canonical_schedules re-runs only runs longer than this (the passes that follow the
// best run step by step reach the shorter ones), switching this long after a scripted fault.
constexpr std::size_t k_canonical_min_steps = k_delete_any_max_steps;
constexpr DurationNs k_switch_delays_ns[] = {0,          10 * k_ms,  20 * k_ms,  30 * k_ms,
                                             40 * k_ms,  60 * k_ms,  80 * k_ms,  120 * k_ms,
                                             160 * k_ms, 240 * k_ms, 320 * k_ms, 500 * k_ms};

// The last pending event among `options` (neither an injected nor a scripted fault nor a check):
// the one due latest that the delay bound lets go next.
std::size_t latest_event(const std::vector<Option>& options) {
  std::size_t last = 0;
  for (std::size_t i = 0; i < options.size(); ++i)
    if (!options[i].injected && options[i].kind != StepKind::fault &&
        options[i].kind != StepKind::check)
      last = i;
  return last;
}

// A canonical schedule: time's order until `delay_ns` after the scenario's `after_fault`-th
// scripted fault (0: from the start; negative: never), the latest event first from then on. It
// injects no fault. Stops before step `cap_steps` + 1 (0: no cap) or at the explorer's depth.
class PhasedScheduler final : public Scheduler {
 public:
  PhasedScheduler(int after_fault, DurationNs delay_ns, std::uint64_t cap_steps,
                  std::uint64_t hard_cap)
      : after_fault_(after_fault), delay_ns_(delay_ns), cap_steps_(cap_steps), hard_cap_(hard_cap) {
    if (after_fault_ == 0) switch_at_ns_ = delay_ns_;
  }
  std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) override {
    const std::size_t k = engine.picks().size();
    if ((hard_cap_ != 0 && k >= hard_cap_) || (cap_steps_ != 0 && k >= cap_steps_)) return k_stop;
    const bool late = switch_at_ns_ && engine.now() >= *switch_at_ns_;
    const std::size_t c = late ? latest_event(options) : 0;
    if (options[c].kind == StepKind::fault && !options[c].injected &&
        ++faults_taken_ == after_fault_)
      switch_at_ns_ = engine.now() + delay_ns_;
    return c;
  }
  int faults_taken() const { return faults_taken_; }

 private:
  int after_fault_;
  DurationNs delay_ns_;
  std::uint64_t cap_steps_;
  std::uint64_t hard_cap_;
  int faults_taken_ = 0;
  std::optional<TimeNs> switch_at_ns_;
};

// The name a node has once member `drop` of PREFIX1..n is gone and the later ones move down; the
// dropped member's own name becomes one no node has.
std::string renamed(const std::string& name, const std::string& prefix, int drop) {
  if (prefix.empty() || name.compare(0, prefix.size(), prefix) != 0) return name;
  std::string rest = name.substr(prefix.size());
  if (rest.empty() || rest.size() > 6 ||
      !std::all_of(rest.begin(), rest.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return name;
  int k = std::stoi(rest);
  if (k < drop) return name;
  if (k == drop) return k_dropped;
  return prefix + std::to_string(k - 1);
}

bool is_liveness(const ScenarioSpec& spec, const std::string& property) {
  for (const ExpectSpec& e : spec.expect)
    if (e.text == property) return e.what != ExpectWhat::invariant;
  return false;
}

class Shrinker {
 public:
  Shrinker(const Explorer& ex, const RunResult& original, const ShrinkOptions& opt)
      : ex_(&ex), opt_(opt), best_(original) {
    property_ = original.violation->property;
    liveness_ = is_liveness(ex.spec(), property_);
    outstanding_ = original.faults_outstanding;
    // The original, once more, to learn what each step took; the index picks replay it exactly.
    std::vector<Want> wants = index_wants(original.picks);
    CandidateScheduler sch(wants, 0, 0, ex.settings().depth);
    RunResult r = ex.run(sch);
    ++tried_;
    nodes_ = sch.nodes();
    if (r.violation && r.violation->property == property_ && r.picks == original.picks) {
      best_ = std::move(r);
      wants_ = std::move(sch.taken());
    } else {
      wants_ = std::move(wants);  // cannot happen with a deterministic engine; index picks then
    }
    wants_.resize(best_.picks.size());
    size_ = size_of(best_, nodes_);
    before_ = size_;
  }

  static std::vector<Want> index_wants(const std::vector<std::uint32_t>& picks) {
    std::vector<Want> out(picks.size());
    for (std::size_t i = 0; i < picks.size(); ++i) out[i].pick = picks[i];
    return out;
  }

  // What candidates start from: the best run's steps by identity, or (in the index rounds) by
  // index, as the shrinker did before identities (some reorderings only shrink that way).
  std::vector<Want> base() const { return keyed_ ? wants_ : index_wants(best_.picks); }

  bool out_of_budget() const {
    return tried_ >= opt_.max_candidates || (opt_.should_stop && opt_.should_stop());
  }

  // Runs a candidate on `ex` (the current cluster unless given); keeps it (with what each step
  // took) when it still fails the same property and is smaller.
  bool attempt(const std::vector<Want>& wants, const Explorer* ex = nullptr,
               const std::vector<CandidateScheduler::Anchor>* anchors = nullptr,
               bool coarse_anchors = false, bool allow_equal = false) {
    if (out_of_budget()) return false;
    ++tried_;
    const bool same = ex == nullptr;
    if (same) ex = ex_;
    CandidateScheduler sch(wants, same ? size_.steps : 0, size_.faults, ex->settings().depth);
    if (anchors) sch.anchor(*anchors, coarse_anchors);
    RunResult r = ex->run(sch);
    if (!r.violation || r.violation->property != property_) return false;
    // The undo of a kept fault is never dropped: a candidate that leaves more of the explorer's
    // faults in force at its end (a crash without its restart, an isolation without its heal)
    // than the original fails for another reason (a permanent fault) that the correct model
    // fails for too.
    if (r.faults_outstanding > outstanding_) return false;
    ShrinkSize s = size_of(r, sch.nodes());
    if (!(s < size_) && !(allow_equal && !(size_ < s))) return false;
    best_ = std::move(r);
    wants_ = std::move(sch.taken());
    wants_.resize(best_.picks.size());
    size_ = s;
    ++accepted_;
    return true;
  }

  bool is_injected(std::size_t i) const { return i < best_.injected.size() && best_.injected[i]; }

  // Out-of-order picks zeroed on one side of a step (injected faults kept): binary search for
  // the earliest step after which they all can go (`tail`), or the latest before which they all
  // can (head). Runs are long and most reorderings of a random walk are noise, so these remove
  // most of them in a logarithmic number of runs. The run before a kept head cut changes, so
  // the search goes on over the new best (it is the same up to a kept tail cut).
  void cut(bool tail) {
    auto zeroed = [&](std::size_t from, std::size_t to) {
      std::vector<Want> c = base();
      for (std::size_t i = from; i < std::min(to, c.size()); ++i)
        if (best_.picks[i] != 0 && !is_injected(i)) c[i] = Want{};
      return attempt(c);
    };
    auto reorders = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < std::min(to, best_.picks.size()); ++i)
        if (best_.picks[i] != 0 && !is_injected(i)) return true;
      return false;
    };
    std::size_t n = best_.picks.size();
    if (!reorders(0, n) || zeroed(0, n)) return;
    // tail: cutting from `hi` on is the best itself, from `lo` on was refused.
    // head: cutting before `lo` is the best itself, before `hi` was refused.
    std::size_t lo = 0, hi = n;
    while (hi - lo > 1 && !out_of_budget()) {
      std::size_t mid = lo + (hi - lo) / 2;
      bool kept = tail ? reorders(mid, hi) && zeroed(mid, SIZE_MAX)
                       : reorders(lo, mid) && zeroed(0, mid);
      if (tail) {
        if (kept || !reorders(mid, best_.picks.size())) hi = mid; else lo = mid;
      } else {
        if (kept || !reorders(0, mid)) lo = mid; else hi = mid;
        hi = std::min(hi, best_.picks.size());
        if (lo > hi) lo = hi;
      }
    }
  }

  void zero_chunks() {
    // ddmin over the positions of non-zero picks: zero halves, quarters, ... singles. After a
    // kept candidate the scan goes on from the same place (the positions before it are
    // unchanged: the run is the same up to there).
    for (std::size_t chunk = std::max<std::size_t>(1, nonzero_positions().size() / 2);;) {
      for (std::size_t start = 0;;) {
        if (out_of_budget()) return;
        std::vector<std::size_t> pos = nonzero_positions();
        if (start >= pos.size()) break;
        std::vector<Want> c = base();
        for (std::size_t i = start; i < std::min(pos.size(), start + chunk); ++i) c[pos[i]] = Want{};
        if (!attempt(c)) start += chunk;
      }
      if (chunk == 1) return;
      chunk = std::max<std::size_t>(1, chunk / 2);
    }
  }

  void delete_singles() {
    // A step taken out of time order, removed (the later ones move one step earlier).
    std::vector<std::size_t> pos = nonzero_positions();
    for (std::size_t j = pos.size(); j-- > 0 && !out_of_budget();) {
      std::size_t i = pos[j];
      if (i >= best_.picks.size() || best_.picks[i] == 0) continue;
      std::vector<Want> c = base();
      c.erase(c.begin() + static_cast<std::ptrdiff_t>(i));
      attempt(c);
    }
  }

  void lower_singles() {
    for (std::size_t i = 0; i < best_.picks.size() && !out_of_budget(); ++i) {
      std::uint32_t v = best_.picks[i];
      if (v <= 1) continue;
      std::vector<Want> c = base();
      c[i] = Want{};
      c[i].pick = v / 2;
      if (attempt(c)) continue;
      c = base();
      c[i] = Want{};
      c[i].pick = v - 1;
      attempt(c);
    }
  }

  // Any single step removed, every step matched by identity: the event it took is left pending
  // (it comes later, or never before the violation), and the later steps take their own events
  // out of time order where the delay bound allows. This is the only pass that adds
  // reorderings: a step that time would take but the bug does not need (a heartbeat, a boot
  // timer of a node that takes no part) goes, which the passes that zero picks cannot do
  // (they only take reorderings away). Long runs skip it (a candidate per step).
  void delete_any() {
    if (best_.picks.size() > k_delete_any_max_steps) return;
    for (std::size_t i = best_.picks.size(); i-- > 0 && !out_of_budget();) {
      if (i >= best_.picks.size() || is_injected(i)) continue;
      std::vector<Want> c = wants_;
      for (Want& w : c) w.keyed = true;
      c.erase(c.begin() + static_cast<std::ptrdiff_t>(i));
      attempt(c);
    }
  }

  // Long runs only (a random walk's storm of votes, say): the scenario re-run under canonical
  // schedules, time's order until shortly after one of its scripted faults and the latest event
  // the delay bound allows from then on, each switch in k_switch_delays_ns after each fault, the
  // last fault first. A bug that needs a disordered recovery from a fault fails under one of them
  // in far fewer steps than the walk that found it, which the passes that follow the walk step by
  // step cannot reach: they keep its schedule and only cut it (known bug (d), docs/exploration.md).
  // A schedule that fails the same property in fewer steps is replayed by index and kept as any
  // candidate is. It injects no fault, so it is tried even when the best has some.
  void canonical_schedules() {
    if (best_.picks.size() <= k_canonical_min_steps) return;
    const std::uint64_t depth = ex_->settings().depth;
    auto cap = [&] { return size_.faults == 0 ? size_.steps : 0; };
    auto consider = [&](const RunResult& r) {
      if (r.violation && r.violation->property == property_ && r.picks.size() < size_.steps)
        attempt(index_wants(r.picks));
    };
    PhasedScheduler time_order(-1, 0, cap(), depth);
    ++tried_;
    consider(ex_->run(time_order));
    for (int f = time_order.faults_taken(); f >= 0; --f) {
      for (DurationNs d : k_switch_delays_ns) {
        if (out_of_budget()) return;
        PhasedScheduler sch(f, d, cap(), depth);
        ++tried_;
        consider(ex_->run(sch));
      }
    }
  }

  void faults_later() {
    // An injected fault one step later (the step it displaced goes first).
    for (std::size_t i = 0; i + 1 < best_.picks.size() && !out_of_budget(); ++i) {
      if (!is_injected(i)) continue;
      std::vector<Want> c = base();
      std::swap(c[i], c[i + 1]);
      attempt(c);
    }
  }

  // The wanted steps with those of member `drop` of count n gone (its start, timers, messages
  // to and from it; the later members renamed down), the others in their order.
  std::vector<Want> without_member(const NodeCount& n, int drop) const {
    std::vector<Want> c;
    c.reserve(wants_.size());
    for (const Want& w0 : wants_) {
      Want w = w0;
      if (!n.boolean) {
        w.node = renamed(w.node, n.prefix, drop);
        w.from = renamed(w.from, n.prefix, drop);
        if (w.node == k_dropped || w.from == k_dropped) continue;
      }
      w.exact = exact_key(w.ident, w.injected, w.node, w.from);
      w.coarse = coarse_key(w.injected, w.kind, w.node, w.from);
      c.push_back(std::move(w));
    }
    return c;
  }

  // Each injected fault of `c` anchored right after the step before it, or (`own`) right after
  // the last step before it of the node it targets (the step before it when there is none):
  // the nth occurrence of that step's key (exact, or `coarse`).
  static std::vector<CandidateScheduler::Anchor> fault_anchors(const std::vector<Want>& c,
                                                               bool coarse, bool own) {
    std::vector<CandidateScheduler::Anchor> anchors;
    std::map<std::uint64_t, std::uint64_t> seen;
    std::vector<std::uint64_t> nth(c.size());
    auto key = [&](const Want& w) { return coarse ? w.coarse : w.exact; };
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c[i].injected && i > 0) {
        std::size_t j = i - 1;
        for (std::size_t k = i; own && k-- > 0;)
          if (!c[k].injected && c[k].node == c[i].node) {
            j = k;
            break;
          }
        anchors.push_back({key(c[j]), nth[j], c[i]});
      }
      nth[i] = ++seen[key(c[i])];
    }
    return anchors;
  }

  // Whether the steps c, on the smaller cluster that ex explores, still fail the property, in
  // one of three forms (tried in turn).
  bool attempt_smaller(std::vector<Want>& c, Explorer* ex) {
    // As they are, and with every out-of-order step left to time (the faults kept): the
    // reorderings that made the bug on the larger cluster rarely carry over.
    bool ok = attempt(c, ex);
    // Every step left to time, each injected fault right after the event it followed (by
    // identity, then by kind), then right after the last step of the node it hits: a smaller
    // cluster takes another number of steps to get to the moment the fault must hit, and the
    // step just before a fault is often another node's (a heartbeat of a node that is gone),
    // where the target's own progress (a read it made under a lock) is what the fault needs.
    for (bool own : {false, true})
      for (bool coarse : {false, true}) {
        if (ok) break;
        std::vector<CandidateScheduler::Anchor> anchors = fault_anchors(c, coarse, own);
        if (anchors.empty()) continue;
        ok = attempt({}, ex, &anchors, coarse);
      }
    if (!ok) {
      bool reordered = false;
      for (Want& w : c)
        if (w.pick != 0 && !w.injected) {
          w = Want{};
          reordered = true;
        }
      ok = reordered && attempt(c, ex);
    }
    return ok;
  }

  // Smaller clusters: each node count lowered one member at a time, trying each member as the
  // one dropped (the later ones renamed down, in what the candidate looks for), while the same
  // steps still fail the property. True when one was kept.
  bool fewer_nodes() {
    if (!opt_.scenario || !opt_.scenario->build || !opt_.scenario->registry) return false;
    const ShrinkScenario& sc = *opt_.scenario;
    bool any = false;
    for (bool again = true; again && !out_of_budget();) {
      again = false;
      for (const NodeCount& n : node_counts(ex_->spec(), liveness_)) {
        std::vector<std::string> added = overrides_;
        std::erase_if(added, [&](const std::string& o) {
          return o.compare(0, n.key.size() + 1, n.key + "=") == 0;
        });
        added.push_back(n.key + "=" +
                        (n.boolean ? std::string("false") : std::to_string(n.value - 1)));
        auto spec = std::make_shared<ScenarioSpec>();
        try {
          *spec = sc.build(added);
        } catch (const std::exception&) {
          continue;  // a fault or check names a node the smaller cluster does not have
        }
        auto ex = std::make_unique<Explorer>(*spec, *sc.registry, ex_->settings());
        // The last member first: nothing is renamed.
        for (int drop = n.boolean ? 0 : n.value; drop >= (n.boolean ? 0 : 1); --drop) {
          if (out_of_budget()) return any;
          std::vector<Want> c = without_member(n, drop);
          if (!attempt_smaller(c, ex.get())) continue;
          own_ex_.reset();  // ex_ may point at it: replace both together
          own_spec_ = std::move(spec);
          own_ex_ = std::move(ex);
          ex_ = own_ex_.get();
          overrides_ = std::move(added);
          any = again = true;
          break;
        }
        if (again) break;  // the counts of the new cluster
      }
    }
    return any;
  }

  // Shorter injected pauses: the pause length is one setting of the search (--pause-for), so a
  // candidate is the best run's picks under a shorter one, kept when the same property still
  // fails and the run is no larger. Halving finds a failing length within a factor of two of the
  // shortest, then bisection narrows it to an eighth of the gap. Needs the registry to build the
  // explorer of the new setting (ShrinkOptions::scenario).
  void shorter_pauses() {
    if (!opt_.scenario || !opt_.scenario->registry) return;
    bool paused = false;
    for (const Want& w : wants_)
      paused = paused || (w.injected && w.kind == static_cast<std::uint64_t>(InjectKind::pause));
    if (!paused) return;
    const DurationNs floor_ns = k_ms;
    auto try_pause = [&](DurationNs pause_ns) {
      Settings s = ex_->settings();
      s.pause_ns = pause_ns;
      auto ex = std::make_unique<Explorer>(ex_->spec(), *opt_.scenario->registry, s);
      if (!attempt(base(), ex.get(), nullptr, false, true)) return false;
      own_ex_.reset();  // ex_ may point at it: replace both together
      own_ex_ = std::move(ex);
      ex_ = own_ex_.get();
      pause_ns_ = pause_ns;
      return true;
    };
    DurationNs failing = ex_->settings().pause_ns;  // the shortest known to still fail
    DurationNs passing = 0;                          // the longest known not to (0: none yet)
    while (failing / 2 >= floor_ns && !out_of_budget()) {
      if (!try_pause(failing / 2)) {
        passing = failing / 2;
        break;
      }
      failing /= 2;
    }
    for (int i = 0; i < 3 && passing > 0 && failing - passing > floor_ns && !out_of_budget();
         ++i) {
      DurationNs mid = passing + (failing - passing) / 2;
      if (try_pause(mid)) {
        failing = mid;
      } else {
        passing = mid;
      }
    }
  }

  void run() {
    canonical_schedules();
    run_passes();
    shorter_pauses();
    // Last, as it costs a candidate per step: the steps the bug does not need, one at a time;
    // then the cheap passes again over what that left.
    keyed_ = true;
    std::uint64_t before = accepted_;
    delete_any();
    if (accepted_ != before) run_passes();
  }

  void run_passes() {
    fewer_nodes();
    for (;;) {
      std::uint64_t before = accepted_;
      // By index first: where a cut leaves the later reorderings pointing at other events, the
      // run stays as disordered as the search made it, which is what some bugs need (an
      // election that must keep failing to settle).
      for (bool keyed : {false, true}) {
        keyed_ = keyed;
        cut(false);
        cut(true);
      }
      for (bool keyed : {true, false}) {
        keyed_ = keyed;
        zero_chunks();
        delete_singles();
        lower_singles();
        faults_later();
        if (out_of_budget()) return;
      }
      keyed_ = true;
      fewer_nodes();
      if (accepted_ == before || out_of_budget()) return;
    }
  }

  std::vector<std::size_t> nonzero_positions() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < best_.picks.size(); ++i)
      if (best_.picks[i] != 0) out.push_back(i);
    return out;
  }

  const Explorer* ex_;
  const ShrinkOptions& opt_;
  std::shared_ptr<ScenarioSpec> own_spec_;  // the smaller cluster's, once one is kept
  std::unique_ptr<Explorer> own_ex_;
  std::vector<std::string> overrides_;
  std::optional<DurationNs> pause_ns_;  // a shorter injected pause, once one is kept
  std::string property_;
  bool liveness_ = false;  // the property is not an invariant
  int outstanding_ = 0;    // the original's faults still in force at its end
  RunResult best_;
  std::vector<Want> wants_;  // per step of best_: what it took
  bool keyed_ = true;
  int nodes_ = 0;
  ShrinkSize before_;
  ShrinkSize size_;
  std::uint64_t tried_ = 0;
  std::uint64_t accepted_ = 0;
};

}  // namespace

ShrinkResult shrink(const Explorer& explorer, const RunResult& original,
                    const ShrinkOptions& options) {
  ShrinkResult out;
  Shrinker s(explorer, original, options);
  s.run();
  out.before = s.before_;
  out.after = s.size_;
  out.candidates = s.tried_;
  out.accepted = s.accepted_;
  out.overrides = s.overrides_;
  out.spec = s.own_spec_;
  out.pause_ns = s.pause_ns_;
  // Record only the winner, with its steps, for the trace: by index, as `replay` will run it.
  out.best = s.ex_->replay(s.best_.picks, true);
  return out;
}

ShrinkResult shrink(const Explorer& explorer, const RunResult& original,
                    std::uint64_t max_candidates, const std::function<bool()>& should_stop) {
  ShrinkOptions o;
  o.max_candidates = max_candidates;
  o.should_stop = should_stop;
  return shrink(explorer, original, o);
}

}  // namespace stampede::explore
