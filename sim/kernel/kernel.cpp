#include "sim/kernel/kernel.hpp"

#include <algorithm>
#include <bit>

#include "sim/core/assert.hpp"
#include "sim/core/recording_ctx.hpp"

namespace stampede {

// Order keys: scripted faults run first at their instant, timed checks last, and everything else
// in between in an order the Chooser picks.
static constexpr std::uint64_t k_key_first = 0;
static constexpr std::uint64_t k_key_last = UINT64_MAX;
static constexpr std::uint64_t k_key_resumed = 1;
static constexpr std::int64_t k_key_random_max = (std::int64_t{1} << 62);

namespace {
// Everything of a kernel event but its message: plain values, so that the kernel puts a freed
// slot back in its default state with a few stores (Kernel::free_slot).
struct EventFields {
  TimeNs time_ns = 0;
  std::uint64_t key = 0;
  std::uint64_t seq = 0;
  static constexpr std::uint32_t k_no_slot = UINT32_MAX;
  StepKind kind = StepKind::deliver;
  bool on_link = false;  // pushed by push_on_link (its direction's chain)
  NodeId node = k_no_node;
  NodeId from = k_no_node;
  std::uint32_t epoch = 0;  // the node's incarnation when the event was scheduled
  std::uint32_t conn_gen = 0;  // stream deliveries and connection events: the connection
  // push_on_link's events: the slot of the next pending event of the same direction (in what
  // was padding before the timer id: the two fields cost no bytes).
  std::uint32_t next = k_no_slot;
  // tcp_retransmit (sim/net/connections.hpp): a held stream message's place in its direction's
  // queue (0: not held), and whether this is its last timer expiry, which times the connection
  // out instead of delivering it.
  std::uint32_t ticket = 0;
  bool expiry = false;
  bool local = false;  // a `closed` event the node's own TCP raises (ETIMEDOUT): no link to cross
  // A stream message that crossed its link (tcp_retransmit): a cut since, while it waits for
  // its paused receiver, loses nothing (the SimGrid engine's inbox behaves so).
  bool arrived = false;
  TimerId timer = 0;
  std::uint64_t tag = 0;  // timer tag or action index
  // Stream deliveries: the pair's entry in the connection table, which send_stream found.
  Connections::Handle conn;
};
}  // namespace

struct Kernel::Event : EventFields {
  Message msg;
};

inline Kernel::Event& Kernel::slab(std::uint32_t slot) {
  return slab_[slot / k_chunk][slot % k_chunk];
}

inline std::uint32_t Kernel::new_slot() {
  if (!free_slots_.empty()) [[likely]] {
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  return grow_slab();
}

static std::uint64_t direction_key(NodeId from, NodeId to) {
  return (std::uint64_t{from} << 32) | to;
}

EventQueue* Kernel::next_queue() {
  if (timer_queue_.empty()) return event_queue_.empty() ? nullptr : &event_queue_;
  if (event_queue_.empty()) return &timer_queue_;
  return EventQueue::earlier(timer_queue_.top(), event_queue_.top()) ? &timer_queue_
                                                                     : &event_queue_;
}

struct Kernel::NodeSlot {
  std::string name;
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeCtx> ctx;
  bool up = true;
  bool powered = true;             // false between power_off and power_on
  std::uint32_t epoch = 0;
  TimeNs paused_until_ns = 0;      // > now while paused
  DurationNs skew_ns = 0;
  std::vector<Event> deferred;              // events that arrived while paused, in order
};

class Kernel::NodeCtx final : public RecordingCtx {
 public:
  NodeCtx(Kernel& k, NodeId id)
      : RecordingCtx(id, k.recorder_, k.options_.timings, k.options_.mechanisms,
                     k.options_.keep_debug_logs),
        k_(k),
        id_(id) {}
  TimeNs now() const override { return k_.now_ns_ + k_.nodes_[id_].skew_ns; }
  NodeId self() const override { return id_; }
  std::uint32_t stream_connection() const override { return stream_connection_; }
  NodeId lookup(std::string_view name) const override { return k_.find(name); }
  std::string_view name_of(NodeId id) const override { return k_.node_name(id); }

  void send(NodeId to, Message msg) override {
    STAMPEDE_ASSERT(to < k_.nodes_.size(), "send to an unknown node");
    if (msg.transport == Transport::stream && to != id_) {
      k_.send_stream(id_, to, std::move(msg));
      return;
    }
    Network& net = *k_.network_;
    if (!net.reachable(id_, to)) return;  // lost on the cut link
    if (net.sample_drop(*k_.chooser_)) return;
    int copies = net.sample_duplicate(*k_.chooser_) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      Event ev;
      ev.time_ns = k_.now_ns_ + net.sample_latency(*k_.chooser_);
      ev.kind = StepKind::deliver;
      ev.node = to;
      ev.from = id_;
      ev.epoch = k_.nodes_[to].epoch;
      // The last copy takes the message itself: no reference count to touch.
      if (i + 1 == copies) {
        ev.msg = std::move(msg);
      } else {
        ev.msg = msg;
      }
      k_.push(std::move(ev));
    }
  }

  void close_connection(NodeId to) override {
    STAMPEDE_ASSERT(to < k_.nodes_.size() && to != id_, "close a connection to an unknown node");
    if (k_.connections_.close(id_, to, k_.network_->reachable(id_, to)))
      k_.notify(to, id_, ConnectionEvent::closed, k_.connections_.generation(id_, to),
                k_.network_->sample_latency(*k_.chooser_));
  }

  TimerId set_timer(DurationNs after, std::uint64_t tag) override {
    STAMPEDE_ASSERT(after >= 0, "a timer cannot fire in the past");
    const std::uint32_t slot = k_.new_slot();
    Event& ev = k_.slab(slot);
    ev.time_ns = k_.now_ns_ + after;
    ev.kind = StepKind::timer;
    ev.node = id_;
    ev.epoch = k_.nodes_[id_].epoch;
    ev.timer = k_.next_timer_++;
    ev.tag = tag;
    k_.timer_owner_.set(ev.timer, id_);
    k_.push_slot(slot);
    return ev.timer;
  }

  void cancel_timer(TimerId id) override {
    // Only the node that set a timer can cancel it, as when each node kept its own set.
    if (k_.timer_owner_.owner(id) == id_) {
      k_.timer_owner_.clear(id);
      k_.note_cancelled();
    }
  }

  void exit_process(const std::function<bool(std::uint64_t)>& keeps_timer) override {
    k_.cancel_timers(id_, keeps_timer);
  }

  std::int64_t random(std::int64_t lo, std::int64_t hi) override {
    return k_.chooser_->uniform(ChoiceKind::model, lo, hi);
  }

  TimeNs record_time() const override { return k_.now_ns_; }

  // What stream_connection() answers: the kernel sets it around on_message and on_connection.
  std::uint32_t stream_connection_ = 0;

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
    case StepKind::connection: return "connection";
  }
  return "?";
}

