#pragma once
// Connections between nodes, with the semantics of TCP that a control plane notices. Engines own
// one table and consult it for every stream message (sim/core/message.hpp, Transport), so that
// the kernel, the SimGrid engine and the explorer give the same answers:
//   - A send opens the pair's connection when there is none. A connect to a host whose process
//     is down is refused one round trip later; one to a host without power, or across a cut
//     link, is lost silently (the SYN goes unanswered and the connecting side's own timeout
//     fires).
//   - A connection is FIFO in each direction: a message never arrives before one sent earlier
//     on it (arrival() holds that).
//   - A crashed process closes every connection it holds: each peer whose link is up reads EOF
//     after the process's exit teardown (Node::exit_teardown_ns, the time the kernel takes to
//     tear a killed process down before it closes its sockets) and one latency, after whatever
//     was already in flight to it. A peer whose link is cut learns nothing, and its connection
//     is broken. The table changes at the crash: meanwhile a send to the dead process is lost, as
//     data written to a socket whose reader is gone is.
//   - A host that loses power breaks its connections silently, and so does a crash whose peer is
//     cut off. A send on a broken connection once the link is back is answered by a reset (the
//     other end no longer has that connection): the sender reads `closed` one round trip later,
//     the other end, if the same process still holds it, one latency later, and the message is
//     lost.
//   - With the mechanism `tcp_socket_per_process` (on: TCP), the one exception: when the sender
//     is a later incarnation of the process that held the broken connection (its host lost
//     power, or it crashed while cut off, and it booted again), its connect is a new socket from
//     a new source port, which the peer's kernel accepts as a new connection: the message is
//     delivered on it at once, and the peer is told nothing. The peer's process still holds the
//     old socket, half-open, with whatever it keeps for it (the db's sessions): in real TCP until
//     the peer sends on it (the rebooted host answers with a reset), its keepalive probes it, or
//     it closes it on its own timeout (the db's wait_timeout). The table keeps one connection per
//     pair, so the old one leaves it: the peer's later sends go on the new one, and only the
//     peer's own timeout frees what it held for the old (models/mysql/db_node.hpp). A send of the
//     peer on the old connection before the rebooted process sends is reset as above. Off: the
//     first send resets the old connection as above, the peer reads `closed` and the message is
//     lost (the model before issue 13).
//   - A partition is silent and keeps connections open. With the mechanism `tcp_retransmit`
//     (on: TCP) a stream message that meets a cut link, sent across it or cut while in flight,
//     is not lost: the sender's TCP retransmits it (retransmit() below). The message waits for
//     the sender's next retransmission timer expiry at which the link is up and arrives one
//     latency after it, and everything sent later on that direction of the connection waits
//     behind it (FIFO). The timer starts at the connection's RTO, TCP_RTO_MIN plus the round
//     trip (Linux's tcp_set_rto: srtt plus an rttvar of at least TCP_RTO_MIN), and doubles up to
//     TCP_RTO_MAX; once net.ipv4.tcp_retries2 = 15 retransmissions have gone unanswered (the
//     expiry 924.6 s after the first loss when the RTO is TCP_RTO_MIN) the connection breaks:
//     the sender reads `closed` at once (ETIMEDOUT), the held messages are lost and the other
//     end keeps a half-open connection. Linux: include/net/tcp.h TCP_RTO_MIN (HZ/5, 200 ms) and
//     TCP_RTO_MAX (120*HZ, 120 s); Documentation/networking/ip-sysctl.rst, tcp_retries2
//     (default 15, "a hypothetical timeout of 924.6 seconds"); net/ipv4/tcp_timer.c
//     tcp_model_timeout() and retransmits_timed_out(). The engines check the link where the
//     segment arrives, not where it leaves (one latency apart), and the ACK path is not
//     modelled: a cut of only the reverse link delays nothing. A held message whose connection
//     breaks meanwhile (its peer crashed or lost power behind the cut) is lost as before: the
//     sender learns at its next send after the heal. With the mechanism off, what is sent across
//     a cut link is lost and what is sent after the heal arrives (the model before issue 12
//     item 1); docs/design.md says so.
//   - A random drop on a stream resets the connection (both ends read `closed`); a random
//     duplicate does not happen on a stream.
// One connection per unordered pair of nodes: either side's send opens it. The table knows
// nothing of time or processes: the engine passes what it needs (the link, the peer's power and
// process, the incarnations) and schedules what the verdicts say.
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/core/digest.hpp"
#include "sim/core/engine_mechanisms.hpp"
#include "sim/core/message.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/time.hpp"

