#include "sim/explore/engine.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/assert.hpp"
#include "sim/core/recording_ctx.hpp"

namespace stampede::explore {

namespace {
// Same-instant classes, as the kernel orders them: scripted faults and resumes first, timed
// checks last, everything else in between.
constexpr std::uint8_t k_class_first = 0;
constexpr std::uint8_t k_class_normal = 1;
constexpr std::uint8_t k_class_last = 2;

// The identity of a message's delivery and of a connection event, as options and the state hash
// know them (never its creation order or connection generation).
std::uint64_t delivery_ident(NodeId to, NodeId from, const Message& msg) {
  return Digest()
      .add(static_cast<std::uint64_t>(StepKind::deliver))
      .add(to)
      .add(from)
      .add(msg.digest())
      .value();
}

std::uint64_t connection_ident(NodeId node, NodeId peer, ConnectionEvent event) {
  return Digest()
      .add(static_cast<std::uint64_t>(StepKind::connection))
      .add(node)
      .add(peer)
      .add(static_cast<std::uint64_t>(event))
      .value();
}
}  // namespace

std::string_view inject_kind_name(InjectKind k) {
  switch (k) {
    case InjectKind::crash: return "crash";
    case InjectKind::restart: return "restart";
    case InjectKind::isolate: return "isolate";
    case InjectKind::heal: return "heal";
    case InjectKind::drop: return "drop";
    case InjectKind::duplicate: return "duplicate";
    case InjectKind::pause: return "pause";
    case InjectKind::power_off: return "power_off";
    case InjectKind::power_on: return "power_on";
    case InjectKind::kill_container: return "kill_container";
    case InjectKind::truncate: return "truncate";
  }
  return "?";
}

bool inject_costs(InjectKind k) {
  return k != InjectKind::restart && k != InjectKind::heal && k != InjectKind::power_on;
}

std::uint32_t with_undos(std::uint32_t mask) {
  if (mask & inject_bit(InjectKind::crash)) mask |= inject_bit(InjectKind::restart);
  if (mask & inject_bit(InjectKind::isolate)) mask |= inject_bit(InjectKind::heal);
  if (mask & inject_bit(InjectKind::power_off)) mask |= inject_bit(InjectKind::power_on);
  return mask;
}

struct ExploreEngine::Event {
  StepKind kind = StepKind::deliver;
  std::uint8_t cls = k_class_normal;
  NodeId node = k_no_node;
  NodeId from = k_no_node;
  TimeNs due_ns = 0;
  std::uint64_t seq = 0;
  TimerId timer = 0;
  std::uint64_t tag = 0;  // timer tag, action index or ConnectionEvent
  std::uint64_t ident = 0;
  std::uint32_t conn_gen = 0;  // FIFO events: the connection they travel on
  // tcp_retransmit, as in the kernel (Kernel::Event): a held stream message's ticket, whether
  // it is its last timer expiry, and a `closed` the node's own TCP raises (no link to cross).
  std::uint32_t ticket = 0;
  bool expiry = false;
  bool local = false;
  // A stream message between two nodes or a connection event: FIFO on the direction from → node.
  bool fifo = false;
  // picks_.size() when it was created: 0 before the first step, k + 1 during step k. The dfs's
  // partial-order reduction reads it as the step that created the event (happens-before).
  std::uint64_t created_pick = 0;
  std::uint64_t ord = 0;  // PickIdentity::seq, with ExploreOptions::identities
  Message msg;
  bool is_action() const { return kind == StepKind::fault || kind == StepKind::check; }
};

template <class Pred>
void ExploreEngine::erase_pending(Pred pred) {
  std::erase_if(pending_, [&](const Event& e) {
    if (!pred(e)) return false;
    forget(e);
    return true;
  });
}

struct ExploreEngine::NodeSlot {
  std::string name;
  // For a node that clones itself, the object may be shared with snapshots (`shared`): it is
  // then their clone too, and is cloned only when a step is about to change it (touch). dfs
  // saves at nearly every new state and restores at every backtrack, and most nodes do not
  // step between the two: cloning each at every save and again at every restore was a third
  // of known bug (b)'s plain dfs (bench/RESULTS.md, session 25, cowdfs).
  std::shared_ptr<Node> node;
  bool shared = false;
  // Whether the node clones itself (Node::clone): 1 yes, 0 no (a saved copy, or neither),
  // -1 not asked yet. A node's answer does not change over its life.
  std::int8_t clonable = -1;
  std::unique_ptr<NodeCtx> ctx;
  bool up = true;
  bool paused = false;
  bool powered = true;               // false between power_off and power_on
  bool crashed_by_explorer = false;  // only these may be restarted by an injected restart
  bool powered_off_by_explorer = false;  // only these may be powered on by an injected power_on
  bool targetable = true;  // ExploreOptions::fault_targets names it (or is empty)
  std::uint32_t epoch = 0;  // the process's incarnation, as in the kernel: the connections' ends
  DurationNs skew_ns = 0;
  // How many times a handler ran on the node (it may have changed): a snapshot of a node that
  // cannot clone itself is still good while this has not moved.
  std::uint64_t changes = 0;
  // A value that names the node's current state: a fresh one (never used before in this engine)
  // at every change, the saved one when a snapshot is restored. Equal generations mean an equal
  // state, so the digest and the snapshot clone below are reused while it holds.
  std::uint64_t gen = 0;
  mutable std::uint64_t digest_gen = ~std::uint64_t{0};
  mutable std::uint64_t digest = 0;
  mutable std::uint64_t clone_gen = ~std::uint64_t{0};
  mutable std::shared_ptr<const Node> clone;  // a clone of the state `clone_gen`, shared with snapshots
  // Whether `clone` is a Node::saved_copy(): it may only be assigned back into this slot's node
  // object (which is never replaced: only clones replace a slot's node), never run.
  mutable bool clone_in_place = false;
  // Saved copies no snapshot holds any more, assigned the node's state at the next save rather
  // than copied anew: an HA server's copy and its free were an eighth of known bug (b)'s plain
  // dfs (bench/RESULTS.md, session 26, dfsclone), and an assignment keeps the copy's map nodes
  // and buffers.
  mutable Recycler<Node> saved_copies;
};

struct ExploreEngine::Snapshot {
  Snapshot(std::vector<Event> pending_events, std::shared_ptr<const Network> net,
           std::shared_ptr<const Connections> conns)
      : pending(std::move(pending_events)),
        network(std::move(net)),
        connections(std::move(conns)) {}
  struct NodeState {
    std::shared_ptr<const Node> clone;  // null when the node can neither clone nor save itself
    // `clone` is a Node::saved_copy(): only this engine (the same node object) may restore it.
    bool in_place = false;
    std::uint64_t changes = 0;
    std::uint64_t gen = 0;
    std::uint64_t digest_gen = ~std::uint64_t{0};
    std::uint64_t digest = 0;
    bool up = true;
    bool paused = false;
    bool powered = true;
    bool crashed_by_explorer = false;
    bool powered_off_by_explorer = false;
    std::uint32_t epoch = 0;
    DurationNs skew_ns = 0;
  };
  std::vector<NodeState> nodes;
  std::vector<Event> pending;
  std::vector<std::uint64_t> pending_ids;  // ExploreEngine::pending_ids_
  std::shared_ptr<const Network> network;  // shared between snapshots while it does not change
  std::shared_ptr<const Connections> connections;  // likewise
  std::shared_ptr<const char> lineage;     // the engine that saved it (see restore)
  std::uint64_t net_gen = 0;
  std::uint64_t conn_gen = 0;
  std::size_t actions = 0;
  ChunkedLog<std::uint32_t> picks;  // shared with the engine's history but for its last chunk
  ChunkedLog<PickIdentity> identities;
  std::unordered_map<std::uint64_t, std::uint64_t> ordinals;
  ChunkedLog<std::uint8_t> pick_flags;
  ChunkedLog<std::uint64_t> pick_peers;
  TimeNs now_ns = 0;
  std::uint64_t seq = 0;
  std::uint64_t step_index = 0;
  std::uint64_t rolling_hash = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t net_version_seen = 0;
  std::uint64_t conn_version_seen = 0;
  TimerId next_timer = 1;
  int faults_used = 0;
  bool faults_closed = false;
  bool in_time_order = false;
  bool explorer_cut = false;
  std::shared_ptr<const Recorder> recorder;  // shared between snapshots while nothing is recorded
  std::uint64_t recorder_gen = 0;
  // Each observer's saved state (StepObserver::save_state), in the order of observers_; null
  // for an observer with nothing to put back.
  std::vector<std::shared_ptr<const void>> observers;
  // When no frame holds the snapshot any more (Recycler): lets go of what it shares with the
  // engine and other snapshots (a node's saved copy goes back to its own recycler, a table a
  // live node shares stops counting as shared) and keeps its vectors' memory for the next save.
  void retire() {
    for (NodeState& n : nodes) n.clone.reset();
    pending.clear();
    network.reset();
    connections.reset();
    lineage.reset();
    picks.clear();
    identities.clear();
    ordinals.clear();
    pick_flags.clear();
    pick_peers.clear();
    recorder.reset();
    observers.clear();
  }
};

namespace {

// Whether a snapshot's node can be put back from what it holds: a clone always, a saved copy
// only into the engine that saved it (own), whose node object the copy points back into.
bool restorable(const ExploreEngine::Snapshot::NodeState& n, bool own) {
  return n.clone && (own || !n.in_place);
}

}  // namespace

class ExploreEngine::NodeCtx final : public RecordingCtx {
 public:
  NodeCtx(ExploreEngine& e, NodeId id)
      : RecordingCtx(id, e.recorder_, e.options_.timings, e.options_.mechanisms,
                     e.options_.keep_debug_logs),
        e_(e),
        id_(id) {}
  TimeNs now() const override { return e_.now_ns_ + e_.nodes_[id_]->skew_ns; }
  NodeId self() const override { return id_; }
  NodeId lookup(std::string_view name) const override { return e_.find(name); }
  std::string_view name_of(NodeId id) const override { return e_.node_name(id); }

