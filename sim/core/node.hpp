#pragma once
// The engine-neutral interface between models and engines. A Node is a sans-I/O state machine:
// it reacts to a start, a message, a timer or a fault by changing its own state and asking its
// Ctx to send messages and set timers. Nothing here assumes a particular engine: the kernel, the
// SimGrid engine and the explorer all drive the same Node code through a Ctx of their own.
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/digest.hpp"
#include "sim/core/message.hpp"
#include "sim/core/time.hpp"

namespace stampede {

using TimerId = std::uint64_t;
using SeriesId = std::uint32_t;  // an interned metric or series name

enum class LogLevel : std::uint8_t {
  debug,    // kept in traces only
  info,     // searchable by `log:` expectations
  notable,  // also shown in the run's timeline
};

// A fault that a model carries out itself (the engine does not know what a container or a table
// is). Built-in kinds: "kill_container" (arg = STACK/SERVICE/INDEX) and "truncate"
// (args = table names).
struct ModelFault {
  std::string kind;
  std::vector<std::string> args;
};

// A structured event: a stable name (`cattle.host_state_changed`) and named fields, recorded
// beside the human log line it stands for. Scenarios match it with `{event: NAME, where: {FIELD:
// VALUE}}`; `stampede list events` lists every name with its fields (each model registers them).
struct EventField {
  std::string_view key;  // a literal of the model's: field names outlive the event
  std::string value;
};

class Event {
 public:
  explicit Event(std::string_view name) : name_(name) {}
  Event& with(std::string_view key, std::string value) {
    fields_.push_back(EventField{key, std::move(value)});
    return *this;
  }
  Event& with(std::string_view key, std::string_view value) {
    return with(key, std::string(value));
  }
  Event& with(std::string_view key, const char* value) { return with(key, std::string(value)); }
  Event& with(std::string_view key, std::int64_t value) {
    return with(key, std::to_string(value));
  }
  std::string_view name() const { return name_; }
  const boost::container::small_vector<EventField, 4>& fields() const { return fields_; }

 private:
  std::string_view name_;  // a literal of the model's
  boost::container::small_vector<EventField, 4> fields_;
};

// What one end of a connection learns from the network (sim/net/connections.hpp): the events a
// real socket gives. A process that dies closes its connections, so each peer reads EOF or a
// reset one latency later (`closed`); a connect to a host whose process is down is refused one
// round trip later (`refused`). A host that loses power and a partition give no event at all:
// peers learn of them only by their own timeouts.
enum class ConnectionEvent : std::uint8_t { closed, refused };
std::string_view connection_event_name(ConnectionEvent e);

class Ctx {
 public:
  virtual ~Ctx() = default;
  // The node's local clock: simulated time plus this node's clock skew.
  virtual TimeNs now() const = 0;
  virtual NodeId self() const = 0;
  // The id of the node with this name, or k_no_node.
  virtual NodeId lookup(std::string_view name) const = 0;
  virtual std::string_view name_of(NodeId id) const = 0;

  virtual void send(NodeId to, Message msg) = 0;
  // Closes this node's connection to `to`, as a client does when its own timeout gives up on a
  // server: the peer reads EOF one latency later (if the link is up), whatever was in flight on
  // it is lost, and the next send opens a fresh connection. Nothing happens without one.
  virtual void close_connection(NodeId to) { (void)to; }
  // Fires on_timer(tag) after `after` of simulated time, unless cancelled or the node crashes
  // (a crash cancels every timer of the node: none reaches the next incarnation).
  virtual TimerId set_timer(DurationNs after, std::uint64_t tag) = 0;
  virtual void cancel_timer(TimerId id) = 0;
  // A process of this node exits by itself (System.exit) while the node runs on, as one
  // container of a host whose other container lives (Cattle's server beside its cluster
  // manager): the engine cancels every pending timer the node set, except those `keeps_timer`
  // accepts (the surviving process's), as a crash cancels all of them, so that nothing the
  // exited process set fires into the one that replaces it. The process's connections are the
  // model's to close (close_connection): the engine cannot tell which the survivor shares.
  virtual void exit_process(const std::function<bool(std::uint64_t tag)>& keeps_timer) = 0;

  // A model's randomness, through the Chooser: an integer in [lo, hi].
  virtual std::int64_t random(std::int64_t lo, std::int64_t hi) = 0;

  // A timing or count: the scenario's override or the model's registered default.
  virtual std::int64_t timing(std::string_view name) const = 0;
  // Whether a modelled mechanism is switched on (the scenario may switch it off).
  virtual bool mechanism(std::string_view name) const = 0;
  // The connection that the stream message being handled arrived on, or that the `closed` event
  // being handled is about: its generation in the engine's table (sim/net/connections.hpp,
  // counting from 1). 0 anywhere else, and in the explorer, which does not say (its digests leave
  // generations out). A model that multiplexes sockets of its own over a node pair's connection
  // tells by it which connection a session came on (models/mysql/db_node.hpp).
  virtual std::uint32_t stream_connection() const { return 0; }

