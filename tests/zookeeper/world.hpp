#pragma once
// A ZooKeeper ensemble (and lock clients) on the real kernel, with the model's invariants checked
// after every step.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "models/redis/register.hpp"
#include "models/zookeeper/invariants.hpp"
#include "models/zookeeper/register.hpp"
#include "models/zookeeper/zk_lock_client.hpp"
#include "models/zookeeper/zk_server.hpp"
#include "sim/core/records.hpp"
#include "sim/kernel/kernel.hpp"

namespace zktest {

using namespace stampede;
using namespace stampede::zk;

inline Kernel::Options options(std::uint64_t seed, std::map<std::string, std::int64_t> timing = {},
                               std::map<std::string, bool> mechanisms = {}) {
  Registry r;
  register_zookeeper(r);
  register_redis(r);
  Kernel::Options o;
  o.seed = seed;
  o.network.latency.kind = LatencySpec::Kind::uniform;
  o.network.latency.min_ns = 1 * k_ms;
  o.network.latency.max_ns = 5 * k_ms;
  for (const auto& t : r.timings()) o.timings[t.name] = t.default_value;
  for (const auto& m : r.mechanisms()) o.mechanisms[m.name] = m.default_on;
  for (const auto& [k, v] : timing) o.timings[k] = v;
  for (const auto& [k, v] : mechanisms) o.mechanisms[k] = v;
  return o;
}

// Records the first violation of each ZooKeeper invariant.
struct InvariantWatch final : StepObserver {
  const WorldView* world = nullptr;
  std::vector<std::string> violations;
  void on_step(const StepInfo& s) override {
    for (auto* check :
         {check_lock_mutual_exclusion, check_single_leader_per_epoch, check_committed_never_lost}) {
      if (auto v = check(*world)) {
        if (violations.size() < 5)
          violations.push_back(fmt::format("step {} at {}: {}", s.index, s.time_ns, *v));
      }
    }
  }
};

struct Ensemble {
  std::unique_ptr<Kernel> k;
  std::vector<ZkServer*> servers;
  std::vector<NodeId> server_ids;
  std::vector<ZkLockClient*> clients;
  std::vector<NodeId> client_ids;
  InvariantWatch watch;

  explicit Ensemble(int n, Kernel::Options o, std::vector<Disk> disks = {}) {
    k = std::make_unique<Kernel>(std::move(o));
    for (int i = 1; i <= n; ++i) {
      Disk d = static_cast<std::size_t>(i) <= disks.size() ? disks[i - 1] : Disk{};
      auto s = std::make_unique<ZkServer>(i, n, d);
      servers.push_back(s.get());
      server_ids.push_back(k->add_node(fmt::format("zookeeper-{}", i), std::move(s)));
    }
    watch.world = k.get();
    k->add_observer(&watch);
  }
  ZkLockClient* add_client(std::string lock = "demo", bool hold_forever = false) {
    auto c = std::make_unique<ZkLockClient>(static_cast<int>(servers.size()), lock);
    c->set_hold_forever(hold_forever);
    ZkLockClient* p = c.get();
    clients.push_back(p);
    client_ids.push_back(k->add_node(fmt::format("zkclient-{}", clients.size()), std::move(c)));
    return p;
  }
  bool up(int i) const { return k->is_up(server_ids[i]); }
  // Servers (0-based) that lead with an established epoch and serve.
  std::vector<int> serving_leaders() const {
    std::vector<int> out;
    for (std::size_t i = 0; i < servers.size(); ++i)
      if (up(static_cast<int>(i)) && servers[i]->state() == ServerState::leading &&
          servers[i]->serving())
        out.push_back(static_cast<int>(i));
    return out;
  }
  int serving_count() const {
    int n = 0;
    for (std::size_t i = 0; i < servers.size(); ++i)
      if (up(static_cast<int>(i)) && servers[i]->serving()) ++n;
    return n;
  }
  void crash(int i) { k->crash(server_ids[i]); }
  void restart(int i) { k->restart(server_ids[i]); }
  void run(TimeNs t) { k->run_until(t); }
  int signals(std::string_view name) const {
    int n = 0;
    for (const auto& s : k->signals())
      if (s.name == name) ++n;
    return n;
  }
};

// The first log lines of an ensemble's run at or after a moment, found by pattern.
struct Timeline {
  const Ensemble& e;
  TimeNs after_ns;
  // The first log line at or after after_ns matching `pattern` (any node), or nullopt.
  std::optional<LogRecord> first(const std::string& pattern) const {
    const std::regex re(pattern);
    for (const LogRecord& r : e.k->logs())
      if (r.time_ns >= after_ns && std::regex_search(r.text, re)) return r;
    return std::nullopt;
  }
  TimeNs at(const std::string& pattern) const {
    auto r = first(pattern);
    INFO(pattern);
    REQUIRE(r.has_value());
    return r->time_ns;
  }
};

}  // namespace zktest