  // Everything that writes to the recorder gives it a new generation (snapshots share it until
  // then); the writing itself is RecordingCtx's.
  void log(LogLevel level, std::string_view text) override {
    e_.recorder_gen_ = ++e_.gen_counter_;
    RecordingCtx::log(level, text);
  }
  void signal(std::string_view name) override {
    e_.recorder_gen_ = ++e_.gen_counter_;
    RecordingCtx::signal(name);
  }
  SeriesId intern(std::string_view metric_name) override {
    e_.recorder_gen_ = ++e_.gen_counter_;
    return RecordingCtx::intern(metric_name);
  }
  void count(SeriesId metric, std::int64_t delta) override {
    e_.recorder_gen_ = ++e_.gen_counter_;
    RecordingCtx::count(metric, delta);
  }
  void sample(SeriesId series, std::int64_t value) override {
    e_.recorder_gen_ = ++e_.gen_counter_;
    RecordingCtx::sample(series, value);
  }

  void send(NodeId to, Message msg) override {
    STAMPEDE_ASSERT(to < e_.nodes_.size(), "send to an unknown node");
    if (msg.transport == Transport::stream && to != id_) {
      e_.send_stream(id_, to, std::move(msg));
      return;
    }
    Network& net = *e_.network_;
    // A message to a node that is down is lost, as in the kernel (which drops it on arrival: a
    // restart gives the node a new epoch). Without this a crashed node would handle messages.
    if (!e_.nodes_[to]->up) return;
    if (!net.reachable(id_, to)) return;
    if (net.sample_drop(e_.chooser_)) return;
    int copies = net.sample_duplicate(e_.chooser_) ? 2 : 1;
    const std::uint64_t ident = delivery_ident(to, id_, msg);
    for (int i = 0; i < copies; ++i) {
      Event ev;
      ev.kind = StepKind::deliver;
      ev.node = to;
      ev.from = id_;
      ev.due_ns = e_.now_ns_ + net.sample_latency(e_.chooser_);
      ev.ident = ident;
      ev.msg = msg;
      e_.push(std::move(ev));
    }
  }

  void close_connection(NodeId to) override {
    STAMPEDE_ASSERT(to < e_.nodes_.size() && to != id_, "close a connection to an unknown node");
    e_.close_connection(id_, to);
  }

  TimerId set_timer(DurationNs after, std::uint64_t tag) override {
    STAMPEDE_ASSERT(after >= 0, "a timer cannot fire in the past");
    Event ev;
    ev.kind = StepKind::timer;
    ev.node = id_;
    ev.due_ns = e_.now_ns_ + after;
    ev.timer = e_.next_timer_++;
    ev.tag = tag;
    ev.ident =
        Digest().add(static_cast<std::uint64_t>(StepKind::timer)).add(id_).add(tag).value();
    TimerId id = ev.timer;
    e_.push(std::move(ev));
    return id;
  }

