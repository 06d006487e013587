// The scenario's top level, its cluster, stacks and workload; and the public entry points.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/sections.hpp"

namespace stampede::scenario_detail {

std::string hint(std::string_view word, const std::vector<std::string>& candidates) {
  if (candidates.empty()) return "";
  std::string near = suggest(word, candidates);
  if (!near.empty()) return fmt::format(" (did you mean '{}'?)", near);
  if (candidates.size() <= 12) return fmt::format(" (valid: {})", fmt::join(candidates, ", "));
  return " (see `stampede list`)";
}

YAML::Node load_yaml(std::string_view text, const std::string& file, std::string_view what) {
  if (auto p = check_yaml(text, what))
    throw InputError(fmt::format("{}:{}:{}: {}", file, p->line, p->col, p->message));
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    int col = e.mark.is_null() ? 1 : e.mark.column + 1;
    throw InputError(fmt::format("{}:{}:{}: malformed YAML: {}", file, line, col, e.msg));
  }
}

namespace {

using Sign = Reader::Sign;

void parse_latency(const Reader& r, const YAML::Node& node, LatencySpec& out) {
  if (node.IsScalar()) {
    out.kind = LatencySpec::Kind::fixed;
    out.fixed_ns = r.duration(node, "latency", Sign::non_negative);
    return;
  }
  Fields f(r, node, "latency", "'latency' (or a duration)", {"min", "max", "mean", "dist"});
  std::string dist;
  if (auto d = f.get("dist")) {
    dist = r.string(*d, "dist");
    if (dist != "uniform" && dist != "exponential")
      r.fail(*d, fmt::format("unknown latency distribution '{}' (expected uniform or exponential)",
                             dist));
  }
  if (f.has("mean")) {
    if (f.has("min") || f.has("max"))
      r.fail(node, "latency takes {min, max} or {mean, dist: exponential}, not both");
    if (dist == "uniform") r.fail(*f.get("dist"), "a uniform latency takes {min, max}, not mean");
    out.kind = LatencySpec::Kind::exponential;
    out.mean_ns = r.duration(f.need("mean"), "mean", Sign::positive);
    return;
  }
  if (dist == "exponential") r.fail(*f.get("dist"), "an exponential latency takes {mean}");
  out.kind = LatencySpec::Kind::uniform;
  out.min_ns = r.duration(f.need("min"), "min", Sign::non_negative);
  out.max_ns = r.duration(f.need("max"), "max", Sign::non_negative);
  if (out.min_ns > out.max_ns)
    r.fail(f.need("max"), fmt::format("latency max {} is below min {}", format_duration(out.max_ns),
                                      format_duration(out.min_ns)));
}

void parse_network(const Reader& r, const YAML::Node& node, NetworkSpec& out) {
  Fields f(r, node, "network", "'network'", {"latency", "drop", "duplicate"});
  if (auto n = f.get("latency")) parse_latency(r, *n, out.latency);
  if (auto n = f.get("drop")) out.drop = r.probability(*n, "drop");
  if (auto n = f.get("duplicate")) out.duplicate = r.probability(*n, "duplicate");
}

void parse_timing(const Reader& r, const YAML::Node& node, const Registry& registry,
                  ClusterSpec& out) {
  for (const auto& [key, value] : r.entries(node, "timing")) {
    const std::string& name = key.Scalar();
    const TimingDef* def = registry.find_timing(name);
    if (!def) {
      std::vector<std::string> known = names_of(registry.timings());
      if (known.empty())
        r.fail(key, fmt::format("unknown timing '{}': no timings are registered", name));
      r.fail(key, fmt::format("unknown timing '{}'{}", name, hint(name, known)));
    }
    if (def->unit == TimingUnit::count) {
      out.timing[name] = r.integer_in(value, name, def->min_value, def->max_value);
      continue;
    }
    const DurationNs d = r.duration(value, name, Sign::non_negative);
    if (d < def->min_value)
      r.fail(value, fmt::format("'{}' must be at least {}, got {}: its timer re-arms itself, and "
                                "shorter it would fire at one instant for ever",
                                name, format_duration(def->min_value), format_duration(d)));
    if (d > def->max_value)
      r.fail(value, fmt::format("'{}' must be at most {}, got {}", name,
                                format_duration(def->max_value), format_duration(d)));
    out.timing[name] = d;
  }
}

void parse_mechanisms(const Reader& r, const YAML::Node& node, const Registry& registry,
                      ClusterSpec& out) {
  for (const auto& [key, value] : r.entries(node, "mechanisms")) {
    const std::string& name = key.Scalar();
    if (!registry.find_mechanism(name)) {
      std::vector<std::string> known = names_of(registry.mechanisms());
      if (known.empty())
        r.fail(key, fmt::format("unknown mechanism '{}': no mechanisms are registered", name));
      r.fail(key, fmt::format("unknown mechanism '{}'{}", name, hint(name, known)));
    }
    out.mechanisms[name] = r.boolean(value, name);
  }
}

// "server-K" for K in 1..servers, else fails at `at` naming the cluster's servers.
void check_server_name(const Reader& r, const YAML::Node& at, const std::string& server,
                       std::string_view where, int servers) {
  for (int i = 1; i <= servers; ++i)
    if (server == fmt::format("server-{}", i)) return;
  std::vector<std::string> known;
  for (int i = 1; i <= servers && i <= 12; ++i) known.push_back(fmt::format("server-{}", i));
  // A well-formed server-K past the cluster's size is not a typo: the range says enough.
  std::string near = server.starts_with("server-") ? "" : suggest(server, known);
  r.fail(at, fmt::format("unknown server '{}' in {}: the cluster has {}{}", server, where,
                         servers == 1 ? std::string("server-1")
                                      : fmt::format("server-1..server-{}", servers),
                         near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
}

// A dotted IPv4 address ("172.17.0.1"): the bridge gateway a cluster manager pings through.
std::string ipv4(const Reader& r, const YAML::Node& n, std::string_view name) {
  std::string s = r.string(n, name);
  int parts = 0;
  bool ok = true;
  std::size_t i = 0;
  while (ok && i <= s.size()) {
    std::size_t dot = s.find('.', i);
    std::string_view part = std::string_view(s).substr(i, dot == std::string::npos ? dot : dot - i);
    ok = !part.empty() && part.size() <= 3 && (part.size() == 1 || part[0] != '0');
    // Digits are added only while the part is still a number of at most three digits: a long
    // part of other characters overflowed v (found by fuzz/fuzz_scenario).
    int v = 0;
    for (std::size_t k = 0; ok && k < part.size(); ++k) {
      ok = part[k] >= '0' && part[k] <= '9';
      v = v * 10 + (part[k] - '0');
    }
    ok = ok && v <= 255;
    ++parts;
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  if (!ok || parts != 4)
    r.fail(n, fmt::format("expected an IPv4 address like 172.17.0.1 for '{}', got '{}'", name, s));
  return s;
}

// The HA-only keys of `cluster`: the cluster manager they configure runs only beside several
// servers, so in single mode they would silently do nothing.
void parse_manager_keys(const Reader& r, const Fields& f, ClusterSpec& out) {
  for (const char* key : {"bridge_address", "server_bridge_addresses", "leftover_state",
                          "server_memory", "server_memories"})
    if (out.servers == 1 && f.has(key))
      r.fail(f.key_node(key), fmt::format("'{}' configures the HA cluster manager, which single "
                                          "mode (servers: 1) does not run",
                                          key));
  if (auto n = f.get("bridge_address")) out.bridge_address = ipv4(r, *n, "bridge_address");
  if (auto n = f.get("server_bridge_addresses"))
    for (const auto& [key, value] : r.entries(*n, "server_bridge_addresses")) {
      check_server_name(r, key, key.Scalar(), "server_bridge_addresses", out.servers);
      out.server_bridge_addresses[key.Scalar()] = ipv4(r, value, key.Scalar());
    }
  if (auto n = f.get("server_memory")) out.server_memory_mib = r.memory_mib(*n, "server_memory");
  if (auto n = f.get("server_memories"))
    for (const auto& [key, value] : r.entries(*n, "server_memories")) {
      check_server_name(r, key, key.Scalar(), "server_memories", out.servers);
      out.server_memories_mib[key.Scalar()] = r.memory_mib(value, key.Scalar());
    }
  if (auto n = f.section("leftover_state")) {
    out.leftover_state = r.strings(*n, "leftover_state", true);
    std::vector<YAML::Node> items;
    if (n->IsScalar()) {
      items.push_back(*n);
    } else {
      for (auto it = n->begin(); it != n->end(); ++it) items.push_back(*it);
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      check_server_name(r, items[i], items[i].Scalar(), "leftover_state", out.servers);
      for (std::size_t j = 0; j < i; ++j)
        if (items[j].Scalar() == items[i].Scalar())
          r.fail(items[i],
                 fmt::format("'{}' is listed twice in leftover_state", items[i].Scalar()));
    }
  }
}

// The external database's section: MariaDB's limits and the server variable wait_timeout.
// Returns wait_timeout when given: it is the MySQL model's timing db_wait_timeout under MariaDB's
// own name (models/mysql/db_protocol.hpp), which parse_cluster sets from it.
std::optional<DurationNs> parse_database(const Reader& r, const YAML::Node& node,
                                         DatabaseSpec& out) {
  Fields d(r, node, "database", "'database'",
           {"external", "max_connections", "pool_per_server", "wait_timeout"});
  if (auto n = d.get("external")) out.external = r.boolean(*n, "external");
  if (auto n = d.get("max_connections"))
    out.max_connections = static_cast<int>(r.integer_in(*n, "max_connections", 1, 1'000'000));
  if (auto n = d.get("pool_per_server"))
    out.pool_per_server = static_cast<int>(r.integer_in(*n, "pool_per_server", 1, 1'000'000));
  if (auto n = d.get("wait_timeout")) return r.duration(*n, "wait_timeout", Sign::positive);
  return std::nullopt;
}

// `redis:` is true or false (HA's default, or none) or a count of Redis servers (0 to 1000).
// Returns -1 for the default.
int parse_redis(const Reader& r, const YAML::Node& n) {
  if (n.IsScalar()) {
    std::string s = n.Scalar();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return -1;
    if (s == "false" || s == "no" || s == "off") return 0;
    if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return static_cast<int>(r.integer_in(n, "redis", 0, 1000));
  }
  if (!n.IsScalar()) r.boolean(n, "redis");  // fails, naming what it got
  r.fail(n, fmt::format("expected true or false for 'redis', got '{}' (or a number of Redis "
                        "servers, e.g. redis: 3)",
                        n.Scalar()));
}

// HA's Redis servers by default: one per cluster slot, as rancher/cluster-manager v0.1.5 starts
// them (docs/scenario-contract.md), or the single redis-1 with cattle_redis_per_node off (the
// mechanism's name belongs to the Cattle model, models/register.cpp).
int default_redis(const ClusterSpec& c) {
  auto it = c.mechanisms.find("cattle_redis_per_node");
  if (it != c.mechanisms.end() && !it->second) return 1;
  return c.cluster_size > 0 ? c.cluster_size : c.servers;
}

}  // namespace

void parse_cluster(const Reader& r, const YAML::Node& node, const Registry& registry,
                   ClusterSpec& out) {
  Fields f(
      r, node, "cluster", "'cluster'",
      {"servers", "cluster_size", "version", "server_versions", "database", "zookeeper", "redis",
       "agents", "network", "timing", "mechanisms", "platform_hosts", "bridge_address",
       "server_bridge_addresses", "leftover_state", "server_memory", "server_memories"});
  // Counts are bounded so that node names and ints stay sane; no real cluster comes near.
  if (auto n = f.get("servers"))
    out.servers = static_cast<int>(r.integer_in(*n, "servers", 1, 1000));
  if (auto n = f.get("version")) out.version = r.string(*n, "version");
  std::optional<DurationNs> wait_timeout_ns;
  if (auto db = f.section("database")) wait_timeout_ns = parse_database(r, *db, out.database);
  const bool ha = out.servers > 1;
  if (ha && !out.database.external)
    r.fail(*f.get("servers"), fmt::format("HA mode (servers: {}) needs an external database: set "
                                          "cluster.database.external: true",
                                          out.servers));
  if (auto n = f.get("cluster_size")) {
    if (!ha)
      r.fail(f.key_node("cluster_size"),
             "'cluster_size' configures the HA cluster manager, which single mode (servers: "
             "1) does not run: remove it, or set servers to 2 or more");
    out.cluster_size = static_cast<int>(r.integer_in(*n, "cluster_size", 1, out.servers));
  }
  // HA defaults (docs/scenario-contract.md): a ZooKeeper node per member of the cluster (one per
  // server unless cluster_size says fewer), and the Redis event bus.
  out.zookeeper = ha ? (out.cluster_size > 0 ? out.cluster_size : out.servers) : 0;
  if (auto n = f.get("zookeeper"))
    out.zookeeper = static_cast<int>(r.integer_in(*n, "zookeeper", 0, 1000));
  std::optional<int> redis = ha ? std::optional<int>(-1) : std::nullopt;  // -1: the default
  if (auto n = f.get("redis")) redis = parse_redis(r, *n);
  if (auto n = f.get("agents"))
    out.agents = static_cast<int>(r.integer_in(*n, "agents", 0, 100'000));
  if (auto sv = f.get("server_versions")) {
    for (const auto& [key, value] : r.entries(*sv, "server_versions")) {
      const std::string& server = key.Scalar();
      bool known = false;
      for (int i = 1; i <= out.servers; ++i) known = known || server == fmt::format("server-{}", i);
      if (!known)
        r.fail(key,
               fmt::format("unknown server '{}' in server_versions: the cluster has {}", server,
                           out.servers == 1 ? std::string("server-1")
                                            : fmt::format("server-1..server-{}", out.servers)));
      out.server_versions[server] = r.string(value, server);
    }
  }
  parse_manager_keys(r, f, out);
  if (auto n = f.section("network")) parse_network(r, *n, out.network);
  if (auto n = f.get("timing")) parse_timing(r, *n, registry, out);
  // database.wait_timeout and the timing db_wait_timeout are one setting: a scenario gives one.
  if (wait_timeout_ns) {
    if (out.timing.count("db_wait_timeout"))
      r.fail(*f.section("database"),
             "database.wait_timeout and the timing db_wait_timeout are the same setting: give one");
    out.timing["db_wait_timeout"] = *wait_timeout_ns;
  }
  if (auto n = f.get("mechanisms")) parse_mechanisms(r, *n, registry, out);
  out.redis = redis ? (*redis >= 0 ? *redis : default_redis(out)) : 0;
  // Node names are checked by the SimGrid engine against the world it builds (with a spelling
  // suggestion), host names against the platform file: neither is known here.
  if (auto n = f.get("platform_hosts"))
    for (const auto& [key, value] : r.entries(*n, "platform_hosts"))
      out.platform_hosts[key.Scalar()] =
          PlatformHostSpec{r.string(value, key.Scalar()), r.pos(value), r.pos(key)};
}

namespace {

HealthCheckSpec::Strategy parse_strategy(const Reader& r, const YAML::Node& n) {
  std::string s = r.string(n, "strategy");
  if (s == "recreate") return HealthCheckSpec::Strategy::recreate;
  if (s == "recreateOnQuorum") return HealthCheckSpec::Strategy::recreate_on_quorum;
  if (s == "none") return HealthCheckSpec::Strategy::none;
  r.fail(n, fmt::format("unknown health check strategy '{}' (expected recreate, recreateOnQuorum "
                        "or none){}",
                        s, hint(s, {"recreate", "recreateOnQuorum", "none"})));
}

HealthCheckSpec parse_health_check(const Reader& r, const YAML::Node& node) {
  Fields f(r, node, "health_check", "'health_check'",
           {"interval", "unhealthy_threshold", "healthy_threshold", "response_timeout", "strategy",
            "quorum", "initializing_timeout", "reinitializing_timeout"});
  HealthCheckSpec h;
  if (auto n = f.get("interval")) h.interval_ns = r.duration(*n, "interval", Sign::positive);
  if (auto n = f.get("unhealthy_threshold"))
    h.unhealthy_threshold = static_cast<int>(r.integer_in(*n, "unhealthy_threshold", 1, 1'000'000));
  if (auto n = f.get("healthy_threshold"))
    h.healthy_threshold = static_cast<int>(r.integer_in(*n, "healthy_threshold", 1, 1'000'000));
  if (auto n = f.get("response_timeout"))
    h.response_timeout_ns = r.duration(*n, "response_timeout", Sign::positive);
  if (auto n = f.get("strategy")) h.strategy = parse_strategy(r, *n);
  // Rancher keeps a quorum given with another strategy and ignores it (ServiceDeploymentPlanner
  // reads it only for recreateOnQuorum), so a --set of the strategy alone switches it off.
  if (auto n = f.get("quorum")) h.quorum = static_cast<int>(r.integer_in(*n, "quorum", 1, 100'000));
  if (auto n = f.get("initializing_timeout"))
    h.initializing_timeout_ns = r.duration(*n, "initializing_timeout", Sign::positive);
  if (auto n = f.get("reinitializing_timeout"))
    h.reinitializing_timeout_ns = r.duration(*n, "reinitializing_timeout", Sign::positive);
  return h;
}

// A map of labels (`labels: {zone: a}`): keys and values are strings, as Docker's labels are.
std::map<std::string, std::string> parse_labels(const Reader& r, const YAML::Node& node) {
  std::map<std::string, std::string> labels;
  for (const auto& [key, value] : r.entries(node, "labels")) {
    if (key.Scalar().empty()) r.fail(key, "a label needs a non-empty key");
    labels[key.Scalar()] = r.string(value, key.Scalar());
  }
  return labels;
}

// A port number in 1..65535 from the text `digits`, or 0 when it is not one.
int port_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return 0;
  int v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v <= 65535 ? v : 0;
}

// "PUBLIC:PRIVATE[/tcp|/udp]" or "PRIVATE[/tcp|/udp]", as Rancher's compose files write ports.
PortSpec parse_port(const Reader& r, const YAML::Node& n) {
  std::string text = r.string(n, "ports");
  std::string_view s = text;
  PortSpec p;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    p.protocol = std::string(s.substr(slash + 1));
    s = s.substr(0, slash);
  }
  auto colon = s.find(':');
  bool ok = p.protocol == "tcp" || p.protocol == "udp";
  if (colon == std::string_view::npos) {
    p.private_port = port_number(s);
  } else {
    p.public_port = port_number(s.substr(0, colon));
    p.private_port = port_number(s.substr(colon + 1));
    ok = ok && p.public_port != 0;
  }
  if (!ok || p.private_port == 0)
    r.fail(n, fmt::format("expected a port like \"80:80\", \"8080:80/udp\" or \"80\" for 'ports' "
                          "(numbers 1-65535, protocol tcp or udp), got '{}'",
                          text));
  return p;
}

std::vector<PortSpec> parse_ports(const Reader& r, const YAML::Node& node) {
  std::vector<PortSpec> ports;
  if (node.IsScalar()) {
    ports.push_back(parse_port(r, node));
    return ports;
  }
  if (!node.IsSequence())
    r.fail(node, fmt::format("expected a list for 'ports', got {}", describe(node)));
  for (auto it = node.begin(); it != node.end(); ++it) ports.push_back(parse_port(r, *it));
  return ports;
}

// Each item of a list of STACK-local service names must name a service of `stack`.
void check_local_services(const Reader& r, const YAML::Node& list, const StackSpec& stack,
                          std::string_view where) {
  std::vector<std::string> services;
  for (const ServiceSpec& s : stack.services) services.push_back(s.name);
  auto check = [&](const YAML::Node& item) {
    const std::string& name = item.Scalar();
    for (const std::string& s : services)
      if (s == name) return;
    r.fail(item, fmt::format("unknown service '{}' in {} of stack '{}'{}", name, where, stack.name,
                             hint(name, services)));
  };
  if (list.IsScalar()) {
    check(list);
    return;
  }
  for (auto it = list.begin(); it != list.end(); ++it) check(*it);
}

StackSpec parse_stack(const Reader& r, const YAML::Node& node) {
  Fields f(r, node, "stack", "each stack", {"name", "services", "load_balancer"});
  StackSpec st;
  st.name = r.identifier(f.need("name"), "name");
  std::vector<YAML::Node> link_nodes;
  if (auto list = f.section("services")) {
    if (!list->IsSequence())
      r.fail(*list, fmt::format("expected a list for 'services', got {}", describe(*list)));
    for (auto it = list->begin(); it != list->end(); ++it) {
      Fields s(r, *it, "service", "each service",
               {"name", "scale", "links", "health_check", "labels", "ports"});
      ServiceSpec sv;
      YAML::Node name_node = s.need("name");
      sv.name = r.identifier(name_node, "name");
      for (const ServiceSpec& other : st.services)
        if (other.name == sv.name)
          r.fail(name_node, fmt::format("duplicate service '{}' in stack '{}'", sv.name, st.name));
      if (auto n = s.get("scale"))
        sv.scale = static_cast<int>(r.integer_in(*n, "scale", 0, 100'000));
      if (auto n = s.section("links")) {
        sv.links = r.strings(*n, "links", true);
        link_nodes.push_back(*n);
      }
      if (auto n = s.section("health_check")) sv.health_check = parse_health_check(r, *n);
      if (auto n = s.section("labels")) sv.labels = parse_labels(r, *n);
      if (auto n = s.section("ports")) sv.ports = parse_ports(r, *n);
      st.services.push_back(std::move(sv));
    }
  }
  // Links may point forward in the list, so they are checked once every service is known.
  for (const YAML::Node& links : link_nodes) check_local_services(r, links, st, "links");
  if (auto lb = f.section("load_balancer")) {
    Fields l(r, *lb, "load_balancer", "'load_balancer'", {"name", "targets"});
    LoadBalancerSpec spec;
    YAML::Node name_node = l.need("name");
    spec.name = r.identifier(name_node, "name");
    for (const ServiceSpec& s : st.services)
      if (s.name == spec.name)
        r.fail(name_node, fmt::format("load balancer '{}' has the name of a service of stack '{}'",
                                      spec.name, st.name));
    YAML::Node targets = l.need("targets");
    spec.targets = r.strings(targets, "targets", true);
    if (spec.targets.empty()) r.fail(targets, "a load balancer needs at least one target");
    check_local_services(r, targets, st, "targets");
    st.load_balancer = std::move(spec);
  }
  return st;
}

}  // namespace

void parse_stacks(const Reader& r, const YAML::Node& node, std::vector<StackSpec>& out) {
  if (!node.IsSequence())
    r.fail(node, fmt::format("expected a list for 'stacks', got {}", describe(node)));
  for (auto it = node.begin(); it != node.end(); ++it) {
    StackSpec st = parse_stack(r, *it);
    for (const StackSpec& other : out)
      if (other.name == st.name)
        r.fail(Fields(r, *it, "stack", "each stack", {"name", "services", "load_balancer"})
                   .need("name"),
               fmt::format("duplicate stack '{}'", st.name));
    out.push_back(std::move(st));
  }
}

namespace {

// A workload entry is {client: {target, rate}} or, as an extension, {api: {rate}}.
YAML::Node client_node(const Reader& r, const YAML::Node& item) {
  Fields f(r, item, "workload entry", "each workload entry", {"client", "api"});
  if (auto api = f.get("api")) return *api;
  return f.need("client");
}

bool is_api_entry(const YAML::Node& item) { return item.IsMap() && item["api"]; }

}  // namespace

void parse_workload(const Reader& r, const YAML::Node& node, std::vector<ClientSpec>& out) {
  if (!node.IsSequence())
    r.fail(node, fmt::format("expected a list for 'workload', got {}", describe(node)));
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (is_api_entry(*it)) {
      Fields a(r, client_node(r, *it), "api", "'api'", {"rate"});
      ClientSpec api;
      api.api = true;
      api.target = "api";
      if (auto n = a.get("rate")) api.interval_ns = r.rate_interval(*n, "rate");
      api.pos = r.pos(*it);
      out.push_back(std::move(api));
      continue;
    }
    Fields c(r, client_node(r, *it), "client", "'client'", {"target", "rate"});
    ClientSpec client;
    client.target = r.string(c.need("target"), "target");
    if (auto n = c.get("rate")) client.interval_ns = r.rate_interval(*n, "rate");
    client.pos = r.pos(*it);
    out.push_back(std::move(client));
  }
}

void check_workload(const Reader& r, const YAML::Node& node, const Names& names) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (is_api_entry(*it)) continue;
    YAML::Node target =
        Fields(r, client_node(r, *it), "client", "'client'", {"target", "rate"}).need("target");
    if (auto err = names.check_lb(target.Scalar())) r.fail(target, *err);
  }
}

// `hosts: {agent-K: {labels: {...}}}`: each key an agent of the cluster.
void parse_hosts(const Reader& r, const YAML::Node& node, int agents,
                 std::map<std::string, HostSpec>& out) {
  for (const auto& [key, value] : r.entries(node, "hosts")) {
    const std::string& name = key.Scalar();
    bool known = false;
    for (int a = 1; a <= agents && !known; ++a) known = name == fmt::format("agent-{}", a);
    if (!known) {
      std::vector<std::string> names;
      for (int a = 1; a <= agents && a <= 12; ++a) names.push_back(fmt::format("agent-{}", a));
      std::string near = name.starts_with("agent-") ? "" : suggest(name, names);
      r.fail(key, fmt::format("unknown host '{}' in hosts: the cluster has {}{}", name,
                              agents == 0 ? std::string("no agents")
                                          : fmt::format("agent-1..agent-{}", agents),
                              near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
    }
    Fields h(r, value, "host", "each host", {"labels"});
    HostSpec host;
    if (auto n = h.section("labels")) host.labels = parse_labels(r, *n);
    out[name] = std::move(host);
  }
}

ScenarioSpec parse_tree(const YAML::Node& root, const Reader& r, const Registry& registry) {
  Fields top(r, root, "the scenario", "the scenario",
             {"name", "description", "seed", "duration", "cluster", "stacks", "hosts", "workload",
              "faults", "random_faults", "expect"});
  ScenarioSpec spec;
  spec.name = r.identifier(top.need("name"), "name");
  if (auto n = top.get("description")) spec.description = r.string(*n, "description");
  if (auto n = top.get("seed")) spec.seed = r.unsigned_integer(*n, "seed");
  spec.duration_ns = r.duration(top.need("duration"), "duration", Sign::positive);
  // Sections in dependency order, whatever their order in the file: names come first.
  if (auto n = top.section("cluster"))
    parse_cluster(r, *n, registry, spec.cluster);
  else
    parse_cluster(r, YAML::Node(YAML::NodeType::Map), registry, spec.cluster);
  if (auto n = top.section("stacks")) parse_stacks(r, *n, spec.stacks);
  if (auto n = top.section("hosts")) parse_hosts(r, *n, spec.cluster.agents, spec.hosts);
  if (auto n = top.section("workload")) parse_workload(r, *n, spec.workload);
  Names names(spec);
  if (auto n = top.section("workload")) check_workload(r, *n, names);
  if (auto n = top.section("faults")) parse_faults(r, *n, names, spec);
  if (auto n = top.section("random_faults")) parse_random_faults(r, *n, names, spec);
  if (auto n = top.section("expect")) parse_expect(r, *n, names, registry, spec);
  return spec;
}

}  // namespace stampede::scenario_detail

namespace stampede {

ScenarioSpec parse_scenario(std::string_view yaml_text, const std::string& file,
                            const Registry& registry) {
  return parse_scenario_with_overrides(yaml_text, file, {}, registry);
}

ScenarioSpec load_scenario(const std::string& path, const Registry& registry) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ":1:1: is a directory, not a scenario file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ":1:1: cannot open the file (no such scenario?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path + ":1:1: cannot read the file");
  return parse_scenario(text.str(), path, registry);
}

}  // namespace stampede