  virtual void log(LogLevel level, std::string_view text) = 0;
  // A structured event with the log line it stands for: the line is logged as by log(), and
  // the event's name and fields are kept with it for `event:` expectations.
  virtual void event(LogLevel level, const Event& e, std::string_view text) {
    (void)e;
    log(level, text);
  }
  // A named event, for `eventually:` expectations and timelines.
  virtual void signal(std::string_view name) = 0;

  // Metrics. intern() once (in on_start), then count() or sample() cheaply.
  virtual SeriesId intern(std::string_view metric_name) = 0;
  virtual void count(SeriesId metric, std::int64_t delta) = 0;
  // A time-stamped sample (for example a request outcome, 1 or 0, on "requests:wordpress/lb").
  virtual void sample(SeriesId series, std::int64_t value) = 0;
};

class Node {
 public:
  virtual ~Node() = default;
  // Called when the node boots and again after every restart.
  virtual void on_start(Ctx& ctx) = 0;
  virtual void on_message(Ctx& ctx, NodeId from, const Message& msg) = 0;
  virtual void on_timer(Ctx& ctx, std::uint64_t tag) = 0;
  // The connection to `peer` closed or a connect to it was refused (see ConnectionEvent). The
  // default ignores it: such a node learns of failures by its own timeouts, as before.
  virtual void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
    (void)ctx;
    (void)peer;
    (void)event;
  }
  // The process died: drop volatile state, keep what is durable (what was on disk).
  virtual void on_crash() = 0;
  // The host lost power (a `power_off`): the process dies as in a crash, and so does whatever it
  // had written that the operating system had not yet put on disk, which a crash keeps (the page
  // cache outlives a killed process, not a power loss). `now_ns` is when the power went. The
  // default is a crash: a node that syncs everything it counts as durable.
  virtual void on_power_loss(TimeNs now_ns) {
    (void)now_ns;
    on_crash();
  }
  // How long the process takes to die once killed (a crash) before its sockets close: the
  // kernel tears a process down (unmaps its memory, a JVM's heap included) before it closes its
  // files, so each peer reads EOF this much after the kill, plus one latency. The engine asks at
  // the crash, before on_crash; a loss of power closes nothing, so it does not ask. The default,
  // 0, is a process whose teardown is too short to measure (docs/design.md, "Connections").
  virtual DurationNs exit_teardown_ns() const { return 0; }
  // A model-level fault aimed at this node. Returns false if the fault is not for this node.
  virtual bool on_fault(Ctx& ctx, const ModelFault& fault) {
    (void)ctx;
    (void)fault;
    return false;
  }
  // A value observable by expectations and invariants ("running", "wordpress/web"), or nullopt
  // when this node does not know the key.
  virtual std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const {
    (void)key;
    (void)arg;
    return std::nullopt;
  }
  // A digest of the node's whole state, canonical (independent of container iteration order or
  // pointer values), for final digests and the explorer's state hashing.
  virtual std::uint64_t state_digest() const = 0;
  // A short name for a message type, for timelines and traces.
  virtual std::string_view message_name(std::uint32_t type) const {
    (void)type;
    return "msg";
  }
  // A copy of the node's whole state (volatile and durable), for engines that snapshot a world
  // and restore it instead of re-running it from the start (the explorer's dfs). Optional: the
  // default, nullptr, makes such an engine re-run from the start whenever this node has changed.
  // A node that holds only values (no pointers into the engine or other nodes) can return
  // std::make_unique<ItsType>(*this).
  virtual std::unique_ptr<Node> clone() const { return nullptr; }
  // For a node that cannot be cloned as a fresh object because parts of it point back at
  // itself (callbacks bound to `this`, as an HA CattleServer's client libraries hold): a copy of
  // its whole state that is never run, only handed back to assign_from() on the very object it
  // was copied from, whose self-pointers the copy still holds and so stay right. Both optional:
  // the default, nullptr, leaves the engine to re-run from the start, as for clone().
  virtual std::unique_ptr<Node> saved_copy() const { return nullptr; }
  // Puts this node back into the state `saved` holds. `saved` came from saved_copy() on this
  // same object (engines guarantee it); nodes that return nullptr there are never asked. Or the
  // other way round: this object is a saved copy no snapshot holds any more and `saved` the
  // node it was copied from, and afterwards this copy must hold what a new saved_copy() would
  // (the explorer reuses a retired copy's memory so; sim/explore/recycler.hpp). A copy
  // assignment of the whole object, as CattleServer's, does both.
  virtual void assign_from(const Node& saved) { (void)saved; }
  // The node's explicit state, for tests/state: how many separately changeable fields its
  // durable and volatile parts have, and a change to field i (returning the field's name). A
  // node whose state is kept in STAMPEDE_FIELDS structs implements both with
  // state::field_total and state::perturb_field (sim/core/state.hpp); the test changes every
  // field of every node of every scenario, one at a time, and requires the digest to change.
  virtual std::size_t state_field_count() const { return 0; }
  virtual std::string perturb_state_field(std::size_t i) {
    (void)i;
    return {};
  }
};

}  // namespace stampede
