#include "sim/kernel/kernel.hpp"

#include <algorithm>
#include <unordered_set>

#include "sim/core/assert.hpp"
#include "sim/core/recording_ctx.hpp"

namespace stampede {

// Order keys: scripted faults run first at their instant, timed checks last, and everything else
// in between in an order the Chooser picks.
static constexpr std::uint64_t k_key_first = 0;
static constexpr std::uint64_t k_key_last = UINT64_MAX;
static constexpr std::uint64_t k_key_resumed = 1;
static constexpr std::int64_t k_key_random_max = (std::int64_t{1} << 62);

struct Kernel::Event {
  TimeNs time_ns = 0;
  std::uint64_t key = 0;
  std::uint64_t seq = 0;
  StepKind kind = StepKind::deliver;
  NodeId node = k_no_node;
  NodeId from = k_no_node;
  std::uint32_t epoch = 0;  // the node's incarnation when the event was scheduled
  TimerId timer = 0;
  std::uint64_t tag = 0;    // timer tag or action index
  Message msg;
};

// The heap holds small entries that point into a slab of events: sifting moves 32 bytes instead
// of a whole event with its message.
struct Kernel::HeapEntry {
  TimeNs time_ns;
  std::uint64_t key;
  std::uint64_t seq;
  std::uint32_t slot;
};

struct Kernel::EventOrder {
  // std heap functions build a max-heap: "less" means "runs later".
  bool operator()(const HeapEntry& x, const HeapEntry& y) const {
    if (x.time_ns != y.time_ns) return x.time_ns > y.time_ns;
    if (x.key != y.key) return x.key > y.key;
    return x.seq > y.seq;
  }
};

struct Kernel::NodeSlot {
  std::string name;
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeCtx> ctx;
  bool up = true;
  std::uint32_t epoch = 0;
  TimeNs paused_until_ns = 0;      // > now while paused
  DurationNs skew_ns = 0;
  std::unordered_set<TimerId> live_timers;  // look-ups only; never iterated
  std::vector<Event> deferred;              // events that arrived while paused, in order
};

class Kernel::NodeCtx final : public RecordingCtx {
 public:
  NodeCtx(Kernel& k, NodeId id)
      : RecordingCtx(id, k.recorder_, k.options_.timings, k.options_.mechanisms,
                     k.options_.keep_debug_logs),
        k_(k),
        id_(id) {}
  TimeNs now() const override { return k_.now_ns_ + k_.nodes_[id_]->skew_ns; }
  NodeId self() const override { return id_; }
  NodeId lookup(std::string_view name) const override { return k_.find(name); }
  std::string_view name_of(NodeId id) const override { return k_.node_name(id); }

  void send(NodeId to, Message msg) override {
    STAMPEDE_ASSERT(to < k_.nodes_.size(), "send to an unknown node");
    Network& net = *k_.network_;
    if (!net.reachable(id_, to)) return;  // the connection fails at once
    if (net.sample_drop(*k_.chooser_)) return;
    int copies = net.sample_duplicate(*k_.chooser_) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      Event ev;
      ev.time_ns = k_.now_ns_ + net.sample_latency(*k_.chooser_);
      ev.kind = StepKind::deliver;
      ev.node = to;
      ev.from = id_;
      ev.epoch = k_.nodes_[to]->epoch;
      ev.msg = msg;
      k_.push(std::move(ev));
    }
  }

  TimerId set_timer(DurationNs after, std::uint64_t tag) override {
    STAMPEDE_ASSERT(after >= 0, "a timer cannot fire in the past");
    Event ev;
    ev.time_ns = k_.now_ns_ + after;
    ev.kind = StepKind::timer;
    ev.node = id_;
    ev.epoch = k_.nodes_[id_]->epoch;
    ev.timer = k_.next_timer_++;
    ev.tag = tag;
    k_.nodes_[id_]->live_timers.insert(ev.timer);
    TimerId id = ev.timer;
    k_.push(std::move(ev));
    return id;
  }

  void cancel_timer(TimerId id) override { k_.nodes_[id_]->live_timers.erase(id); }

  std::int64_t random(std::int64_t lo, std::int64_t hi) override {
    return k_.chooser_->uniform(ChoiceKind::model, lo, hi);
  }