std::optional<StepKind> step_kind_from_name(std::string_view name) {
  for (StepKind k : {StepKind::start, StepKind::deliver, StepKind::timer, StepKind::fault,
                     StepKind::check, StepKind::resume, StepKind::connection})
    if (step_kind_name(k) == name) return k;
  return std::nullopt;
}

Kernel::Kernel(Options options, Chooser* chooser)
    : options_(std::move(options)),
      network_(std::make_unique<Network>(options_.network)),
      connections_(Connections::from(options_.mechanisms)) {
  if (chooser == nullptr) {
    own_chooser_ = std::make_unique<SeededChooser>(options_.seed);
    chooser_ = own_chooser_.get();
  } else {
    chooser_ = chooser;
  }
  assert_context().seed = options_.seed;
  assert_context().step = 0;
  changes_.enable();  // finish_step, kill, restart and model_fault record every change
}

Kernel::~Kernel() = default;

NodeId Kernel::add_node(std::string name, std::unique_ptr<Node> node) {
  STAMPEDE_ASSERT(!started_, "nodes are added before the run starts");
  STAMPEDE_ASSERT(find(name) == k_no_node, "node names are unique");
  NodeId id = static_cast<NodeId>(nodes_.size());
  by_name_.emplace(name, id);
  NodeSlot& slot = nodes_.emplace_back();
  slot.name = std::move(name);
  slot.node = std::move(node);
  slot.ctx = std::make_unique<NodeCtx>(*this, id);
  network_->add_node();
  return id;
}

