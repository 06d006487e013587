#pragma once
// The exploration engine: the same Node/Ctx semantics as the kernel (timers, crash epochs, pauses,
// partitions through sim/net, connections through sim/net/connections), but the next step is not
// fixed by time. Before every step the engine lists its options, in canonical order, and a
// Scheduler picks one:
//   - every pending event (a message in flight, a connection event, a timer, a node start or
//     resume) that is due no later than the next scripted action (fault or timed check) and the
//     end of the run, ordered as the timed engine would run them, so option 0 is always "what
//     time would do next". Stream messages and connection events are FIFO on their connection:
//     only the earliest sent of each direction (from → to) is an option;
//   - that next scripted action itself;
//   - while the fault budget lasts, injected faults: crash, restart, isolate, heal, drop,
//     duplicate. A drop of a stream message resets its connection (both ends read `closed`; what
//     was sent after it on its direction is lost with it) and is offered only while the
//     connection is open; a duplicate is offered only for datagrams.
// Connections behave as in the kernel (sim/net/connections.hpp): a crash (injected or scripted)
// closes the node's connections, and each peer whose link is up gets a `closed` event behind what
// was in flight to it; a stream send to a node whose process is down is refused; a loss of power
// is silent; a restarted process holds no connection. A stream message or `closed` event whose
// connection died meanwhile (broken, or closed at both ends) is dropped from the pending events
// when the connection dies, where the kernel drops it on arrival.
// Taking an event out of time order delays the ones before it: the clock moves to the event's due
// time if that is later, never backwards, so a timer never fires early and a message may arrive
// arbitrarily late (docs/design.md, "Time and two semantics"). A run is fully determined by the
// root seed (latencies, model randomness) and the list of picks, which is what explorer traces
// record.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/core/chooser.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/spec.hpp"
#include "sim/explore/chunked_log.hpp"
#include "sim/explore/recycler.hpp"
#include "sim/net/connections.hpp"
#include "sim/net/network.hpp"