  void cancel_timer(TimerId id) override {
    auto& p = e_.pending_;
    for (std::size_t i = 0; i < p.size(); ++i)
      if (p[i].kind == StepKind::timer && p[i].timer == id) {
        e_.forget(p[i]);
        p.erase(p.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
  }

  void exit_process(const std::function<bool(std::uint64_t)>& keeps_timer) override {
    e_.erase_pending([&](const Event& ev) {
      return ev.kind == StepKind::timer && ev.node == id_ && !(keeps_timer && keeps_timer(ev.tag));
    });
  }

  std::int64_t random(std::int64_t lo, std::int64_t hi) override {
    return e_.chooser_.uniform(ChoiceKind::model, lo, hi);
  }
  TimeNs record_time() const override { return e_.now_ns_; }

 private:
  ExploreEngine& e_;
  NodeId id_;
};

ExploreEngine::ExploreEngine(ExploreOptions options, Chooser& chooser, Scheduler& scheduler)
    : options_(std::move(options)),
      chooser_(chooser),
      scheduler_(scheduler),
      network_(std::make_unique<Network>(options_.network)),
      connections_(Connections::from(options_.mechanisms)) {
  changes_.enable();  // finish_step, kill, restart, model_fault and restore record every change
}

ExploreEngine::~ExploreEngine() = default;

NodeId ExploreEngine::add_node(std::string name, std::unique_ptr<Node> node) {
  STAMPEDE_ASSERT(!started_, "nodes are added before the run starts");
  STAMPEDE_ASSERT(find(name) == k_no_node, "node names are unique");
  NodeId id = static_cast<NodeId>(nodes_.size());
  by_name_.emplace(name, id);
  auto slot = std::make_unique<NodeSlot>();
  slot->name = std::move(name);
  slot->node = std::move(node);
  slot->ctx = std::make_unique<NodeCtx>(*this, id);
  if (!options_.fault_targets.empty()) {
    slot->targetable = false;
    for (const std::string& pattern : options_.fault_targets)
      if (name_matches(pattern, slot->name)) slot->targetable = true;
  }
  nodes_.push_back(std::move(slot));
  network_->add_node();
  net_gen_ = ++gen_counter_;
  net_version_seen_ = network_->version();
  return id;
}

void ExploreEngine::push(Event ev) {
  ev.seq = seq_++;
  ev.created_pick = picks_.size();
  if (options_.identities) {
    // What tells two events of one connection apart (PickIdentity::seq): their order among the
    // events of the same kind, nodes and message type or tag.
    const std::uint64_t what = ev.kind == StepKind::deliver ? ev.msg.type : ev.tag;
    const std::uint64_t key = Digest()
                                  .add(static_cast<std::uint64_t>(ev.kind))
                                  .add(ev.node)
                                  .add(ev.from)
                                  .add(what)
                                  .value();
    ev.ord = ordinals_[key]++;
  }
  if (ev.kind == StepKind::fault || ev.kind == StepKind::resume) ev.cls = k_class_first;
  if (ev.kind == StepKind::check) ev.cls = k_class_last;
  remember(ev);
  pending_.push_back(std::move(ev));
}

void ExploreEngine::remember(const Event& e) {
  if (e.fifo) return;
  pending_ids_.insert(std::upper_bound(pending_ids_.begin(), pending_ids_.end(), e.ident), e.ident);
}

void ExploreEngine::forget(const Event& e) {
  if (e.fifo) return;
  auto it = std::lower_bound(pending_ids_.begin(), pending_ids_.end(), e.ident);
  STAMPEDE_ASSERT(it != pending_ids_.end() && *it == e.ident, "a pending event is indexed");
  pending_ids_.erase(it);
}

void ExploreEngine::at(TimeNs t, StepKind kind, std::function<void()> fn) {
  STAMPEDE_ASSERT(kind == StepKind::fault || kind == StepKind::check,
                  "scheduled actions are faults or checks");
  Event ev;
  ev.kind = kind;
  ev.due_ns = std::max(t, now_ns_);
  ev.tag = actions_.size();
  ev.ident = Digest().add(static_cast<std::uint64_t>(kind)).add(ev.tag).value();
  actions_.push_back(std::move(fn));
  push(std::move(ev));
}

void ExploreEngine::purge_cut_deliveries() {
  // A message or connection event whose link was cut while it was in flight is lost, as in the
  // kernel. A lost `closed` leaves its node a dead connection it does not know of (broken).
  if (network_->version() == net_version_seen_) return;
  net_version_seen_ = network_->version();
  erase_pending([&](const Event& e) {
    if (e.kind != StepKind::deliver && e.kind != StepKind::connection) return false;
    if (e.local || network_->reachable(e.from, e.node)) return false;
    // With tcp_retransmit a stream message stays: taken while the link is cut, it is held for
    // its next retransmission (take_stream).
    if (e.kind == StepKind::deliver && e.fifo && connections_.retransmits()) return false;
    if (e.kind == StepKind::connection &&
        static_cast<ConnectionEvent>(e.tag) == ConnectionEvent::closed &&
        connections_.awaits(e.node, e.from, e.conn_gen)) {
      conn_gen_ = ++gen_counter_;
      connections_.notice_done(e.node, e.from, e.conn_gen, false);
    }
    return true;
  });
}

void ExploreEngine::purge_dead_connection_events() {
  // The kernel drops a stream message on arrival when its connection is no longer live, and a
  // `closed` event when its node no longer awaits it. A connection that died stays dead (a new
  // one is a new generation), so the explorer drops them as soon as it dies: the state then holds
  // only events that can still happen, and the head of each direction is one that can.
  if (connections_.version() == conn_version_seen_) return;
  conn_version_seen_ = connections_.version();
  erase_pending([&](const Event& e) {
    if (!e.fifo) return false;
    if (e.kind == StepKind::deliver) return !connections_.live(e.from, e.node, e.conn_gen);
    return !e.local && static_cast<ConnectionEvent>(e.tag) == ConnectionEvent::closed &&
           !connections_.awaits(e.node, e.from, e.conn_gen);
  });
}

void ExploreEngine::clear_heads() {
  // Only the entries collect_event_slots() set (head_dirs_): the table has nodes² entries.
  for (std::size_t dir : head_dirs_) heads_[dir] = UINT64_MAX;
}

bool ExploreEngine::is_head(const Event& e) const {
  return !e.fifo || heads_[std::size_t{e.from} * nodes_.size() + e.node] == e.seq;
}

void ExploreEngine::send_stream(NodeId from, NodeId to, Message&& msg) {
  step_peers_ |= peer_bit(to);
  conn_gen_ = ++gen_counter_;
  Connections::Ends ends;
  ends.link_up = network_->reachable(from, to);
  ends.host_on = nodes_[to]->powered;
  ends.process_up = nodes_[to]->up;
  ends.from_epoch = nodes_[from]->epoch;
  ends.to_epoch = nodes_[to]->epoch;
  ends.drop = ends.link_up && network_->sample_drop(chooser_);
  const Connections::Verdict v = connections_.send(from, to, ends);
  switch (v.outcome) {
    case Connections::Outcome::deliver: {
      Event ev;
      ev.kind = StepKind::deliver;
      ev.node = to;
      ev.from = from;
      ev.due_ns = connections_.arrival(from, to, now_ns_ + network_->sample_latency(chooser_));
      ev.ident = delivery_ident(to, from, msg);
      ev.conn_gen = v.generation;
      ev.fifo = true;
      ev.msg = std::move(msg);
      push(std::move(ev));
      return;
    }
    case Connections::Outcome::lost: return;
    case Connections::Outcome::refused:
    case Connections::Outcome::reset: break;
  }
  // The kernel's timings (Kernel::send_stream): the sender hears one round trip later, the peer
  // one latency later.
  const ConnectionEvent what = v.outcome == Connections::Outcome::refused
                                   ? ConnectionEvent::refused
                                   : ConnectionEvent::closed;
  if (v.outcome == Connections::Outcome::refused || v.notify_sender) {
    const DurationNs there_ns = network_->sample_latency(chooser_);
    notify(from, to, what, v.generation, there_ns + network_->sample_latency(chooser_));
  }
  if (v.notify_peer)
    notify(to, from, ConnectionEvent::closed, v.generation, network_->sample_latency(chooser_));
}

void ExploreEngine::close_connection(NodeId from, NodeId to) {
  step_peers_ |= peer_bit(to);
  conn_gen_ = ++gen_counter_;
  if (connections_.close(from, to, network_->reachable(from, to)))
    notify(to, from, ConnectionEvent::closed, connections_.generation(from, to),
           network_->sample_latency(chooser_));
}

void ExploreEngine::notify(NodeId node, NodeId peer, ConnectionEvent event,
                           std::uint32_t generation, DurationNs after_ns, bool local) {
  Event ev;
  ev.kind = StepKind::connection;
  ev.node = node;
  ev.from = peer;
  // A local event travels nowhere, so it waits behind nothing the peer sent (which may itself
  // be held for retransmission), as in the kernel.
  ev.due_ns = local ? now_ns_ + after_ns : connections_.arrival(peer, node, now_ns_ + after_ns);
  ev.tag = static_cast<std::uint64_t>(event);
  ev.ident = connection_ident(node, peer, event);
  ev.conn_gen = generation;
  ev.fifo = !local;
  ev.local = local;
  push(std::move(ev));
}

bool ExploreEngine::take_stream(Event& ev) {
  // As Kernel::arrives_on_stream: the same table decides, the same timings follow.
  step_peers_ |= peer_bit(ev.from);
  conn_gen_ = ++gen_counter_;
  if (ev.expiry) {
    if (connections_.time_out(ev.from, ev.node, ev.conn_gen, ev.ticket))
      notify(ev.from, ev.node, ConnectionEvent::closed, ev.conn_gen, 0, true);
    return false;
  }
  const Connections::Retransmit r =
      connections_.retransmit(ev.from, ev.node, ev.ticket, network_->reachable(ev.from, ev.node),
                              now_ns_, 2 * network_->mean_latency());
  if (r.kind == Connections::Retransmit::Kind::deliver) return true;
  if (r.kind == Connections::Retransmit::Kind::lost) return false;
  // Held: it stays pending with its sequence number, so it still heads its direction, due at
  // its next retransmission; the step counts as creating it anew (the dfs's happens-before).
  ev.ticket = r.ticket;
  ev.expiry = r.kind == Connections::Retransmit::Kind::time_out;
  const DurationNs travel_ns = ev.expiry ? 0 : network_->sample_latency(chooser_);
  ev.due_ns = connections_.arrival(ev.from, ev.node, r.at_ns + travel_ns);
  ev.created_pick = picks_.size();
  // What was sent after it on its direction (messages, a FIN) is due after it, in order, as the
  // kernel's chain has it.
  std::vector<std::size_t> behind;
  for (std::size_t i = 0; i < pending_.size(); ++i)
    if (pending_[i].fifo && pending_[i].from == ev.from && pending_[i].node == ev.node)
      behind.push_back(i);
  std::sort(behind.begin(), behind.end(),
            [&](std::size_t x, std::size_t y) { return pending_[x].seq < pending_[y].seq; });
  for (std::size_t i : behind)
    pending_[i].due_ns = connections_.arrival(ev.from, ev.node, pending_[i].due_ns);
  pending_.push_back(std::move(ev));
  return false;
}

bool ExploreEngine::earlier(const Event& a, const Event& b) {
  if (a.due_ns != b.due_ns) return a.due_ns < b.due_ns;
  if (a.cls != b.cls) return a.cls < b.cls;
  return a.seq < b.seq;
}

void ExploreEngine::maybe_close_faults() {
  if (options_.fault_phase_end_ns < 0 || faults_closed_) return;
  if (options_.settle_after_steps != 0 && picks_.size() >= options_.settle_after_steps) {
    undo_faults();
    in_time_order_ = true;
    return;
  }
  // The phase ends before the first step due at or after its end (the clock never goes back).
  TimeNs next = INT64_MAX;
  for (const Event& e : pending_) next = std::min(next, e.due_ns);
  if (!pending_.empty() && std::max(now_ns_, next) >= options_.fault_phase_end_ns) undo_faults();
}

void ExploreEngine::build_options() {
  maybe_close_faults();
  purge_cut_deliveries();
  purge_dead_connection_events();
  options_list_.clear();
  collect_event_slots();
  for (std::size_t i : slots_) {
    const Event& e = pending_[i];
    Option o;
    o.kind = e.kind;
    o.node = e.node;
    o.from = e.from;
    o.msg_type = e.msg.type;
    o.due_ns = e.due_ns;
    o.ident = e.ident;
    o.local = !e.is_action();
    o.created_pick = e.created_pick;
    o.slot = i;
    options_list_.push_back(o);
  }
  if (options_list_.empty()) return;  // nothing left to happen: faults alone do not go on
  if (options_.max_faults <= 0 || faults_closed_) return;
  add_fault_options();
}

void ExploreEngine::collect_event_slots() {
  // One pass over the pending events finds the next scripted action, whether any node is still
  // to start, the FIFO heads, and the events that may be options; only these few are looked at
  // again. Most pending events are timers far beyond the delay window: known bug (b)'s plain dfs
  // has some 73 pending and 2 options a step, and three passes over all of them were a tenth of
  // its instructions (hashev's command in bench/RESULTS.md's issue 17 sections).
  const Event* action = nullptr;
  std::size_t action_slot = 0;
  bool any_start = false;
  const std::size_t n = nodes_.size();
  if (heads_.size() != n * n) heads_.assign(n * n, UINT64_MAX);
  head_dirs_.clear();
  std::vector<std::size_t>& slots = slots_;
  slots.clear();
  // The delay window, cut as the pass goes: `earliest` is the earliest due time of an event
  // that is an option unless a scripted action comes first, so nothing due later than
  // earliest + max_delay_ns is an option at all (what the final cut below removes anyway).
  // Locals, not members, in the loop: its stores (heads_, slots) could alias a member, which
  // the compiler would then load again for every event.
  const DurationNs window_ns = options_.max_delay_ns;
  const bool windowed = window_ns >= 0;
  const TimeNs until_ns = until_ns_;
  const Event* const events = pending_.data();
  const std::size_t count = pending_.size();
  std::uint64_t* const heads = heads_.data();
  TimeNs earliest = INT64_MAX;
  for (std::size_t i = 0; i < count; ++i) {
    const Event& e = events[i];
    // The next scripted action is a barrier: nothing due after it may run before it.
    if (e.is_action()) {
      if (!action || earlier(e, *action)) {
        action = &e;
        action_slot = i;
      }
      continue;
    }
    any_start = any_start || e.kind == StepKind::start;
    if (e.fifo) {
      const std::size_t dir = std::size_t{e.from} * n + e.node;
      if (heads[dir] == UINT64_MAX) head_dirs_.push_back(dir);
      heads[dir] = std::min(heads[dir], e.seq);
    }
    if (e.due_ns > until_ns || (windowed && e.due_ns - window_ns > earliest)) continue;
    if (nodes_[e.node]->paused && e.kind != StepKind::resume) continue;
    // A FIFO event may turn out not to be its direction's head: it does not set the window.
    if (!e.fifo) earliest = std::min(earliest, e.due_ns);
    slots.push_back(i);
  }
  TimeNs horizon = until_ns_;
  if (action) horizon = std::min(horizon, action->due_ns);
  if (!any_start || !first_start_only(horizon)) {
    // Behind an earlier message of its connection, an event waits.
    std::erase_if(slots, [&](std::size_t i) {
      const Event& e = pending_[i];
      return e.due_ns > horizon || !is_head(e);
    });
    if (action && action->due_ns <= until_ns_) slots.push_back(action_slot);
  }
  clear_heads();
  if (windowed && !slots.empty()) {
    TimeNs first = pending_[slots.front()].due_ns;
    for (std::size_t i : slots) first = std::min(first, pending_[i].due_ns);
    const TimeNs limit = first + options_.max_delay_ns;
    std::erase_if(slots, [&](std::size_t i) { return pending_[i].due_ns > limit; });
  }
  std::sort(slots.begin(), slots.end(),
            [&](std::size_t a, std::size_t b) { return earlier(pending_[a], pending_[b]); });
}

bool ExploreEngine::first_start_only(TimeNs horizon) {
  // A node boots before anything else happens at its instant (the kernel starts every node at
  // time 0, before any message can arrive), so pending starts are not interleaved: the first one
  // is the only option. That keeps 2^N orders of boots out of every search.
  const Event* first_start = nullptr;
  std::size_t slot = 0;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    const Event& e = pending_[i];
    if (e.kind == StepKind::start && e.due_ns <= horizon &&
        (!first_start || earlier(e, *first_start))) {
      first_start = &e;
      slot = i;
    }
  }
  if (first_start) slots_.assign(1, slot);
  return first_start != nullptr;
}

void ExploreEngine::add_fault_options() {
  auto allowed = [&](InjectKind k) {
    if ((options_.inject_kinds & (1u << static_cast<unsigned>(k))) == 0) return false;
    return !inject_costs(k) || faults_used_ < options_.max_faults;
  };
  auto add = [&](InjectKind k, NodeId node, std::uint64_t target, std::size_t slot) {
    Option o;
    o.injected = true;
    o.kind = StepKind::fault;
    o.inject = k;
    o.node = node;
    o.ident =
        Digest().add(0xfa17u).add(static_cast<std::uint64_t>(k)).add(node).add(target).value();
    o.local = false;
    o.slot = slot;
    options_list_.push_back(o);
  };
  std::size_t n_events = options_list_.size();
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    const NodeSlot& s = *nodes_[id];
    // Repairs of the explorer's own faults are offered whatever the targets.
    if (allowed(InjectKind::crash) && s.up && s.targetable) add(InjectKind::crash, id, 0, 0);
    if (allowed(InjectKind::restart) && !s.up && s.powered && s.crashed_by_explorer)
      add(InjectKind::restart, id, 0, 0);
    if (allowed(InjectKind::isolate) && s.up && s.targetable && !network_->any_cut())
      add(InjectKind::isolate, id, 0, 0);
    if (allowed(InjectKind::pause) && s.up && s.targetable && !s.paused)
      add(InjectKind::pause, id, 0, 0);
    if (allowed(InjectKind::power_off) && s.up && s.powered && s.targetable)
      add(InjectKind::power_off, id, 0, 0);
    if (allowed(InjectKind::power_on) && !s.powered && s.powered_off_by_explorer)
      add(InjectKind::power_on, id, 0, 0);
  }
  if (allowed(InjectKind::heal) && network_->any_cut()) add(InjectKind::heal, k_no_node, 0, 0);
  for (std::size_t i = 0; i < n_events; ++i) {
    const Option ev = options_list_[i];
    if (ev.kind != StepKind::deliver) continue;
    if (!nodes_[ev.node]->targetable && !nodes_[ev.from]->targetable) continue;
    const Event& e = pending_[ev.slot];
    // A stream is never duplicated, and a drop resets its connection: only an open one (one that
    // is closing is going away already; its `closed` event follows what is in flight).
    if (allowed(InjectKind::drop) &&
        (!e.fifo || connections_.is_open(e.from, e.node, e.conn_gen)))
      add(InjectKind::drop, ev.node, ev.ident, ev.slot);
    if (allowed(InjectKind::duplicate) && !e.fifo)
      add(InjectKind::duplicate, ev.node, ev.ident, ev.slot);
  }
  // Model faults name no node: the model that holds the container or the tables takes them
  // (ExploreEngine::model_fault), as it takes the scripted ones.
  if (allowed(InjectKind::kill_container))
    for (std::size_t i = 0; i < options_.kill_containers.size(); ++i)
      add(InjectKind::kill_container, k_no_node, i, i);
  if (allowed(InjectKind::truncate))
    for (std::size_t i = 0; i < options_.truncate_tables.size(); ++i)
      add(InjectKind::truncate, k_no_node, i, i);
}

void ExploreEngine::run_until(TimeNs until_ns) {
  until_ns_ = until_ns;
  if (!started_) {
    started_ = true;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      Event ev;
      ev.kind = StepKind::start;
      ev.node = id;
      ev.ident = Digest().add(static_cast<std::uint64_t>(StepKind::start)).add(id).value();
      push(std::move(ev));
    }
  }
  for (;;) {
    if (stopped_) {
      if (options_.on_leaf && options_.on_leaf(*this)) continue;
      break;
    }
    build_options();
    if (options_list_.empty()) {
      ended_naturally_ = true;
      now_ns_ = std::max(now_ns_, until_ns);
      if (options_.on_leaf && options_.on_leaf(*this)) continue;
      break;
    }
    std::size_t pick = in_time_order_ ? 0 : scheduler_.choose(*this, options_list_);
    if (pick == Scheduler::k_stop) {
      stopped_ = true;
      if (options_.on_leaf && options_.on_leaf(*this)) continue;
      break;
    }
    STAMPEDE_ASSERT(pick < options_list_.size(), "a scheduler picked a missing option");
    picks_.push_back(static_cast<std::uint32_t>(pick));
    Option o = options_list_[pick];
    if (options_.identities) identities_.push_back(identify(o));
    pick_flags_.push_back(o.injected ? k_flag_injected : pick > 0 ? k_flag_out_of_order : 0);
    step_peers_ = 0;
    take(o);
    pick_peers_.push_back(step_peers_);
    for (StepObserver* obs : observers_)
      if (obs->stop_requested()) stopped_ = true;
  }
  if (options_.on_end) options_.on_end(*this);
}

