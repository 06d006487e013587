#pragma once
// The external db and Cattle-like servers that embed a DbClient, on the real kernel.
#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/mysql/db_client.hpp"
#include "models/mysql/db_node.hpp"
#include "sim/core/records.hpp"
#include "sim/kernel/kernel.hpp"

namespace dbtest {

using namespace stampede;
using namespace stampede::mysql;

inline constexpr std::uint64_t k_tick_tag = 1;
inline constexpr std::uint64_t k_open_tag = 2;
inline constexpr DurationNs k_tick_ns = 100 * k_ms;

inline Kernel::Options options(std::uint64_t seed,
                               std::map<std::string, std::int64_t> timing = {},
                               std::map<std::string, bool> mechanisms = {}) {
  Registry r;
  register_db_node(r);
  Kernel::Options o;
  o.seed = seed;
  o.network.latency.kind = LatencySpec::Kind::uniform;
  o.network.latency.min_ns = 1 * k_ms;
  o.network.latency.max_ns = 5 * k_ms;
  for (const auto& t : r.timings()) o.timings[t.name] = t.default_value;
  for (const auto& [k, v] : timing) o.timings[k] = v;
  for (const auto& m : r.mechanisms()) o.mechanisms[m.name] = m.default_on;
  o.keep_debug_logs = true;  // the tests count the pool's debug lines (failed validations)
  for (const auto& [k, v] : mechanisms) o.mechanisms[k] = v;
  return o;
}

// A stand-in for a Cattle server: it opens its pool `open_after` its boot (so that servers join
// one after another, as an operator adds them) and runs the test's `tick` every 100 ms.
struct TestServer final : Node {
  DbClient client;
  int pool;
  DurationNs open_after;
  std::function<void(Ctx&, TestServer&)> tick;
  int opened = 0;
  int lost = 0;
  int refused = 0;
  int boots = 0;

  TestServer(int pool_size, DurationNs open_after_ns)
      : pool(pool_size), open_after(open_after_ns) {}
  void on_start(Ctx& ctx) override {
    ++boots;
    client.set_callbacks({[this](Ctx&, PoolEvent e) {
      if (e == PoolEvent::opened) ++opened;
      if (e == PoolEvent::lost) ++lost;
      if (e == PoolEvent::refused) ++refused;
    }});
    client.start(ctx);
    if (open_after == 0) {
      client.open_pool(ctx, pool);
    } else {
      ctx.set_timer(open_after, k_open_tag);
    }
    ctx.set_timer(k_tick_ns, k_tick_tag);
  }
  void on_message(Ctx& ctx, NodeId from, const Message& m) override {
    if (DbClient::owns_message(m.type)) client.on_message(ctx, from, m);
  }
  void on_timer(Ctx& ctx, std::uint64_t tag) override {
    if (DbClient::owns_timer(tag)) return client.on_timer(ctx, tag);
    if (tag == k_open_tag) return client.open_pool(ctx, pool);
    if (tick) tick(ctx, *this);
    ctx.set_timer(k_tick_ns, k_tick_tag);
  }
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override {
    client.on_connection(ctx, peer, event);
  }
  void on_crash() override { client.crash(); }
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override {
    return client.probe(key, arg);
  }
  std::uint64_t state_digest() const override { return client.digest(); }
};

struct World {
  std::unique_ptr<Kernel> k;
  DbNode* db = nullptr;
  NodeId db_id = k_no_node;
  std::vector<TestServer*> servers;
  std::vector<NodeId> server_ids;

  explicit World(Kernel::Options o, int max_connections = 151) {
    k = std::make_unique<Kernel>(std::move(o));
    DatabaseSpec spec;
    spec.external = true;
    spec.max_connections = max_connections;
    auto node = std::make_unique<DbNode>(spec);
    db = node.get();
    db_id = k->add_node("db", std::move(node));
  }
  TestServer& add_server(int pool = 50, DurationNs open_after = 0) {
    auto s = std::make_unique<TestServer>(pool, open_after);
    servers.push_back(s.get());
    server_ids.push_back(k->add_node(fmt::format("server-{}", servers.size()), std::move(s)));
    return *servers.back();
  }
  void run(TimeNs t) { k->run_until(t); }
  int logs_containing(NodeId node, std::string_view text, LogLevel level) const {
    int n = 0;
    for (const auto& l : k->logs())
      if (l.node == node && l.level == level && l.text.find(text) != std::string::npos) ++n;
    return n;
  }
};

}  // namespace dbtest
