#pragma once
// The ZooKeeper protocol: one struct per message kind, numbered in the zookeeper block of
// models/protocols.hpp, and the timers of the model's nodes. Server-to-server (election and Zab)
// messages take the block's first half, client-to-server and server-to-client messages its
// second half, so that a node embedding a ZkClient (a Cattle server) can tell the client's
// traffic from its own; every timer tag carries a 16-bit prefix naming its node kind, for the
// same reason.
#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "models/protocols.hpp"
#include "models/zookeeper/bodies.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede::zk {

inline constexpr ProtocolRange k_protocol = protocols::k_zookeeper;
// Server-to-server messages: [first, first + 0x40); client messages: [first + 0x40, end).
inline constexpr std::uint32_t k_client_offset = 0x40;
inline constexpr std::uint32_t k_client_type_first = k_protocol.first + k_client_offset;

inline bool is_zk_type(std::uint32_t type) { return k_protocol.contains(type); }
inline bool is_client_type(std::uint32_t type) {
  return type >= k_client_type_first && type < k_protocol.end;
}

// --- Election -------------------------------------------------------------------------------

// A server's vote (FastLeaderElection's notification); a, b and c repeat the body's vote.
struct Notification {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "zk.notification";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t leader = 0;
  std::int64_t zxid = 0;
  std::int64_t election_epoch = 0;
  std::shared_ptr<const VoteBody> body;
  STAMPEDE_FIELDS(leader, zxid, election_epoch, body)
  bool valid() const {
    return body != nullptr && zxid >= 0 && body->vote.leader == leader &&
           body->vote.zxid == zxid && body->election_epoch == election_epoch;
  }
};

// --- Zab, learner to leader: `conn` names the learner's connection ---------------------------

struct FollowerInfo {
  static constexpr std::uint32_t k_type = k_protocol.type(1);
  static constexpr std::string_view k_name = "zk.follower_info";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t accepted_epoch = 0;
  std::int64_t last_zxid = 0;
  STAMPEDE_FIELDS(conn, accepted_epoch, last_zxid)
  bool valid() const { return conn > 0 && accepted_epoch >= 0 && last_zxid >= 0; }
};

// current_epoch -1: the learner had already accepted this epoch (no second ack).
struct AckEpoch {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "zk.ack_epoch";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t current_epoch = 0;
  std::int64_t last_zxid = 0;
  STAMPEDE_FIELDS(conn, current_epoch, last_zxid)
  bool valid() const { return conn > 0 && current_epoch >= -1 && last_zxid >= 0; }
};

struct AckNewLeader {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "zk.ack_new_leader";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t new_epoch = 0;
  std::int64_t last_zxid = 0;
  STAMPEDE_FIELDS(conn, new_epoch, last_zxid)
  bool valid() const { return conn > 0 && new_epoch > 0 && last_zxid >= 0; }
};

// b is unused (always 0): the zxid travels in c, as it always has.
struct Ack {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "zk.ack";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t unused = 0;
  std::int64_t zxid = 0;
  STAMPEDE_FIELDS(conn, unused, zxid)
  bool valid() const { return conn > 0 && unused == 0 && zxid > 0; }
};

// The sessions the learner's clients touched since the last ping.
struct PingReply {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "zk.ping_reply";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::shared_ptr<const SessionList> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

// A write a client sent to a follower, on its way to the leader (zxid 0 until proposed).
struct Forward {
  static constexpr std::uint32_t k_type = k_protocol.type(6);
  static constexpr std::string_view k_name = "zk.forward";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t conn = 0;
  std::shared_ptr<const TxnBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr && body->entry.txn != nullptr; }
};

// A follower asks whether `session`, reconnecting through it from `client`, is still alive.
struct Revalidate {
  static constexpr std::uint32_t k_type = k_protocol.type(7);
  static constexpr std::string_view k_name = "zk.revalidate";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t session = 0;
  NodeId client = k_no_node;
  STAMPEDE_FIELDS(conn, session, client)
  bool valid() const { return conn > 0 && session != 0; }
};

// --- Zab, leader to learner: `conn` and `seq`, the message's place in the connection ---------

struct LeaderInfo {
  static constexpr std::uint32_t k_type = k_protocol.type(8);
  static constexpr std::string_view k_name = "zk.leader_info";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::int64_t new_epoch = 0;
  STAMPEDE_FIELDS(conn, seq, new_epoch)
  bool valid() const { return conn > 0 && seq >= 0 && new_epoch > 0; }
};

// The leader's history, for the learner to take (a SNAP); 64 bytes a txn.
struct NewLeader {
  static constexpr std::uint32_t k_type = k_protocol.type(9);
  static constexpr std::string_view k_name = "zk.new_leader";
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::int64_t new_epoch = 0;
  std::shared_ptr<const SyncBody> body;
  STAMPEDE_FIELDS(conn, seq, new_epoch, body)
  std::uint32_t size_bytes() const {
    return static_cast<std::uint32_t>(128 + 64 * body->history->size());
  }
  bool valid() const {
    return conn > 0 && seq >= 0 && new_epoch > 0 && body != nullptr && body->history != nullptr;
  }
};