void ExploreEngine::take(const Option& o) {
  if (o.injected) {
    take_injected(o);
  } else {
    take_event(o);
  }
}

void ExploreEngine::take_injected(const Option& o) {
  StepInfo info;
  info.time_ns = now_ns_;
  info.kind = StepKind::fault;
  info.node = o.node;
  info.detail = o.ident;
  if (inject_costs(o.inject)) ++faults_used_;
  finish_step(info);
  std::string what = inject(o);
  recorder_gen_ = ++gen_counter_;
  recorder_.log(now_ns_, o.node == k_no_node ? NodeId{0} : o.node, LogLevel::notable, what);
  for (StepObserver* obs : observers_) obs->on_step(info);
}

std::string ExploreEngine::inject(const Option& o) {
  switch (o.inject) {
    case InjectKind::crash:
      crash(o.node);
      nodes_[o.node]->crashed_by_explorer = true;
      return fmt::format("crash {} (explorer)", nodes_[o.node]->name);
    case InjectKind::restart:
      nodes_[o.node]->crashed_by_explorer = false;
      restart(o.node);
      return fmt::format("restart {} (explorer)", nodes_[o.node]->name);
    case InjectKind::isolate: {
      std::vector<NodeId> rest;
      for (NodeId id = 0; id < nodes_.size(); ++id)
        if (id != o.node) rest.push_back(id);
      net_gen_ = ++gen_counter_;
      network_->partition({{o.node}, rest});
      explorer_cut_ = true;
      return fmt::format("isolate {} (explorer)", nodes_[o.node]->name);
    }
    case InjectKind::heal:
      net_gen_ = ++gen_counter_;
      network_->heal_all();
      explorer_cut_ = false;
      return "heal all (explorer)";
    case InjectKind::power_off:
      power_off(o.node);
      nodes_[o.node]->powered_off_by_explorer = true;
      return fmt::format("power_off {} (explorer)", nodes_[o.node]->name);
    case InjectKind::power_on:
      nodes_[o.node]->powered_off_by_explorer = false;
      power_on(o.node);
      return fmt::format("power_on {} (explorer)", nodes_[o.node]->name);
    case InjectKind::kill_container: {
      const std::string& c = options_.kill_containers[o.slot];
      const bool taken = model_fault(ModelFault{"kill_container", {c}});
      return fmt::format("kill_container {}{} (explorer)", c, taken ? "" : ": not running");
    }
    case InjectKind::truncate: {
      const auto& tables = options_.truncate_tables[o.slot];
      const bool taken = model_fault(ModelFault{"truncate", tables});
      return fmt::format("truncate {}{} (explorer)", fmt::join(tables, ", "),
                         taken ? "" : ": no database took it");
    }
    case InjectKind::pause:
      pause(o.node, options_.pause_ns);
      return fmt::format("pause {} for {} (explorer)", nodes_[o.node]->name,
                         format_duration(options_.pause_ns));
    case InjectKind::drop: {
      Event e = pending_[o.slot];
      forget(e);
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(o.slot));
      if (e.fifo) return drop_stream(e);
      return fmt::format("drop {} -> {} {} (explorer)", nodes_[e.from]->name,
                         nodes_[e.node]->name, nodes_[e.node]->node->message_name(e.msg.type));
    }
    case InjectKind::duplicate: {
      Event e = pending_[o.slot];
      std::string what =
          fmt::format("duplicate {} -> {} {} (explorer)", nodes_[e.from]->name,
                      nodes_[e.node]->name, nodes_[e.node]->node->message_name(e.msg.type));
      push(std::move(e));
      return what;
    }
  }
  return "";
}