namespace stampede::explore {

// Faults the explorer may inject on its own (within --max-faults). `pause` (a stop-the-world
// pause of pause_ns), `power_off` (a silent loss of power, undone by `power_on`),
// `kill_container` (a container of the scenario's stacks dies, as the scripted fault) and
// `truncate` (the field report's TRUNCATE of tables, as the scripted fault) are asked for by
// name only: the default set, k_all_inject_kinds, keeps the six kinds that searches and their
// pinned state counts were built on.
enum class InjectKind : std::uint8_t {
  crash,
  restart,
  isolate,
  heal,
  drop,
  duplicate,
  pause,
  power_off,
  power_on,
  kill_container,
  truncate,
};
inline constexpr int k_inject_kinds = 11;
inline constexpr std::uint32_t k_all_inject_kinds = (1u << 6) - 1;
inline constexpr std::uint32_t inject_bit(InjectKind k) {
  return 1u << static_cast<unsigned>(k);
}
std::string_view inject_kind_name(InjectKind k);
// Repairs (restart, heal, power_on) are free; the others spend the fault budget.
bool inject_costs(InjectKind k);
// The mask with the repair of every fault it holds added (crash: restart, isolate: heal,
// power_off: power_on), so that a subset of kinds never makes a fault permanent by leaving its
// undo out (swarm testing draws subsets).
std::uint32_t with_undos(std::uint32_t mask);

struct Option {
  bool injected = false;            // an injected fault rather than a pending event
  StepKind kind = StepKind::deliver;  // for events
  InjectKind inject = InjectKind::crash;  // for injected faults
  NodeId node = k_no_node;  // the node that steps (or the fault's target)
  NodeId from = k_no_node;  // deliveries: the sender
  std::uint32_t msg_type = 0;
  TimeNs due_ns = 0;
  // Canonical identity (independent of creation order), for sleep sets and state hashing.
  std::uint64_t ident = 0;
  // A step of `node` (start, deliver, connection, timer, resume): it changes that node, the
  // pending events and the connections between that node and the peers it sends to or hears
  // from (ExploreEngine::pick_peers()). Scripted actions and injected faults touch the whole
  // world.
  bool local = true;
  // Events: the number of steps taken when it was created (0: before the first step; k + 1: by
  // step k), so the step that created it is created_pick - 1. Injected faults: 0.
  std::uint64_t created_pick = 0;
  std::size_t slot = 0;  // internal: the pending event it stands for
};

// What an option is by name rather than by index or digest, so that a trace's picks can be
// followed after a code change that adds, removes or reorders options (docs/exploration.md,
// "Picks by identity"). Message and node names survive a change of the model; indexes, message
// digests and node numbers do not.
struct PickIdentity {
  // The step kind ("deliver", "timer", "connection", "start", "resume", "fault", "check"), or,
  // for an injected fault, its kind ("crash", "drop", ...) with `injected` set.
  std::string kind;
  bool injected = false;
  std::string node;  // the node that steps, or the fault's target (drop: the receiver)
  std::string from;  // deliveries, connection events, drop and duplicate: the sender or peer
  // The message's name, the connection event's, the container killed or the tables truncated.
  std::string name;
  std::uint64_t tag = 0;  // timers: the tag; scripted actions: their index in the script
  // The per-connection sequence: how many events of this kind, node, from, name and tag the run
  // had created before this one (drop, duplicate: the target message's). It tells apart two
  // messages of one type in flight between the same nodes; it is the part most likely to move
  // when the model changes, so a replay matches on it last.
  std::uint64_t seq = 0;
  bool operator==(const PickIdentity&) const = default;
  // Equal but for the sequence number.
  bool same_but_seq(const PickIdentity& o) const {
    return kind == o.kind && injected == o.injected && node == o.node && from == o.from &&
           name == o.name && tag == o.tag;
  }
};
// A one-line account ("deliver server-1 <- zookeeper-1 ZkReply #3", "crash agent-2 (injected)").
std::string describe_identity(const PickIdentity& id);

// A peer in a step's footprint (ExploreEngine::pick_peers): one bit per node, nodes 62 and up
// sharing bit 62, so that a mask may only over-approximate. Bit 63 is never set.
inline std::uint64_t peer_bit(NodeId node) {
  return std::uint64_t{1} << (node < 62 ? node : 62);
}

class ExploreEngine;

class Scheduler {
 public:
  static constexpr std::size_t k_stop = SIZE_MAX;
  virtual ~Scheduler() = default;
  // Picks one of `options` (never empty) or returns k_stop to end the run before this step.
  virtual std::size_t choose(const ExploreEngine& engine, const std::vector<Option>& options) = 0;
};

struct ExploreOptions : EngineOptions {
  int max_faults = 0;
  std::uint32_t inject_kinds = k_all_inject_kinds;
  DurationNs pause_ns = 60 * k_s;  // how long an injected pause lasts
  // Bounded delay (partial synchrony): an event may run out of time order only when it is due no
  // later than max_delay_ns after the earliest pending event, so nothing runs more than
  // max_delay_ns late. Negative: unbounded (any pending event may go next). Time-bounded
  // liveness ("a leader within T") needs it: with unbounded delays any deadline can be missed.
  DurationNs max_delay_ns = -1;
  // The nodes an injected fault may target (crash, isolate, pause, power_off; a drop or a
  // duplicate of a message to or from one), as name patterns (sim/core/spec.hpp name_matches);
  // empty: every node. Repairs of the explorer's own faults are always offered.
  std::vector<std::string> fault_targets;
  // The candidates of the model faults (--faults kill_container,truncate): containers by name
  // (STACK/SERVICE/K) and table lists, one option each.
  std::vector<std::string> kill_containers;
  std::vector<std::vector<std::string>> truncate_tables;
  // Liveness mode (Settings::settle_ns): the fault phase ends when the next event is due at or
  // after fault_phase_end_ns, or once settle_after_steps steps are taken (0: no step bound);
  // then undo_faults() runs, no fault is offered any more, and a run ended by the step bound
  // goes on in time order (option 0, the scheduler no longer asked) to the end of the scenario,
  // so that it is judged after its settle window like every other run. -1: no liveness mode.
  TimeNs fault_phase_end_ns = -1;
  std::uint64_t settle_after_steps = 0;
  // Keep every pick's identity (ExploreEngine::identities) and number events by kind, nodes
  // and name (PickIdentity::seq): for runs that are recorded as traces or that follow one.
  bool identities = false;
  // Called once at the end of run_until, while the engine still exists (run_scenario owns it):
  // the explorer reads the picks and the final state there.
  std::function<void(const ExploreEngine&)> on_end;
  // Called where a run would end (nothing left to happen, the scheduler stopped it, or an
  // observer asked to stop). Returning true means the callback restored a snapshot and the run
  // goes on from it; false ends the run as usual. The explorer's dfs backtracks this way.
  std::function<bool(ExploreEngine&)> on_leaf;
};

class ExploreEngine final : public Engine {
 public:
  ExploreEngine(ExploreOptions options, Chooser& chooser, Scheduler& scheduler);
  ~ExploreEngine() override;
  ExploreEngine(const ExploreEngine&) = delete;
  ExploreEngine& operator=(const ExploreEngine&) = delete;