struct UpToDate {
  static constexpr std::uint32_t k_type = k_protocol.type(10);
  static constexpr std::string_view k_name = "zk.up_to_date";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::int64_t committed = 0;  // the length of the committed prefix
  STAMPEDE_FIELDS(conn, seq, committed)
  bool valid() const { return conn > 0 && seq >= 0 && committed >= 0; }
};

struct Proposal {
  static constexpr std::uint32_t k_type = k_protocol.type(11);
  static constexpr std::string_view k_name = "zk.proposal";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::int64_t zxid = 0;
  std::shared_ptr<const TxnBody> body;
  STAMPEDE_FIELDS(conn, seq, zxid, body)
  bool valid() const {
    return conn > 0 && seq >= 0 && zxid > 0 && body != nullptr && body->entry.zxid == zxid &&
           body->entry.txn != nullptr;
  }
};

struct Commit {
  static constexpr std::uint32_t k_type = k_protocol.type(12);
  static constexpr std::string_view k_name = "zk.commit";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::int64_t zxid = 0;
  STAMPEDE_FIELDS(conn, seq, zxid)
  bool valid() const { return conn > 0 && seq >= 0 && zxid > 0; }
};

struct Ping {
  static constexpr std::uint32_t k_type = k_protocol.type(13);
  static constexpr std::string_view k_name = "zk.ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  STAMPEDE_FIELDS(conn, seq)
  bool valid() const { return conn > 0 && seq >= 0; }
};

struct RevalidateReply {
  static constexpr std::uint32_t k_type = k_protocol.type(14);
  static constexpr std::string_view k_name = "zk.revalidate_reply";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t seq = 0;
  std::int64_t session = 0;
  std::shared_ptr<const RevalidateBody> body;
  STAMPEDE_FIELDS(conn, seq, session, body)
  bool valid() const {
    return conn > 0 && seq >= 0 && session != 0 && body != nullptr && body->session == session;
  }
};

// --- Zab, to a learner whose connect found no quorum port bound -----------------------------

// The reset a learner's connect gets from a server that does not lead, or leads but has not bound
// its quorum port yet: only a Leader binds it (Leader's constructor, Leader.java:289-322 at
// release-3.8.0-1), so the kernel answers the SYN with a reset, which the learner reads one round
// trip after its connect as a refused connection. `conn` repeats the FollowerInfo's.
struct LearnerRefused {
  static constexpr std::uint32_t k_type = k_protocol.type(15);
  static constexpr std::string_view k_name = "zk.learner_refused";
  static constexpr std::uint32_t k_size_bytes = 40;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

// --- Client (ZkClient) to server: `conn` names the client's connection -----------------------

// session 0 asks for a new session.
struct ClientConnect {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 0);
  static constexpr std::string_view k_name = "zk.client_connect";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t session = 0;
  std::int64_t timeout_ns = 0;  // requested
  STAMPEDE_FIELDS(conn, session, timeout_ns)
  bool valid() const { return conn > 0 && session >= 0 && timeout_ns >= 0; }
};

struct ClientPing {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 1);
  static constexpr std::string_view k_name = "zk.client_ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  std::int64_t session = 0;
  STAMPEDE_FIELDS(conn, session)
  bool valid() const { return conn > 0 && session != 0; }
};

struct ClientRequest {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 2);
  static constexpr std::string_view k_name = "zk.client_request";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t xid = 0;
  std::shared_ptr<const RequestBody> body;
  STAMPEDE_FIELDS(conn, xid, body)
  bool valid() const { return conn > 0 && xid > 0 && body != nullptr; }
};

// --- Server to client ------------------------------------------------------------------------

struct ClientConnected {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 3);
  static constexpr std::string_view k_name = "zk.client_connected";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t session = 0;
  std::int64_t timeout_ns = 0;  // negotiated
  STAMPEDE_FIELDS(conn, session, timeout_ns)
  bool valid() const { return conn > 0 && session != 0 && timeout_ns >= 0; }
};

// The answer to a connect with a session that is gone (128 bytes).
struct ClientExpired {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 4);
  static constexpr std::string_view k_name = "zk.client_expired";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t session = 0;
  STAMPEDE_FIELDS(conn, session)
  bool valid() const { return conn > 0 && session != 0; }
};

// The server dropped the connection (it does not serve, or left its role).
struct ClientClosed {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 5);
  static constexpr std::string_view k_name = "zk.client_closed";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

struct ClientPong {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 6);
  static constexpr std::string_view k_name = "zk.client_pong";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  STAMPEDE_FIELDS(conn)
  bool valid() const { return conn > 0; }
};