void Kernel::push(Event&& ev, std::optional<std::uint64_t> key) {
  push_slot(store(std::move(ev)), key);
}

void Kernel::push_slot(std::uint32_t slot, std::optional<std::uint64_t> key) {
  Event& ev = slab(slot);
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
  (ev.kind == StepKind::timer ? timer_queue_ : event_queue_).push(ev.time_ns, ev.key, ev.seq, slot);
}

std::uint32_t Kernel::grow_slab() {
  if (slots_ % k_chunk == 0) slab_.push_back(std::make_unique<Event[]>(k_chunk));
  return slots_++;
}

void Kernel::free_slot(std::uint32_t slot) {
  // Not `= Event{}`, which builds a whole event and moves it in: this runs after every step.
  Event& e = slab(slot);
  static_cast<EventFields&>(e) = EventFields{};
  e.msg = Message{};
  free_slots_.push_back(slot);
}

std::uint32_t Kernel::store(Event&& ev) {
  const std::uint32_t slot = new_slot();
  slab(slot) = std::move(ev);
  return slot;
}

void Kernel::push_on_link(Event&& ev) {
  push_on_link_slot(store(std::move(ev)));
}

void Kernel::push_on_link_slot(std::uint32_t slot) {
  Event& ev = slab(slot);
  // The same sequence number and order key as push() would give, drawn at the same moment.
  ev.seq = seq_++;
  ev.key = static_cast<std::uint64_t>(chooser_->uniform(ChoiceKind::order, 1, k_key_random_max));
  ev.on_link = true;
  ev.next = Event::k_no_slot;
  auto [tail, first] = link_tails_.try_emplace(direction_key(ev.from, ev.node), slot);
  if (!first) {
    // Its time is later than that of every pending event of the direction: it waits its turn.
    slab(*tail).next = slot;
    *tail = slot;
    return;
  }
  event_queue_.push(ev.time_ns, ev.key, ev.seq, slot);
}

void Kernel::release_next_on_link(const Event& ev) {
  if (!ev.on_link) return;
  if (ev.next == Event::k_no_slot) {
    link_tails_.erase(direction_key(ev.from, ev.node));
    return;
  }
  const Event& n = slab(ev.next);
  event_queue_.push(n.time_ns, n.key, n.seq, ev.next);
}

