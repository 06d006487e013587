#include "models/zookeeper/invariants.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <map>
#include <vector>

#include "models/zookeeper/zk_server.hpp"

namespace stampede::zk {

namespace {

std::optional<std::int64_t> ask(const WorldView& w, NodeId id, std::string_view key,
                                std::string_view arg = "") {
  if (!w.is_up(id)) return std::nullopt;
  return w.node(id).probe(key, arg);
}

// A probe's integer argument, as std::to_string writes it, without allocating.
class IntArg {
 public:
  explicit IntArg(std::int64_t v) {
    auto [end, ec] = std::to_chars(buf_, buf_ + sizeof buf_, v);
    (void)ec;  // 24 characters hold any int64
    size_ = static_cast<std::size_t>(end - buf_);
  }
  std::string_view text() const { return {buf_, size_}; }

 private:
  char buf_[24];
  std::size_t size_ = 0;
};

// ask(w, id, "zk.session_live", session), from the server's data tree when `id` is a ZooKeeper
// server (the probe would print the session id and parse it back).
std::optional<std::int64_t> session_live(const WorldView& w, NodeId id, std::int64_t session) {
  if (!w.is_up(id)) return std::nullopt;
  if (const auto* s = dynamic_cast<const ZkServer*>(&w.node(id)))
    return s->tree().session_live(session) ? 1 : 0;
  return ask(w, id, "zk.session_live", IntArg(session).text());
}

std::vector<NodeId> live_servers(const WorldView& w) {
  std::vector<NodeId> out;
  for (NodeId id = 0, count = static_cast<NodeId>(w.node_count()); id < count; ++id)
    if (name_matches("zookeeper-*", w.node_name(id)) && ask(w, id, "zk.committed_count"))
      out.push_back(id);
  return out;
}

}  // namespace

std::optional<std::string> check_lock_mutual_exclusion(const WorldView& w) {
  // This runs after every step at a server or a ZooKeeper node, and almost always finds nobody
  // or one client holding a lock: it allocates nothing then, and finds the committed view only
  // when a holder's session has to be looked up in it.
  // The committed view: the live server that has committed the most (lowest id on a tie).
  std::optional<NodeId> view;
  auto committed_view = [&w]() {
    NodeId best_id = k_no_node;
    std::int64_t best = -1;
    for (NodeId id = 0, count = static_cast<NodeId>(w.node_count()); id < count; ++id) {
      if (!name_matches("zookeeper-*", w.node_name(id))) continue;
      auto c = ask(w, id, "zk.committed_count");
      if (c && *c > best) best = *c, best_id = id;
    }
    return best_id;
  };
  // (lock hash, client) for every lock held, in client order, then lock order.
  boost::container::small_vector<std::pair<std::int64_t, NodeId>, 8> holders;
  for (NodeId id = 0, count = static_cast<NodeId>(w.node_count()); id < count; ++id) {
    auto n = ask(w, id, "zk.held_lock_count");
    if (!n || *n == 0) continue;
    auto session = ask(w, id, "zk.session_id");
    if (!view) view = committed_view();
    if (*view != k_no_node && session && session_live(w, *view, *session) == 0)
      continue;  // its session is gone: ZooKeeper no longer counts it as a holder
    for (std::int64_t i = 0; i < *n; ++i)
      if (auto h = ask(w, id, "zk.held_lock", IntArg(i).text())) holders.emplace_back(*h, id);
  }
  if (holders.size() < 2) return std::nullopt;
  // The lowest lock hash held by two clients, and its first two holders in client order.
  std::stable_sort(holders.begin(), holders.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  for (std::size_t i = 0; i + 1 < holders.size(); ++i) {
    if (holders[i].first != holders[i + 1].first) continue;
    return fmt::format("{} and {} both hold one lock with live sessions",
                       w.node_name(holders[i].second), w.node_name(holders[i + 1].second));
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
