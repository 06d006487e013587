#pragma once
// The network between nodes: which links are up, and how long a message takes on them.
//
// Every directed link is up (a full mesh) unless it has been cut: only the cut links are stored,
// so adding a node costs nothing and a step's reachability test costs one look-up while some link
// is cut (none otherwise). Delivery needs the direct link from sender to receiver: nodes do not
// route for each other, so a client that reaches both sides of a cut does not bridge it.
// Connected components of the link graph (links up in both directions) describe how the cluster
// is split, for timelines, quorum reasoning and tests; they are computed when asked, once per
// change of the topology, in time proportional to the nodes plus the cut links.
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "sim/core/chooser.hpp"
#include "sim/core/message.hpp"
#include "sim/core/spec.hpp"

namespace stampede {

class Network {
 public:
  explicit Network(NetworkSpec spec) : spec_(spec) {}

  void add_node();  // grows the mesh by one node, linked to every other
  std::size_t size() const { return n_; }

  // Whether a message sent now from `from` to `to` can arrive.
  bool reachable(NodeId from, NodeId to) const {
    return cut_.empty() || from == to || cut_.count(key(from, to)) == 0;
  }

  // Cuts every link between nodes of different groups, in both directions. Nodes in no group
  // keep their links.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  // Cuts the direction from every node of `from` to every node of `to`.
  void partition_oneway(const std::vector<NodeId>& from, const std::vector<NodeId>& to);
  void heal_all();

  // The groups of nodes joined by links that are up (both directions), each sorted, ordered by
  // their smallest member.
  const std::vector<std::vector<NodeId>>& components() const;
  std::uint64_t version() const { return version_; }
  bool any_cut() const { return !cut_.empty(); }

  DurationNs sample_latency(Chooser& chooser) const;
  // The mean one-way latency, which a TCP connection's smoothed round-trip time converges to
  // (sim/net/connections.hpp starts its retransmission timer from it). Draws nothing.
  DurationNs mean_latency() const;
  bool sample_drop(Chooser& chooser) const;
  bool sample_duplicate(Chooser& chooser) const;
  const NetworkSpec& spec() const { return spec_; }

 private:
  static std::uint64_t key(NodeId from, NodeId to) {
    return (static_cast<std::uint64_t>(from) << 32) | to;
  }
  void cut(NodeId from, NodeId to);
  void changed();

  NetworkSpec spec_;
  std::size_t n_ = 0;
  // The directed links that are down, as key(from, to). Only looked up, never iterated where the
  // order could reach a run: components() sorts what it derives from it.
  std::unordered_set<std::uint64_t> cut_;
  mutable std::vector<std::vector<NodeId>> components_;
  mutable bool components_stale_ = true;
  std::uint64_t version_ = 0;
};

}  // namespace stampede