void Kernel::note_cancelled() {
  // Most timers are request timeouts, cancelled when the answer comes, so without this the queue
  // would be mostly dead entries and every push and pop would sift through them. Dropping them
  // in one pass once they are two thirds of the queue costs O(1) per cancel and changes no
  // order: the queue orders events totally (time, key, sequence number), however it is laid
  // out. At half, the HA hour spent more on the drops than a deeper heap costs.
  ++cancelled_in_queue_;
  if (cancelled_in_queue_ < 16 || cancelled_in_queue_ * 3 < timer_queue_.size() * 2) return;
  // The live entries are kept in place (EventQueue::retain): no buffer is allocated, and O(n)
  // instead of a push per entry. A vector of thousands of entries allocated and freed at every
  // drop was 2% of the HA hour (bench/RESULTS.md, session 22).
  timer_queue_.retain([this](const EventQueue::Entry& h) {
    const Event& e = slab(h.slot);
    if (timer_owner_.owner(e.timer) == e.node) return true;
    free_slot(h.slot);
    return false;
  });
  cancelled_in_queue_ = 0;
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
  if (watchers_.size() != nodes_.size()) find_watchers();
  while (!stopped_) {
    EventQueue* queue = next_queue();
    if (queue == nullptr || queue->top().time_ns > until_ns) break;
    // The step runs on its event where it lies in the slab, which keeps its place meanwhile.
    const std::uint32_t slot = queue->pop().slot;
    Event& ev = slab(slot);
    release_next_on_link(ev);
    now_ns_ = ev.time_ns;
    dispatch(ev);
    free_slot(slot);
    for (StepObserver* o : stoppers_)
      if (o->stop_requested()) stopped_ = true;
  }
  if (step_index_ > 0)
    for (StepObserver* o : observers_) o->on_paused(last_step_ns_);
  if (!stopped_) now_ns_ = std::max(now_ns_, until_ns);
}

void Kernel::find_watchers() {
  watchers_.assign(nodes_.size(), 0);
  message_watchers_.clear();
  if (observers_.size() > k_max_watched) return;
  for (NodeId id = 0; id < nodes_.size(); ++id)
    for (std::size_t i = 0; i < observers_.size(); ++i)
      if (observers_[i]->watches(*this, id)) watchers_[id] |= std::uint64_t{1} << i;
}

std::uint64_t Kernel::message_watchers(std::uint32_t type) {
  static constexpr std::uint32_t k_table_size = 1u << 16;
  std::uint64_t mask = k_known;
  for (std::size_t i = 0; i < observers_.size(); ++i)
    if (observers_[i]->watches_message(type)) mask |= std::uint64_t{1} << i;
  if (type >= k_table_size) return mask;
  if (type >= message_watchers_.size()) message_watchers_.resize(type + 1, 0);
  message_watchers_[type] = mask;
  return mask;
}

inline void Kernel::show_watchers(const StepInfo& info) {
  if (observers_.size() > k_max_watched) [[unlikely]] {
    for (StepObserver* o : observers_) o->on_step(info);
    return;
  }
  std::uint64_t mask = watchers_[info.node];
  if (info.kind == StepKind::deliver && mask != 0) {
    const std::uint32_t t = info.msg_type;
    const std::uint64_t known = t < message_watchers_.size() ? message_watchers_[t] : 0;
    mask &= (known & k_known) != 0 ? known : message_watchers(t);
    mask &= ~k_known;
  }
  for (; mask != 0; mask &= mask - 1) observers_[std::countr_zero(mask)]->on_step(info);
}

// Fault, check and resume steps, which the engine runs itself. Returns false for other kinds.
bool Kernel::dispatch_engine_step(Event& ev, StepInfo& info) {
  switch (ev.kind) {
    case StepKind::fault:
    case StepKind::check: {
      info.detail = ev.tag;
      // The step is counted before the action runs, so that an assertion inside the action names
      // this step; observers see the state after it.
      finish_step(info);
      actions_[ev.tag]();
      for (StepObserver* o : observers_) o->on_step(info);
      return true;
    }
    case StepKind::resume: {
      NodeSlot& s = nodes_[ev.node];
      if (!s.up || s.epoch != ev.epoch || s.paused_until_ns > now_ns_) return true;
      finish_step(info);
      std::vector<Event> deferred = std::move(s.deferred);
      s.deferred.clear();
      // Deferred events keep their arrival order: a fixed key leaves them ordered by sequence.
      for (Event& d : deferred) {
        d.time_ns = now_ns_;
        d.on_link = false;  // its direction's chain let the next one go when it was popped
        push(std::move(d), k_key_resumed);
      }
      for (StepObserver* o : observers_) o->on_step(info);
      return true;
    }
    default: return false;
  }
}