  std::string_view engine_name() const override { return "explore"; }
  NodeId add_node(std::string name, std::unique_ptr<Node> node) override;
  void add_observer(StepObserver* obs) override { observers_.push_back(obs); }
  void at(TimeNs t, StepKind kind, std::function<void()> fn) override;
  void run_until(TimeNs until_ns) override;

  void crash(NodeId id) override;
  void restart(NodeId id) override;
  void power_off(NodeId id) override;
  void power_on(NodeId id) override;
  void pause(NodeId id, DurationNs for_ns) override;
  void set_clock_skew(NodeId id, DurationNs skew_ns) override;
  bool model_fault(const ModelFault& f) override;
  // Whoever asks for the network may change it: snapshots stop sharing the current copy.
  Network& network() override {
    net_gen_ = ++gen_counter_;
    return *network_;
  }

  // WorldView
  TimeNs now() const override { return now_ns_; }
  std::size_t node_count() const override { return nodes_.size(); }
  std::string_view node_name(NodeId id) const override;
  NodeId find(std::string_view name) const override;
  bool is_up(NodeId id) const override;
  const Node& node(NodeId id) const override;

  std::uint64_t steps() const override { return step_index_; }
  std::uint64_t digest() const override;
  std::uint64_t messages_delivered() const override { return messages_delivered_; }
  const LogLines& logs() const override { return recorder_.logs(); }
  const std::vector<SignalRecord>& signals() const override { return recorder_.signals(); }
  std::vector<std::string> metric_names() const override { return recorder_.metric_names(); }
  std::int64_t counter(std::string_view name) const override { return recorder_.counter(name); }
  const std::vector<Sample>* series(std::string_view name) const override {
    return recorder_.series(name);
  }

  // The canonical state: every node's state digest, up/paused/powered flags, the pending events
  // by identity (a multiset, except that the events of each connection direction count in their
  // order), the connection table (Connections::digest_into), cut links and the faults spent. Clock values are left out, so states that
  // differ only in when things happened are one state (exact for models that keep no clock
  // readings in their state without also digesting them).
  // Node digests are cached between the node's changes (a handler ran on it, it crashed, a model
  // fault reached it, a snapshot was restored), so a node that does not step costs nothing here.
  std::uint64_t state_hash() const;
  // Undoes every fault the explorer injected (restarts what it crashed, powers on what it
  // powered off, heals the network, resumes paused nodes) and stops offering faults: the end of
  // a liveness run's fault phase (Settings::settle_ns).
  void undo_faults();
  bool faults_closed() const { return faults_closed_; }
  // The explorer's faults in force now: nodes it crashed or powered off and has not brought
  // back, and an isolation it has not healed. The shrinker keeps a fault's undo by this count.
  int faults_outstanding() const;
  // For tests: whether every cached node digest still equals a fresh state_digest(), and the
  // sorted identities state_hash() reads (pending_ids_) are those of the pending events.
  bool digests_fresh() const;
  int faults_used() const { return faults_used_; }
  // The index picked at every step so far.
  const ChunkedLog<std::uint32_t>& picks() const { return picks_; }
  // The identity of an option of the current step (between the scheduler's call and the step;
  // the engine numbers events only with ExploreOptions::identities, else every seq is 0).
  PickIdentity identify(const Option& o) const;
  // With ExploreOptions::identities: the identity of the option picked at every step so far.
  const ChunkedLog<PickIdentity>& identities() const { return identities_; }
  // Per step: k_flag_injected, k_flag_out_of_order (an event other than the timed choice).
  static constexpr std::uint8_t k_flag_injected = 1;
  static constexpr std::uint8_t k_flag_out_of_order = 2;
  const ChunkedLog<std::uint8_t>& pick_flags() const { return pick_flags_; }
  // Per step: the peers (peer_bit masks) whose connection with the stepping node the step read or
  // changed: each stream send or close of its handler, and the peer of a stream message or
  // connection event it took. Steps of two nodes share state only through the connection between
  // them, so they commute unless each touched the other (the explorer's independence).
  const ChunkedLog<std::uint64_t>& pick_peers() const { return pick_peers_; }
  // A one-line account of an option, for timelines ("deliver lease-lock <- lease-client-1 ...").
  std::string describe(const Option& o) const;
  bool ended_naturally() const { return ended_naturally_; }