std::string ExploreEngine::drop_stream(const Event& e) {
  // A lost segment that TCP cannot recover ends the connection, as a random drop at send time
  // does in the kernel (Connections::send): both ends read `closed`, the sender one round trip
  // later, the receiver one latency later. What the sender sent after it on this direction
  // cannot arrive without it and is lost too; what the receiver sent is still in flight and
  // arrives before the sender's `closed` (FIFO).
  conn_gen_ = ++gen_counter_;
  const bool was_open = connections_.reset(e.from, e.node, e.conn_gen);
  STAMPEDE_ASSERT(was_open, "a stream message is dropped only on an open connection");
  erase_pending([&](const Event& x) {
    return x.kind == StepKind::deliver && x.fifo && x.from == e.from && x.node == e.node;
  });
  const DurationNs there_ns = network_->sample_latency(chooser_);
  notify(e.from, e.node, ConnectionEvent::closed, e.conn_gen,
         there_ns + network_->sample_latency(chooser_));
  notify(e.node, e.from, ConnectionEvent::closed, e.conn_gen, network_->sample_latency(chooser_));
  return fmt::format("drop {} -> {} {}, resetting the connection (explorer)",
                     nodes_[e.from]->name, nodes_[e.node]->name,
                     nodes_[e.node]->node->message_name(e.msg.type));
}

