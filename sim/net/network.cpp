#include "sim/net/network.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/assert.hpp"

namespace stampede {

void Network::add_node() {
  // The new node's links are all up, and up links are not stored: only the split changes.
  ++n_;
  changed();
}

void Network::cut(NodeId from, NodeId to) {
  STAMPEDE_ASSERT(from < n_ && to < n_, "cut names a node outside the network");
  if (from != to) cut_.insert(key(from, to));
}

void Network::partition(const std::vector<std::vector<NodeId>>& groups) {
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t h = 0; h < groups.size(); ++h)
      if (g != h)
        for (NodeId a : groups[g])
          for (NodeId b : groups[h]) cut(a, b);
  changed();
}

void Network::partition_oneway(const std::vector<NodeId>& from, const std::vector<NodeId>& to) {
  for (NodeId a : from)
    for (NodeId b : to) cut(a, b);
  changed();
}

void Network::heal_all() {
  cut_.clear();
  changed();
}

void Network::changed() {
  ++version_;
  components_stale_ = true;
}

const std::vector<std::vector<NodeId>>& Network::components() const {
  if (!components_stale_) return components_;
  components_stale_ = false;
  components_.clear();
  // Two nodes are joined when neither direction between them is cut: a search over the
  // complement of the cut pairs. `rest` holds the unvisited nodes in ascending order; a node
  // taken from the queue visits every unvisited node it is not cut from, and the nodes it is cut
  // from stay for later, so the work is the nodes plus the cut pairs.
  std::vector<std::vector<NodeId>> apart(n_);
  for (std::uint64_t k : cut_) {
    auto from = static_cast<NodeId>(k >> 32), to = static_cast<NodeId>(k & 0xffffffffu);
    apart[from].push_back(to);
    apart[to].push_back(from);
  }
  for (auto& a : apart) std::sort(a.begin(), a.end());
  std::vector<NodeId> rest(n_), kept;
  for (std::size_t i = 0; i < n_; ++i) rest[i] = static_cast<NodeId>(i);
  std::size_t head = 0;
  while (!rest.empty()) {
    // A new component starts at the smallest unvisited node, so components come in order of
    // their smallest member.
    std::vector<NodeId> comp{rest.front()};
    rest.erase(rest.begin());
    for (head = 0; head < comp.size(); ++head) {
      const std::vector<NodeId>& far = apart[comp[head]];
      kept.clear();
      for (NodeId u : rest) {
        if (std::binary_search(far.begin(), far.end(), u))
          kept.push_back(u);
        else
          comp.push_back(u);
      }
      rest.swap(kept);
    }
    std::sort(comp.begin(), comp.end());
    components_.push_back(std::move(comp));
  }
  return components_;
}

DurationNs Network::sample_latency(Chooser& chooser) const {
  const LatencySpec& l = spec_.latency;
  switch (l.kind) {
    case LatencySpec::Kind::fixed: return l.fixed_ns;
    case LatencySpec::Kind::uniform: return chooser.uniform(ChoiceKind::latency, l.min_ns, l.max_ns);
    case LatencySpec::Kind::exponential: {
      double u = chooser.unit(ChoiceKind::latency);
      return static_cast<DurationNs>(
          std::llround(-static_cast<double>(l.mean_ns) * std::log1p(-u)));
    }
  }
  return l.fixed_ns;
}

DurationNs Network::mean_latency() const {
  const LatencySpec& l = spec_.latency;
  switch (l.kind) {
    case LatencySpec::Kind::fixed:
      return l.fixed_ns;
    case LatencySpec::Kind::uniform:
      return (l.min_ns + l.max_ns) / 2;
    case LatencySpec::Kind::exponential:
      return l.mean_ns;
  }
  return l.fixed_ns;
}

bool Network::sample_drop(Chooser& chooser) const {
  return spec_.drop > 0.0 && chooser.unit(ChoiceKind::drop) < spec_.drop;
}

bool Network::sample_duplicate(Chooser& chooser) const {
  return spec_.duplicate > 0.0 && chooser.unit(ChoiceKind::duplicate) < spec_.duplicate;
}

}  // namespace stampede
