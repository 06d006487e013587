#pragma once
// The ping monitor's status of each host (ping_monitor.cpp): the misses in a row and the pings
// still unanswered. It was a std::map<HostId, PingStatus> whose entries each held a
// std::map<sequence, sent time>: every ping allocated a tree node and every pong freed one, and
// each pong, miss and answer walked a tree of all the hosts, 7% of a 4,000-agent run (issue 15,
// bench/RESULTS.md). Here the hosts are a vector in id order and the unanswered pings a short
// sorted vector, and both digest exactly as those maps did (the same sizes, keys
// and values in the same order), so no state digest and no explorer count moves.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "models/cattle/ids.hpp"
#include "sim/core/digest.hpp"
#include "sim/core/message.hpp"
#include "sim/core/state.hpp"
#include "sim/core/time.hpp"

namespace stampede::cattle {

class PingTable {
 public:
  struct Status {
    int failures = 0;
    // (sequence, when it was sent), in sequence order: at most the pings of one timeout's worth
    // of rounds. A vector keeps its capacity when a pong empties it, so a host's pings allocate
    // only at its first. (boost's small_vector of pairs trips GCC 12's -Wstringop-overread.)
    std::vector<std::pair<std::int64_t, TimeNs>> outstanding;
    STAMPEDE_FIELDS(failures, outstanding)

    // A ping `seq` was sent at `at_ns` (a second send of one sequence keeps the later time).
    void sent(std::int64_t seq, TimeNs at_ns) {
      auto it = find_at_or_after(seq);
      if (it != outstanding.end() && it->first == seq)
        it->second = at_ns;
      else
        outstanding.emplace(it, seq, at_ns);
    }
    // Ping `seq`'s send time, taken out; nothing when it is not outstanding (timed out).
    std::optional<TimeNs> answered(std::int64_t seq) {
      auto it = find_at_or_after(seq);
      if (it == outstanding.end() || it->first != seq) return std::nullopt;
      TimeNs at_ns = it->second;
      outstanding.erase(it);
      return at_ns;
    }

   private:
    auto find_at_or_after(std::int64_t seq) -> decltype(outstanding.begin()) {
      return std::lower_bound(outstanding.begin(), outstanding.end(), seq,
                              [](const auto& e, std::int64_t s) { return e.first < s; });
    }
  };

  // The host's status, made (no misses, nothing outstanding) when it has none, as a map's
  // operator[] does: an entry made that way is part of the state, as it was in the map.
  Status& operator[](HostId host) {
    auto it = row_at_or_after(host);
    if (it == rows_.end() || it->first != host) it = rows_.emplace(it, host, Status{});
    return it->second;
  }

  // As state::add digests a std::map<HostId, Status>.
  void digest_into(Digest& d) const {
    d.add(static_cast<std::uint64_t>(rows_.size()));
    for (const auto& [host, status] : rows_) {
      state::add(d, host);
      state::add(d, status);
    }
  }
  // As state::change perturbs a map: the default key's entry made, or taken out.
  void perturb_for_test() {
    auto it = row_at_or_after(HostId{});
    if (it != rows_.end() && it->first == HostId{})
      rows_.erase(it);
    else
      rows_.emplace(it, HostId{}, Status{});
  }

 private:
  using Rows = std::vector<std::pair<HostId, Status>>;
  // The host's row, or where it would go.
  Rows::iterator row_at_or_after(HostId host) {
    return std::lower_bound(rows_.begin(), rows_.end(), host,
                            [](const auto& e, HostId h) { return e.first < h; });
  }

  Rows rows_;  // in host id order
};

// HA with cattle_agent_events_over_redis: the agents whose websocket a server holds, by host
// (agent_bus.cpp). An empty table adds nothing to the digest, so the runs that never fill it
// (single mode, the mechanism off) digest exactly as they did before it existed.
class SocketTable {
 public:
  std::map<HostId, NodeId>& map() { return rows_; }
  const std::map<HostId, NodeId>& map() const { return rows_; }
  void digest_into(Digest& d) const {
    if (rows_.empty()) return;
    state::add(d, rows_);
  }
  // As state::change perturbs a map: the default key's entry made, or taken out.
  void perturb_for_test() {
    if (rows_.erase(HostId{}) == 0) rows_.emplace(HostId{}, NodeId{0});
  }

 private:
  std::map<HostId, NodeId> rows_;
};

// HA with cattle_agent_commands_over_redis: the reply-to of each agent command a server wrote on
// an agent's socket, by (instance, the kind of ContainerEvent that answers it), with the agent's
// host (agent_bus.cpp), in the order the commands went: the agent answers each command, so two
// callers of one instance's stop (a replay beside a running process) each get an answer. Empty,
// it adds nothing to the digest, as SocketTable.
class ReplyToTable {
 public:
  using Key = std::pair<std::int64_t, std::int64_t>;
  using Entry = std::pair<HostId, NodeId>;
  using Entries = std::vector<Entry>;
  std::map<Key, Entries>& map() { return rows_; }
  const std::map<Key, Entries>& map() const { return rows_; }
  void digest_into(Digest& d) const {
    if (rows_.empty()) return;
    state::add(d, rows_);
  }
  void perturb_for_test() {
    if (rows_.erase(Key{}) == 0) rows_.emplace(Key{}, Entries{Entry{}});
  }

 private:
  std::map<Key, Entries> rows_;
};

}  // namespace stampede::cattle
