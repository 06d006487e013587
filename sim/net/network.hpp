#pragma once
// The network between nodes: which links are up, and how long a message takes on them.
//
// The topology is a Boost.Graph graph whose vertices are nodes and whose edges are the links
// that are up (a full mesh at the start; partitions remove edges, heal restores them). Delivery
// needs the direct link from sender to receiver: nodes do not route for each other, so a client
// that reaches both sides of a cut does not bridge it. Connected components of the link graph
// describe how the cluster is split (for timelines and quorum reasoning); both the reachability
// matrix and the components are recomputed only when the topology changes.
#include <cstdint>
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
    return from == to || reach_[static_cast<std::size_t>(from) * n_ + to] != 0;
  }

  // Cuts every link between nodes of different groups, in both directions. Nodes in no group
  // keep their links.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  // Cuts the direction from every node of `from` to every node of `to`.
  void partition_oneway(const std::vector<NodeId>& from, const std::vector<NodeId>& to);
  void heal_all();

  // The groups of nodes joined by links that are up (both directions), each sorted, ordered by
  // their smallest member.
  const std::vector<std::vector<NodeId>>& components() const { return components_; }
  std::uint64_t version() const { return version_; }
  bool any_cut() const { return cuts_ > 0; }

  DurationNs sample_latency(Chooser& chooser) const;
  bool sample_drop(Chooser& chooser) const;
  bool sample_duplicate(Chooser& chooser) const;
  const NetworkSpec& spec() const { return spec_; }

 private:
  void cut(NodeId from, NodeId to);
  void recompute();

  NetworkSpec spec_;
  std::size_t n_ = 0;
  std::vector<std::uint8_t> up_;     // n_*n_, 1 when the directed link is up
  std::vector<std::uint8_t> reach_;  // n_*n_, derived from up_
  std::vector<std::vector<NodeId>> components_;
  std::uint64_t version_ = 0;
  std::size_t cuts_ = 0;
};

}  // namespace stampede
