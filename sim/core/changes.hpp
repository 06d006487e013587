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
    std::uint64_t seq = 0;  // the node records made before the reader's look (read_nodes)
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
    // Stamped before the repeat test below: a reader of a node list compares stamps only. This
    // runs at every step: the rare growth stays out of line so that the rest inlines.
    if (id >= stamp_.size()) [[unlikely]]
      grow_stamps(id);
    stamp_[id] = ++records_;
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
    catch_up(c);
    return same;
  }

  // read() for a reader that watches only the nodes of `nodes`: calls fn(node) once for each of
  // them recorded since `c`, in the list's order. It compares each node's stamp (the number of
  // its last record) instead of walking the log, so it costs the list's length: the lock checks
  // after a step at a server or ZooKeeper node watch six nodes, while the log names each of the
  // ten or so steps since, most at the app's nodes (issue 13: those walks were 3% of the HA
  // hour, callgrind).
  template <class F>
  bool read_nodes(Cursor& c, const std::vector<NodeId>& nodes, F&& fn) const {
    const bool same = enabled_ && c.epoch == epoch_;
    if (same)
      for (NodeId id : nodes)
        if (id < stamp_.size() && stamp_[id] > c.seq) fn(id);
    catch_up(c);
    return same;
  }

  // The cheaper of read() and read_nodes() for a reader whose `fn` passes over nodes outside
  // `nodes` and takes a node more than once: the stamps when the list is shorter than the records
  // made since the reader's look, else the log (a census of a thousand agents, issue 15, reads
  // the few steps since its last look rather than every agent's stamp).
  template <class F>
  bool read_watched(Cursor& c, const std::vector<NodeId>& nodes, F&& fn) const {
    if (enabled_ && c.epoch == epoch_ && nodes.size() >= records_ - c.seq) return read(c, fn);
    return read_nodes(c, nodes, fn);
  }

 private:
  // Moves a reader's cursor past everything recorded so far.
  void catch_up(Cursor& c) const {
    c.epoch = epoch_;
    c.pos = read_end_ = log_.size();
    c.seq = records_;
  }
  [[gnu::noinline, gnu::cold]] void grow_stamps(NodeId id) {
    stamp_.resize(static_cast<std::size_t>(id) + 1, 0);
  }

  // 256 KiB of node ids: a reader that falls this far behind re-reads everything, which costs
  // less than reading such a log entry by entry when nodes repeat.
  static constexpr std::size_t k_max_entries = std::size_t{1} << 16;
  std::vector<NodeId> log_;
  std::vector<std::uint64_t> stamp_;  // by node id: the number of its last record (0: none)
  std::uint64_t records_ = 0;         // node records made so far
  mutable std::size_t read_end_ = 0;  // how far some reader has read
  std::uint64_t epoch_ = 0;
  bool enabled_ = false;
};

}  // namespace stampede
