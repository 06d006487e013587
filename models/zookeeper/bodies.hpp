#pragma once
// Message bodies (Payloads) of the ZooKeeper model. Each caches nothing mutable: a body is
// immutable once sent.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/zookeeper/txn.hpp"
#include "models/zookeeper/vote.hpp"
#include "sim/core/message.hpp"

namespace stampede::zk {

struct VoteBody final : Payload {
  Vote vote;
  std::int64_t election_epoch = 0;
  ServerState state = ServerState::looking;
  void digest_into(Digest& d) const override {
    d.add_signed(vote.leader).add_signed(vote.zxid).add_signed(vote.peer_epoch);
    d.add_signed(election_epoch).add(static_cast<std::uint64_t>(state));
  }
};

struct TxnBody final : Payload {
  LoggedTxn entry;  // zxid 0 while forwarded to the leader
  void digest_into(Digest& d) const override { d.add(entry_digest(entry)); }
};

struct SyncBody final : Payload {
  std::shared_ptr<const History> history;
  std::int64_t committed = 0;
  std::uint64_t history_digest = 0;  // computed once by the sender
  void digest_into(Digest& d) const override {
    d.add(history_digest).add_signed(committed).add(history->size());
  }
};

struct SessionList final : Payload {
  std::vector<std::int64_t> sessions;  // sorted
  void digest_into(Digest& d) const override {
    for (std::int64_t s : sessions) d.add_signed(s);
  }
};

struct RevalidateBody final : Payload {
  std::int64_t session = 0;
  NodeId client = k_no_node;
  bool valid = false;
  std::int64_t timeout_ns = 0;
  void digest_into(Digest& d) const override {
    d.add_signed(session).add(client).add(valid ? 1 : 0).add_signed(timeout_ns);
  }
};

enum class ReqOp : std::uint8_t { create, remove, get_children, exists };

struct RequestBody final : Payload {
  ReqOp op = ReqOp::create;
  std::string path;
  std::int64_t flags = 0;
  bool watch = false;
  void digest_into(Digest& d) const override {
    d.add(static_cast<std::uint64_t>(op)).add(path).add_signed(flags).add(watch ? 1 : 0);
  }
};

// Result codes, with ZooKeeper's numeric values.
enum class Code : std::int64_t {
  ok = 0,
  connection_loss = -4,
  no_node = -101,
  node_exists = -110,
  not_empty = -111,
  session_expired = -112,
};

struct ResponseBody final : Payload {
  Code code = Code::ok;
  std::string path;                   // create: the name created
  std::vector<std::string> children;  // get_children: names, sorted
  bool exists = false;                // exists
  void digest_into(Digest& d) const override {
    d.add_signed(static_cast<std::int64_t>(code)).add(path).add(exists ? 1 : 0);
    for (const auto& c : children) d.add(c);
  }
};

enum class WatchEvent : std::uint8_t { created, deleted, children_changed };

struct WatchBody final : Payload {
  std::string path;
  WatchEvent event = WatchEvent::deleted;
  void digest_into(Digest& d) const override { d.add(path).add(static_cast<std::uint64_t>(event)); }
};

}  // namespace stampede::zk
