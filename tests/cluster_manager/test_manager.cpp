// The cluster manager on the kernel: membership, the management stack's start, the bridge
// address health ping, version mismatches and leftover state (docs/field-notes.md observations 5, 7-9).
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "models/cluster_manager/names.hpp"
#include "models/cluster_manager/stack.hpp"
#include "world.hpp"

using namespace cmtest;

namespace {

// The N of a "cluster changed, index=N, ..." line.
long change_index_of(const std::string& line) {
  long n = -1;
  std::sscanf(line.c_str(), "cluster changed, index=%ld", &n);
  return n;
}

const std::string k_all_three = "members=[server-1, server-2, server-3]";

}  // namespace

TEST_CASE("three managers form a cluster and start the stack in dependency order") {
  Cluster c(Cluster::configs(three_servers()));
  c.run(3 * k_m);

  for (int i = 1; i <= 3; ++i) {
    INFO("server-" << i);
    auto changes = c.records(i, "cluster changed, index=");
    REQUIRE(changes.size() >= 2);
    long last = 0;
    for (const auto& l : changes) {
      CHECK(l.level == LogLevel::notable);
      long n = change_index_of(l.text);
      CHECK(n > last);  // the index rises with every change
      last = n;
    }
    CHECK(changes.back().text.ends_with(k_all_three));
    CHECK(c.manager(i).members().size() == 3);
    CHECK(c.lines(i, "version mismatch").empty());
    CHECK(c.lines(i, "server not available").empty());
    // Alone at first: below a majority it waits for members.
    CHECK(c.lines(i, "waiting for at least 2 cluster members").size() == 1);
  }
  CHECK(c.signals(k_signal_formed) == 3);

  // Only the master (server-1) launches, once, ten services in the topological order.
  auto order = stack_order(management_stack());
  auto progress = c.records(1, "] starting ");
  REQUIRE(progress.size() == 10);
  for (std::size_t k = 0; k < progress.size(); ++k) {
    CHECK(progress[k].text == fmt::format("[{}/10] starting {}", k + 1, order[k]));
    // Each start takes cm_service_start before the next begins.
    if (k > 0) CHECK(progress[k].time_ns - progress[k - 1].time_ns == 5 * k_s);
  }
  CHECK(c.lines(2, "] starting ").empty());
  CHECK(c.lines(3, "] starting ").empty());
  CHECK(c.signals(k_signal_stack_started) == 1);
  CHECK(c.manager(1).stack_started());
  CHECK(c.manager(1).phase() == Phase::running);
  CHECK(c.manager(2).phase() == Phase::ready);
  // It waited for the hosts first: the stack starts only once all three hosts are active.
  auto waits = c.records(1, "waiting for 3 host(s) to be active");
  REQUIRE_FALSE(waits.empty());
  CHECK(waits.back().time_ns < progress.front().time_ns);
}

TEST_CASE("a lost member is forgotten and comes back, with a rising change index") {
  Cluster c(Cluster::configs(three_servers()));
  c.run(3 * k_m);
  long before = c.manager(1).change_index();
  c.k->crash(c.ids[2]);
  c.run(4 * k_m);
  CHECK(c.lines(1, "forgetting cluster member server-3").size() == 1);
  CHECK(c.lines(1, "cluster changed").back() ==
        fmt::format("cluster changed, index={}, members=[server-1, server-2]", before + 1));
  c.k->restart(c.ids[2]);
  c.run(5 * k_m);
  CHECK(c.lines(1, "cluster changed").back() ==
        fmt::format("cluster changed, index={}, {}", before + 2, k_all_three));
  CHECK(c.lines(3, "cluster changed").back().ends_with(k_all_three));
  CHECK(c.signals(k_signal_stack_started) == 1);  // the stack is up; nobody relaunches it
}

TEST_CASE("a wrong bridge address loops on server not available and the stack never starts") {
  auto configs = Cluster::configs(three_servers(), [](Config& cfg) {
    if (cfg.index == 2) cfg.bridge_address = "172.17.0.2";
  });
  Cluster c(configs);
  c.nodes[1]->set_server_up(true);  // the server is up: only the address is wrong
  c.run(10 * k_m);

  auto failures = c.records(2, "server not available at http://172.17.0.2:18080/ping");
  CHECK(failures.size() >= 100);  // one per 5 s loop, for as long as the run lasts
  REQUIRE_FALSE(failures.empty());
  CHECK(failures.back().time_ns >= 10 * k_m - 5 * k_s);
  CHECK(c.manager(2).phase() == Phase::server_unavailable);
  CHECK_FALSE(c.manager(2).host_active());
  CHECK(c.signals(k_signal_server_unavailable) == 1);  // one failing streak, never over
  // The others are fine; the master waits for the third host in vain.
  CHECK(c.lines(1, "server not available").empty());
  CHECK_FALSE(c.lines(1, "waiting for 3 host(s) to be active").empty());
  CHECK_FALSE(c.lines(1, "failed while waiting for 3 host(s) to be active").empty());
  CHECK(c.lines(0, "] starting ").empty());
  CHECK(c.signals(k_signal_stack_started) == 0);
}

TEST_CASE("without the health check a wrong bridge address goes unreported, stack still stuck") {
  auto configs = Cluster::configs(three_servers(), [](Config& cfg) {
    if (cfg.index == 2) cfg.bridge_address = "172.17.0.2";
  });
  Cluster c(configs, options(1, {{std::string(k_health_check), false}}));
  c.run(5 * k_m);
  CHECK(c.lines(0, "server not available").empty());
  CHECK(c.signals(k_signal_stack_started) == 0);
  CHECK_FALSE(c.lines(1, "waiting for 3 host(s) to be active").empty());
}

