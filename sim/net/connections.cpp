#include "sim/net/connections.hpp"

#include "sim/core/assert.hpp"

namespace stampede {

std::uint64_t Connections::key(NodeId a, NodeId b) {
  return (std::uint64_t{std::min(a, b)} << 32) | std::max(a, b);
}

Connections::Entry& Connections::entry(NodeId a, NodeId b) {
  STAMPEDE_ASSERT(a != b, "a node has no connection to itself");
  EntryCache::Line& line = cache_.line(key(a, b));
  if (line.key == key(a, b)) return *line.entry;
  auto [it, added] = entries_.try_emplace(key(a, b));
  line.key = key(a, b);
  line.entry = &it->second;
  if (added) {
    // peers_ stays sorted so that crash() and digest_into() walk pairs in id order.
    const std::size_t n = std::max(a, b) + std::size_t{1};
    if (peers_.size() < n) peers_.resize(n);
    for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
      auto& list = peers_[x];
      list.insert(std::lower_bound(list.begin(), list.end(), y), y);
    }
  }
  return it->second;
}

const Connections::Entry* Connections::find(NodeId a, NodeId b) const {
  EntryCache::Line& line = cache_.line(key(a, b));
  if (line.key == key(a, b)) return line.entry;
  auto it = entries_.find(key(a, b));
  if (it == entries_.end()) return nullptr;
  // The table is logically const: only the cache of where its entries are changes.
  line.key = key(a, b);
  line.entry = const_cast<Entry*>(&it->second);
  return line.entry;
}

Connections::Verdict Connections::open(Entry& e, NodeId from, NodeId to, const Ends& ends) {
  if (!ends.link_up || !ends.host_on) return {};  // the SYN goes unanswered
  if (!ends.process_up) return {Outcome::refused, e.generation, false, false, Handle{}};
  e.state = State::open;
  e.awaiting = 0;
  ++e.generation;
  discard_held(e);  // a new connection holds nothing
  e.epoch[side(from, from, to)] = ends.from_epoch;
  e.epoch[side(to, from, to)] = ends.to_epoch;
  return {Outcome::deliver, e.generation, false, false, Handle{}};
}

Connections::Verdict Connections::send_on_broken(Entry& e, NodeId from, NodeId to,
                                                 const Ends& ends) {
  if (!ends.link_up || !ends.host_on) return {};
  const int sf = side(from, from, to);
  const int st = 1 - sf;
  const bool sender_holds = e.epoch[sf] == ends.from_epoch;
  const bool peer_holds = ends.process_up && e.epoch[st] == ends.to_epoch;
  if (!sender_holds && !peer_holds) return open(e, from, to, ends);  // nobody remembers it
  if (socket_per_process_ && !sender_holds && e.epoch[sf] != k_released) {
    // A later incarnation of the sender's process connects on a new socket (header comment):
    // the peer keeps the old one half-open and hears nothing.
    ++left_half_open_;
    return open(e, from, to, ends);
  }
  // What the broken connection held for retransmission died with it; the reset's `closed`
  // events must not wait behind it.
  discard_held(e);
  // The end that still holds the dead connection is told by a reset; the message is lost.
  e.state = State::closing;
  e.awaiting = static_cast<std::uint8_t>((sender_holds ? bit(sf) : 0) | (peer_holds ? bit(st) : 0));
  return {Outcome::reset, e.generation, sender_holds, peer_holds, Handle{}};
}

Connections::Verdict Connections::send(NodeId from, NodeId to, const Ends& ends) {
  Entry& e = entry(from, to);
  // Only the fields version() counts, not the whole entry with its holds: this runs at every
  // stream send.
  const State state = e.state;
  const std::uint8_t awaiting = e.awaiting;
  const std::uint32_t generation = e.generation;
  Verdict v = decide(e, from, to, ends);
  if (e.state != state || e.awaiting != awaiting || e.generation != generation) ++version_;
  v.pair = Handle(&e);
  return v;
}

Connections::Verdict Connections::decide(Entry& e, NodeId from, NodeId to, const Ends& ends) {
  switch (e.state) {
    case State::none: {
      Verdict v = open(e, from, to, ends);
      if (v.outcome != Outcome::deliver || !ends.drop) return v;
      break;  // the drop resets the new connection below
    }
    case State::broken: return send_on_broken(e, from, to, ends);
    case State::closing: return {};  // a `closed` event is on its way: the socket is dead
    case State::open: break;
  }
  const int sf = side(from, from, to);
  if (e.epoch[sf] != ends.from_epoch) {
    // The sender restarted (or closed its end) while the peer kept the connection: treat it as
    // broken, which resets the peer's end.
    e.state = State::broken;
    return send_on_broken(e, from, to, ends);
  }
  if (!ends.host_on) {
    e.state = State::broken;
    discard_held(e);
    return {};
  }
  // Across a cut link the message is lost, or with tcp_retransmit travels to meet the cut where
  // it arrives, which holds it for retransmission (retransmit()); the connection stays.
  if (!ends.link_up) {
    if (retransmit_) return {Outcome::deliver, e.generation, false, false, Handle{}};
    return {};
  }
  if (ends.drop) {
    e.state = State::closing;
    e.awaiting = 3;
    return {Outcome::reset, e.generation, true, true, Handle{}};
  }
  return {Outcome::deliver, e.generation, false, false, Handle{}};
}