void ExploreEngine::take_event(const Option& o) {
  StepInfo info;
  Event ev = std::move(pending_[o.slot]);
  forget(ev);
  // The order of pending_ means nothing (options are sorted by due time, class and creation
  // sequence, the state hash sorts identities), so the last event fills the hole.
  if (o.slot + 1 != pending_.size()) pending_[o.slot] = std::move(pending_.back());
  pending_.pop_back();
  now_ns_ = std::max(now_ns_, ev.due_ns);
  info.time_ns = now_ns_;
  info.kind = ev.kind;
  info.node = ev.node;
  if (ev.is_action()) {
    info.detail = ev.tag;
    finish_step(info);
    actions_[ev.tag]();
    for (StepObserver* obs : observers_) obs->on_step(info);
    return;
  }
  NodeSlot& s = *nodes_[ev.node];
  switch (ev.kind) {
    case StepKind::resume:
      s.paused = false;
      finish_step(info);
      break;
    case StepKind::start:
      finish_step(info);
      touch(s);
      s.node->on_start(*s.ctx);
      break;
    case StepKind::deliver:
      // As for `closed` below: a stream message whose connection died has been dropped already.
      STAMPEDE_ASSERT(!ev.fifo || connections_.live(ev.from, ev.node, ev.conn_gen),
                      "a stream message is delivered only on a live connection");
      if (ev.fifo && connections_.retransmits() && !take_stream(ev)) return;  // held, timed out
      if (ev.fifo) step_peers_ |= peer_bit(ev.from);
      info.from = ev.from;
      info.msg_type = ev.msg.type;
      info.detail = ev.msg.digest();
      ++messages_delivered_;
      finish_step(info);
      touch(s);
      s.node->on_message(*s.ctx, ev.from, ev.msg);
      break;
    case StepKind::connection: {
      // Only events that can still happen are pending (purge_dead_connection_events): a `closed`
      // here is awaited, as Kernel::dispatch_connection checks.
      step_peers_ |= peer_bit(ev.from);
      const auto event = static_cast<ConnectionEvent>(ev.tag);
      if (event == ConnectionEvent::closed && !ev.local) {
        conn_gen_ = ++gen_counter_;
        connections_.notice_done(ev.node, ev.from, ev.conn_gen, true);
      }
      info.from = ev.from;
      info.detail = ev.tag;
      finish_step(info);
      touch(s);
      s.node->on_connection(*s.ctx, ev.from, event);
      break;
    }
    case StepKind::timer:
      info.detail = ev.tag;
      finish_step(info);
      touch(s);
      s.node->on_timer(*s.ctx, ev.tag);
      break;
    default: break;
  }
  for (StepObserver* obs : observers_) obs->on_step(info);
}

void ExploreEngine::finish_step(StepInfo& info) {
  changes_.step(info.node, info.kind == StepKind::fault || info.kind == StepKind::check);
  // The kernel's rolling hash, so traces of both engines read the same way.
  info.index = ++step_index_;
  assert_context().step = step_index_;
  rolling_hash_ = fold_step(rolling_hash_, info);
  info.rolling_hash = rolling_hash_;
}

void ExploreEngine::crash(NodeId id) { kill(id, true); }

void ExploreEngine::kill(NodeId id, bool loud) {
  NodeSlot& s = *nodes_[id];
  if (!s.up) return;
  s.up = false;
  s.paused = false;
  ++s.epoch;
  // Its timers, its pending start or resume and the messages and connection events on their way
  // to it die with it (the kernel drops them on arrival by their epoch).
  erase_pending([&](const Event& e) { return !e.is_action() && e.node == id; });
  changes_.node(id);
  touch(s);
  // The process's sockets close once the kernel has torn it down (Node::exit_teardown_ns).
  const DurationNs teardown_ns = loud ? s.node->exit_teardown_ns() : 0;
  if (loud)
    s.node->on_crash();
  else
    s.node->on_power_loss(now_ns_);
  conn_gen_ = ++gen_counter_;
  if (!loud) {
    connections_.power_off(id);
    return;
  }
  for (NodeId peer : connections_.crash(id, [&](NodeId p) { return network_->reachable(id, p); }))
    notify(peer, id, ConnectionEvent::closed, connections_.generation(id, peer),
           teardown_ns + network_->sample_latency(chooser_));
}

void ExploreEngine::restart(NodeId id) {
  NodeSlot& s = *nodes_[id];
  if (s.up || !s.powered) return;
  changes_.node(id);
  s.up = true;
  ++s.epoch;
  Event ev;
  ev.kind = StepKind::start;
  ev.node = id;
  ev.due_ns = now_ns_;
  ev.ident = Digest().add(static_cast<std::uint64_t>(StepKind::start)).add(id).value();
  push(std::move(ev));
}

void ExploreEngine::power_off(NodeId id) {
  kill(id, false);
  nodes_[id]->powered = false;
}

void ExploreEngine::power_on(NodeId id) {
  nodes_[id]->powered = true;
  restart(id);
}

void ExploreEngine::pause(NodeId id, DurationNs for_ns) {
  NodeSlot& s = *nodes_[id];
  if (!s.up) return;
  s.paused = true;
  Event ev;
  ev.kind = StepKind::resume;
  ev.node = id;
  ev.due_ns = now_ns_ + for_ns;
  ev.ident = Digest().add(static_cast<std::uint64_t>(StepKind::resume)).add(id).value();
  push(std::move(ev));
}

void ExploreEngine::undo_faults() {
  faults_closed_ = true;
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    NodeSlot& s = *nodes_[id];
    if (s.powered_off_by_explorer) {
      s.powered_off_by_explorer = false;
      s.crashed_by_explorer = false;
      power_on(id);
    } else if (s.crashed_by_explorer) {
      s.crashed_by_explorer = false;
      restart(id);
    }
    if (s.paused) {
      // The pending resume goes now: the settle window starts with every node running.
      for (Event& e : pending_)
        if (e.kind == StepKind::resume && e.node == id) e.due_ns = now_ns_;
    }
  }
  if (network_->any_cut()) {
    net_gen_ = ++gen_counter_;
    network_->heal_all();
  }
  explorer_cut_ = false;
}

int ExploreEngine::faults_outstanding() const {
  int n = explorer_cut_ && network_->any_cut() ? 1 : 0;
  for (const auto& s : nodes_)
    if ((s->crashed_by_explorer && !s->up) || s->powered_off_by_explorer) ++n;
  return n;
}

void ExploreEngine::set_clock_skew(NodeId id, DurationNs skew_ns) {
  nodes_[id]->skew_ns = skew_ns;
}

bool ExploreEngine::model_fault(const ModelFault& f) {
  changes_.everything();
  for (auto& s : nodes_) {
    if (!s->up) continue;
    touch(*s);  // on_fault may change the node even when the fault is not for it
    if (s->node->on_fault(*s->ctx, f)) return true;
  }
  return false;
}

