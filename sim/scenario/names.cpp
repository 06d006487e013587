#include "sim/scenario/names.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/scenario/scenario.hpp"

namespace stampede::scenario_detail {
namespace {

const std::vector<std::string> k_patterns = {"server-*", "agent-*", "zookeeper-*", "client-*",
                                             "all"};

// N when `name` is "PREFIX-N" with N a positive integer written without leading zeros.
std::optional<long> numbered(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '-')
    return std::nullopt;
  std::string_view digits = name.substr(prefix.size() + 1);
  if (digits.size() > 9 || digits[0] == '0') return std::nullopt;
  long n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::string range(std::string_view prefix, int n) {
  if (n == 1) return fmt::format("{}-1", prefix);
  return fmt::format("{}-1..{}-{}", prefix, prefix, n);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string near = suggest(word, candidates);
  return near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near);
}

}  // namespace

std::vector<std::string> split_slash(std::string_view s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = s.find('/', start);
    parts.emplace_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

Names::Names(const ScenarioSpec& spec)
    : servers_(spec.cluster.servers),
      agents_(spec.cluster.agents),
      zookeeper_(spec.cluster.zookeeper),
      clients_(static_cast<int>(spec.workload.size())),
      redis_(spec.cluster.redis),
      external_db_(spec.cluster.database.external) {
  if (auto it = spec.cluster.timing.find("lease_lock_clients"); it != spec.cluster.timing.end())
    lease_clients_ = static_cast<int>(std::min<std::int64_t>(it->second, 1'000'000));
  // The MySQL model's workload clients (models/register.cpp builds them beside the external db
  // in HA mode), so that faults can target them.
  if (servers_ > 1)
    if (auto it = spec.cluster.timing.find("db_clients"); it != spec.cluster.timing.end())
      db_clients_ = static_cast<int>(std::clamp<std::int64_t>(it->second, 0, 1'000'000));
  // The ZooKeeper model's own clients (models/zookeeper/register.cpp adds them from these
  // timings), so that faults can target them.
  if (zookeeper_ > 0) {
    if (auto it = spec.cluster.timing.find("zk_lock_clients"); it != spec.cluster.timing.end())
      zk_clients_ = static_cast<int>(std::clamp<std::int64_t>(it->second, 0, 1'000'000));
    if (auto it = spec.cluster.timing.find("zk_probe_interval"); it != spec.cluster.timing.end())
      zk_probe_ = it->second > 0;
  }
  for (const StackSpec& st : spec.stacks) {
    Stack s;
    s.name = st.name;
    for (const ServiceSpec& sv : st.services) {
      s.services.push_back(sv.name);
      s.scales.push_back(sv.scale);
    }
    if (st.load_balancer) s.lb = st.load_balancer->name;
    stacks_.push_back(std::move(s));
  }
}

std::vector<std::string> Names::node_names() const {
  std::vector<std::string> out;
  for (int i = 1; i <= servers_; ++i) out.push_back(fmt::format("server-{}", i));
  if (external_db_) out.push_back("db");
  for (int i = 1; i <= db_clients_; ++i) out.push_back(fmt::format("dbclient-{}", i));
  for (int i = 1; i <= zookeeper_; ++i) out.push_back(fmt::format("zookeeper-{}", i));
  for (int i = 1; i <= zk_clients_; ++i) out.push_back(fmt::format("zkclient-{}", i));
  if (zk_probe_) out.push_back("zkprobe");
  for (int i = 1; i <= redis_; ++i) out.push_back(fmt::format("redis-{}", i));
  for (int i = 1; i <= agents_; ++i) out.push_back(fmt::format("agent-{}", i));
  for (const Stack& s : stacks_)
    if (!s.lb.empty()) out.push_back(s.name + "/" + s.lb);
  for (int i = 1; i <= clients_; ++i) out.push_back(fmt::format("client-{}", i));
  if (lease_clients_ > 0) {
    out.push_back("lease-lock");
    out.push_back("lease-storage");
    for (int i = 1; i <= lease_clients_; ++i) out.push_back(fmt::format("lease-client-{}", i));
  }
  return out;
}

std::string Names::summary(bool pattern_ok) const {
  std::vector<std::string> parts;
  parts.push_back(range("server", servers_));
  if (external_db_) parts.push_back("db");
  if (db_clients_ > 0) parts.push_back(range("dbclient", db_clients_));
  if (zookeeper_ > 0) parts.push_back(range("zookeeper", zookeeper_));
  if (zk_clients_ > 0) parts.push_back(range("zkclient", zk_clients_));
  if (zk_probe_) parts.push_back("zkprobe");
  if (redis_ > 0) parts.push_back(range("redis", redis_));
  if (agents_ > 0) parts.push_back(range("agent", agents_));
  for (const Stack& s : stacks_)
    if (!s.lb.empty()) parts.push_back(s.name + "/" + s.lb);
  if (clients_ > 0) parts.push_back(range("client", clients_));
  if (lease_clients_ > 0) {
    parts.push_back("lease-lock, lease-storage");
    parts.push_back(range("lease-client", lease_clients_));
  }
  std::string text = fmt::format("nodes: {}", fmt::join(parts, ", "));
  if (pattern_ok) text += fmt::format("; patterns: {}", fmt::join(k_patterns, ", "));
  return text;
}

std::optional<std::string> Names::check_node(std::string_view name, bool pattern_ok) const {
  for (const std::string& p : k_patterns) {
    if (name != p) continue;
    if (pattern_ok) return std::nullopt;
    return fmt::format("expected one node here, got the pattern '{}'", name);
  }
  struct Group {
    const char* prefix;
    int count;
    const char* none;
  };
  const Group groups[] = {
      {"server", servers_, ""},
      {"agent", agents_, "the cluster has no agents"},
      {"zookeeper", zookeeper_, "the cluster has no zookeeper (set cluster.zookeeper)"},
      {"client", clients_, "the workload has no clients"},
      {"redis", redis_, "the cluster has no redis (set cluster.redis: true)"},
      {"lease-client", lease_clients_, "the scenario has no lease-lock clients"},
      {"dbclient", db_clients_,
       "the scenario has no db clients (set cluster.timing.db_clients, "
       "HA mode)"},
      {"zkclient", zk_clients_,
       "the scenario has no ZooKeeper lock clients (set "
       "cluster.timing.zk_lock_clients)"},
  };
  for (const Group& g : groups) {
    if (auto n = numbered(name, g.prefix)) {
      if (*n <= g.count) return std::nullopt;
      if (g.count == 0) return fmt::format("unknown node '{}': {}", name, g.none);
      return fmt::format("unknown node '{}': the cluster has {}", name, range(g.prefix, g.count));
    }
  }
  if ((name == "lease-lock" || name == "lease-storage") && lease_clients_ > 0) return std::nullopt;
  if (name == "zkprobe") {
    if (zk_probe_) return std::nullopt;
    return std::string(
        "unknown node 'zkprobe': the scenario has no ZooKeeper probe (set "
        "cluster.timing.zk_probe_interval)");
  }
  if (name == "db") {
    if (external_db_) return std::nullopt;
    return std::string(
        "unknown node 'db': the database is embedded in server-1 (set "
        "cluster.database.external: true for a separate db node)");
  }
  std::vector<std::string> parts = split_slash(name);
  if (parts.size() == 2)
    if (const Stack* s = find_stack(parts[0]); s && !s->lb.empty() && s->lb == parts[1])
      return std::nullopt;
  std::vector<std::string> candidates = node_names();
  if (pattern_ok) candidates.insert(candidates.end(), k_patterns.begin(), k_patterns.end());
  std::string near = suggest(name, candidates);
  if (!near.empty()) return fmt::format("unknown node '{}' (did you mean '{}'?)", name, near);
  return fmt::format("unknown node '{}' ({})", name, summary(pattern_ok));
}

std::optional<std::string> Names::check_host(std::string_view name) const {
  if (auto n = numbered(name, "agent"); n && *n <= agents_) return std::nullopt;
  if (agents_ == 0) return fmt::format("unknown host '{}': the cluster has no agents", name);
  std::vector<std::string> hosts;
  for (int i = 1; i <= agents_; ++i) hosts.push_back(fmt::format("agent-{}", i));
  std::string near = suggest(name, hosts);
  return fmt::format(
      "unknown host '{}': hosts are the agents, {}{}", name, range("agent", agents_),
      near.empty() || numbered(name, "agent") ? "" : fmt::format(" (did you mean '{}'?)", near));
}

const Names::Stack* Names::find_stack(std::string_view name) const {
  for (const Stack& s : stacks_)
    if (s.name == name) return &s;
  return nullptr;
}

std::optional<std::string> Names::unknown_stack(std::string_view stack,
                                                std::string_view whole) const {
  std::vector<std::string> names;
  for (const Stack& s : stacks_) names.push_back(s.name);
  if (names.empty())
    return fmt::format("unknown stack '{}' in '{}': the scenario has no stacks", stack, whole);
  return fmt::format("unknown stack '{}' in '{}'{}", stack, whole, did_you_mean(stack, names));
}

std::optional<std::string> Names::check_container(std::string_view name) const {
  std::vector<std::string> parts = split_slash(name);
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty())
    return fmt::format(
        "bad container name '{}': expected STACK/SERVICE/INDEX, e.g. wordpress/web/1", name);
  const Stack* s = find_stack(parts[0]);
  if (!s) return unknown_stack(parts[0], name);
  for (std::size_t i = 0; i < s->services.size(); ++i) {
    if (s->services[i] != parts[1]) continue;
    auto index = numbered("x-" + parts[2], "x");
    if (index && *index <= s->scales[i]) return std::nullopt;
    return fmt::format(
        "unknown container '{}': {}/{} has scale {}{}", name, s->name, s->services[i], s->scales[i],
        s->scales[i] > 0
            ? fmt::format(" (containers {}/{}/1..{})", s->name, s->services[i], s->scales[i])
            : "");
  }
  if (parts[1] == s->lb)
    return fmt::format("unknown container '{}': {}/{} is the load balancer, not a service", name,
                       s->name, s->lb);
  return fmt::format("unknown service '{}' in container '{}'{}", parts[1], name,
                     did_you_mean(parts[1], s->services));
}