struct ClientResponse {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 7);
  static constexpr std::string_view k_name = "zk.client_response";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::int64_t xid = 0;
  std::shared_ptr<const ResponseBody> body;
  STAMPEDE_FIELDS(conn, xid, body)
  bool valid() const { return conn > 0 && xid > 0 && body != nullptr; }
};

struct ClientWatch {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 8);
  static constexpr std::string_view k_name = "zk.client_watch";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t conn = 0;
  std::shared_ptr<const WatchBody> body;
  STAMPEDE_FIELDS(conn, body)
  bool valid() const { return conn > 0 && body != nullptr; }
};

// --- The availability probe (ZkProbe, session-less: see zk_probe.hpp) ------------------------

// The probe to every server: the leader proposes a write.
struct ProbeWrite {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 9);
  static constexpr std::string_view k_name = "zk.probe_write";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t id = 0;
  STAMPEDE_FIELDS(id)
  bool valid() const { return id > 0; }
};

// The leader to the probe: the write `id` committed.
struct ProbeCommitted {
  static constexpr std::uint32_t k_type = k_protocol.type(k_client_offset + 10);
  static constexpr std::string_view k_name = "zk.probe_committed";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t id = 0;
  STAMPEDE_FIELDS(id)
  bool valid() const { return id > 0; }
};

// "zk.notification" ..., or "zk.unknown" for a type of no ZooKeeper message.
std::string_view type_name(std::uint32_t type);

// --- Timers ----------------------------------------------------------------------------------

// The 16-bit prefixes of timer tags, one per node kind.
inline constexpr std::uint64_t k_server_tag_prefix = 0x5A53;       // "ZS"
inline constexpr std::uint64_t k_client_tag_prefix = 0x5A43;       // "ZC"
inline constexpr std::uint64_t k_lock_client_tag_prefix = 0x5A4C;  // "ZL"
inline constexpr std::uint64_t k_probe_tag_prefix = 0x5A50;        // "ZP"

inline std::uint64_t tag_prefix(std::uint64_t tag) { return tag >> 48; }

// A timer of a node kind: the prefix in the tag's top 16 bits, the timer's kind in the next 16,
// and the node's generation when it was set in the low 32 (a timer of an older generation is
// stale: the node has changed role or state since).
template <std::uint64_t Prefix, std::uint64_t Kind>
struct GenTimer {
  static constexpr TimerKind k_kind{32, (Prefix << 16) | Kind};
  static constexpr std::array<unsigned, 1> k_bits{32};
  std::uint32_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

// A timer with no generation (its low 32 bits are zero).
template <std::uint64_t Prefix, std::uint64_t Kind>
struct PlainTimer {
  static constexpr TimerKind k_kind{32, (Prefix << 16) | Kind};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};

// The server's timers.
using PollTimer = GenTimer<k_server_tag_prefix, 1>;         // resend the vote, back off
using FinalizeTimer = GenTimer<k_server_tag_prefix, 2>;     // no better vote came: decide
using LeaderTickTimer = GenTimer<k_server_tag_prefix, 3>;   // every half tick until ready
using DeadlineTimer = GenTimer<k_server_tag_prefix, 4>;     // the leader's initLimit deadline
using FollowerTickTimer = GenTimer<k_server_tag_prefix, 5>; // every tick while following
using ConnectTimer = GenTimer<k_server_tag_prefix, 6>;      // retry follower_info
using FlushVotesTimer = PlainTimer<k_server_tag_prefix, 7>; // queued votes may go out
using ExpiryTimer = GenTimer<k_server_tag_prefix, 8>;       // a session-expiry deadline
using LeaderLoopTimer = GenTimer<k_server_tag_prefix, 9>;   // every half tick once ready
using FollowerShutdownTimer = GenTimer<k_server_tag_prefix, 10>;  // the follower has shut down
using LeaderBindTimer = GenTimer<k_server_tag_prefix, 11>;   // the quorum port is bound
using LearnerSyncTimer = GenTimer<k_server_tag_prefix, 12>;  // the sync is on disk: ack it
using LeaderStartTimer = GenTimer<k_server_tag_prefix, 13>;  // the request processors run
// The client's (ZkClient's) timers.
using ClientConnectTimer = GenTimer<k_client_tag_prefix, 1>;    // the server did not answer
using ClientPingTimer = GenTimer<k_client_tag_prefix, 2>;       // every timeout/3
using ClientReadTimer = GenTimer<k_client_tag_prefix, 3>;       // 2/3 of the timeout silent?
using ClientReconnectTimer = GenTimer<k_client_tag_prefix, 4>;  // try the next server
// The lock client's timers.
using HoldDoneTimer = GenTimer<k_lock_client_tag_prefix, 1>;
using IdleDoneTimer = GenTimer<k_lock_client_tag_prefix, 2>;
// The probe's timers: the next write is due; the write whose id's low 32 bits are `gen` is late.
using ProbeNextTimer = PlainTimer<k_probe_tag_prefix, 1>;
using ProbeDeadlineTimer = GenTimer<k_probe_tag_prefix, 2>;

}  // namespace stampede::zk
