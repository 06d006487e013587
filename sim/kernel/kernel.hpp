#pragma once
// The fast engine: a single-threaded event loop over a priority queue. Nodes are driven through
// the Ctx interface of sim/core; every nondeterministic decision (same-instant order, latency,
// drop, duplicate, model randomness) is taken through the Chooser. The kernel knows nothing of
// scenarios or models: the world is assembled by whoever calls add_node (see sim/kernel/world.hpp
// for building one from a scenario and the registry).
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/core/chooser.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/node.hpp"
#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"
#include "sim/kernel/event_queue.hpp"
#include "sim/kernel/link_tails.hpp"
#include "sim/net/connections.hpp"
#include "sim/net/network.hpp"

namespace stampede {

class Kernel final : public Engine {
 public:
  using Options = EngineOptions;
  // The chooser may be null: the kernel then owns a SeededChooser on options.seed.
  Kernel(Options options, Chooser* chooser = nullptr);
  ~Kernel() override;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  std::string_view engine_name() const override { return "kernel"; }
  NodeId add_node(std::string name, std::unique_ptr<Node> node) override;
  void add_observer(StepObserver* obs) override {
    observers_.push_back(obs);
    if (obs->may_stop()) stoppers_.push_back(obs);
    // Before the first step the nodes may not all be there yet: run_until finds them then.
    if (started_)
      find_watchers();
    else
      watchers_.clear();
  }

  // Schedules work at an absolute instant; it runs as a `fault` step (for scripted faults) or a
  // `check` step (for timed expectations), after every event at an earlier instant.
  void at(TimeNs t, StepKind kind, std::function<void()> fn) override;

  // Starts every node (on first call) and runs events up to and including `until_ns`.
  void run_until(TimeNs until_ns) override;
  // Stops the run before the next step (used when a check fails fast).
  void stop() { stopped_ = true; }

  // Faults, applied immediately.
  void crash(NodeId id) override;
  void restart(NodeId id) override;
  void power_off(NodeId id) override;
  void power_on(NodeId id) override;
  void pause(NodeId id, DurationNs for_ns) override;
  void set_clock_skew(NodeId id, DurationNs skew_ns) override;
  bool model_fault(const ModelFault& f) override;  // false if no node took it
  Network& network() override { return *network_; }
  // The connection table, for tests.
  const Connections& connections() const { return connections_; }

  // WorldView
  TimeNs now() const override { return now_ns_; }
  std::size_t node_count() const override;
  std::string_view node_name(NodeId id) const override;
  NodeId find(std::string_view name) const override;
  bool is_up(NodeId id) const override;
  const Node& node(NodeId id) const override;

  // Results.
  std::uint64_t steps() const override { return step_index_; }
  std::uint64_t rolling_hash() const { return rolling_hash_; }
  // The run's digest: every step (through the rolling hash) and every node's final state.
  std::uint64_t digest() const override;
  std::uint64_t messages_delivered() const override { return messages_delivered_; }
  // RunRecord
  const LogLines& logs() const override { return recorder_.logs(); }
  const std::vector<SignalRecord>& signals() const override { return recorder_.signals(); }
  std::vector<std::string> metric_names() const override { return recorder_.metric_names(); }
  std::int64_t counter(std::string_view name) const override { return recorder_.counter(name); }
  const std::vector<Sample>* series(std::string_view name) const override {
    return recorder_.series(name);
  }
  std::uint64_t seed() const { return options_.seed; }

 private:
  class NodeCtx;
  struct Event;
  struct NodeSlot;
  friend class NodeCtx;