std::optional<std::string> Names::check_service(std::string_view name) const {
  std::vector<std::string> parts = split_slash(name);
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty())
    return fmt::format("bad service name '{}': expected STACK/SERVICE, e.g. wordpress/web", name);
  const Stack* s = find_stack(parts[0]);
  if (!s) return unknown_stack(parts[0], name);
  for (const std::string& sv : s->services)
    if (sv == parts[1]) return std::nullopt;
  if (parts[1] == s->lb) return fmt::format("'{}' is a load balancer, not a service", name);
  return fmt::format("unknown service '{}' in '{}'{}", parts[1], name,
                     did_you_mean(parts[1], s->services));
}

std::optional<std::string> Names::check_lb(std::string_view name) const {
  std::vector<std::string> parts = split_slash(name);
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty())
    return fmt::format("bad load balancer name '{}': expected STACK/LB, e.g. wordpress/lb", name);
  const Stack* s = find_stack(parts[0]);
  if (!s) return unknown_stack(parts[0], name);
  if (!s->lb.empty() && s->lb == parts[1]) return std::nullopt;
  if (s->lb.empty())
    return fmt::format("unknown load balancer '{}': stack '{}' has none", name, s->name);
  return fmt::format("unknown load balancer '{}' (did you mean '{}/{}'?)", name, s->name, s->lb);
}

}  // namespace stampede::scenario_detail
