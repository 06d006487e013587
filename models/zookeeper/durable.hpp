#pragma once
// What a ZooKeeper server keeps on disk and finds again after a crash: its epoch files
// (acceptedEpoch, currentEpoch), its txn log, and the committed prefix its snapshot reflects.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/zookeeper/txn.hpp"
#include "sim/core/cow.hpp"
#include "sim/core/state.hpp"
#include "sim/core/time.hpp"

namespace stampede::zk {

// The txn log with a digest of each of its prefixes, so that two logs compare (and the log
// digests) in constant time.
class TxnLog {
 public:
  const History& entries() const { return log_->history; }
  std::size_t size() const { return log_->history.size(); }
  // Digest of history[0, n): equal prefixes have equal digests.
  std::uint64_t prefix_digest(std::size_t n) const { return log_->prefix[n]; }

  void append(LoggedTxn e) {
    Entries& l = log_.mut();
    l.prefix.push_back(chain(l.prefix.back(), e));
    l.history.push_back(std::move(e));
  }
  // Replaces the log with h; returns how long a prefix the old and new logs share.
  std::size_t assign(const History& h) {
    std::vector<std::uint64_t> prefix{0};
    prefix.reserve(h.size() + 1);
    for (const auto& e : h) prefix.push_back(chain(prefix.back(), e));
    std::size_t common = 0;
    while (common < size() && common < h.size() && log_->prefix[common + 1] == prefix[common + 1])
      ++common;
    log_ = Entries{h, std::move(prefix)};
    return common;
  }

  // The whole log, by its prefix digest (which covers every entry).
  void digest_into(Digest& d) const { d.add(log_->prefix.back()); }
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
  struct Entries {
    History history;
    std::vector<std::uint64_t> prefix{0};
  };
  // Shared between copies of the server (the explorer's snapshots) until one of them appends
  // or is assigned a log (sim/core/cow.hpp).
  Cow<Entries> log_;
};

// When the operating system puts a write on disk that the process did not sync: Linux's flusher
// wakes every dirty_writeback_centisecs (500) and writes the pages that have been dirty longer
// than dirty_expire_centisecs (3000), the defaults of Documentation/admin-guide/sysctl/vm.rst
// (mm/page-writeback.c, dirty_writeback_interval and dirty_expire_interval). The flusher's
// phase is a model choice: it wakes at multiples of its interval since the start of the run.
struct PageCache {
  // forceSync (zoo.cfg): yes, ZooKeeper's default, syncs the txn log before it acknowledges an
  // append (release-3.8.0-1 FileTxnLog.java lines 155 and 376-386); no leaves it to the flusher.
  bool force_sync = true;
  DurationNs writeback_interval_ns = 5'000'000'000;
  DurationNs dirty_expire_ns = 30'000'000'000;
  // The first flusher wake at which a page dirtied at `at_ns` is old enough to be written.
  TimeNs on_disk_at(TimeNs at_ns) const {
    const TimeNs old_enough_ns = at_ns + dirty_expire_ns;
    const TimeNs wakes = (old_enough_ns + writeback_interval_ns - 1) / writeback_interval_ns;
    return wakes * writeback_interval_ns;
  }
};

class Disk {
 public:
  std::int64_t accepted_epoch = 0;  // written with an fsync (AtomicFileOutputStream) always
  std::int64_t current_epoch = 0;
  std::int64_t committed = 0;  // history[0, committed) is applied to the data tree

  const History& history() const { return log_.entries(); }
  std::size_t size() const { return log_.size(); }
  std::int64_t last_zxid() const { return log_.size() == 0 ? 0 : history().back().zxid; }
  std::uint64_t prefix_digest(std::size_t n) const { return log_.prefix_digest(n); }
  // How many of the log's first entries are surely on disk (the rest may be lost with power).
  std::size_t synced() const { return log_.size() - dirty_at_ns_.size(); }

  // Appends e at `now_ns`, synced or left in the page cache as `cache` says.
  void append(LoggedTxn e, TimeNs now_ns, const PageCache& cache) {
    log_.append(std::move(e));
    written(1, now_ns, cache);
  }
  // Replaces the log with the leader's (Zab's sync; DIFF or TRUNC: the entries past the shared
  // prefix are written to the txn log like proposals, Learner.java lines 623 and 753-790 of
  // release-3.8.0-1); returns how long a prefix the old and new logs share.
  std::size_t assign(const History& h, TimeNs now_ns, const PageCache& cache) {
    const std::size_t old_synced = synced();
    const std::size_t common = log_.assign(h);
    // The shared prefix keeps its dirty marks; the entries past it were replaced.
    dirty_at_ns_.resize(common > old_synced ? common - old_synced : 0);
    written(log_.size() - common, now_ns, cache);
    return common;
  }
  // The host lost power at `now_ns`: the entries the flusher had not yet written are gone.
  // Returns how many were lost.
  std::size_t lose_unsynced(TimeNs now_ns, const PageCache& cache) {
    std::size_t keep = 0;
    while (keep < dirty_at_ns_.size() && cache.on_disk_at(dirty_at_ns_[keep]) <= now_ns) ++keep;
    const std::size_t lost = dirty_at_ns_.size() - keep;
    if (lost == 0) return 0;
    History kept(history().begin(), history().end() - static_cast<std::ptrdiff_t>(lost));
    log_.assign(kept);
    dirty_at_ns_.clear();
    committed = std::min<std::int64_t>(committed, static_cast<std::int64_t>(log_.size()));
    return lost;
  }
  STAMPEDE_FIELDS(accepted_epoch, current_epoch, committed, log_, dirty_at_ns_)

 private:
  void written(std::size_t n, TimeNs now_ns, const PageCache& cache) {
    if (cache.force_sync) {
      // An fsync writes every dirty page of the file, the older entries' too.
      dirty_at_ns_.clear();
      return;
    }
    // The marks of entries the flusher has written by now are dropped, so that the list holds
    // only the last half minute of writes.
    std::size_t done = 0;
    while (done < dirty_at_ns_.size() && cache.on_disk_at(dirty_at_ns_[done]) <= now_ns) ++done;
    dirty_at_ns_.erase(dirty_at_ns_.begin(),
                       dirty_at_ns_.begin() + static_cast<std::ptrdiff_t>(done));
    dirty_at_ns_.insert(dirty_at_ns_.end(), n, now_ns);
  }
  TxnLog log_;
  // The times at which the log's last entries were written and not yet synced, oldest first:
  // entries [size() - dirty_at_ns_.size(), size()).
  std::vector<TimeNs> dirty_at_ns_;
};

}  // namespace stampede::zk
