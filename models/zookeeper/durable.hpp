#pragma once
// What a ZooKeeper server keeps on disk and finds again after a crash: its epoch files
// (acceptedEpoch, currentEpoch), its txn log, and the committed prefix its snapshot reflects.
#include <cstdint>
#include <vector>

#include "models/zookeeper/txn.hpp"
#include "sim/core/state.hpp"

namespace stampede::zk {

// The txn log with a digest of each of its prefixes, so that two logs compare (and the log
// digests) in constant time.
class TxnLog {
 public:
  const History& entries() const { return history_; }
  std::size_t size() const { return history_.size(); }
  // Digest of history[0, n): equal prefixes have equal digests.
  std::uint64_t prefix_digest(std::size_t n) const { return prefix_[n]; }

  void append(LoggedTxn e) {
    prefix_.push_back(chain(prefix_.back(), e));
    history_.push_back(std::move(e));
  }
  // Replaces the log with h; returns how long a prefix the old and new logs share.
  std::size_t assign(const History& h) {
    std::vector<std::uint64_t> prefix{0};
    prefix.reserve(h.size() + 1);
    for (const auto& e : h) prefix.push_back(chain(prefix.back(), e));
    std::size_t common = 0;
    while (common < history_.size() && common < h.size() &&
           prefix_[common + 1] == prefix[common + 1])
      ++common;
    history_ = h;
    prefix_ = std::move(prefix);
    return common;
  }

  // The whole log, by its prefix digest (which covers every entry).
  void digest_into(Digest& d) const { d.add(prefix_.back()); }
  // For tests/state: a different log (one more entry).
  void perturb_for_test() {
    append(LoggedTxn{static_cast<std::int64_t>(size()) + 1, std::make_shared<const Txn>()});
  }

 private:
  static std::uint64_t chain(std::uint64_t prev, const LoggedTxn& e) {
    Digest d;
    d.add(prev).add(entry_digest(e));
    return d.value();
  }
  History history_;
  std::vector<std::uint64_t> prefix_{0};
};

class Disk {
 public:
  std::int64_t accepted_epoch = 0;
  std::int64_t current_epoch = 0;
  std::int64_t committed = 0;  // history[0, committed) is applied to the data tree

  const History& history() const { return log_.entries(); }
  std::size_t size() const { return log_.size(); }
  std::int64_t last_zxid() const { return log_.size() == 0 ? 0 : history().back().zxid; }
  std::uint64_t prefix_digest(std::size_t n) const { return log_.prefix_digest(n); }

  void append(LoggedTxn e) { log_.append(std::move(e)); }
  // Replaces the log with the leader's (a SNAP in Zab's sync); returns how long a prefix the old
  // and new logs share.
  std::size_t assign(const History& h) { return log_.assign(h); }

  STAMPEDE_FIELDS(accepted_epoch, current_epoch, committed, log_)

 private:
  TxnLog log_;
};

}  // namespace stampede::zk