  TimeNs record_time() const override { return k_.now_ns_; }

 private:
  Kernel& k_;
  NodeId id_;
};

std::string_view step_kind_name(StepKind k) {
  switch (k) {
    case StepKind::start: return "start";
    case StepKind::deliver: return "deliver";
    case StepKind::timer: return "timer";
    case StepKind::fault: return "fault";
    case StepKind::check: return "check";
    case StepKind::resume: return "resume";
  }
  return "?";
}

std::optional<StepKind> step_kind_from_name(std::string_view name) {
  for (StepKind k : {StepKind::start, StepKind::deliver, StepKind::timer, StepKind::fault,
                     StepKind::check, StepKind::resume})
    if (step_kind_name(k) == name) return k;
  return std::nullopt;
}

Kernel::Kernel(Options options, Chooser* chooser)
    : options_(std::move(options)), network_(std::make_unique<Network>(options_.network)) {
  if (chooser == nullptr) {
    own_chooser_ = std::make_unique<SeededChooser>(options_.seed);
    chooser_ = own_chooser_.get();
  } else {
    chooser_ = chooser;
  }
  assert_context().seed = options_.seed;
  assert_context().step = 0;
}

Kernel::~Kernel() = default;

NodeId Kernel::add_node(std::string name, std::unique_ptr<Node> node) {
  STAMPEDE_ASSERT(!started_, "nodes are added before the run starts");
  STAMPEDE_ASSERT(find(name) == k_no_node, "node names are unique");
  NodeId id = static_cast<NodeId>(nodes_.size());
  by_name_.emplace(name, id);
  auto slot = std::make_unique<NodeSlot>();
  slot->name = std::move(name);
  slot->node = std::move(node);
  slot->ctx = std::make_unique<NodeCtx>(*this, id);
  nodes_.push_back(std::move(slot));
  network_->add_node();
  return id;
}

void Kernel::push(Event ev, std::optional<std::uint64_t> key) {
  ev.seq = seq_++;
  if (key) {
    ev.key = *key;
  } else if (ev.kind == StepKind::fault || ev.kind == StepKind::resume) {
    ev.key = k_key_first;
  } else if (ev.kind == StepKind::check) {
    ev.key = k_key_last;
  } else {
    ev.key = static_cast<std::uint64_t>(chooser_->uniform(ChoiceKind::order, 1, k_key_random_max));
  }
  std::uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slab_.size());
    slab_.push_back(std::move(ev));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slab_[slot] = std::move(ev);
  }
  const Event& e = slab_[slot];
  heap_.push_back(HeapEntry{e.time_ns, e.key, e.seq, slot});
  std::push_heap(heap_.begin(), heap_.end(), EventOrder{});
}

void Kernel::at(TimeNs t, StepKind kind, std::function<void()> fn) {
  STAMPEDE_ASSERT(kind == StepKind::fault || kind == StepKind::check,
                  "scheduled actions are faults or checks");
  Event ev;
  ev.time_ns = std::max(t, now_ns_);
  ev.kind = kind;
  ev.tag = actions_.size();
  actions_.push_back(std::move(fn));
  push(std::move(ev));
}

void Kernel::run_until(TimeNs until_ns) {
  if (!started_) {
    started_ = true;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      Event ev;
      ev.time_ns = 0;
      ev.kind = StepKind::start;
      ev.node = id;
      push(std::move(ev));
    }
  }
  while (!heap_.empty() && !stopped_) {
    if (heap_.front().time_ns > until_ns) break;
    std::pop_heap(heap_.begin(), heap_.end(), EventOrder{});
    std::uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    Event ev = std::move(slab_[slot]);
    free_slots_.push_back(slot);
    now_ns_ = ev.time_ns;
    dispatch(ev);
    for (StepObserver* o : observers_)
      if (o->stop_requested()) stopped_ = true;
  }
  if (!stopped_) now_ns_ = std::max(now_ns_, until_ns);
}