bool Connections::close(NodeId from, NodeId to, bool link_up) {
  auto it = entries_.find(key(from, to));
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  ++version_;
  const int sf = side(from, from, to);
  const int st = 1 - sf;
  e.epoch[sf] = k_released;
  switch (e.state) {
    case State::open:
      if (link_up) {
        e.state = State::closing;
        e.awaiting = bit(st);
        return true;
      }
      e.state = State::broken;  // the FIN is lost: the peer keeps a half-open connection
      discard_held(e);
      return false;
    case State::closing:
      e.awaiting = static_cast<std::uint8_t>(e.awaiting & ~bit(sf));
      if (e.awaiting == 0) e.state = State::none;
      return false;
    case State::broken:
    case State::none: return false;
  }
  return false;
}

TimeNs Connections::arrival(NodeId from, NodeId to, TimeNs at_ns) {
  Entry& e = entry(from, to);
  TimeNs& last = e.last_arrival_ns[side(from, from, to)];
  // Strictly later: engines order events of one instant as their chooser likes, which would let
  // two messages of one connection swap.
  last = std::max(last + 1, at_ns);
  return last;
}

bool Connections::live(NodeId from, NodeId to, std::uint32_t generation) const {
  const Entry* e = find(from, to);
  return e != nullptr && e->generation == generation &&
         (e->state == State::open || e->state == State::closing);
}

bool Connections::awaits(NodeId node, NodeId peer, std::uint32_t generation) const {
  const Entry* e = find(node, peer);
  return e != nullptr && e->generation == generation && e->state == State::closing &&
         (e->awaiting & bit(side(node, node, peer))) != 0;
}

void Connections::notice_done(NodeId node, NodeId peer, std::uint32_t generation, bool arrived) {
  auto it = entries_.find(key(node, peer));
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.generation != generation || e.state != State::closing) return;
  ++version_;
  e.awaiting = static_cast<std::uint8_t>(e.awaiting & ~bit(side(node, node, peer)));
  if (!arrived) {
    e.state = State::broken;
    e.awaiting = 0;
    discard_held(e);
  } else if (e.awaiting == 0) {
    e.state = State::none;
  }
}

std::vector<NodeId> Connections::crash(NodeId node, const std::function<bool(NodeId)>& link_up) {
  std::vector<NodeId> told;
  if (node >= peers_.size()) return told;
  ++version_;
  for (NodeId peer : peers_[node]) {
    Entry& e = entries_.at(key(node, peer));
    const int sn = side(node, node, peer);
    if (e.state == State::open && e.epoch[sn] != k_released) {
      if (link_up(peer)) {
        e.state = State::closing;
        e.awaiting = bit(1 - sn);
        told.push_back(peer);
      } else {
        e.state = State::broken;
      }
    } else if (e.state == State::closing) {
      e.awaiting = static_cast<std::uint8_t>(e.awaiting & ~bit(sn));
      if (e.awaiting == 0) e.state = State::none;
    }
    // What the peer's TCP still retransmits to the dead process is lost with it (the engines
    // drop those messages on arrival), so nothing waits behind it; a connection that broke or
    // ended holds nothing at all.
    discard(e.hold[1 - sn]);
    if (e.state == State::broken || e.state == State::none) discard(e.hold[sn]);
  }
  return told;
}

void Connections::power_off(NodeId node) {
  crash(node, [](NodeId) { return false; });
}

std::uint32_t Connections::generation(NodeId a, NodeId b) const {
  const Entry* e = find(a, b);
  return e == nullptr ? 0 : e->generation;
}

bool Connections::is_open(NodeId a, NodeId b, std::uint32_t generation) const {
  const Entry* e = find(a, b);
  return e != nullptr && e->generation == generation && e->state == State::open;
}

bool Connections::reset(NodeId from, NodeId to, std::uint32_t generation) {
  auto it = entries_.find(key(from, to));
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  if (e.generation != generation || e.state != State::open) return false;
  ++version_;
  e.state = State::closing;
  e.awaiting = 3;
  return true;
}