void Kernel::dispatch(Event& ev) {
  StepInfo info;
  info.time_ns = now_ns_;
  info.kind = ev.kind;
  info.node = ev.node;
  // Most steps are deliveries and timers: the call is made only for the engine's own kinds.
  const bool engine_step =
      ev.kind == StepKind::fault || ev.kind == StepKind::check || ev.kind == StepKind::resume;
  if (engine_step && dispatch_engine_step(ev, info)) return;
  NodeSlot& s = nodes_[ev.node];
  if (ev.kind != StepKind::start) {
    if (!s.up || ev.epoch != s.epoch) return;  // lost with the crash
    if (ev.kind == StepKind::timer && timer_owner_.owner(ev.timer) != ev.node) return;  // cancelled
  }
  if (ev.kind == StepKind::deliver && ev.msg.transport == Transport::stream &&
      connections_.retransmits() && !ev.arrived) {
    // Nothing held anywhere and the link up: it arrives now, as retransmit() would say; the
    // connection's liveness is checked below, as for every stream message.
    const bool fast =
        ev.ticket == 0 && !connections_.holds_any() && network_->reachable(ev.from, ev.node);
    if (!fast) {
      if (!connections_.live(ev.conn, ev.conn_gen)) return;  // reset while it travelled
      if (!arrives_on_stream(ev)) return;  // held for retransmission, or timed out
    }
    ev.arrived = true;
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
      if (ev.msg.transport == Transport::stream && !connections_.live(ev.conn, ev.conn_gen))
        return;  // the connection was reset while it travelled
      if (!ev.arrived && !network_->reachable(ev.from, ev.node)) return;  // cut while in flight
      info.from = ev.from;
      info.msg_type = ev.msg.type;
      info.detail = ev.msg.digest();
      ++messages_delivered_;
      finish_step(info);
      s.ctx->stream_connection_ = ev.msg.transport == Transport::stream ? ev.conn_gen : 0;
      s.node->on_message(*s.ctx, ev.from, ev.msg);
      s.ctx->stream_connection_ = 0;
      break;
    case StepKind::timer:
      timer_owner_.clear(ev.timer);
      info.detail = ev.tag;
      finish_step(info);
      s.node->on_timer(*s.ctx, ev.tag);
      break;
    case StepKind::connection:
      dispatch_connection(ev, info);
      return;
    default: break;
  }
  show_watchers(info);
}

void Kernel::finish_step(StepInfo& info) {
  changes_.step(info.node, info.kind == StepKind::fault || info.kind == StepKind::check);
  info.index = ++step_index_;
  last_step_ns_ = info.time_ns;
  assert_context().step = step_index_;
  rolling_hash_ = fold_step(rolling_hash_, info);
  info.rolling_hash = rolling_hash_;
}

void Kernel::crash(NodeId id) { kill(id, true); }

void Kernel::power_off(NodeId id) {
  kill(id, false);
  nodes_[id].powered = false;
}

void Kernel::power_on(NodeId id) {
  nodes_[id].powered = true;
  restart(id);
}

void Kernel::kill(NodeId id, bool loud) {
  NodeSlot& s = nodes_[id];
  if (!s.up) return;
  changes_.node(id);
  s.up = false;
  ++s.epoch;
  s.paused_until_ns = 0;
  s.deferred.clear();
  // Its timers die with it (their events also carry the old epoch, which would be enough to keep
  // them from firing; cancelling them lets note_cancelled drop them from the queue).
  cancel_timers(id, nullptr);
  // The process's sockets close once the kernel has torn it down (Node::exit_teardown_ns).
  const DurationNs teardown_ns = loud ? s.node->exit_teardown_ns() : 0;
  if (loud)
    s.node->on_crash();
  else
    s.node->on_power_loss(now_ns_);
  if (!loud) {
    connections_.power_off(id);
    return;
  }
  for (NodeId peer : connections_.crash(id, [&](NodeId p) { return network_->reachable(id, p); }))
    notify(peer, id, ConnectionEvent::closed, connections_.generation(id, peer),
           teardown_ns + network_->sample_latency(*chooser_));
}

