#pragma once
// The SimGrid engine's internal state, shared by its source files (not part of its interface).
#include <deque>
#include <map>
#include <set>
#include <simgrid/s4u.hpp>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/simgrid/simgrid_engine.hpp"

namespace stampede {

namespace sg4 = simgrid::s4u;

// Receivers only move an envelope from a mailbox to the node's inbox, and a crashed node's last
// actor only sends its FINs: a small stack is plenty.
inline constexpr unsigned k_small_stack_bytes = 256 * 1024;

// What travels in a mailbox: a message, or one of the segments by which TCP opens and ends
// connections (sim/net/connections.hpp decides which, the engine only carries them). Every
// envelope names the incarnation of the node it is for, so that a restarted node never sees what
// was sent to the one before.
enum class SimgridEngine::EnvelopeKind : std::uint8_t {
  message,  // a message (stream or datagram)
  event,    // a connection event for `to`: a FIN or a reset (closed), or a refused connect
  connect,  // a connect to a host whose process is down: that host answers `refused`
  reset,    // a segment on a connection the other end no longer has, or one a random drop
            // struck: the message is lost and the ends read `closed` (notify_*)
};

struct SimgridEngine::Envelope {
  using Kind = EnvelopeKind;
  Kind kind = Kind::message;
  NodeId from = k_no_node;
  NodeId to = k_no_node;
  std::uint32_t epoch = 0;        // `to`'s incarnation when it was sent
  std::uint32_t reply_epoch = 0;  // connect, reset: `from`'s, for the answer `to`'s host sends
  std::uint32_t generation = 0;   // the connection of a stream message or an event; 0: none
  ConnectionEvent event = ConnectionEvent::closed;  // event
  bool notify_sender = false;     // reset: `from` reads `closed` when the answer comes back
  bool notify_peer = false;       // reset: `to` reads `closed` when the segment arrives
  Message msg;                    // message, reset (its size is what travels); else empty
};

// A message or a connection event that reached a node's host, waiting for its main actor.
struct SimgridEngine::Arrival {
  TimeNs at_ns = 0;
  StepKind kind = StepKind::deliver;  // deliver or connection
  NodeId from = k_no_node;
  std::uint32_t generation = 0;       // the connection it came on (0: a datagram)
  ConnectionEvent event = ConnectionEvent::closed;  // connection
  Message msg;                                      // deliver
  // tcp_retransmit (sim/net/connections.hpp): a held stream message's ticket (0: not held) and
  // whether this is its last timer expiry; `local`: a `closed` the node's own TCP raises.
  std::uint32_t ticket = 0;
  bool expiry = false;
  bool local = false;
};

struct SimgridEngine::NodeSlot {
  std::string name;
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeCtx> ctx;
  sg4::Host* host = nullptr;
  bool up = true;
  bool powered = true;      // false between power_off and power_on
  std::uint32_t epoch = 0;  // incremented by crash and by restart, as in the kernel
  TimeNs paused_until_ns = 0;
  DurationNs skew_ns = 0;

  std::deque<Arrival> inbox;        // arrived, not yet handled, in order
  std::vector<Envelope> outbox;     // sends asked for outside the main actor, in order
  std::set<std::pair<TimeNs, TimerId>> timer_queue;   // (due, id), earliest first
  std::map<TimerId, std::pair<TimeNs, std::uint64_t>> timers;  // id -> (due, tag)

  sg4::ActorPtr main;  // takes the node's steps
  aid_t main_pid = -1;
  sg4::SemaphorePtr wake;  // released when the main actor has something new to look at
  bool wake_pending = false;
  // By sender: the actor that takes what arrives from it, null until its first envelope. They
  // stand for the host's network stack, which answers connects and resets for a dead process;
  // they live as long as the run (the connection table, not they, knows whether it has power).
  std::vector<sg4::ActorPtr> receivers;
  std::vector<sg4::Mailbox*> mailboxes;     // by sender; null until first used
};

struct SimgridEngine::Action {
  TimeNs time_ns = 0;
  // 0: before the instant's events (faults, resumes); 1: at the instant (a held stream message
  // coming back, SimgridEngine::arrive_stream); 2: after them (checks)
  int rank = 0;
  std::uint64_t seq = 0;
  StepKind kind = StepKind::fault;
  NodeId node = k_no_node;   // resume
  std::uint32_t epoch = 0;   // resume
  std::function<void()> fn;  // fault, check; with `quiet`, engine work that is not a step
  bool quiet = false;
};

struct SimgridEngine::Controller {
  sg4::Host* host = nullptr;
  sg4::ActorPtr actor;
  aid_t pid = -1;
  sg4::SemaphorePtr wake;
  bool wake_pending = false;
  std::map<std::tuple<TimeNs, int, std::uint64_t>, Action> actions;  // in the order they run
  std::uint64_t seq = 0;
};

}  // namespace stampede