void Kernel::dispatch(Event& ev) {
  StepInfo info;
  info.time_ns = now_ns_;
  info.kind = ev.kind;
  info.node = ev.node;
  switch (ev.kind) {
    case StepKind::fault:
    case StepKind::check: {
      info.detail = ev.tag;
      // The step is counted before the action runs, so that an assertion inside the action names
      // this step; observers see the state after it.
      finish_step(info);
      actions_[ev.tag]();
      for (StepObserver* o : observers_) o->on_step(info);
      return;
    }
    case StepKind::resume: {
      NodeSlot& s = *nodes_[ev.node];
      if (!s.up || s.epoch != ev.epoch || s.paused_until_ns > now_ns_) return;
      finish_step(info);
      std::vector<Event> deferred = std::move(s.deferred);
      s.deferred.clear();
      // Deferred events keep their arrival order: a fixed key leaves them ordered by sequence.
      for (Event& d : deferred) {
        d.time_ns = now_ns_;
        push(std::move(d), k_key_resumed);
      }
      for (StepObserver* o : observers_) o->on_step(info);
      return;
    }
    default: break;
  }
  NodeSlot& s = *nodes_[ev.node];
  if (ev.kind != StepKind::start) {
    if (!s.up || ev.epoch != s.epoch) return;  // lost with the crash
    if (ev.kind == StepKind::timer && s.live_timers.count(ev.timer) == 0) return;  // cancelled
  }
  if (s.paused_until_ns > now_ns_) {
    s.deferred.push_back(std::move(ev));
    return;
  }
  switch (ev.kind) {
    case StepKind::start:
      finish_step(info);
      s.node->on_start(*s.ctx);
      break;
    case StepKind::deliver:
      if (!network_->reachable(ev.from, ev.node)) return;  // cut while in flight
      info.from = ev.from;
      info.msg_type = ev.msg.type;
      info.detail = ev.msg.digest();
      ++messages_delivered_;
      finish_step(info);
      s.node->on_message(*s.ctx, ev.from, ev.msg);
      break;
    case StepKind::timer:
      s.live_timers.erase(ev.timer);
      info.detail = ev.tag;
      finish_step(info);
      s.node->on_timer(*s.ctx, ev.tag);
      break;
    default: break;
  }
  for (StepObserver* o : observers_) o->on_step(info);
}

void Kernel::finish_step(StepInfo& info) {
  info.index = ++step_index_;
  assert_context().step = step_index_;
  rolling_hash_ = fold_step(rolling_hash_, info);
  info.rolling_hash = rolling_hash_;
}

void Kernel::crash(NodeId id) {
  NodeSlot& s = *nodes_[id];
  if (!s.up) return;
  s.up = false;
  ++s.epoch;
  s.paused_until_ns = 0;
  s.deferred.clear();
  s.live_timers.clear();
  s.node->on_crash();
}

void Kernel::restart(NodeId id) {
  NodeSlot& s = *nodes_[id];
  if (s.up) return;
  s.up = true;
  ++s.epoch;
  Event ev;
  ev.time_ns = now_ns_;
  ev.kind = StepKind::start;
  ev.node = id;
  ev.epoch = s.epoch;
  push(std::move(ev));
}

void Kernel::pause(NodeId id, DurationNs for_ns) {
  NodeSlot& s = *nodes_[id];
  if (!s.up) return;
  s.paused_until_ns = std::max(s.paused_until_ns, now_ns_ + for_ns);
  Event ev;
  ev.time_ns = s.paused_until_ns;
  ev.kind = StepKind::resume;
  ev.node = id;
  ev.epoch = s.epoch;
  push(std::move(ev));
}

void Kernel::set_clock_skew(NodeId id, DurationNs skew_ns) { nodes_[id]->skew_ns = skew_ns; }

bool Kernel::model_fault(const ModelFault& f) {
  for (auto& s : nodes_)
    if (s->up && s->node->on_fault(*s->ctx, f)) return true;
  return false;
}

std::string_view Kernel::node_name(NodeId id) const { return nodes_[id]->name; }

NodeId Kernel::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? k_no_node : it->second;
}

bool Kernel::is_up(NodeId id) const { return nodes_[id]->up; }
const Node& Kernel::node(NodeId id) const { return *nodes_[id]->node; }

std::uint64_t Kernel::digest() const {
  return world_digest(rolling_hash_, step_index_, *this);
}

}  // namespace stampede
