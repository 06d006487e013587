#include "models/zookeeper/invariants.hpp"

#include <fmt/format.h>

#include <map>
#include <vector>

namespace stampede::zk {

namespace {

std::optional<std::int64_t> ask(const WorldView& w, NodeId id, std::string_view key,
                                std::string_view arg = "") {
  if (!w.is_up(id)) return std::nullopt;
  return w.node(id).probe(key, arg);
}

std::vector<NodeId> live_servers(const WorldView& w) {
  std::vector<NodeId> out;
  for (NodeId id = 0; id < w.node_count(); ++id)
    if (name_matches("zookeeper-*", w.node_name(id)) && ask(w, id, "zk.committed_count"))
      out.push_back(id);
  return out;
}

}  // namespace

std::optional<std::string> check_lock_mutual_exclusion(const WorldView& w) {
  // The committed view: the live server that has committed the most (lowest id on a tie).
  NodeId view = k_no_node;
  std::int64_t best = -1;
  for (NodeId id : live_servers(w)) {
    std::int64_t c = *ask(w, id, "zk.committed_count");
    if (c > best) best = c, view = id;
  }
  std::map<std::int64_t, std::vector<NodeId>> holders;  // lock hash -> clients
  for (NodeId id = 0; id < w.node_count(); ++id) {
    auto n = ask(w, id, "zk.held_lock_count");
    if (!n || *n == 0) continue;
    auto session = ask(w, id, "zk.session_id");
    if (view != k_no_node && session &&
        ask(w, view, "zk.session_live", std::to_string(*session)) == std::optional<std::int64_t>(0))
      continue;  // its session is gone: ZooKeeper no longer counts it as a holder
    for (std::int64_t i = 0; i < *n; ++i)
      if (auto h = ask(w, id, "zk.held_lock", std::to_string(i))) holders[*h].push_back(id);
  }
  for (const auto& [lock, who] : holders) {
    if (who.size() < 2) continue;
    return fmt::format("{} and {} both hold one lock with live sessions", w.node_name(who[0]),
                       w.node_name(who[1]));
  }
  return std::nullopt;
}

std::optional<std::string> check_single_leader_per_epoch(const WorldView& w) {
  std::map<std::int64_t, NodeId> leaders;
  for (NodeId id : live_servers(w)) {
    auto e = ask(w, id, "zk.leading_epoch");
    if (!e) continue;
    auto [it, fresh] = leaders.emplace(*e, id);
    if (!fresh)
      return fmt::format("{} and {} both lead epoch {}", w.node_name(it->second), w.node_name(id),
                         *e);
  }
  return std::nullopt;
}

std::optional<std::string> check_committed_never_lost(const WorldView& w) {
  struct S {
    NodeId id;
    std::int64_t committed, len, epoch;
    bool synced;
  };
  std::vector<S> servers;
  for (NodeId id : live_servers(w)) {
    servers.push_back(S{id, *ask(w, id, "zk.committed_count"), *ask(w, id, "zk.history_len"),
                        *ask(w, id, "zk.current_epoch"), ask(w, id, "zk.synced") == 1});
  }
  auto digest = [&](NodeId id, std::int64_t n) {
    return ask(w, id, "zk.prefix_digest", std::to_string(n));
  };
  for (const S& a : servers) {
    if (a.committed == 0) continue;
    std::int64_t zxid = *ask(w, a.id, "zk.zxid_at", std::to_string(a.committed - 1));
    auto da = digest(a.id, a.committed);
    for (const S& b : servers) {
      if (b.id == a.id) continue;
      std::int64_t n = std::min(a.committed, b.committed);
      if (digest(a.id, n) != digest(b.id, n))
        return fmt::format("{} and {} committed different txns within their first {}",
                           w.node_name(a.id), w.node_name(b.id), n);
      // A server synced in a later epoch took a leader's log that must hold every txn
      // committed before that epoch.
      if (b.synced && b.epoch > (zxid >> 32) &&
          (b.len < a.committed || digest(b.id, a.committed) != da))
        return fmt::format("{} (synced in epoch {}) lacks zxid 0x{:x} committed by {}",
                           w.node_name(b.id), b.epoch, zxid, w.node_name(a.id));
    }
  }
  return std::nullopt;
}

}  // namespace stampede::zk
