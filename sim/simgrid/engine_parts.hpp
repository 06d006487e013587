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

// What travels in a mailbox: the message and the incarnation of the receiver it was sent to, so
// that a restarted node never sees what was sent to the one before.
struct SimgridEngine::Envelope {
  NodeId from = k_no_node;
  std::uint32_t epoch = 0;
  Message msg;
};

struct SimgridEngine::NodeSlot {
  std::string name;
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeCtx> ctx;
  sg4::Host* host = nullptr;
  bool host_shared = false;  // other nodes run on the same host: a crash kills actors, not it
  bool up = true;
  std::uint32_t epoch = 0;  // incremented by crash and by restart, as in the kernel
  TimeNs paused_until_ns = 0;
  DurationNs skew_ns = 0;

  struct Arrival {
    TimeNs at_ns = 0;
    std::uint64_t seq = 0;
    NodeId from = k_no_node;
    Message msg;
  };
  std::deque<Arrival> inbox;                          // arrived, not yet handled, in order
  std::vector<std::pair<NodeId, Message>> outbox;     // sends asked for outside the main actor
  std::set<std::pair<TimeNs, TimerId>> timer_queue;   // (due, id), earliest first
  std::map<TimerId, std::pair<TimeNs, std::uint64_t>> timers;  // id -> (due, tag)

  sg4::ActorPtr main;  // takes the node's steps
  aid_t main_pid = -1;
  sg4::SemaphorePtr wake;  // released when the main actor has something new to look at
  bool wake_pending = false;
  std::vector<sg4::ActorPtr> receivers;     // by sender; null until its first message
  std::vector<sg4::Mailbox*> mailboxes;     // by sender; null until first used
};

struct SimgridEngine::Action {
  TimeNs time_ns = 0;
  int rank = 0;  // 0: before the instant's events (faults, resumes); 2: after them (checks)
  std::uint64_t seq = 0;
  StepKind kind = StepKind::fault;
  NodeId node = k_no_node;   // resume
  std::uint32_t epoch = 0;   // resume
  std::function<void()> fn;  // fault, check
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
