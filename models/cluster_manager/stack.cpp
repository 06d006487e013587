#include "models/cluster_manager/stack.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/exception.hpp>
#include <boost/graph/topological_sort.hpp>
#include <cstddef>
#include <iterator>
#include <map>

namespace stampede::cm {

const std::vector<ServiceDef>& management_stack() {
  // The ten services and their order come from the field report (rancher-ha's start-up log). The
  // edges are a model choice read off what each service talks to, because the compose file of the
  // management stack is not in our sources: the spiped tunnels carry ZooKeeper's and Redis's
  // traffic between nodes; Cattle takes its locks in ZooKeeper and its events from Redis; the
  // machine service, the websocket proxy and the compose executor are Cattle's API clients; the
  // TLS proxy fronts the websocket proxy; the load balancers front Cattle and the proxies.
  static const std::vector<ServiceDef> stack = {
      {"zookeeper", {}},
      {"tunnel", {"zookeeper"}},
      {"redis", {"tunnel"}},
      {"cattle", {"zookeeper", "redis"}},
      {"go-machine-service", {"cattle"}},
      {"websocket-proxy", {"cattle"}},
      {"rancher-compose-executor", {"cattle"}},
      {"websocket-proxy-ssl", {"websocket-proxy"}},
      {"load-balancer", {"cattle", "websocket-proxy", "websocket-proxy-ssl"}},
      {"load-balancer-swarm", {"load-balancer"}},
  };
  return stack;
}

std::vector<std::string> stack_order(const std::vector<ServiceDef>& services) {
  // vecS for both lists: vertex ids and out-edge order follow the declaration, so the DFS inside
  // topological_sort (and therefore the order among independent services) is reproducible.
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  using Vertex = boost::graph_traits<Graph>::vertex_descriptor;
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < services.size(); ++i) {
    if (!index.emplace(services[i].name, i).second) return {};  // declared twice
  }
  Graph g(services.size());
  for (std::size_t i = 0; i < services.size(); ++i) {
    for (const auto& need : services[i].needs) {
      auto it = index.find(need);
      if (it == index.end()) return {};
      boost::add_edge(i, it->second, g);
    }
  }
  std::vector<Vertex> finished;
  try {
    // Vertices are emitted as their DFS finishes: a service only after everything it needs.
    boost::topological_sort(g, std::back_inserter(finished));
  } catch (const boost::not_a_dag&) {
    return {};
  }
  std::vector<std::string> order;
  order.reserve(finished.size());
  for (Vertex v : finished) order.push_back(services[v].name);
  return order;
}

}  // namespace stampede::cm