void Kernel::cancel_timers(NodeId id, const std::function<bool(std::uint64_t)>& keeps_timer) {
  // Collected first: note_cancelled may rebuild the queue. The order in which they are cancelled
  // shows nowhere (a cancelled timer is only skipped).
  std::vector<TimerId> doomed;
  for (const EventQueue::Entry& h : timer_queue_.entries()) {
    const Event& e = slab(h.slot);
    if (e.node == id && timer_owner_.owner(e.timer) == id && !(keeps_timer && keeps_timer(e.tag)))
      doomed.push_back(e.timer);
  }
  for (TimerId t : doomed) {
    timer_owner_.clear(t);
    note_cancelled();
  }
}

void Kernel::restart(NodeId id) {
  NodeSlot& s = nodes_[id];
  if (s.up || !s.powered) return;
  changes_.node(id);
  s.up = true;
  ++s.epoch;
  Event ev;
  ev.time_ns = now_ns_;
  ev.kind = StepKind::start;
  ev.node = id;
  ev.epoch = s.epoch;
  push(std::move(ev));
}

void Kernel::send_stream(NodeId from, NodeId to, Message&& msg) {
  Connections::Ends ends;
  ends.link_up = network_->reachable(from, to);
  ends.host_on = nodes_[to].powered;
  ends.process_up = nodes_[to].up;
  ends.from_epoch = nodes_[from].epoch;
  ends.to_epoch = nodes_[to].epoch;
  ends.drop = ends.link_up && network_->sample_drop(*chooser_);
  const Connections::Verdict v = connections_.send(from, to, ends);
  switch (v.outcome) {
    case Connections::Outcome::deliver: {
      const TimeNs at_ns =
          connections_.arrival(v.pair, from, to, now_ns_ + network_->sample_latency(*chooser_));
      const std::uint32_t slot = new_slot();
      Event& ev = slab(slot);
      ev.time_ns = at_ns;
      ev.kind = StepKind::deliver;
      ev.node = to;
      ev.from = from;
      ev.epoch = nodes_[to].epoch;
      ev.conn_gen = v.generation;
      ev.conn = v.pair;
      ev.msg = std::move(msg);
      push_on_link_slot(slot);
      return;
    }
    case Connections::Outcome::lost: return;
    case Connections::Outcome::refused:
    case Connections::Outcome::reset: break;
  }
  const ConnectionEvent what = v.outcome == Connections::Outcome::refused
                                   ? ConnectionEvent::refused
                                   : ConnectionEvent::closed;
  if (v.outcome == Connections::Outcome::refused || v.notify_sender) {
    const DurationNs there_ns = network_->sample_latency(*chooser_);
    notify(from, to, what, v.generation, there_ns + network_->sample_latency(*chooser_));
  }
  if (v.notify_peer)
    notify(to, from, ConnectionEvent::closed, v.generation, network_->sample_latency(*chooser_));
}

bool Kernel::arrives_on_stream(Event& ev) {
  if (ev.expiry) {
    // The retransmission timer's last expiry: the sender's TCP gives up (ETIMEDOUT).
    if (connections_.time_out(ev.from, ev.node, ev.conn_gen, ev.ticket))
      notify(ev.from, ev.node, ConnectionEvent::closed, ev.conn_gen, 0, true);
    return false;
  }
  const Connections::Retransmit r =
      connections_.retransmit(ev.from, ev.node, ev.ticket, network_->reachable(ev.from, ev.node),
                              now_ns_, 2 * network_->mean_latency());
  if (r.kind == Connections::Retransmit::Kind::deliver) return true;
  if (r.kind == Connections::Retransmit::Kind::lost) return false;
  // It waits for the retransmission on its direction's chain, behind what is there already,
  // as Connections::arrival keeps the direction's times increasing.
  ev.ticket = r.ticket;
  ev.expiry = r.kind == Connections::Retransmit::Kind::time_out;
  const DurationNs travel_ns = ev.expiry ? 0 : network_->sample_latency(*chooser_);
  ev.time_ns = connections_.arrival(ev.from, ev.node, r.at_ns + travel_ns);
  push_on_link(std::move(ev));
  return false;
}

