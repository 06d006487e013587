// sim/net: partitions cut direct links, one-way cuts cut one direction, components summarise.
#include <catch2/catch.hpp>

#include "sim/net/network.hpp"

using namespace stampede;

static Network mesh(int n) {
  Network net(NetworkSpec{});
  for (int i = 0; i < n; ++i) net.add_node();
  return net;
}

TEST_CASE("a partition cuts links between groups and keeps the rest", "[net]") {
  Network net = mesh(5);  // 0 = server, 1..2 = agents, 3 = lb, 4 = client
  CHECK(net.components().size() == 1);
  net.partition({{0}, {1, 2}});
  CHECK_FALSE(net.reachable(0, 1));
  CHECK_FALSE(net.reachable(2, 0));
  CHECK(net.reachable(1, 2));  // agents still reach each other
  CHECK(net.reachable(3, 0));  // nodes in no group keep their links
  CHECK(net.reachable(3, 1));
  // The lb joins both sides, so the link graph stays connected; delivery still needs the direct
  // link, which is what reachable() reports.
  CHECK(net.components().size() == 1);
  net.heal_all();
  CHECK(net.reachable(0, 1));
  CHECK_FALSE(net.any_cut());
}

TEST_CASE("components split when every link across is cut", "[net]") {
  Network net = mesh(4);
  std::uint64_t v = net.version();
  net.partition({{0, 1}, {2, 3}});
  CHECK(net.version() > v);
  REQUIRE(net.components().size() == 2);
  CHECK(net.components()[0] == std::vector<NodeId>{0, 1});
  CHECK(net.components()[1] == std::vector<NodeId>{2, 3});
}

TEST_CASE("a one-way partition loses messages in one direction only", "[net]") {
  Network net = mesh(2);
  net.partition_oneway({0}, {1});
  CHECK_FALSE(net.reachable(0, 1));
  CHECK(net.reachable(1, 0));
  // A link up in one direction only does not join a component.
  CHECK(net.components().size() == 2);
}

TEST_CASE("latency, drop and duplicate are sampled through the chooser", "[net]") {
  NetworkSpec spec;
  spec.latency.kind = LatencySpec::Kind::uniform;
  spec.latency.min_ns = 1 * k_ms;
  spec.latency.max_ns = 5 * k_ms;
  spec.drop = 0.5;
  Network net(spec);
  SeededChooser ch(3);
  int drops = 0;
  for (int i = 0; i < 1000; ++i) {
    DurationNs l = net.sample_latency(ch);
    CHECK(l >= 1 * k_ms);
    CHECK(l <= 5 * k_ms);
    drops += net.sample_drop(ch);
  }
  CHECK(drops > 400);
  CHECK(drops < 600);
  CHECK_FALSE(net.sample_duplicate(ch));
}