  // The whole engine state between two steps: every node (a clone; for a node that cannot
  // clone itself, its saved copy (Node::saved_copy), restored in place into the same node
  // object; else its change count), the pending events, the network, the clock, the counters,
  // the picks so far and the recorded logs, signals and metrics. The chooser is not in it: its
  // owner snapshots it (Explorer does).
  struct Snapshot;
  std::shared_ptr<Snapshot> save() const;  // shared: Snapshot is complete only in engine.cpp
  // Puts the engine back into a saved state and makes the run go on from there (a run that had
  // ended or been stopped resumes). Returns false, changing nothing, when a node that has no
  // clone in the snapshot (or only a saved copy, and the snapshot is another engine's) has
  // changed since the snapshot: the caller then re-runs from the start.
  bool restore(const Snapshot& snap);

 private:
  void restore_faults(const Snapshot& snap);  // restore(): the explorer's fault bookkeeping

 public:

 private:
  class NodeCtx;
  struct Event;
  struct NodeSlot;
  // restore(): node i's slot from the snapshot (own: the snapshot is of this engine).
  void restore_node(std::size_t i, const Snapshot& snap, bool own);
  friend class NodeCtx;

  void push(Event ev);
  // pending_ids_ follows pending_: remember() an event as it is added, forget() it as it is
  // taken out; erase_pending() erases the events `pred` selects and forgets each.
  void remember(const Event& e);
  void forget(const Event& e);
  template <class Pred>
  void erase_pending(Pred pred);
  // The options of the next step: the pending events that may happen now, then the faults the
  // explorer may inject.
  void build_options();
  // build_options(): the slots in pending_ of the events that may happen next, in time order.
  void collect_event_slots();
  // collect_event_slots(): with a node still to start, slots_ becomes the first start due by
  // `horizon` alone; false (slots_ as it was) if none is.
  bool first_start_only(TimeNs horizon);
  void add_fault_options();
  static bool earlier(const Event& a, const Event& b);  // the order time alone would take
  void take(const Option& o);
  void take_injected(const Option& o);
  void take_event(const Option& o);
  std::string inject(const Option& o);  // applies an injected fault; returns what it did
  void purge_cut_deliveries();
  void purge_dead_connection_events();
  // The FIFO heads: for each pending stream message or connection event, whether it is the
  // earliest sent of its direction. collect_event_slots() fills heads_ (indexed from * nodes +
  // to) with their seq and lists the entries it set in head_dirs_; clear_heads() resets them.
  void clear_heads();
  bool is_head(const Event& e) const;
  void send_stream(NodeId from, NodeId to, Message&& msg);
  void close_connection(NodeId from, NodeId to);
  // Queues a connection event for `node` about `peer`, behind what is in flight from the peer.
  // `local`: the node's own TCP raises it (a time-out), no link to cross.
  void notify(NodeId node, NodeId peer, ConnectionEvent event, std::uint32_t generation,
              DurationNs after_ns, bool local = false);
  // tcp_retransmit: whether the stream message `ev` (taken out of pending_) arrives now. If not,
  // it is pending again for its next retransmission, or it was the time-out that breaks its
  // connection (Kernel::arrives_on_stream does the same).
  bool take_stream(Event& ev);
  void kill(NodeId id, bool loud);
  std::string drop_stream(const Event& e);  // the injected drop of a stream message
  void finish_step(StepInfo& info);
  void touch(NodeSlot& s);  // the node is about to change: new generation
  // save(): the node's state for a snapshot (a clone, the node itself shared, or a saved copy).
  void save_node(NodeSlot& s) const;
  std::uint64_t node_digest(const NodeSlot& s) const;

