#pragma once
// Message types and timer tags of the ZooKeeper model. Types live in a reserved range so that a
// node embedding a ZkClient (a Cattle server) can tell ZooKeeper traffic from its own; timer tags
// of the client carry a prefix for the same reason.
#include <cstdint>
#include <string_view>

namespace stampede::zk {

// Server-to-server (election and Zab) messages: [0x5A00, 0x5A40).
// Client-to-server and server-to-client messages: [0x5A40, 0x5A80).
inline constexpr std::uint32_t k_type_first = 0x5A00;
inline constexpr std::uint32_t k_client_type_first = 0x5A40;
inline constexpr std::uint32_t k_type_end = 0x5A80;

enum MsgType : std::uint32_t {
  // Election: body VoteBody.
  notification = k_type_first,
  // Zab, learner to leader: a = connection id.
  follower_info,   // b = accepted epoch, c = last logged zxid
  ack_epoch,       // b = current epoch (-1: already accepted this epoch), c = last logged zxid
  ack_new_leader,  // b = new epoch, c = last logged zxid
  ack,             // c = zxid
  ping_reply,      // body SessionList (sessions touched since the last ping)
  forward,         // body TxnBody (a write a client sent to a follower)
  revalidate,      // b = session id, c = client node
  // Zab, leader to learner: a = connection id, b = sequence number in the connection.
  leader_info,       // c = new epoch
  new_leader,        // c = new epoch, body SyncBody (the leader's history)
  up_to_date,        // c = committed count
  proposal,          // body TxnBody
  commit,            // c = zxid
  ping,              // no fields
  revalidate_reply,  // body RevalidateBody
  // Client (ZkClient) to server: a = client connection id.
  client_connect = k_client_type_first,  // b = session id (0: new), c = requested timeout ns
  client_ping,                           // b = session id
  client_request,                        // b = xid, body RequestBody
  // Server to client: a = client connection id.
  client_connected,  // b = session id, c = negotiated timeout ns
  client_expired,    // b = session id
  client_closed,     // the server dropped the connection (not serving, or shutting down)
  client_pong,
  client_response,  // b = xid, body ResponseBody
  client_watch,     // body WatchBody
  // The availability probe (ZkProbe): a = probe id. Session-less, see zk_probe.hpp.
  probe_write,      // probe to every server: the leader proposes a write
  probe_committed,  // the leader to the probe: that write committed
};

inline bool is_zk_type(std::uint32_t type) {
  return type >= k_type_first && type < k_type_end;
}
inline bool is_client_type(std::uint32_t type) {
  return type >= k_client_type_first && type < k_type_end;
}
std::string_view type_name(std::uint32_t type);

// Timer tags: the high 16 bits name the model so an embedding node can route them.
inline constexpr std::uint64_t k_server_tag_prefix = 0x5A53ULL << 48;  // "ZS"
inline constexpr std::uint64_t k_client_tag_prefix = 0x5A43ULL << 48;  // "ZC"
inline constexpr std::uint64_t k_tag_prefix_mask = 0xFFFFULL << 48;

inline std::uint64_t make_tag(std::uint64_t prefix, std::uint32_t kind, std::uint32_t gen) {
  return prefix | (static_cast<std::uint64_t>(kind & 0xFFFF) << 32) | gen;
}
inline std::uint32_t tag_kind(std::uint64_t tag) {
  return static_cast<std::uint32_t>((tag >> 32) & 0xFFFF);
}
inline std::uint32_t tag_gen(std::uint64_t tag) {
  return static_cast<std::uint32_t>(tag);
}

}  // namespace stampede::zk