namespace stampede {

class Connections {
  struct Entry;

 public:
  // A pair's entry as send() found it. Entries never move or go (entries_), so an engine hands
  // it back to arrival() and, when the message is delivered, to live(), instead of looking the
  // pair up twice more: those look-ups were 5% of the HA hour (issue 13). Valid for the table
  // that gave it, not for a copy of it.
  class Handle {
   public:
    Handle() = default;

   private:
    friend class Connections;
    explicit Handle(Entry* e) : entry_(e) {}
    Entry* entry_ = nullptr;
  };
  // What the engine knows of the two ends when `from` sends to `to`.
  struct Ends {
    bool link_up = true;          // the directed link from → to is up
    bool host_on = true;          // `to`'s host has power
    bool process_up = true;       // `to`'s process runs
    std::uint32_t from_epoch = 0; // the incarnations of both processes now
    std::uint32_t to_epoch = 0;
    bool drop = false;            // the network's random drop struck this message
  };
  enum class Outcome : std::uint8_t {
    deliver,  // it travels on connection `generation`
    lost,     // silently
    refused,  // the sender reads `refused` one round trip later
    reset,    // the sender reads `closed` one round trip later; see notify_peer
  };
  struct Verdict {
    Outcome outcome = Outcome::lost;
    std::uint32_t generation = 0;  // deliver: the connection; reset: the one that ends
    bool notify_sender = false;    // reset: `from` reads `closed` one round trip later
    bool notify_peer = false;      // reset: `to` reads `closed` one latency later
    Handle pair;                   // the pair's entry
  };

  // Whether a cut link holds stream messages for retransmission (the mechanism
  // `tcp_retransmit`, read from the engine options by the engine that owns the table).
  explicit Connections(bool retransmit = false, bool socket_per_process = false)
      : retransmit_(retransmit), socket_per_process_(socket_per_process) {}
  // Both switches as a run's resolved mechanisms have them.
  static Connections from(const MechanismMap& mechanisms) {
    return Connections(retransmit_in(mechanisms), socket_per_process_in(mechanisms));
  }
  // The switch as a run's resolved mechanisms have it: off when the map does not name it (an
  // engine built without a registry, as unit tests build them).
  static bool retransmit_in(const MechanismMap& mechanisms) {
    auto it = mechanisms.find(k_tcp_retransmit);
    return it != mechanisms.end() && it->second;
  }
  bool retransmits() const { return retransmit_; }
  // The switch `tcp_socket_per_process`, off when the map does not name it.
  static bool socket_per_process_in(const MechanismMap& mechanisms) {
    auto it = mechanisms.find(k_tcp_socket_per_process);
    return it != mechanisms.end() && it->second;
  }
  // How many connections a restarted process left half-open at a peer by connecting anew
  // (tcp_socket_per_process); the peer's process still holds them. A count for tests, not
  // state: the peer's model keeps what it holds for them.
  std::uint64_t left_half_open() const { return left_half_open_; }

  // Decides the fate of a stream message sent now. Opens, breaks or resets the connection.
  Verdict send(NodeId from, NodeId to, const Ends& ends);

