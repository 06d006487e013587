#include "models/cluster_manager/memory.hpp"

#include <string>

namespace stampede::cm {

namespace {

// A JVM's memory outside its heap, with the defaults of the OpenJDK 7 server VM that
// rancher/server's image installs (server/Dockerfile: openjdk-7-jre-headless): the permanent
// generation, -XX:MaxPermSize=64m "scaled 30% larger" on 64-bit VMs (Oracle, "Java HotSpot VM
// Options"), 83 MiB; and the code cache, -XX:ReservedCodeCacheSize=48m without tiered
// compilation (HotSpot's arguments.cpp multiplies it by 5, to JDK 8's 240m, only for tiered).
// Thread stacks, GC tables and direct buffers are left out: the figure is a floor.
constexpr std::int64_t k_jvm_non_heap_mib = 83 + 48;

// 1 GB (10^9 bytes) in MiB, for cattle.sh's `free -g --si`, which prints whole gigabytes.
constexpr std::int64_t k_bytes_per_mib = 1024 * 1024;
constexpr std::int64_t k_bytes_per_gb = 1'000'000'000;

}  // namespace

std::int64_t os_reserve_mib() {
  // Model choice (no upstream figure): the kernel, sshd, the Docker daemon and the page cache
  // a host needs to stay usable.
  return 256;
}

std::int64_t cattle_heap_mib(std::int64_t node_memory_mib) {
  // rancher/rancher server/artifacts/cattle.sh, run():
  //   ram=$(free -g --si | awk '/^Mem:/{print $2}')
  //   -gt 6 -> MX=4g; -gt 2 -> MX=2g; else MX=1g; java ... -Xms128m -Xmx${MX}
  // (CATTLE_JAVA_OPTS replaces the whole set; the model uses the defaults).
  std::int64_t ram_gb = node_memory_mib * k_bytes_per_mib / k_bytes_per_gb;
  if (ram_gb > 6) return 4096;
  if (ram_gb > 2) return 2048;
  return 1024;
}

std::int64_t zookeeper_heap_mib(std::int64_t node_memory_mib) {
  // rancher/rancher server/bin/zk: `exec java ... $JVMFLAGS $ZOOMAIN` after sourcing the
  // packaged zkEnv.sh, with no -Xmx. The JVM's default maximum heap is then a quarter of the
  // physical memory (Oracle, "Garbage Collector Ergonomics" and the Java 8 GC tuning guide,
  // "Default Heap Size"; J2SE 5.0's cap of 1 GB does not bind below 4 GB). The ZooKeeper
  // administrator's guide warns that ZooKeeper must never swap ("use a maximum heap size of
  // 3GB for a 4GB machine"): a default heap on a small node already breaks that.
  return node_memory_mib / 4;
}

std::vector<Footprint> base_processes(std::int64_t node_memory_mib) {
  return {
      {"cattle", cattle_heap_mib(node_memory_mib) + k_jvm_non_heap_mib},
      // Model choices (no upstream figure): a Go daemon idles at a few tens of MiB resident;
      // the agent is a Python process with its event handlers loaded.
      {"cluster-manager", 20},
      {"rancher-agent", 64},
  };
}

std::int64_t service_footprint_mib(std::string_view service, std::int64_t node_memory_mib) {
  if (service == "zookeeper") return zookeeper_heap_mib(node_memory_mib) + k_jvm_non_heap_mib;
  // The model's Cattle server has run since boot; the stack's "cattle" is that JVM.
  if (service == "cattle") return 0;
  // The Redis FAQ: an empty instance uses about 3 MB; the event bus holds a few keys.
  if (service == "redis") return 8;
  // Model choice: spiped, a small C daemon.
  if (service == "tunnel") return 8;
  // Model choice: HAProxy with its configuration, per balancer.
  if (service == "load-balancer" || service == "load-balancer-swarm") return 32;
  // Model choice: the Go services (go-machine-service, the websocket proxies, the compose
  // executor), a few tens of MiB each, as the cluster manager.
  return 20;
}

std::int64_t node_demand_mib(std::int64_t node_memory_mib, const std::vector<std::string>& order,
                             int services) {
  std::int64_t total = 0;
  for (const Footprint& f : base_processes(node_memory_mib)) total += f.memory_mib;
  for (int k = 0; k < services && k < static_cast<int>(order.size()); ++k)
    total += service_footprint_mib(order[static_cast<std::size_t>(k)], node_memory_mib);
  return total;
}

}  // namespace stampede::cm
