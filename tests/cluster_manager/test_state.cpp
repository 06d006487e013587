// The cluster manager as a typed model: today's wire number and timer tags, every state field
// reaching the digest, and the structured events beside their log lines.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "world.hpp"

using namespace cmtest;

TEST_CASE("the heartbeat and the manager's timer tags keep their numbers and layouts") {
  // The numbers every recorded HA trace carries: a change here changes the runs' steps.
  CHECK(Heartbeat::k_type == 0x4300);
  CHECK(type_name(0x4300) == "cm_heartbeat");
  CHECK(type_name(0x4301) == "cm_unknown");
  Message m = wire::encode(Heartbeat{4, 2, true, std::make_shared<const VersionBody>("1.1.1")});
  CHECK(m.a == 4);
  CHECK(m.b == 2);
  CHECK(m.c == 1);  // the host-active flag
  CHECK(m.size_bytes == 96);
  const std::uint64_t prefix = 0x434DULL << 48;
  CHECK(timer_tag::encode(HeartbeatTimer{9}) == (prefix | (1ULL << 32) | 9));
  CHECK(timer_tag::encode(LoopTimer{9}) == (prefix | (2ULL << 32) | 9));
  CHECK(timer_tag::encode(HostsPollTimer{9}) == (prefix | (3ULL << 32) | 9));
  CHECK(timer_tag::encode(ServiceTimer{9}) == (prefix | (4ULL << 32) | 9));
  CHECK(timer_tag::encode(LocalServiceTimer{9}) == (prefix | (5ULL << 32) | 9));
  CHECK(ClusterManager::owns_timer(timer_tag::encode(LocalServiceTimer{1})));
}

TEST_CASE("every field of a manager node's state reaches its digest") {
  ClusterSpec spec = three_servers();
  spec.server_memory_mib = 8192;  // memory modelled, so its fields take part
  Cluster c(Cluster::configs(spec));
  c.run(3 * k_m);
  const ManagerNode& n = *c.nodes[0];
  const std::uint64_t d0 = n.state_digest();
  std::unique_ptr<Node> same = n.clone();
  REQUIRE(same);
  CHECK(same->state_digest() == d0);
  // Six durable and thirty-three volatile fields of the manager (with the `cluster` table's:
  // exits, the restart wait and start, the INDEX its zk and redis containers run with; the uuid,
  // rows seen, statements, the connection, the slots, the master flag and the exit), and the
  // node's server flag. 40 since containers_index (field-issues/rancher-5539-master-lost).
  REQUIRE(n.state_field_count() == 40);
  for (std::size_t i = 0; i < n.state_field_count(); ++i) {
    std::unique_ptr<Node> copy = n.clone();
    INFO(copy->perturb_state_field(i));
    CHECK(copy->state_digest() != d0);
  }
}

TEST_CASE("cluster.changed carries the index and the members of its log line") {
  Cluster c(Cluster::configs(three_servers()));
  c.run(1 * k_m);
  int changes = 0;
  for (const auto& l : c.k->logs()) {
    if (l.event != "cluster.changed") continue;
    ++changes;
    REQUIRE(l.fields.size() == 2);
    CHECK(l.fields[0].first == "index");
    CHECK(l.fields[1].first == "members");
    CHECK(l.level == LogLevel::notable);
    CHECK(l.text == fmt::format("cluster changed, index={}, members=[{}]", l.fields[0].second,
                                l.fields[1].second));
  }
  CHECK(changes >= 6);  // each of three managers saw at least two changes
  std::vector<LogRecord> last = c.records(1, "cluster changed");
  REQUIRE(!last.empty());
  CHECK(last.back().fields.back() ==
        std::pair<std::string, std::string>{"members", "server-1, server-2, server-3"});
}