  // tcp_retransmit: what becomes of a stream message of a live connection that reaches `to` at
  // `now_ns` (`link_up`: the link from → to is up now). `ticket` is 0 for a message that has
  // not been held yet, else the one an earlier call gave it.
  struct Retransmit {
    enum class Kind : std::uint8_t {
      deliver,   // it arrives now
      retry,     // it arrives at at_ns plus one latency (Connections::arrival), unless cut again
      time_out,  // at at_ns, the retransmissions run out: the engine calls time_out()
      lost,      // it was held on a connection that broke since: the engine drops it
    };
    Kind kind = Kind::deliver;
    TimeNs at_ns = 0;
    std::uint32_t ticket = 0;  // the message's place in its direction's queue
  };
  Retransmit retransmit(NodeId from, NodeId to, std::uint32_t ticket, bool link_up, TimeNs now_ns,
                        DurationNs round_trip_ns);
  // The time-out that retransmit() announced: when `ticket` still heads the held messages of a
  // live connection `generation`, the connection breaks (the sender's end is released, the
  // peer keeps a half-open one) and the sender is to read `closed` at once; returns that.
  bool time_out(NodeId from, NodeId to, std::uint32_t generation, std::uint32_t ticket);
  // Whether messages of from → to are held: a `closed` event of that direction (a FIN) waits
  // behind them, as it waits behind the data before it in TCP's stream.
  bool holding(NodeId from, NodeId to) const;
  // Whether any direction holds a message. When none does, a stream message that arrives on an
  // up link arrives now (retransmit() would say so without a change): the kernel skips the
  // look-up on that path, which is nearly every delivery.
  bool holds_any() const { return held_ != 0; }
  // TCP's retransmission timer (Linux, cited in the header comment).
  static constexpr DurationNs k_rto_min_ns = 200 * k_ms;  // TCP_RTO_MIN
  static constexpr DurationNs k_rto_max_ns = 120 * k_s;   // TCP_RTO_MAX
  static constexpr int k_retries = 15;                    // net.ipv4.tcp_retries2
  // tcp_model_timeout(retries2, TCP_RTO_MIN): 1023 × 200 ms + 6 × 120 s = 924.6 s.
  static DurationNs retransmit_timeout_ns();
  // The k-th expiry of the retransmission timer (k >= 1) after the first loss, for an RTO of
  // rto_ns: rto × (1 + 2 + ...) with each term capped at TCP_RTO_MAX.
  static DurationNs expiry_after_ns(DurationNs rto_ns, int k);
  // The sender closes its end (Ctx::close_connection). Returns whether the peer is to read
  // `closed` one latency later (the connection was open and `link_up`).
  bool close(NodeId from, NodeId to, bool link_up);
  // The arrival time of the next message or event from `from` to `to` that would arrive at
  // `at_ns`: after the last one (FIFO), by at least a nanosecond. Records it.
  TimeNs arrival(NodeId from, NodeId to, TimeNs at_ns);
  // The same, for the pair of `pair` (a Verdict's): from → to must be its pair.
  TimeNs arrival(Handle pair, NodeId from, NodeId to, TimeNs at_ns) {
    TimeNs& last = pair.entry_->last_arrival_ns[side(from, from, to)];
    last = std::max(last + 1, at_ns);
    return last;
  }
  // Whether a message sent on `generation` may still be delivered: the connection is the same
  // and has not been broken or reset since.
  bool live(NodeId from, NodeId to, std::uint32_t generation) const;
  // The same, for the pair of `pair` (a Verdict's); none (a node's message to itself, which
  // has no pair) is never live.
  bool live(Handle pair, std::uint32_t generation) const {
    const Entry* e = pair.entry_;
    return e != nullptr && e->generation == generation &&
           (e->state == State::open || e->state == State::closing);
  }
  // Whether `node` still awaits the `closed` event of `generation` (it has not closed its end
  // itself since, nor crashed): the engine delivers the event only then.
  bool awaits(NodeId node, NodeId peer, std::uint32_t generation) const;
  // A `closed` event for `node` about its connection to `peer` was delivered (`arrived`) or met
  // a cut link on its way. Delivered: once no end awaits one, the pair has no connection. Lost:
  // `node` keeps a dead connection without knowing, as after a silent failure (broken).
  void notice_done(NodeId node, NodeId peer, std::uint32_t generation, bool arrived);
  // `node`'s process died. Returns the peers that read `closed` one latency later (an open
  // connection and `link_up(peer)`), in id order; its other connections break silently.
  std::vector<NodeId> crash(NodeId node, const std::function<bool(NodeId)>& link_up);
  // `node`'s host lost power: every connection it holds breaks silently.
  void power_off(NodeId node);

  // The pair's current connection (or the last one), which a `closed` event refers to.
  std::uint32_t generation(NodeId a, NodeId b) const;
  // Whether connection `generation` of the pair is open (neither closing, broken nor gone).
  bool is_open(NodeId a, NodeId b, std::uint32_t generation) const;
  // The explorer drops a message in flight on `generation` (sim/explore/engine.cpp): an open
  // connection resets, both ends to read `closed`, as a random drop at send time resets it in
  // send(). Returns whether it did; a connection that is not open is left as it is.
  bool reset(NodeId from, NodeId to, std::uint32_t generation);
  // Counts the changes of any pair's state, awaited events or generation (arrival times are not
  // counted): the explorer looks for events of dead connections only when it has moved.
  std::uint64_t version() const { return version_; }
  // The canonical state for the explorer: each pair's state, awaited events and, for each end,
  // whether the incarnation that holds it is `epochs[node]` (the node's current one), an older
  // one or none (released), in pair order. Generations, incarnation numbers and arrival times are
  // left out: two worlds that differ only in how often a pair reconnected or a node restarted, or
  // when, are one state.
  void digest_into(Digest& d, const std::vector<std::uint32_t>& epochs) const;

