// The management stack's declared dependency graph and its Boost.Graph topological order.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "models/cluster_manager/stack.hpp"

using namespace stampede::cm;

namespace {

// Every declared dependency comes before its dependent, and every service appears once.
void require_respects(const std::vector<ServiceDef>& services,
                      const std::vector<std::string>& order) {
  REQUIRE(order.size() == services.size());
  std::map<std::string, std::size_t> pos;
  for (std::size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  REQUIRE(pos.size() == order.size());
  for (const auto& s : services) {
    REQUIRE(pos.count(s.name) == 1);
    for (const auto& need : s.needs) {
      INFO(s.name << " needs " << need);
      CHECK(pos.at(need) < pos.at(s.name));
    }
  }
}

}  // namespace

TEST_CASE("the stack declares the ten services of rancher-ha") {
  const auto& stack = management_stack();
  std::vector<std::string> names;
  for (const auto& s : stack) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"zookeeper", "tunnel", "redis", "cattle",
                                          "go-machine-service", "websocket-proxy",
                                          "rancher-compose-executor", "websocket-proxy-ssl",
                                          "load-balancer", "load-balancer-swarm"});
  std::size_t edges = 0;
  for (const auto& s : stack) edges += s.needs.size();
  CHECK(edges >= 9);  // a real graph, not a bare list: every service but zookeeper needs one
}

TEST_CASE("the topological order respects every declared dependency") {
  const auto& stack = management_stack();
  auto order = stack_order(stack);
  require_respects(stack, order);
  // With this declaration the order is the one rancher-ha logs.
  std::vector<std::string> names;
  for (const auto& s : stack) names.push_back(s.name);
  CHECK(order == names);
}

TEST_CASE("the order follows the dependencies, not the declaration order") {
  auto reversed = management_stack();
  std::reverse(reversed.begin(), reversed.end());
  auto order = stack_order(reversed);
  require_respects(reversed, order);
  CHECK(order.front() == "zookeeper");  // the only service that needs nothing
  // Rotations too: every one of them still starts what is needed first.
  for (std::size_t r = 1; r < reversed.size(); ++r) {
    auto rotated = management_stack();
    std::rotate(rotated.begin(), rotated.begin() + static_cast<std::ptrdiff_t>(r), rotated.end());
    require_respects(rotated, stack_order(rotated));
  }
}

TEST_CASE("a cyclic or dangling declaration has no order") {
  std::vector<ServiceDef> cycle = {{"a", {"c"}}, {"b", {"a"}}, {"c", {"b"}}};
  CHECK(stack_order(cycle).empty());
  std::vector<ServiceDef> dangling = {{"a", {}}, {"b", {"missing"}}};
  CHECK(stack_order(dangling).empty());
  std::vector<ServiceDef> twice = {{"a", {}}, {"a", {}}};
  CHECK(stack_order(twice).empty());
}
