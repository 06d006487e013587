#pragma once
// Which nodes may have changed since a reader last looked. Checks that sum something over many
// nodes (every agent's running containers, issue 15) keep their sums in a per-run cache
// (WorldView::cache) and re-read only the nodes an engine recorded here since their last look,
// so a check costs what moved rather than what exists.
//
// An engine records every step at a node before its handler runs, and "everything" for steps
// that may touch any node (faults, checks, a step at no node), for a crash or restart made
// outside a node's step and for a restored snapshot (the explorer puts clones of other states
// back). Those are the only ways a node's state or its up/down flag changes. A reader that finds
// "everything" since its last look re-reads every node, so the log can also be cut short at any
// time (when it grows long) without a reader ever missing a change.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/core/message.hpp"

namespace stampede {

class ChangeLog {
 public:
  // Where a reader stopped: the log's epoch and the position in it.
  struct Cursor {
    std::uint64_t epoch = ~std::uint64_t{0};
    std::size_t pos = 0;
  };

  // An engine that records every change calls this once; without it every read asks for a
  // full re-read (a view that does not keep the log, such as a test's fake world, stays exact).
  void enable() {
    enabled_ = true;
    everything();  // a reader that looked before is told to read everything
  }
  bool enabled() const { return enabled_; }

  // A step at `node` (or a crash or restart of it) may change its state.
  void node(NodeId id) {
    // A repeat of the last entry adds nothing, unless a reader has read up to it since.
    if (log_.size() > read_end_ && log_.back() == id) return;
    if (log_.size() >= k_max_entries) {
      everything();
      return;
    }
    log_.push_back(id);
  }
  // A step: at its node, or (`any_node`: a fault, check or engine step) anywhere.
  void step(NodeId id, bool any_node) {
    if (any_node || id == k_no_node)
      everything();
    else
      node(id);
  }
  // Any node may have changed (or the log grew too long to be worth reading).
  void everything() {
    ++epoch_;
    log_.clear();
    read_end_ = 0;
  }

  // Calls fn(node) for every node recorded since `c` (a node may come more than once) and moves
  // `c` to the end. Returns false, calling nothing, when the reader must re-read every node: its
  // first look, everything changed since, or the engine keeps no log.
  template <class F>
  bool read(Cursor& c, F&& fn) const {
    const bool same = enabled_ && c.epoch == epoch_;
    if (same)
      for (std::size_t i = c.pos; i < log_.size(); ++i) fn(log_[i]);
    c.epoch = epoch_;
    c.pos = read_end_ = log_.size();
    return same;
  }

 private:
  // 256 KiB of node ids: a reader that falls this far behind re-reads everything, which costs
  // less than reading such a log entry by entry when nodes repeat.
  static constexpr std::size_t k_max_entries = std::size_t{1} << 16;
  std::vector<NodeId> log_;
  mutable std::size_t read_end_ = 0;  // how far some reader has read
  std::uint64_t epoch_ = 0;
  bool enabled_ = false;
};

}  // namespace stampede
