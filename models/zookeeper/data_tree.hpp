#pragma once
// The replicated znode tree and session table: what every server rebuilds by applying committed
// txns in zxid order. Applying is deterministic, so every replica computes the same result
// (including a sequential node's name) without the leader deciding it up front.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/zookeeper/bodies.hpp"
#include "models/zookeeper/txn.hpp"
#include "sim/core/state.hpp"

namespace stampede::zk {

struct ApplyResult {
  Code code = Code::ok;
  std::string path;                  // create: the name created
  std::vector<std::string> created;  // every node created, in order (for watches)
  std::vector<std::string> deleted;  // every node deleted, in order
};

class DataTree {
 public:
  DataTree();
  ApplyResult apply(const Txn& txn);

  bool exists(const std::string& path) const { return nodes_.count(path) != 0; }
  // The children's names (not full paths), sorted.
  std::vector<std::string> children(const std::string& path) const;
  bool session_live(std::int64_t session) const { return sessions_.count(session) != 0; }
  std::int64_t session_timeout(std::int64_t session) const;
  const std::map<std::int64_t, std::int64_t>& sessions() const { return sessions_; }
  std::int64_t ephemeral_owner(const std::string& path) const;
  // When the leader decided to expire the session (its clock), or nullopt if it was not expired.
  std::optional<TimeNs> session_expired_at(std::int64_t session) const {
    auto it = expired_at_.find(session);
    return it == expired_at_.end() ? std::nullopt : std::optional<TimeNs>(it->second);
  }

  struct Znode {
    std::int64_t ephemeral_owner = 0;
    std::int64_t next_sequence = 0;  // for sequential children
    STAMPEDE_FIELDS(ephemeral_owner, next_sequence)
  };
  STAMPEDE_FIELDS(nodes_, sessions_, ephemerals_, expired_at_)

 private:
  void remove_node(const std::string& path, ApplyResult& r);

  std::map<std::string, Znode> nodes_;
  std::map<std::int64_t, std::int64_t> sessions_;  // id -> timeout ns
  // An index of nodes_ by owner, rebuilt from it: not state of its own.
  Untracked<std::map<std::int64_t, std::set<std::string>>> ephemerals_;
  // Expired sessions (not those closed otherwise), for lock.no_stale_holder_action.
  std::map<std::int64_t, TimeNs> expired_at_;
};

std::string parent_of(const std::string& path);

}  // namespace stampede::zk
