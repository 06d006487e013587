#pragma once
// Cluster managers (ManagerNode server-1..N) on the real kernel, with the registry's defaults but
// one: these managers run without a database, so they exchange heartbeat messages
// (cm_membership_table off, the stand-in that is not in rancher/cluster-manager). The `cluster`
// table's path, on by default, is tested with a db in tests/ha/test_cluster_table.cpp.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/cluster_manager/manager_node.hpp"
#include "models/cluster_manager/names.hpp"
#include "models/cluster_manager/register.hpp"
#include "sim/kernel/kernel.hpp"

namespace cmtest {

using namespace stampede;
using namespace stampede::cm;

inline Kernel::Options options(std::uint64_t seed, std::map<std::string, bool> mechanisms = {}) {
  Registry r;
  register_cluster_manager(r);
  Kernel::Options o;
  o.seed = seed;
  o.network.latency.kind = LatencySpec::Kind::uniform;
  o.network.latency.min_ns = 1 * k_ms;
  o.network.latency.max_ns = 5 * k_ms;
  for (const auto& t : r.timings()) o.timings[t.name] = t.default_value;
  for (const auto& m : r.mechanisms()) o.mechanisms[m.name] = m.default_on;
  o.mechanisms[std::string(k_membership_table)] = false;
  for (const auto& [k, v] : mechanisms) o.mechanisms[k] = v;
  return o;
}

struct Cluster {
  std::unique_ptr<Kernel> k;
  std::vector<ManagerNode*> nodes;
  std::vector<NodeId> ids;

  // One manager per config, named server-<index>.
  explicit Cluster(std::vector<Config> configs, Kernel::Options o = options(1)) {
    k = std::make_unique<Kernel>(std::move(o));
    for (auto& c : configs) {
      std::string name = member_name(c.index);
      auto n = std::make_unique<ManagerNode>(std::move(c));
      nodes.push_back(n.get());
      ids.push_back(k->add_node(name, std::move(n)));
    }
  }
  // server-1..N of `cluster`, as config_for builds them; `adjust` may change each config.
  template <typename F>
  static std::vector<Config> configs(const ClusterSpec& cluster, F adjust) {
    std::vector<Config> out;
    for (int i = 1; i <= cluster.servers; ++i) {
      Config c = config_for(cluster, i);
      adjust(c);
      out.push_back(std::move(c));
    }
    return out;
  }
  static std::vector<Config> configs(const ClusterSpec& cluster) {
    return configs(cluster, [](Config&) {});
  }

  void run(TimeNs t) { k->run_until(t); }
  const ClusterManager& manager(int index) const { return nodes[index - 1]->manager(); }

  // Log lines of server-<index> (0: every node) that contain `text`, in order.
  std::vector<std::string> lines(int index, std::string_view text) const {
    std::vector<std::string> out;
    for (const auto& l : k->logs()) {
      if (index != 0 && l.node != ids[index - 1]) continue;
      if (l.text.find(text) != std::string::npos) out.push_back(l.text);
    }
    return out;
  }
  std::vector<LogRecord> records(int index, std::string_view text) const {
    std::vector<LogRecord> out;
    for (const auto& l : k->logs())
      if (l.node == ids[index - 1] && l.text.find(text) != std::string::npos) out.push_back(l);
    return out;
  }
  int signals(std::string_view name) const {
    int n = 0;
    for (const auto& s : k->signals())
      if (s.name == name) ++n;
    return n;
  }
};

inline ClusterSpec three_servers() {
  ClusterSpec c;
  c.servers = 3;
  c.version = "1.1.1";
  return c;
}

}  // namespace cmtest
