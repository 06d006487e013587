// The SimGrid engine's connections: the connection table the kernel uses
// (sim/net/connections.hpp) decides the fate of every stream send, and the segments that carry
// its verdicts travel between hosts as transfers, behind what was sent before them.
#include <fmt/format.h>

#include "sim/core/assert.hpp"
#include "sim/simgrid/engine_parts.hpp"
#include "sim/simgrid/time_convert.hpp"

namespace stampede {

namespace {
constexpr std::uint32_t k_segment_bytes = 40;
}  // namespace

SimgridEngine::Envelope SimgridEngine::segment(EnvelopeKind kind, NodeId from, NodeId to) {
  Envelope env;
  env.kind = kind;
  env.from = from;
  env.to = to;
  // A segment that opens or ends a connection carries no payload, only its 20-byte IPv4 and
  // 20-byte TCP headers. It could not be empty: SimGrid hands a permanent receiver a transfer
  // with nothing left to send at once, before the route's latency has passed.
  env.msg.size_bytes = k_segment_bytes;
  return env;
}

void SimgridEngine::send_stream(NodeId from, NodeId to, Message&& msg) {
  const NodeSlot& dst = *nodes_[to];
  Connections::Ends ends;
  ends.link_up = network_->reachable(from, to);
  ends.host_on = dst.powered;
  ends.process_up = dst.up;
  ends.from_epoch = nodes_[from]->epoch;
  ends.to_epoch = dst.epoch;
  ends.drop = ends.link_up && network_->sample_drop(*chooser_);
  const Connections::Verdict v = connections_.send(from, to, ends);
  Envelope env;
  switch (v.outcome) {
    case Connections::Outcome::lost: return;
    case Connections::Outcome::deliver:
      if (!ends.link_up) {
        // tcp_retransmit: sent across a cut link, it meets the cut where it would arrive, one
        // latency later, as in the kernel; that end holds it for retransmission unless the link
        // is back by then.
        Arrival a;
        a.from = from;
        a.generation = v.generation;
        a.msg = std::move(msg);
        Action act;
        act.time_ns = connections_.arrival(from, to, now() + network_->sample_latency(*chooser_));
        act.rank = 1;
        act.kind = StepKind::deliver;
        act.quiet = true;
        act.fn = [this, to, epoch = dst.epoch, held = std::move(a)]() mutable {
          const bool up = network_->reachable(held.from, to);
          arrive_stream(to, epoch, std::move(held), up);
        };
        schedule(std::move(act));
        return;
      }
      env.kind = EnvelopeKind::message;
      env.msg = std::move(msg);
      break;
    case Connections::Outcome::refused:
      // The SYN reaches the host, whose network stack answers for the dead process.
      env = segment(EnvelopeKind::connect, from, to);
      break;
    case Connections::Outcome::reset:
      // The message's own segment reaches the other end, which answers with a reset.
      env.kind = EnvelopeKind::reset;
      env.notify_sender = v.notify_sender;
      env.notify_peer = v.notify_peer;
      env.msg = std::move(msg);
      break;
  }
  env.from = from;
  env.to = to;
  env.epoch = dst.epoch;
  env.reply_epoch = ends.from_epoch;
  env.generation = v.generation;
  send_envelope(from, std::move(env));
}

void SimgridEngine::send_envelope(NodeId from, Envelope&& env) {
  NodeSlot& s = *nodes_[from];
  if (in_main_actor(s)) {
    put(std::move(env));
    return;
  }
  // A model fault runs in the controller: the send must leave from this node's host.
  s.outbox.push_back(std::move(env));
  notify(from);
}

void SimgridEngine::put(Envelope&& env) {
  NodeSlot& dst = *nodes_[env.to];
  ensure_receiver(env.to, env.from);
  const std::uint32_t size = env.msg.size_bytes;
  sg4::Mailbox* mailbox = dst.mailboxes[env.from];
  mailbox->put_init(new Envelope(std::move(env)), size)->detach([this](void* p) {
    // The transfer failed (SimGrid calls this from its own kernel, where no actor runs: it only
    // updates the connection table).
    std::unique_ptr<Envelope> failed(static_cast<Envelope*>(p));
    lost(*failed);
  });
}

void SimgridEngine::receive(std::unique_ptr<Envelope> env) {
  const NodeId to = env->to;
  NodeSlot& s = *nodes_[to];
  switch (env->kind) {
    case EnvelopeKind::connect: {
      Envelope answer = segment(EnvelopeKind::event, to, env->from);
      answer.event = ConnectionEvent::refused;
      answer.epoch = env->reply_epoch;
      answer.generation = env->generation;
      put(std::move(answer));
      return;
    }
    case EnvelopeKind::reset:
      if (env->notify_sender) {
        Envelope answer = segment(EnvelopeKind::event, to, env->from);
        answer.epoch = env->reply_epoch;
        answer.generation = env->generation;
        put(std::move(answer));
      }
      if (!env->notify_peer) return;
      env->kind = EnvelopeKind::event;  // this end reads the reset itself
      env->event = ConnectionEvent::closed;
      break;
    case EnvelopeKind::message:
    case EnvelopeKind::event: break;
  }
  if (!s.up || env->epoch != s.epoch) return;  // another incarnation's
  Arrival a;
  a.at_ns = now();
  a.from = env->from;
  a.generation = env->generation;
  if (env->kind == EnvelopeKind::event) {
    a.kind = StepKind::connection;
    a.event = env->event;
    if (connections_.holding(a.from, to)) {
      // tcp_retransmit: behind the data held on its direction (FIFO), as in the kernel.
      defer_behind_held(to, env->epoch, std::move(a));
      return;
    }
  } else {
    a.kind = StepKind::deliver;
    a.msg = std::move(env->msg);
    if (a.generation != 0 && connections_.retransmits()) {
      // Behind what its direction holds for retransmission, if anything (FIFO).
      const bool link_up = network_->reachable(a.from, to);
      arrive_stream(to, env->epoch, std::move(a), link_up);
      return;
    }
  }
  s.inbox.push_back(std::move(a));
  notify(to);
}

void SimgridEngine::lost(const Envelope& env) {
  if (stopped_) return;
  if (env.kind == EnvelopeKind::message && env.generation != 0 && connections_.retransmits()) {
    // A stream message cut in flight: the sender's TCP retransmits it.
    Arrival a;
    a.from = env.from;
    a.generation = env.generation;
    a.msg = env.msg;
    arrive_stream(env.to, env.epoch, std::move(a), false);
    return;
  }
  if (env.kind == EnvelopeKind::event && env.event == ConnectionEvent::closed) {
    event_lost(env.to, env.from, env.generation);
  } else if (env.kind == EnvelopeKind::reset) {
    if (env.notify_peer) event_lost(env.to, env.from, env.generation);
    if (env.notify_sender) event_lost(env.from, env.to, env.generation);
  }
}

void SimgridEngine::arrive_stream(NodeId to, std::uint32_t epoch, Arrival&& a, bool link_up) {
  const NodeId from = a.from;
  if (!connections_.live(from, to, a.generation)) return;  // reset or broken meanwhile: lost
  if (a.expiry) {
    if (!connections_.time_out(from, to, a.generation, a.ticket)) return;
    // The sender's TCP gives up (ETIMEDOUT): it reads `closed`, nothing travels.
    Arrival closed;
    closed.at_ns = now();
    closed.kind = StepKind::connection;
    closed.from = to;
    closed.generation = a.generation;
    closed.event = ConnectionEvent::closed;
    closed.local = true;
    nodes_[from]->inbox.push_back(std::move(closed));
    notify(from);
    return;
  }
  const Connections::Retransmit r =
      connections_.retransmit(from, to, a.ticket, link_up, now(), 2 * network_->mean_latency());
  if (r.kind == Connections::Retransmit::Kind::deliver) {
    NodeSlot& s = *nodes_[to];
    if (!s.up || epoch != s.epoch) return;  // another incarnation's
    a.at_ns = now();
    s.inbox.push_back(std::move(a));
    notify(to);
    return;
  }
  if (r.kind == Connections::Retransmit::Kind::lost) return;  // its connection broke meanwhile
  // Held: a quiet controller action brings it back at its next retransmission, one latency
  // after it (Connections::arrival keeps the direction's order), as the kernel re-pushes it.
  a.ticket = r.ticket;
  a.expiry = r.kind == Connections::Retransmit::Kind::time_out;
  const DurationNs travel_ns = a.expiry ? 0 : network_->sample_latency(*chooser_);
  Action act;
  act.time_ns = connections_.arrival(from, to, r.at_ns + travel_ns);
  act.rank = 1;
  act.kind = StepKind::deliver;
  act.quiet = true;
  act.fn = [this, to, epoch, held = std::move(a)]() mutable {
    const bool up = network_->reachable(held.from, to);
    arrive_stream(to, epoch, std::move(held), up);
  };
  schedule(std::move(act));
}

void SimgridEngine::defer_behind_held(NodeId to, std::uint32_t epoch, Arrival&& a) {
  Action act;
  act.time_ns = connections_.arrival(a.from, to, now());
  act.rank = 1;
  act.kind = StepKind::connection;
  act.quiet = true;
  act.fn = [this, to, epoch, held = std::move(a)]() mutable {
    if (connections_.holding(held.from, to)) return defer_behind_held(to, epoch, std::move(held));
    NodeSlot& s = *nodes_[to];
    if (!s.up || epoch != s.epoch) return;  // another incarnation's
    held.at_ns = now();
    s.inbox.push_back(std::move(held));
    notify(to);
  };
  schedule(std::move(act));
}

void SimgridEngine::event_lost(NodeId node, NodeId peer, std::uint32_t generation) {
  // As when the kernel finds the link cut where a `closed` event arrives: the FIN or the reset is
  // lost, and `node` keeps a dead connection without knowing.
  if (connections_.awaits(node, peer, generation))
    connections_.notice_done(node, peer, generation, false);
}

void SimgridEngine::kill(NodeId id, bool loud) {
  NodeSlot& s = *nodes_[id];
  if (!s.up) return;
  changes_.node(id);
  s.up = false;
  ++s.epoch;
  s.paused_until_ns = 0;
  s.inbox.clear();
  std::vector<Envelope> last = std::move(s.outbox);  // sent before it died, not yet put
  s.outbox.clear();
  const std::size_t sent = last.size();  // the FINs follow them
  s.timers.clear();
  s.timer_queue.clear();
  // The process's sockets close once the kernel has torn it down (Node::exit_teardown_ns).
  const DurationNs teardown_ns = loud ? s.node->exit_teardown_ns() : 0;
  if (loud)
    s.node->on_crash();
  else
    s.node->on_power_loss(now());
  if (loud) {
    auto link_up = [&](NodeId peer) { return network_->reachable(id, peer); };
    for (NodeId peer : connections_.crash(id, link_up)) {
      Envelope fin = segment(EnvelopeKind::event, id, peer);
      fin.epoch = nodes_[peer]->epoch;
      fin.generation = connections_.generation(id, peer);
      last.push_back(std::move(fin));
    }
  } else {
    connections_.power_off(id);
    last.clear();
  }
  if (!started_) return;
  if (s.main) s.main->kill();
  s.main = nullptr;
  s.main_pid = -1;
  s.wake = nullptr;
  s.wake_pending = false;
  if (last.empty()) return;
  // The process is gone, its host is not: the host sends what the process had sent and, once it
  // has torn the process down, its FINs, from the host, so each travels behind what went before
  // it on its connection.
  sg4::Actor::init(fmt::format("{}-exit", s.name), s.host)
      ->set_stacksize(k_small_stack_bytes)
      ->start([this, last, sent, teardown_ns]() mutable {
        for (std::size_t i = 0; i < last.size(); ++i) {
          if (i == sent && teardown_ns > 0) sg4::this_actor::sleep_for(sg::to_seconds(teardown_ns));
          put(std::move(last[i]));
        }
      });
}

}  // namespace stampede
