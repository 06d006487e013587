#include "sim/net/network.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <cmath>
#include <map>

#include "sim/core/assert.hpp"

namespace stampede {

void Network::add_node() {
  std::size_t m = n_ + 1;
  std::vector<std::uint8_t> up(m * m, 1);
  for (std::size_t i = 0; i < n_; ++i)
    for (std::size_t j = 0; j < n_; ++j) up[i * m + j] = up_[i * n_ + j];
  up_ = std::move(up);
  n_ = m;
  recompute();
}

void Network::cut(NodeId from, NodeId to) {
  STAMPEDE_ASSERT(from < n_ && to < n_, "cut names a node outside the network");
  if (from == to) return;
  std::uint8_t& link = up_[static_cast<std::size_t>(from) * n_ + to];
  if (link) {
    link = 0;
    ++cuts_;
  }
}

void Network::partition(const std::vector<std::vector<NodeId>>& groups) {
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t h = 0; h < groups.size(); ++h)
      if (g != h)
        for (NodeId a : groups[g])
          for (NodeId b : groups[h]) cut(a, b);
  recompute();
}

void Network::partition_oneway(const std::vector<NodeId>& from, const std::vector<NodeId>& to) {
  for (NodeId a : from)
    for (NodeId b : to) cut(a, b);
  recompute();
}

void Network::heal_all() {
  std::fill(up_.begin(), up_.end(), 1);
  cuts_ = 0;
  recompute();
}

void Network::recompute() {
  ++version_;
  reach_ = up_;
  // Components over the links that are up in both directions.
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  Graph g(n_);
  for (std::size_t i = 0; i < n_; ++i)
    for (std::size_t j = i + 1; j < n_; ++j)
      if (up_[i * n_ + j] && up_[j * n_ + i]) boost::add_edge(i, j, g);
  std::vector<int> comp(n_);
  int count = n_ == 0 ? 0 : boost::connected_components(g, comp.data());
  components_.assign(static_cast<std::size_t>(count), {});
  // Component numbers follow the lowest vertex of each component, so the order is canonical.
  for (std::size_t i = 0; i < n_; ++i)
    components_[static_cast<std::size_t>(comp[i])].push_back(static_cast<NodeId>(i));
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

bool Network::sample_drop(Chooser& chooser) const {
  return spec_.drop > 0.0 && chooser.unit(ChoiceKind::drop) < spec_.drop;
}

bool Network::sample_duplicate(Chooser& chooser) const {
  return spec_.duplicate > 0.0 && chooser.unit(ChoiceKind::duplicate) < spec_.duplicate;
}

}  // namespace stampede