void ExploreEngine::touch(NodeSlot& s) {
  if (s.shared) {
    s.node = s.node->clone();
    s.shared = false;
  }
  ++s.changes;
  s.gen = ++gen_counter_;
}

std::uint64_t ExploreEngine::node_digest(const NodeSlot& s) const {
  if (s.digest_gen != s.gen) {
    s.digest = s.node->state_digest();
    s.digest_gen = s.gen;
  }
  return s.digest;
}

bool ExploreEngine::digests_fresh() const {
  for (const auto& s : nodes_)
    if (s->digest_gen == s->gen && s->digest != s->node->state_digest()) return false;
  std::vector<std::uint64_t> ids;
  for (const Event& e : pending_)
    if (!e.fifo) ids.push_back(e.ident);
  std::sort(ids.begin(), ids.end());
  return ids == pending_ids_;
}

void ExploreEngine::save_node(NodeSlot& s) const {
  if (s.clonable < 0) {
    // The first save asks the node: the clone it makes serves this snapshot.
    s.clone = s.node->clone();
    s.clonable = s.clone ? 1 : 0;
  } else if (s.clonable > 0) {
    s.clone = s.node;
    s.shared = true;
  } else {
    s.clone = nullptr;
  }
  s.clone_in_place = !s.clone;
  if (!s.clone)
    s.clone = s.saved_copies.take([&] { return s.node->saved_copy(); },
                                  [&](Node& retired) { retired.assign_from(*s.node); });
  s.clone_gen = s.gen;
}

std::shared_ptr<ExploreEngine::Snapshot> ExploreEngine::save() const {
  // What has not changed since the last snapshot (a node that did not step, the network, the
  // records) is shared with it rather than copied again.
  if (net_snap_gen_ != net_gen_ || !net_snap_) {
    net_snap_ = std::make_shared<const Network>(*network_);
    net_snap_gen_ = net_gen_;
  }
  if (conn_snap_gen_ != conn_gen_ || !conn_snap_) {
    conn_snap_ = conn_copies_.copy(connections_);
    conn_snap_gen_ = conn_gen_;
  }
  // A retired snapshot's vectors take the copies, which then reuse their memory.
  std::shared_ptr<Snapshot> snap =
      snapshots_.take([&] { return std::make_unique<Snapshot>(pending_, net_snap_, conn_snap_); },
                      [&](Snapshot& retired) {
                        retired.pending = pending_;
                        retired.network = net_snap_;
                        retired.connections = conn_snap_;
                      });
  snap->pending_ids = pending_ids_;
  snap->lineage = lineage_;
  snap->net_gen = net_gen_;
  snap->conn_gen = conn_gen_;
  snap->nodes.resize(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    NodeSlot& s = *nodes_[i];
    Snapshot::NodeState& n = snap->nodes[i];
    if (s.clone_gen != s.gen) save_node(s);
    n.clone = s.clone;
    n.in_place = s.clone_in_place;
    n.changes = s.changes;
    n.gen = s.gen;
    n.digest_gen = s.digest_gen;
    n.digest = s.digest;
    n.up = s.up;
    n.paused = s.paused;
    n.powered = s.powered;
    n.crashed_by_explorer = s.crashed_by_explorer;
    n.powered_off_by_explorer = s.powered_off_by_explorer;
    n.epoch = s.epoch;
    n.skew_ns = s.skew_ns;
  }
  snap->actions = actions_.size();
  snap->picks = picks_;
  snap->identities = identities_;
  snap->ordinals = ordinals_;
  snap->pick_flags = pick_flags_;
  snap->pick_peers = pick_peers_;
  snap->now_ns = now_ns_;
  snap->seq = seq_;
  snap->step_index = step_index_;
  snap->rolling_hash = rolling_hash_;
  snap->messages_delivered = messages_delivered_;
  snap->net_version_seen = net_version_seen_;
  snap->conn_version_seen = conn_version_seen_;
  snap->next_timer = next_timer_;
  snap->faults_used = faults_used_;
  snap->faults_closed = faults_closed_;
  snap->in_time_order = in_time_order_;
  snap->explorer_cut = explorer_cut_;
  if (recorder_snap_gen_ != recorder_gen_ || !recorder_snap_) {
    recorder_snap_ = std::make_shared<const Recorder>(recorder_);
    recorder_snap_gen_ = recorder_gen_;
  }
  snap->recorder = recorder_snap_;
  snap->recorder_gen = recorder_gen_;
  snap->observers.reserve(observers_.size());
  for (const StepObserver* obs : observers_) snap->observers.push_back(obs->save_state());
  return snap;
}

void ExploreEngine::restore_faults(const Snapshot& snap) {
  faults_used_ = snap.faults_used;
  faults_closed_ = snap.faults_closed;
  in_time_order_ = snap.in_time_order;
  explorer_cut_ = snap.explorer_cut;
}

void ExploreEngine::restore_node(std::size_t i, const Snapshot& snap, bool own) {
  NodeSlot& s = *nodes_[i];
  const Snapshot::NodeState& n = snap.nodes[i];
  // A node still in the saved state (same generation) is kept; another one becomes a clone of
  // the snapshot's clone (the snapshot may be restored again: a frame with options left), or,
  // for a saved copy, is assigned its state in place (restore() admits a saved copy only from
  // this engine, whose node object the copy was taken from).
  if (restorable(n, own) && (!own || s.gen != n.gen)) {
    if (n.in_place) {
      s.node->assign_from(*n.clone);
    } else {
      // Never changed while shared: touch() clones it first.
      s.node = std::const_pointer_cast<Node>(n.clone);
      s.shared = true;
    }
    std::uint64_t g = own ? n.gen : ++gen_counter_;
    s.gen = g;
    s.clone = n.clone;
    s.clone_in_place = n.in_place;
    s.clone_gen = g;
    s.digest = n.digest;
    s.digest_gen = n.digest_gen == n.gen ? g : ~std::uint64_t{0};
  }
  s.changes = n.changes;
  s.up = n.up;
  s.paused = n.paused;
  s.powered = n.powered;
  s.crashed_by_explorer = n.crashed_by_explorer;
  s.powered_off_by_explorer = n.powered_off_by_explorer;
  s.epoch = n.epoch;
  s.skew_ns = n.skew_ns;
}

bool ExploreEngine::restore(const Snapshot& snap) {
  // Generations name states of this engine only: a snapshot of another engine (dfs keeps its
  // snapshots across a re-run from the start) is copied in whole and given fresh ones.
  const bool own = snap.lineage == lineage_;
  // A saved copy holds pointers into the node object it was copied from: another engine's
  // node objects are others, so there it counts as no copy at all.
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (!restorable(snap.nodes[i], own) && nodes_[i]->changes != snap.nodes[i].changes)
      return false;
  // Nodes become clones of another state, and come up or go down: checks' caches read all again.
  changes_.everything();
  for (std::size_t i = 0; i < nodes_.size(); ++i) restore_node(i, snap, own);
  pending_ = snap.pending;
  pending_ids_ = snap.pending_ids;
  if (!own || net_gen_ != snap.net_gen) {
    *network_ = *snap.network;
    net_gen_ = own ? snap.net_gen : ++gen_counter_;
    net_snap_ = snap.network;
    net_snap_gen_ = net_gen_;
  }
  if (!own || conn_gen_ != snap.conn_gen) {
    connections_ = *snap.connections;
    conn_gen_ = own ? snap.conn_gen : ++gen_counter_;
    conn_snap_ = snap.connections;
    conn_snap_gen_ = conn_gen_;
  }
  // Actions scheduled after the snapshot (random faults re-arming) are forgotten, so the next
  // ones get the tags a re-run would give them.
  actions_.resize(snap.actions);
  picks_ = snap.picks;
  identities_ = snap.identities;
  ordinals_ = snap.ordinals;
  pick_flags_ = snap.pick_flags;
  pick_peers_ = snap.pick_peers;
  now_ns_ = snap.now_ns;
  seq_ = snap.seq;
  step_index_ = snap.step_index;
  assert_context().step = step_index_;
  rolling_hash_ = snap.rolling_hash;
  messages_delivered_ = snap.messages_delivered;
  net_version_seen_ = snap.net_version_seen;
  conn_version_seen_ = snap.conn_version_seen;
  next_timer_ = snap.next_timer;
  restore_faults(snap);
  if (!own || recorder_gen_ != snap.recorder_gen) {
    recorder_ = *snap.recorder;
    recorder_gen_ = own ? snap.recorder_gen : ++gen_counter_;
    recorder_snap_ = snap.recorder;
    recorder_snap_gen_ = recorder_gen_;
  }
  // The observers were built in the same order for every run of a scenario, so a snapshot of
  // another engine's run puts back the same kinds of state.
  for (std::size_t i = 0; i < observers_.size() && i < snap.observers.size(); ++i)
    if (snap.observers[i]) observers_[i]->restore_state(snap.observers[i].get());
  stopped_ = false;
  ended_naturally_ = false;
  return true;
}

