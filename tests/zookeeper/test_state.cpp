// Every field of the ZooKeeper nodes' explicit state (the server's, the lock client's with its
// embedded ZkClient, the probe's) reaches the node's digest, and clone() copies all of it.
#include <catch2/catch.hpp>

#include "models/zookeeper/zk_probe.hpp"
#include "world.hpp"

using namespace zktest;

namespace {

void every_field_reaches_the_digest(const Node& node) {
  REQUIRE(node.clone() != nullptr);
  CHECK(node.clone()->state_digest() == node.state_digest());
  const std::size_t n = node.state_field_count();
  REQUIRE(n > 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::unique_ptr<Node> copy = node.clone();
    std::string name = copy->perturb_state_field(i);
    INFO(name);
    CHECK_FALSE(name.empty());
    CHECK(copy->state_digest() != node.state_digest());
  }
}

}  // namespace

TEST_CASE("every field of a ZooKeeper node's state reaches its digest", "[state]") {
  Ensemble e(3, options(3));
  e.add_client();
  e.run(20 * k_s);
  REQUIRE(e.serving_leaders().size() == 1);
  for (ZkServer* s : e.servers) every_field_reaches_the_digest(*s);
  for (ZkLockClient* c : e.clients) every_field_reaches_the_digest(*c);
  every_field_reaches_the_digest(ZkProbe(3));
}