 private:
  enum class State : std::uint8_t { none, open, broken, closing };
  struct Entry {
    State state = State::none;
    std::uint8_t awaiting = 0;         // closing: bit 0 = lo awaits `closed`, bit 1 = hi does
    std::uint32_t generation = 0;      // counts the pair's connections
    // The incarnations of lo and hi that hold it; k_released once that end has closed it.
    std::uint32_t epoch[2] = {0, 0};
    TimeNs last_arrival_ns[2] = {0, 0};  // lo → hi, hi → lo
    // tcp_retransmit: the messages held on each direction (lo → hi, hi → lo). Tickets are given
    // in arrival order; front == next when none is held.
    struct Hold {
      std::uint32_t next = 1;   // the ticket the next held message gets
      std::uint32_t front = 1;  // the oldest held message's, the one TCP retransmits
      int expiries = 0;         // the retransmission timer's expiries since the front was lost
      TimeNs lost_ns = 0;       // when the front was lost
      DurationNs rto_ns = 0;    // the connection's RTO then
      TimeNs next_try_ns = 0;   // the front's next retransmission (or time-out)
    };
    Hold hold[2];
  };
  static constexpr std::uint32_t k_released = UINT32_MAX;
  static std::uint64_t key(NodeId a, NodeId b);
  static std::uint8_t bit(int side) { return static_cast<std::uint8_t>(1u << side); }
  static int side(NodeId node, NodeId a, NodeId b) { return node == std::min(a, b) ? 0 : 1; }
  Entry& entry(NodeId a, NodeId b);
  const Entry* find(NodeId a, NodeId b) const;
  Verdict open(Entry& e, NodeId from, NodeId to, const Ends& ends);
  Verdict send_on_broken(Entry& e, NodeId from, NodeId to, const Ends& ends);
  Verdict decide(Entry& e, NodeId from, NodeId to, const Ends& ends);  // send()'s verdict
  // Drops what a direction holds: its tickets so far become stale (retransmit() answers `lost`
  // for them), and the numbering goes on, so a later held message is never mistaken for one,
  // whichever connection of the pair it was held on.
  void discard(Entry::Hold& h) {
    held_ -= h.next - h.front;
    h.front = h.next;
    h.expiries = 0;
  }
  // A connection that breaks, is reset or is replaced holds nothing on either direction.
  void discard_held(Entry& e) {
    discard(e.hold[0]);
    discard(e.hold[1]);
  }

  // Looked up on every stream send; iterated only through peers_, which is kept sorted. No entry
  // is ever erased, so an entry's address stays the same for the table's life.
  std::unordered_map<std::uint64_t, Entry> entries_;
  // entry() and find() go through a direct-mapped cache of the entries' addresses: a stream
  // message looks its pair up three times (send, arrival, delivery), a hashed look-up each, 5% of
  // the HA hour (bench/RESULTS.md, session 24). A copy of the table starts with an empty cache,
  // since the cached addresses are those of the original's entries.
  struct EntryCache {
    struct Line {
      std::uint64_t key = ~std::uint64_t{0};  // no pair has this key: its ends would be equal
      Entry* entry = nullptr;
    };
    std::array<Line, 256> lines;
    EntryCache() = default;
    EntryCache(const EntryCache&) {}
    EntryCache& operator=(const EntryCache&) {
      lines = {};
      return *this;
    }
    Line& line(std::uint64_t key) {
      // The top byte of a Fibonacci hash: pairs that differ only in one end spread out.
      return lines[static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 56)];
    }
  };
  mutable EntryCache cache_;
  std::vector<std::vector<NodeId>> peers_;  // by node: every peer it has had an entry with
  std::uint64_t version_ = 0;
  std::uint64_t held_ = 0;  // held messages on every direction: the kernel's fast path
  bool retransmit_ = false;
  bool socket_per_process_ = false;
  std::uint64_t left_half_open_ = 0;
};

}  // namespace stampede