  void push(Event&& ev, std::optional<std::uint64_t> key = std::nullopt);
  // Pushes an event whose time Connections::arrival gave for its direction (ev.from -> ev.node):
  // behind the direction's pending events when it has some (see link_tails_).
  void push_on_link(Event&& ev);
  // push() and push_on_link() for an event already in the slab, at `slot`.
  void push_slot(std::uint32_t slot, std::optional<std::uint64_t> key = std::nullopt);
  void push_on_link_slot(std::uint32_t slot);
  // Stores an event in the slab and returns its slot.
  std::uint32_t store(Event&& ev);
  // The event at `slot`; its address stays the same while the slab grows.
  Event& slab(std::uint32_t slot);
  // A free slot, its event in its default state, for the caller to fill in.
  std::uint32_t new_slot();
  std::uint32_t grow_slab();  // new_slot() when no slot is free
  // Puts the event at `slot` back in its default state (releasing its message) and frees it.
  void free_slot(std::uint32_t slot);
  // After `ev` (taken from the slab) was popped: the next event of its direction, if any, joins
  // its queue.
  void release_next_on_link(const Event& ev);
  // A stream message from `from` to `to` (sim/net/connections.hpp decides its fate).
  void send_stream(NodeId from, NodeId to, Message&& msg);
  // Schedules a connection event for `node` about `peer`, `after_ns` from now (FIFO behind what
  // the peer sent before). `local`: the node's own TCP raises it (a time-out), no link to cross.
  void notify(NodeId node, NodeId peer, ConnectionEvent event, std::uint32_t generation,
              DurationNs after_ns, bool local = false);
  // tcp_retransmit: whether a stream delivery of a live connection arrives now. If not, it is
  // held (pushed again for its next retransmission) or it was the time-out that breaks the
  // connection (sim/net/connections.hpp).
  bool arrives_on_stream(Event& ev);
  // A crash or a loss of power: the process dies and its timers with it; `loud` closes its
  // connections with events, each after the node's exit teardown and a latency.
  void kill(NodeId id, bool loud);
  // Cancels every live timer `id` set, except those `keeps_timer` (if any) accepts.
  void cancel_timers(NodeId id, const std::function<bool(std::uint64_t)>& keeps_timer);
  void dispatch_connection(Event& ev, StepInfo& info);
  bool dispatch_engine_step(Event& ev, StepInfo& info);
  // The queue whose first entry runs next, or null when both are empty.
  EventQueue* next_queue();
  void dispatch(Event& ev);
  void finish_step(StepInfo& info);
  // Counts a cancelled timer and, when cancelled timers make up two thirds of their queue,
  // drops them.
  void note_cancelled();