std::string_view ExploreEngine::node_name(NodeId id) const { return nodes_[id]->name; }

NodeId ExploreEngine::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? k_no_node : it->second;
}

bool ExploreEngine::is_up(NodeId id) const { return nodes_[id]->up; }
const Node& ExploreEngine::node(NodeId id) const { return *nodes_[id]->node; }

std::uint64_t ExploreEngine::digest() const {
  return world_digest(rolling_hash_, step_index_, *this);
}

std::uint64_t ExploreEngine::state_hash() const {
  Digest d;
  for (const auto& s : nodes_)
    d.add((s->up ? 1u : 0u) | (s->paused ? 2u : 0u) | (s->crashed_by_explorer ? 4u : 0u) |
          (s->powered ? 0u : 8u) | (s->powered_off_by_explorer ? 16u : 0u))
        .add(node_digest(*s));
  // The pending events as a multiset: sorted identities, so creation order does not matter,
  // except on a connection, where it decides which event is the head: each FIFO event counts
  // with its place in its direction. The other events' identities are kept sorted as events
  // come and go (pending_ids_): sorting them all at every state was 3% of known bug (b)'s
  // plain dfs. The few FIFO ones are sorted here and merged in, which digests the same values
  // in the same order as one sort of all of them did.
  std::vector<std::uint64_t>& ids = ids_;
  ids.clear();
  auto& fifo = fifo_order_;
  fifo.clear();
  const std::uint64_t n = nodes_.size();
  for (const Event& e : pending_)
    if (e.fifo) fifo.push_back({std::uint64_t{e.from} * n + e.node, e.seq, e.ident});
  std::sort(fifo.begin(), fifo.end());
  std::uint64_t place = 0;
  for (std::size_t i = 0; i < fifo.size(); ++i) {
    place = i > 0 && fifo[i][0] == fifo[i - 1][0] ? place + 1 : 0;
    ids.push_back(Digest().add(fifo[i][2]).add(place).value());
  }
  std::sort(ids.begin(), ids.end());
  d.add(ids.size() + pending_ids_.size());
  auto a = pending_ids_.begin();
  for (std::uint64_t id : ids) {
    for (; a != pending_ids_.end() && *a < id; ++a) d.add(*a);
    d.add(id);
  }
  for (; a != pending_ids_.end(); ++a) d.add(*a);
  d.add(static_cast<std::uint64_t>(faults_used_));
  // Only liveness runs close the fault phase: other states hash as they always did.
  if (faults_closed_) d.add(0xc105edu);
  epochs_.clear();
  for (const auto& s : nodes_) epochs_.push_back(s->epoch);
  connections_.digest_into(d, epochs_);
  if (network_->any_cut()) {
    for (NodeId a = 0; a < nodes_.size(); ++a)
      for (NodeId b = 0; b < nodes_.size(); ++b) d.add(network_->reachable(a, b) ? 1u : 0u);
  }
  return d.value();
}

PickIdentity ExploreEngine::identify(const Option& o) const {
  PickIdentity id;
  auto name = [&](NodeId n) { return n == k_no_node ? std::string() : nodes_[n]->name; };
  id.node = name(o.node);
  if (o.injected) {
    id.injected = true;
    id.kind = std::string(inject_kind_name(o.inject));
    if (o.inject == InjectKind::kill_container) id.name = options_.kill_containers[o.slot];
    if (o.inject == InjectKind::truncate)
      id.name = fmt::format("{}", fmt::join(options_.truncate_tables[o.slot], ","));
    if (o.inject != InjectKind::drop && o.inject != InjectKind::duplicate) return id;
  } else {
    id.kind = std::string(step_kind_name(o.kind));
  }
  const Event& e = pending_[o.slot];
  id.from = name(e.from);
  id.seq = e.ord;
  switch (e.kind) {
    case StepKind::deliver:
      id.name = std::string(nodes_[e.node]->node->message_name(e.msg.type));
      break;
    case StepKind::connection:
      id.name = std::string(connection_event_name(static_cast<ConnectionEvent>(e.tag)));
      break;
    case StepKind::timer:
    case StepKind::fault:
    case StepKind::check: id.tag = e.tag; break;
    default: break;
  }
  return id;
}

std::string describe_identity(const PickIdentity& id) {
  std::string text = id.kind;
  if (!id.node.empty()) text += " " + id.node;
  if (!id.from.empty()) text += " <- " + id.from;
  if (!id.name.empty()) text += " " + id.name;
  if (id.kind == "timer") text += fmt::format(" tag {}", id.tag);
  if (id.kind == "fault" || id.kind == "check") text += fmt::format(" #{} of the script", id.tag);
  if (id.seq != 0 || !id.from.empty()) text += fmt::format(" (seq {})", id.seq);
  if (id.injected) text += " (injected)";
  return text;
}

std::string ExploreEngine::describe(const Option& o) const {
  if (o.injected) {
    if (o.inject == InjectKind::heal) return "heal all (injected)";
    if (o.inject == InjectKind::kill_container)
      return fmt::format("kill_container {} (injected)", options_.kill_containers[o.slot]);
    if (o.inject == InjectKind::truncate)
      return fmt::format("truncate {} (injected)", fmt::join(options_.truncate_tables[o.slot], ", "));
    if (o.inject == InjectKind::drop || o.inject == InjectKind::duplicate) {
      const Event& e = pending_[o.slot];
      return fmt::format("{} {} -> {} {} (injected)", inject_kind_name(o.inject),
                         nodes_[e.from]->name, nodes_[e.node]->name,
                         nodes_[e.node]->node->message_name(e.msg.type));
    }
    return fmt::format("{} {} (injected)", inject_kind_name(o.inject), nodes_[o.node]->name);
  }
  switch (o.kind) {
    case StepKind::fault: return "scripted fault";
    case StepKind::check: return "timed check";
    case StepKind::deliver:
      return fmt::format("deliver {} <- {} {}", nodes_[o.node]->name, nodes_[o.from]->name,
                         nodes_[o.node]->node->message_name(o.msg_type));
    case StepKind::timer:
      return fmt::format("timer {} tag {}", nodes_[o.node]->name, pending_[o.slot].tag);
    case StepKind::connection:
      return fmt::format(
          "connection {} <- {} {}", nodes_[o.node]->name, nodes_[o.from]->name,
          connection_event_name(static_cast<ConnectionEvent>(pending_[o.slot].tag)));
    default: return fmt::format("{} {}", step_kind_name(o.kind), nodes_[o.node]->name);
  }
}

}  // namespace stampede::explore
