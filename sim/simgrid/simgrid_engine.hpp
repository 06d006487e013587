#pragma once
// The SimGrid engine: the same Node code as the kernel, run as SimGrid s4u actors on a SimGrid
// platform, for network-accurate timing (latency plus size over bandwidth, with links shared by
// the messages that cross them at once) and for users with SimGrid platform files.
//
// How the Engine contract maps onto SimGrid (see README in scenarios/platforms for when to use
// which engine):
// - Each node runs on its host as a main actor that takes the node's steps, one at a time. Each
//   sender-to-node pair has a mailbox with a permanent receiver (a small receiver actor on the
//   node's host), so transfers start when sent and different senders never queue behind each
//   other. SimGrid hands a permanent receiver its mailbox's transfers in the order they were
//   put, and one that finishes early waits for those before it: each direction of a pair is
//   FIFO, as a TCP connection is, whatever the sizes (tests/simgrid pins it).
// - Stream messages consult a connection table (sim/net/connections.hpp), the kernel's: it
//   decides whether a send travels, is refused, resets the connection or is lost. What TCP would
//   send on the wire travels as a transfer on the pair's mailbox, behind what was sent before
//   it: a FIN or a reset is a 40-byte segment of headers (it takes the route's latency), a
//   connect to a host whose process is down is answered by that host (one round trip), a
//   segment on a dead connection by a reset. A transfer that fails (a link turned off under it) counts as a
//   connection event that met a cut link, as in the kernel.
// - Timers are the main actor's timeout while it waits on its wake-up semaphore.
// - A crash kills the node's main actor, drops its timers and calls Node::on_crash. Its host
//   stays up: what it had sent still arrives, its connections close (a short-lived actor on its
//   host sends the FINs once the node's exit teardown has passed), and its receivers, the
//   host's network stack, answer connects. power_off does the same
//   silently: the connection table breaks its connections and refuses nothing, so peers learn
//   only by their timeouts. The SimGrid host is never turned off: that would also fail what was
//   already on the wire from it, which the kernel delivers. A restart starts a new main actor,
//   which runs on_start; power_on restores power first.
// - A pause suspends the main actor; messages keep arriving (its receivers run) and wait, with
//   the timers that fall due, until it resumes.
// - A partition is stampede's Network (the fault injector edits it): a send across a cut is
//   dropped; links that only cut traffic uses are turned off, failing what is in flight on them.
// - Scheduled faults and checks run in a controller actor on a host of its own.
// - Model randomness, drops and duplicates come from the Chooser, as in the kernel; latency and
//   same-instant order come from SimGrid (deterministic), so digests differ from the kernel's.
//
// SimGrid 3.32's s4u::Engine is a process-wide singleton that cannot run again once destroyed:
// one SimgridEngine per process. Constructing a second one throws std::logic_error.
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/chooser.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/spec.hpp"
#include "sim/net/connections.hpp"
#include "sim/net/network.hpp"
#include "sim/simgrid/platform.hpp"

namespace simgrid::s4u {
class Engine;
}

namespace stampede {

class SimgridEngine final : public Engine {
 public:
  struct Options : EngineOptions {
    sg::PlatformOptions platform;
  };
  // Loads the platform file now (so a bad one fails before the world is built). Throws
  // InputError on bad input, std::logic_error if a SimGrid engine already ran in this process.
  SimgridEngine(Options options, Chooser* chooser = nullptr);
  ~SimgridEngine() override;
  SimgridEngine(const SimgridEngine&) = delete;
  SimgridEngine& operator=(const SimgridEngine&) = delete;

  std::string_view engine_name() const override { return "simgrid"; }
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
  Network& network() override { return *network_; }

  // WorldView
  TimeNs now() const override;
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

  // For tests: how many platform links a partition has turned off.
  std::size_t links_off() const;
  // The SimGrid host a node runs on.
  std::string host_of(NodeId id) const;

 private:
  class NodeCtx;
  struct NodeSlot;
  struct Arrival;
  struct Envelope;
  enum class EnvelopeKind : std::uint8_t;
  struct Action;
  struct ActionOrder;
  friend class NodeCtx;

  void start_platform();
  void spawn_main(NodeId id);
  void node_main(NodeId id, std::uint32_t epoch);
  void receiver_main(NodeId to, NodeId from);
  void controller_main();
  bool take_one_step(NodeSlot& s, NodeId id);
  // Hands the inbox's first arrival to the node; false if it was lost on the way.
  bool take_arrival(NodeSlot& s, NodeId id, StepInfo& info);
  bool take_connection(NodeSlot& s, NodeId id, const Arrival& a, StepInfo& info);
  void flush_outbox(NodeId id);
  void ensure_receiver(NodeId to, NodeId from);
  void notify(NodeId id);
  void schedule(Action a);
  void finish_step(StepInfo& info);
  void after_step(const StepInfo& info);
  void fail(std::exception_ptr e);
  void stop_all();
  bool in_main_actor(const NodeSlot& s) const;

  // Connections (sim/simgrid/streams.cpp).
  void send_stream(NodeId from, NodeId to, Message&& msg);
  // Sends from `from`'s host: at once from its main actor, else through its outbox.
  void send_envelope(NodeId from, Envelope&& env);
  // Starts the transfer from the current actor, which runs on env.from's host.
  void put(Envelope&& env);
  // What a receiver on env.to's host does with an envelope that arrived.
  void receive(std::unique_ptr<Envelope> env);
  // A transfer failed or was never started: a connection event on it met a cut link.
  void lost(const Envelope& env);
  void event_lost(NodeId node, NodeId peer, std::uint32_t generation);
  // tcp_retransmit: a stream message of connection a.generation from a.from reaches `to`'s host
  // now, across a link that is up or not (`link_up`). It joins the inbox, or it is held for its
  // next retransmission (a quiet controller action brings it back), or it was the time-out that
  // breaks the connection (sim/net/connections.hpp).
  void arrive_stream(NodeId to, std::uint32_t epoch, Arrival&& a, bool link_up);
  // A connection event for `to` that arrived while its direction holds messages: it joins the
  // inbox once they have arrived.
  void defer_behind_held(NodeId to, std::uint32_t epoch, Arrival&& a);
  // The process dies; `loud`: its host closes its connections (a crash), else silently.
  void kill(NodeId id, bool loud);
  static Envelope segment(EnvelopeKind kind, NodeId from, NodeId to);

  Options options_;
  std::unique_ptr<SeededChooser> own_chooser_;
  Chooser* chooser_;
  std::unique_ptr<Network> network_;
  Connections connections_;
  simgrid::s4u::Engine* sg_engine_ = nullptr;  // owned; see the destructor
  std::unique_ptr<sg::LinkStates> links_;
  std::uint64_t synced_network_version_ = 0;
  std::vector<std::unique_ptr<NodeSlot>> nodes_;
  std::vector<StepObserver*> observers_;

  struct Controller;
  std::unique_ptr<Controller> controller_;

  std::uint64_t step_index_ = 0;
  std::uint64_t rolling_hash_ = 0;
  std::uint64_t messages_delivered_ = 0;
  TimerId next_timer_ = 1;
  bool started_ = false;
  bool stopped_ = false;
  TimeNs stopped_at_ns_ = 0;
  std::optional<TimeNs> reported_now_ns_;  // set between run_until calls
  std::exception_ptr error_;

  Recorder recorder_;  // logs, signals, counters and series
};

}  // namespace stampede