DurationNs Connections::expiry_after_ns(DurationNs rto_ns, int k) {
  DurationNs total_ns = 0;
  DurationNs step_ns = rto_ns;
  for (int i = 0; i < k; ++i) {
    total_ns += std::min(step_ns, k_rto_max_ns);
    step_ns = std::min(step_ns * 2, k_rto_max_ns);
  }
  return total_ns;
}

DurationNs Connections::retransmit_timeout_ns() {
  // tcp_model_timeout() (net/ipv4/tcp_timer.c): the time the retries2 + 1st expiry takes when
  // the RTO starts at TCP_RTO_MIN, whatever the connection's own RTO.
  return expiry_after_ns(k_rto_min_ns, k_retries + 1);
}

Connections::Retransmit Connections::retransmit(NodeId from, NodeId to, std::uint32_t ticket,
                                                bool link_up, TimeNs now_ns,
                                                DurationNs round_trip_ns) {
  Entry& e = entry(from, to);
  Entry::Hold& h = e.hold[side(from, from, to)];
  // A ticket before the front was discarded with its connection's held messages (discard()):
  // the segment died with its connection (broken, reset or replaced since).
  if (ticket != 0 && ticket < h.front) return {Retransmit::Kind::lost, now_ns, ticket};
  const bool holding = h.front != h.next;
  if (ticket == 0) {
    if (!holding && link_up) return {};  // nothing ahead of it: it arrives
    ++version_;
    ticket = h.next++;
    ++held_;
    if (!holding) {
      // The first loss of an episode: the retransmission timer starts at the connection's RTO.
      h.expiries = 0;
      h.lost_ns = now_ns;
      h.rto_ns = k_rto_min_ns + round_trip_ns;
    }
  }
  if (ticket != h.front) return {Retransmit::Kind::retry, h.next_try_ns, ticket};  // FIFO
  if (link_up) {
    ++version_;
    ++h.front;
    --held_;
    return {Retransmit::Kind::deliver, now_ns, ticket};
  }
  ++version_;
  ++h.expiries;
  const DurationNs after_ns = expiry_after_ns(h.rto_ns, h.expiries);
  h.next_try_ns = h.lost_ns + after_ns;
  // The expiry after the last retransmission breaks the connection instead of retransmitting.
  // Linux counts the time since the first loss, not the expiries (retransmits_timed_out()).
  const bool gives_up = after_ns >= retransmit_timeout_ns();
  return {gives_up ? Retransmit::Kind::time_out : Retransmit::Kind::retry, h.next_try_ns, ticket};
}

bool Connections::holding(NodeId from, NodeId to) const {
  const Entry* e = find(from, to);
  if (e == nullptr || (e->state != State::open && e->state != State::closing)) return false;
  const Entry::Hold& h = e->hold[side(from, from, to)];
  return h.front != h.next;
}

bool Connections::time_out(NodeId from, NodeId to, std::uint32_t generation, std::uint32_t ticket) {
  auto it = entries_.find(key(from, to));
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  const int sf = side(from, from, to);
  if (e.generation != generation || (e.state != State::open && e.state != State::closing) ||
      e.hold[sf].front != ticket || e.hold[sf].next == ticket)
    return false;
  ++version_;
  e.state = State::broken;
  e.awaiting = 0;
  e.epoch[sf] = k_released;
  discard_held(e);
  return true;
}

void Connections::digest_into(Digest& d, const std::vector<std::uint32_t>& epochs) const {
  // 0: the end was released; 1: the node's current incarnation holds it; 2: an older one did.
  auto holder = [&](std::uint32_t held, NodeId node) -> std::uint64_t {
    if (held == k_released) return 0;
    return node < epochs.size() && epochs[node] == held ? 1 : 2;
  };
  for (NodeId a = 0; a < peers_.size(); ++a) {
    for (NodeId b : peers_[a]) {
      if (b < a) continue;
      const Entry& e = entries_.at(key(a, b));
      if (e.state == State::none) continue;
      d.add(key(a, b)).add(static_cast<std::uint64_t>(e.state)).add(e.awaiting);
      d.add(holder(e.epoch[0], a)).add(holder(e.epoch[1], b));
      // Held messages (tcp_retransmit): how many wait on each direction and how often the
      // front's timer has expired, which decides when the connection times out. Left out when
      // nothing is held, so that runs without held messages keep their digests.
      for (std::uint64_t dir = 0; dir < 2; ++dir) {
        const Entry::Hold& h = e.hold[dir];
        if (h.front == h.next) continue;
        d.add(dir).add(h.next - h.front).add(static_cast<std::uint64_t>(h.expiries));
      }
    }
  }
}

}  // namespace stampede
