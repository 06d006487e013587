#include "models/zookeeper/invariants.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <map>
#include <string_view>
#include <vector>

#include "models/zookeeper/zk_client.hpp"
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

namespace {

// What one node's ZooKeeper client answers about its locks: whether it holds any
// (zk.held_lock_count > 0), its session (zk.session_id) and the name hashes of its held locks
// (zk.held_lock 0..count-1), in the client's order.
struct Holding {
  bool holds = false;
  std::optional<std::int64_t> session;
  // A server holds a dozen or more (its agents' AGENT.CONNECTION locks among them): room for
  // them without a heap allocation at each re-read.
  boost::container::small_vector<std::int64_t, 32> locks;
};

// Node `id`'s answers, read into `h`; whether they differ from what `h` held. `embeds` finds a
// node's embedded client (dynamic_cast when null).
bool read_holding(const WorldView& w, NodeId id, Holding& h, EmbeddedClientOf embeds) {
  if (!w.is_up(id)) {
    const bool changed = h.holds || h.session || !h.locks.empty();
    h = Holding{};
    return changed;
  }
  const Node& n = w.node(id);
  if (const EmbedsZkClient* e = embeds ? embeds(n) : dynamic_cast<const EmbedsZkClient*>(&n)) {
    // The client's own answers, as its probes give them (zk_client.hpp), kept by the client
    // between the steps that reach it: compared in place, copied only when they changed.
    const ZkClient* c = e->embedded_zk_client();
    static const std::vector<std::int64_t> k_none;
    const std::vector<std::int64_t>& held = c != nullptr ? c->held_lock_hashes() : k_none;
    const bool holds = !held.empty();
    const std::optional<std::int64_t> session =
        holds ? std::optional<std::int64_t>(c->session_id()) : std::nullopt;
    if (holds == h.holds && session == h.session &&
        std::equal(held.begin(), held.end(), h.locks.begin(), h.locks.end()))
      return false;
    h.holds = holds;
    h.session = session;
    h.locks.assign(held.begin(), held.end());
    return true;
  }
  Holding now;
  auto count = ask(w, id, "zk.held_lock_count");
  if (count && *count != 0) {
    now.holds = true;
    now.session = ask(w, id, "zk.session_id");
    for (std::int64_t i = 0; i < *count; ++i)
      if (auto lock = ask(w, id, "zk.held_lock", IntArg(i).text())) now.locks.push_back(*lock);
  }
  const bool changed =
      now.holds != h.holds || now.session != h.session ||
      !std::equal(now.locks.begin(), now.locks.end(), h.locks.begin(), h.locks.end());
  h = std::move(now);
  return changed;
}

// The verdict from every holding node's answers, as the check always gave it: the holders whose
// sessions the committed view (the live server that has committed the most, lowest id on a tie)
// still knows, and the lowest lock hash two of them hold, named by its first two holders in node
// order. `holding` lists the nodes that hold a lock, in id order; `at(id)` is a node's answers.
template <class At>
std::optional<std::string> verdict(const WorldView& w, const std::vector<NodeId>& holding,
                                   At&& at) {
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
  for (NodeId id : holding) {
    const Holding& h = at(id);
    if (!view) view = committed_view();
    if (*view != k_no_node && h.session && session_live(w, *view, *h.session) == 0)
      continue;  // its session is gone: ZooKeeper no longer counts it as a holder
    for (std::int64_t lock : h.locks) holders.emplace_back(lock, id);
  }
  if (holders.size() < 2) return std::nullopt;
  std::stable_sort(holders.begin(), holders.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  for (std::size_t i = 0; i + 1 < holders.size(); ++i) {
    if (holders[i].first != holders[i + 1].first) continue;
    return fmt::format("{} and {} both hold one lock with live sessions",
                       w.node_name(holders[i].second), w.node_name(holders[i + 1].second));
  }
  return std::nullopt;
}

// Every node's lock answers, kept for one run in the view's cache and read again only for the
// nodes that the engine's change log names since the last look (sim/core/changes.hpp), as the
// agents' census does (models/agent/census.hpp): a client's locks and session change only in a
// step at its node, and the check runs after every step at a server or ZooKeeper node, where
// asking every node for every lock cost 13% of the HA hour (bench/RESULTS.md, session 20
// pings). It holds node ids and numbers only, never a node, so the explorer's restored
// snapshots (after which the log says "everything") leave it exact.
class HeldLocks final : public ViewCache {
 public:
  // `clients_only`: only the nodes that embed a ZooKeeper client (EmbedsZkClient) can hold a
  // lock; false: every node may, and is asked through its probes. `embeds`: the caller's way to
  // a node's client (null: the dynamic_cast).
  static const HeldLocks& of(const WorldView& w, bool clients_only, EmbeddedClientOf embeds) {
    HeldLocks& c = w.cache<HeldLocks>();
    c.embeds_ = embeds;
    if (c.by_node_.size() != w.node_count() || c.clients_only_ != clients_only) {
      c.clients_only_ = clients_only;
      c.by_node_.assign(w.node_count(), Holding{});
      c.may_hold_.assign(w.node_count(), 1);
      // A node's type never changes in a run (a restart or a restored snapshot keeps it), so
      // whether it embeds a client is found once.
      c.clients_.clear();
      if (clients_only)
        for (NodeId id = 0, n = static_cast<NodeId>(w.node_count()); id < n; ++id) {
          c.may_hold_[id] = (embeds ? embeds(w.node(id))
                                    : dynamic_cast<const EmbedsZkClient*>(&w.node(id))) != nullptr;
          if (c.may_hold_[id]) c.clients_.push_back(id);
        }
      c.holding_.clear();
      c.shared_dirty_ = true;
      w.changes().read(c.cursor_, [](NodeId) {});  // the pass below reads the current state
      c.reread_all(w);
      c.update_shared();
      return c;
    }
    // Most of the log names nodes that cannot hold a lock: they are passed over here, and with
    // only the clients able to hold one, only the clients' stamps are read (ChangeLog::read_nodes).
    const auto named = [&](NodeId id) {
      if (id < c.may_hold_.size() && c.may_hold_[id]) c.reread(w, id);
    };
    const bool incremental = clients_only ? w.changes().read_nodes(c.cursor_, c.clients_, named)
                                          : w.changes().read(c.cursor_, named);
    if (!incremental) c.reread_all(w);
    c.update_shared();
    return c;
  }
  const std::vector<NodeId>& holding() const { return holding_; }
  const Holding& at(NodeId id) const { return by_node_[id]; }
  // Whether two held locks (of any clients, live sessions or not) have one hash: without that
  // no two live holders can share a lock, and the committed view need not be asked. Found again
  // only after a re-read changed some node's answers: most steps at a server change no lock.
  bool any_shared() const { return shared_; }

 private:
  void update_shared() {
    if (!shared_dirty_) return;
    shared_dirty_ = false;
    boost::container::small_vector<std::int64_t, 64> all;
    for (NodeId id : holding_)
      all.insert(all.end(), by_node_[id].locks.begin(), by_node_[id].locks.end());
    std::sort(all.begin(), all.end());
    shared_ = std::adjacent_find(all.begin(), all.end()) != all.end();
  }
  void reread_all(const WorldView& w) {
    for (NodeId id = 0, n = static_cast<NodeId>(by_node_.size()); id < n; ++id) reread(w, id);
  }
  void reread(const WorldView& w, NodeId id) {
    // A node that cannot hold a lock keeps its empty answers: most steps are at such nodes (the
    // app's requests), and asking each of them was 6% of the HA hour (bench/RESULTS.md, session
    // 24).
    if (id >= by_node_.size() || !may_hold_[id]) return;
    Holding& h = by_node_[id];
    if (read_holding(w, id, h, embeds_)) shared_dirty_ = true;
    auto it = std::lower_bound(holding_.begin(), holding_.end(), id);
    const bool listed = it != holding_.end() && *it == id;
    if (h.holds && !listed) holding_.insert(it, id);
    if (!h.holds && listed) holding_.erase(it);
  }

  ChangeLog::Cursor cursor_;
  bool clients_only_ = false;           // what by_node_ was read with (of())
  std::vector<std::uint8_t> may_hold_;  // by node id: whether it can hold a lock
  std::vector<NodeId> clients_;         // with clients_only: the nodes that can, in id order
  std::vector<Holding> by_node_;
  std::vector<NodeId> holding_;  // the nodes whose client holds a lock, in id order
  bool shared_ = false;          // any_shared()
  bool shared_dirty_ = true;     // a node's held locks changed since shared_ was found
  EmbeddedClientOf embeds_ = nullptr;  // the caller's, for read_holding
};

// The check from the kept answers. It runs after every step at a server or a ZooKeeper node, and
// almost always finds every held lock held once: it re-reads only the nodes that stepped,
// allocates nothing, and finds the committed view only when two clients claim one lock.
std::optional<std::string> verdict_kept(const WorldView& w, const HeldLocks& kept) {
  if (!kept.any_shared()) return std::nullopt;
  return verdict(w, kept.holding(), [&kept](NodeId id) -> const Holding& { return kept.at(id); });
}

}  // namespace

std::optional<std::string> check_lock_mutual_exclusion(const WorldView& w) {
  return verdict_kept(w, HeldLocks::of(w, false, nullptr));
}

std::optional<std::string> check_lock_mutual_exclusion_among_clients(const WorldView& w,
                                                                     EmbeddedClientOf embeds) {
  return verdict_kept(w, HeldLocks::of(w, true, embeds));
}

std::optional<std::string> check_lock_mutual_exclusion_full(const WorldView& w) {
  std::vector<NodeId> holding;
  std::vector<Holding> by_node(w.node_count());
  for (NodeId id = 0, count = static_cast<NodeId>(w.node_count()); id < count; ++id) {
    read_holding(w, id, by_node[id], nullptr);
    if (by_node[id].holds) holding.push_back(id);
  }
  return verdict(w, holding, [&by_node](NodeId id) -> const Holding& { return by_node[id]; });
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

std::optional<std::string> check_acknowledged_write_kept(const WorldView& w) {
  std::optional<NodeId> probe;
  for (NodeId id = 0, count = static_cast<NodeId>(w.node_count()); id < count; ++id)
    if (w.node_name(id) == "zkprobe") probe = id;
  if (!probe) return std::nullopt;
  // A crashed probe still knows what it was told: it is read even while down.
  const auto acknowledged = w.node(*probe).probe("zk.probe_acknowledged", "");
  if (!acknowledged || *acknowledged == 0) return std::nullopt;
  const IntArg id(*acknowledged);
  for (NodeId s : live_servers(w)) {
    if (ask(w, s, "zk.state") != static_cast<std::int64_t>(ServerState::leading) ||
        ask(w, s, "zk.serving") != 1)
      continue;
    if (ask(w, s, "zk.has_probe_write", id.text()) == 0)
      return fmt::format(
          "{} leads and serves without probe write {}, which committed and was "
          "acknowledged to the probe",
          w.node_name(s), *acknowledged);
  }
  return std::nullopt;
}

}  // namespace stampede::zk