  Options options_;
  std::unique_ptr<SeededChooser> own_chooser_;
  Chooser* chooser_;
  std::unique_ptr<Network> network_;
  Connections connections_;
  // By node id, in place (not behind pointers): invariants ask for names and up flags of every
  // node after many steps. No slot moves once the run has started (nodes are added before).
  std::vector<NodeSlot> nodes_;
  // Names to ids, hashed: models look peers up by name on hot paths (ctx.lookup), and only exact
  // look-ups are made (the table is never iterated, so its order cannot show in a run).
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, NodeId, NameHash, std::equal_to<>> by_name_;
  // The slab of events, by slot, in chunks of k_chunk that never move. A step's event is read
  // where it lies while the step schedules others, and each event is written once where it will
  // wait: moving every event into a growing vector and out again when it ran was 4% of the HA
  // hour's instructions (bench/ha.sh).
  static constexpr std::uint32_t k_chunk = 256;
  std::vector<std::unique_ptr<Event[]>> slab_;
  std::uint32_t slots_ = 0;                // slots in slab_'s chunks
  std::vector<std::uint32_t> free_slots_;  // slots free for reuse, their events default
  // Two queues over slab_ (sim/kernel/event_queue.hpp), each ordered by EventQueue::earlier; the
  // next step is the earlier of their tops, so together they run events in exactly the order one
  // queue would. Timers are set seconds ahead and most are cancelled (request timeouts), while
  // deliveries are due within milliseconds: kept apart, the many deliveries pop from a queue of a
  // few entries instead of sifting through every pending timer.
  EventQueue timer_queue_;  // timer events
  EventQueue event_queue_;  // every other event
  // Stream deliveries and connection events of one direction (from -> to) arrive in the order
  // they were sent, each at least a nanosecond after the one before (Connections::arrival), so
  // one cannot run before an earlier one of its direction: only the first pending event of each
  // direction sits in event_queue_, and the others wait in a chain through the slab (Event::next)
  // until the one before them is popped. The order of steps is the queue's total order either
  // way; what changes is the queue's size. A Cattle server that pushes a configuration to every
  // agent at each of a wave of host activations had O(agents^2) deliveries pending at once, and
  // popping from a heap of millions of entries took a third of the run (issue 15). By direction
  // key (from << 32 | to): the slot of the direction's last pending event.
  LinkTails link_tails_;
  std::vector<StepObserver*> observers_;
  std::vector<StepObserver*> stoppers_;  // those of observers_ that may stop the run
  // Which observers a step is shown, as bit sets over observers_ (bit i: observers_[i]), so
  // that a step costs two loads and an AND for them, and each is called in the order added. By
  // node id: those that watch the node's steps (StepObserver::watches). Found when a run starts
  // or goes on after an observer was added (nodes are all added before the first step). With
  // more than 63 observers every observer is shown every step.
  static constexpr std::size_t k_max_watched = 63;
  std::vector<std::uint64_t> watchers_;
  void find_watchers();
  // By message type below 2^16: those that watch its deliveries (StepObserver::watches_message),
  // asked at its first delivery, with bit 63 (k_known) set once asked; a type from 2^16 up is
  // asked at each.
  static constexpr std::uint64_t k_known = std::uint64_t{1} << 63;
  std::vector<std::uint64_t> message_watchers_;
  std::uint64_t message_watchers(std::uint32_t type);
  // Shows a step at a node to the observers that watch it (and its message's type).
  void show_watchers(const StepInfo& info);
  std::vector<std::function<void()>> actions_;
  // The node that set each timer, by timer id, while the timer is live (set and neither fired
  // nor cancelled); k_no_node otherwise. Set and cancel are on the hot path, so it is a table
  // indexed by id, in pages of ids: a page whose timers are all dead is taken back for the ids
  // to come. One entry kept for every timer a run ever set (a million in the HA hour) grew the
  // vector by copying it into fresh pages again and again: 3% of the HA hour (bench/RESULTS.md,
  // session 22).
  class TimerOwners {
   public:
    NodeId owner(TimerId id) const {
      const std::size_t p = id / k_page;
      return p < pages_.size() && pages_[p] ? pages_[p]->owner[id % k_page] : k_no_node;
    }
    // `id` is the next timer id: ids are handed out in order.
    void set(TimerId id, NodeId node) {
      const std::size_t p = id / k_page;
      while (pages_.size() <= p) open_page();
      Page& page = *pages_[p];
      page.owner[id % k_page] = node;
      ++page.live;
    }
    // The timer fired or was cancelled.
    void clear(TimerId id) {
      const std::size_t p = id / k_page;
      if (p >= pages_.size() || !pages_[p]) return;
      Page& page = *pages_[p];
      NodeId& o = page.owner[id % k_page];
      if (o == k_no_node) return;
      o = k_no_node;
      // The last page still takes new ids: it is given back only once they have gone past it.
      if (--page.live == 0 && p + 1 < pages_.size()) release(p);
    }

   private:
    static constexpr std::size_t k_page = 4096;
    struct Page {
      std::array<NodeId, k_page> owner;
      std::size_t live = 0;
    };
    void open_page() {
      // Every id of the page before has been handed out: with none of them live, it goes back.
      if (!pages_.empty() && pages_.back() && pages_.back()->live == 0) release(pages_.size() - 1);
      std::unique_ptr<Page> page;
      if (spare_.empty()) {
        page = std::make_unique<Page>();
      } else {
        page = std::move(spare_.back());
        spare_.pop_back();
      }
      page->owner.fill(k_no_node);
      page->live = 0;
      pages_.push_back(std::move(page));
    }
    void release(std::size_t p) { spare_.push_back(std::move(pages_[p])); }
    std::vector<std::unique_ptr<Page>> pages_;  // by id / k_page; null once given back
    std::vector<std::unique_ptr<Page>> spare_;  // pages given back, for the ids to come
  };
  TimerOwners timer_owner_;
  std::size_t cancelled_in_queue_ = 0;  // cancelled timers still in timer_queue_ (an upper bound)
  TimeNs now_ns_ = 0;
  TimeNs last_step_ns_ = 0;  // the time of the last step taken (StepObserver::on_paused)
  std::uint64_t seq_ = 0;
  std::uint64_t step_index_ = 0;
  std::uint64_t rolling_hash_ = 0;
  std::uint64_t messages_delivered_ = 0;
  TimerId next_timer_ = 1;
  bool started_ = false;
  bool stopped_ = false;
  Recorder recorder_;  // logs, signals, counters and series
};

}  // namespace stampede