  ExploreOptions options_;
  Chooser& chooser_;
  Scheduler& scheduler_;
  std::unique_ptr<Network> network_;
  Connections connections_;
  std::vector<std::unique_ptr<NodeSlot>> nodes_;
  std::map<std::string, NodeId, std::less<>> by_name_;
  std::vector<Event> pending_;
  // The identities of the pending events that are not FIFO, sorted (a multiset): state_hash()
  // digests them without sorting them again at every state.
  std::vector<std::uint64_t> pending_ids_;
  std::vector<Option> options_list_;
  std::vector<StepObserver*> observers_;
  std::vector<std::function<void()>> actions_;
  ChunkedLog<std::uint32_t> picks_;
  ChunkedLog<PickIdentity> identities_;  // with ExploreOptions::identities
  // With ExploreOptions::identities: events created so far per kind, nodes and name (looked up
  // only, never iterated).
  std::unordered_map<std::uint64_t, std::uint64_t> ordinals_;
  ChunkedLog<std::uint8_t> pick_flags_;
  ChunkedLog<std::uint64_t> pick_peers_;
  std::uint64_t step_peers_ = 0;  // the footprint of the step being taken
  TimeNs now_ns_ = 0;
  TimeNs until_ns_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t step_index_ = 0;
  std::uint64_t rolling_hash_ = 0;
  std::uint64_t messages_delivered_ = 0;
  std::uint64_t net_version_seen_ = 0;
  std::uint64_t conn_version_seen_ = 0;
  TimerId next_timer_ = 1;
  int faults_used_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  bool faults_closed_ = false;  // undo_faults() has run: no fault is offered any more
  bool in_time_order_ = false;
  bool explorer_cut_ = false;   // an injected isolate not healed since  // liveness mode past its step bound: option 0, no scheduler
  void maybe_close_faults();    // liveness mode: the end of the fault phase
  bool ended_naturally_ = false;
  Recorder recorder_;  // logs, signals, counters and series
  // Generations (see NodeSlot::gen): fresh values from gen_counter_ whenever the network or the
  // recorder may change; snapshots share one copy of each while its generation holds.
  std::uint64_t gen_counter_ = 0;
  // This engine's identity for its snapshots (compared while both are alive, never ordered).
  std::shared_ptr<const char> lineage_ = std::make_shared<const char>('e');
  std::uint64_t net_gen_ = 0;
  std::uint64_t conn_gen_ = 0;
  std::uint64_t recorder_gen_ = 0;
  mutable std::shared_ptr<const Network> net_snap_;
  mutable std::uint64_t net_snap_gen_ = 0;
  mutable std::shared_ptr<const Connections> conn_snap_;
  mutable std::uint64_t conn_snap_gen_ = 0;
  mutable Recycler<Connections> conn_copies_;  // conn_snap_'s memory, reused
  mutable Recycler<Snapshot> snapshots_;       // save()'s, reused
  mutable std::shared_ptr<const Recorder> recorder_snap_;
  mutable std::uint64_t recorder_snap_gen_ = 0;
  // Scratch space reused by every step (no allocation per state).
  std::vector<std::size_t> slots_;
  std::vector<std::uint64_t> heads_;  // collect_event_slots(): by direction, the seq of its head
  std::vector<std::size_t> head_dirs_;  // the directions heads_ holds a head for now
  mutable std::vector<std::uint64_t> ids_;
  mutable std::vector<std::uint32_t> epochs_;
  mutable std::vector<std::array<std::uint64_t, 3>> fifo_order_;  // direction, seq, ident
};

}  // namespace stampede::explore