void Kernel::notify(NodeId node, NodeId peer, ConnectionEvent event, std::uint32_t generation,
                    DurationNs after_ns, bool local) {
  Event ev;
  ev.kind = StepKind::connection;
  ev.node = node;
  ev.from = peer;
  ev.epoch = nodes_[node].epoch;
  ev.conn_gen = generation;
  ev.tag = static_cast<std::uint64_t>(event);
  ev.local = local;
  if (local) {
    // Nothing travels, so it waits behind nothing the peer sent (which may itself be held).
    ev.time_ns = now_ns_ + after_ns;
    push(std::move(ev));
    return;
  }
  ev.time_ns = connections_.arrival(peer, node, now_ns_ + after_ns);
  push_on_link(std::move(ev));
}

void Kernel::dispatch_connection(Event& ev, StepInfo& info) {
  const auto event = static_cast<ConnectionEvent>(ev.tag);
  if (ev.local) {
    // Raised by the node's own TCP: nothing travels, and the table already has the connection
    // broken (Connections::time_out).
  } else if (connections_.holding(ev.from, ev.node)) {
    // tcp_retransmit: behind the data held on its direction (FIFO), which arrives first.
    ev.time_ns = connections_.arrival(ev.from, ev.node, now_ns_);
    push_on_link(std::move(ev));
    return;
  } else if (event == ConnectionEvent::closed) {
    if (!connections_.awaits(ev.node, ev.from, ev.conn_gen)) return;  // closed it itself
    const bool arrives = network_->reachable(ev.from, ev.node);
    connections_.notice_done(ev.node, ev.from, ev.conn_gen, arrives);
    if (!arrives) return;  // the FIN or RST was lost: the connection is broken, silently
  } else if (!network_->reachable(ev.from, ev.node)) {
    return;
  }
  NodeSlot& s = nodes_[ev.node];
  info.from = ev.from;
  info.detail = ev.tag;
  finish_step(info);
  s.ctx->stream_connection_ = ev.conn_gen;
  s.node->on_connection(*s.ctx, ev.from, event);
  s.ctx->stream_connection_ = 0;
  show_watchers(info);
}

void Kernel::pause(NodeId id, DurationNs for_ns) {
  NodeSlot& s = nodes_[id];
  if (!s.up) return;
  s.paused_until_ns = std::max(s.paused_until_ns, now_ns_ + for_ns);
  Event ev;
  ev.time_ns = s.paused_until_ns;
  ev.kind = StepKind::resume;
  ev.node = id;
  ev.epoch = s.epoch;
  push(std::move(ev));
}

void Kernel::set_clock_skew(NodeId id, DurationNs skew_ns) { nodes_[id].skew_ns = skew_ns; }

bool Kernel::model_fault(const ModelFault& f) {
  changes_.everything();
  for (NodeSlot& s : nodes_)
    if (s.up && s.node->on_fault(*s.ctx, f)) return true;
  return false;
}

std::size_t Kernel::node_count() const { return nodes_.size(); }
std::string_view Kernel::node_name(NodeId id) const { return nodes_[id].name; }

NodeId Kernel::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? k_no_node : it->second;
}

bool Kernel::is_up(NodeId id) const { return nodes_[id].up; }
const Node& Kernel::node(NodeId id) const { return *nodes_[id].node; }

std::uint64_t Kernel::digest() const {
  return world_digest(rolling_hash_, step_index_, *this);
}

}  // namespace stampede