TEST_CASE("with the right address the health ping follows the local server") {
  Cluster c(Cluster::configs(three_servers()));
  c.nodes[1]->set_server_up(false);
  c.run(1 * k_m);
  CHECK_FALSE(c.lines(2, "server not available at http://172.17.0.1:18080/ping").empty());
  CHECK(c.signals(k_signal_stack_started) == 0);
  c.nodes[1]->set_server_up(true);
  c.run(4 * k_m);
  CHECK(c.lines(2, "server available again").size() == 1);
  CHECK(c.signals(k_signal_stack_started) == 1);
}

TEST_CASE("with the version check (not in cluster-manager) a mismatch stops the cluster forming") {
  ClusterSpec spec = three_servers();
  spec.server_versions["server-3"] = "1.1.2";
  Cluster c(Cluster::configs(spec), options(1, {{std::string(k_version_check), true}}));
  c.run(5 * k_m);
  for (int i = 1; i <= 3; ++i) {
    INFO("server-" << i);
    auto lines = c.records(i, "version mismatch");
    REQUIRE(lines.size() == 1);  // reported once, not every loop
    CHECK(lines[0].text == "version mismatch: server-3 runs 1.1.2, cluster runs 1.1.1");
    CHECK(lines[0].level == LogLevel::notable);
    CHECK(c.manager(i).phase() == Phase::version_mismatch);
  }
  CHECK(c.signals(k_signal_formed) == 0);
  CHECK(c.lines(0, "] starting ").empty());
  CHECK(c.signals(k_signal_stack_started) == 0);
}

TEST_CASE("by default, as cluster-manager v0.1.5 does, mixed versions form a cluster and start the stack") {
  ClusterSpec spec = three_servers();
  spec.server_versions["server-3"] = "1.1.2";
  Cluster c(Cluster::configs(spec));
  c.run(5 * k_m);
  CHECK(c.lines(0, "version mismatch").empty());
  CHECK(c.signals(k_signal_stack_started) == 1);
  CHECK(c.lines(1, "] starting ").size() == 10);
}

TEST_CASE("leftover state blocks joining, survives a restart, and clean_state clears it") {
  auto configs = Cluster::configs(three_servers(), [](Config& cfg) {
    if (cfg.index == 3) cfg.leftover_state = true;
  });
  Cluster c(configs);
  c.run(1 * k_m);
  auto blocked = c.records(3, "leftover state from an earlier attempt: clean it before joining");
  REQUIRE(blocked.size() == 1);
  CHECK(blocked[0].level == LogLevel::notable);
  CHECK(c.manager(3).phase() == Phase::blocked);

  // The state files are on disk: a restart finds them again.
  c.k->crash(c.ids[2]);
  c.k->restart(c.ids[2]);
  c.run(2 * k_m);
  CHECK(c.lines(3, "leftover state from an earlier attempt").size() == 2);
  CHECK(c.manager(3).leftover_state());
  for (int i = 1; i <= 2; ++i)
    CHECK(c.lines(i, "cluster changed").back().ends_with("members=[server-1, server-2]"));
  // Two of three form the cluster, but the master needs all three hosts for the stack.
  CHECK(c.manager(1).phase() == Phase::waiting_hosts);
  CHECK_FALSE(c.lines(1, "waiting for 3 host(s) to be active").empty());
  CHECK(c.signals(k_signal_stack_started) == 0);

  CHECK_FALSE(c.k->model_fault({std::string(k_fault_clean_state), {"server-9"}}));
  CHECK(c.k->model_fault({std::string(k_fault_clean_state), {"server-3"}}));
  CHECK_FALSE(c.manager(3).leftover_state());
  c.run(5 * k_m);
  CHECK(c.lines(3, "leftover state cleaned: joining the cluster").size() == 1);
  for (int i = 1; i <= 3; ++i) CHECK(c.lines(i, "cluster changed").back().ends_with(k_all_three));
  CHECK(c.signals(k_signal_stack_started) == 1);
}

TEST_CASE("without the leftover check a node with stale state joins at once") {
  auto configs = Cluster::configs(three_servers(), [](Config& cfg) {
    if (cfg.index == 3) cfg.leftover_state = true;
  });
  Cluster c(configs, options(1, {{std::string(k_leftover_check), false}}));
  c.run(3 * k_m);
  CHECK(c.lines(3, "leftover state").empty());
  CHECK(c.signals(k_signal_stack_started) == 1);
}

TEST_CASE("a new master waits for every host before it relaunches the stack") {
  Cluster c(Cluster::configs(three_servers()));
  c.run(3 * k_m);
  REQUIRE(c.signals(k_signal_stack_started) == 1);
  c.k->crash(c.ids[0]);
  c.run(6 * k_m);
  // server-2 takes over with a majority, but one host of three is gone: no relaunch.
  CHECK(c.manager(2).master());
  CHECK(c.manager(2).phase() == Phase::waiting_hosts);
  CHECK_FALSE(c.lines(2, "failed while waiting for 3 host(s) to be active").empty());
  CHECK(c.lines(2, "] starting ").empty());
  // server-1 comes back, is master again, and (its memory of the launch gone) relaunches.
  c.k->restart(c.ids[0]);
  c.run(9 * k_m);
  CHECK(c.manager(1).master());
  CHECK(c.lines(1, "] starting ").size() == 20);
  CHECK(c.signals(k_signal_stack_started) == 2);
}

TEST_CASE("same seed, same run") {
  auto digest = [](std::uint64_t seed) {
    ClusterSpec spec = three_servers();
    spec.server_versions["server-2"] = "1.1.2";
    Cluster c(Cluster::configs(spec), options(seed));
    c.run(3 * k_m);
    return c.k->digest();
  };
  CHECK(digest(7) == digest(7));
}
