#pragma once
// The scenario as a plain value: what sim/scenario parses from YAML and what models build their
// nodes from. Data only; the meaning of each field is fixed by docs/scenario-contract.md and the
// extensions of docs/scenarios.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/time.hpp"

namespace stampede {

// Where a value came from in the scenario file, for one-line errors.
struct SourcePos {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int col = 0;
};

struct LatencySpec {
  enum class Kind { fixed, uniform, exponential };
  Kind kind = Kind::fixed;
  DurationNs fixed_ns = 2 * k_ms;
  DurationNs min_ns = 0;
  DurationNs max_ns = 0;
  DurationNs mean_ns = 0;
};

struct NetworkSpec {
  LatencySpec latency;
  double drop = 0.0;
  double duplicate = 0.0;
};

struct DatabaseSpec {
  bool external = false;
  int max_connections = 151;  // MySQL's default max_connections
  int pool_per_server = 50;
};

// A service's health check: what the balancer in front of it checks, and Rancher's health-check
// service (models/cattle/healthcheck.hpp: up to 3 other hosts check each container and the
// service replaces one they all find unhealthy, as `strategy` says). The defaults and their
// sources are in docs/scenarios.md.
struct HealthCheckSpec {
  enum class Strategy : std::uint8_t { recreate, recreate_on_quorum, none };
  DurationNs interval_ns = 2 * k_s;
  int unhealthy_threshold = 3;
  int healthy_threshold = 2;
  // Extension (Rancher's health checks). 0: unset. A check without an answer in time has failed;
  // unset, HAProxy times it out after `interval`.
  DurationNs response_timeout_ns = 0;
  Strategy strategy = Strategy::recreate;
  int quorum = 1;  // recreateOnQuorum: the healthy containers the service needs to recreate any
  // How long a container may stay initializing (after its first start) or reinitializing (after
  // a restart) before it is removed; 0: unset, never.
  DurationNs initializing_timeout_ns = 0;
  DurationNs reinitializing_timeout_ns = 0;
};

// A port a service publishes on its hosts ("80:80", "8080:80/udp"; extension). Only a public
// (host) port can conflict: Cattle's allocator puts no two containers that publish the same
// public port and protocol on one host (models/cattle/allocator.hpp).
struct PortSpec {
  int public_port = 0;  // 0: none ("80" publishes only the container's port)
  int private_port = 0;
  std::string protocol = "tcp";
};

struct ServiceSpec {
  std::string name;
  int scale = 1;
  std::vector<std::string> links;  // services of the same stack this one needs
  std::optional<HealthCheckSpec> health_check;
  // Extension: the service's container labels, among them Rancher's scheduling labels
  // (io.rancher.scheduler.affinity:*, models/cattle/allocator.hpp), and its published ports.
  std::map<std::string, std::string> labels;
  std::vector<PortSpec> ports;
};

struct LoadBalancerSpec {
  std::string name;
  std::vector<std::string> targets;  // services of the same stack
};

struct StackSpec {
  std::string name;
  std::vector<ServiceSpec> services;
  std::optional<LoadBalancerSpec> load_balancer;
};

struct ClientSpec {
  std::string target;              // STACK/LB, or "api" for an API client
  DurationNs interval_ns = k_s;    // one request every interval (rate 20/s = 50ms)
  // Extension: `- api: {rate: R}`, a client of the servers' API through the DNS name that
  // resolves to every server (round robin); its target is "api".
  bool api = false;
  SourcePos pos;
};

// Where a node runs on a SimGrid platform file (`cluster.platform_hosts`, used with --platform).
struct PlatformHostSpec {
  std::string host;
  SourcePos pos;      // of the host name
  SourcePos key_pos;  // of the node name
};

struct ClusterSpec {
  int servers = 1;
  // HA mode (extension): the CLUSTER_SIZE every cluster manager is configured with
  // (CATTLE_HA_CLUSTER_SIZE, rancher/cattle v0.165.8 resources/content/haconfig/script.ftl line
  // 16). 0 means `servers`; a smaller value makes server-(K > cluster_size) hosts added to a
  // cluster of that size, which the managers give an index only when one is free.
  int cluster_size = 0;
  std::string version = "1.1.1";
  std::map<std::string, std::string> server_versions;
  DatabaseSpec database;
  int zookeeper = 0;
  // The Redis servers redis-1..redis (0: none). `redis: true` in a scenario is HA's default: one
  // per cluster slot (cluster_size, else servers), as rancher/cluster-manager v0.1.5 starts one
  // Redis per slot (config/config.go RedisHosts, lines 156-162); one when the mechanism
  // cattle_redis_per_node is off.
  int redis = 0;
  int agents = 2;
  NetworkSpec network;
  std::map<std::string, std::int64_t> timing;   // overrides, by registered name
  std::map<std::string, bool> mechanisms;       // switches, by registered name (extension)
  std::map<std::string, PlatformHostSpec> platform_hosts;  // node -> SimGrid host (extension)
  // HA mode (extension): the address each cluster manager pings its local server through; empty
  // means the Docker bridge gateway the server really listens on (docs/field-notes.md,
  // observation 8).
  std::string bridge_address;
  std::map<std::string, std::string> server_bridge_addresses;  // server-K -> address
  // Servers whose disk holds state files from an earlier attempt (observation 9).
  std::vector<std::string> leftover_state;
  // HA mode (extension): the memory of every server node, and per-server overrides, in MiB. 0
  // means the node's memory is not modelled (the default, so no scenario that leaves the key out
  // changes), docs/field-notes.md observation 10.
  std::int64_t server_memory_mib = 0;
  std::map<std::string, std::int64_t> server_memories_mib;  // server-K -> MiB
};

enum class FaultKind {
  crash,
  restart,
  power_off,        // the host loses power: the process dies without closing its connections
  power_on,
  pause,
  partition,        // groups that cannot reach each other (both directions)
  partition_oneway, // messages from `groups[0]` to `groups[1]` are lost; the reverse flows
  heal,
  clock_skew,
  kill_container,
  truncate,
  clean_state,      // HA: removes `node`'s leftover state files (extension)
};

struct FaultSpec {
  TimeNs at_ns = 0;
  FaultKind kind = FaultKind::crash;
  std::string node;  // crash, restart, power_off/on, pause, clock_skew (a pattern); clean_state
  std::vector<std::vector<std::string>> groups;  // partition: node names or patterns
  std::string container;                         // kill_container
  std::vector<std::string> tables;               // truncate
  DurationNs for_ns = 0;                         // pause
  DurationNs skew_ns = 0;                        // clock_skew, may be negative
  SourcePos pos;
};

// How a random failure takes a node down: its process dies (peers read `closed`), or its host
// loses power (silent; peers learn by their own timeouts). It comes back by restart or power on.
enum class RandomFailureHow : std::uint8_t { crash, power_off };

struct RandomCrashSpec {
  std::string targets;  // a pattern
  DurationNs mttf_ns = 0;
  DurationNs mttr_ns = 0;
  RandomFailureHow how = RandomFailureHow::crash;  // extension (list form only)
};

struct RandomPartitionSpec {
  DurationNs mtbf_ns = 0;
  DurationNs duration_ns = 0;
};

struct RandomFaultsSpec {
  // The contract's form, `crash: {targets, mttf, mttr}`: its draws come from the Chooser's
  // fault stream, shared with the random partitions.
  std::optional<RandomCrashSpec> crash;
  // Extension, `crash: [{targets, mttf, mttr, how}, ...]`: one entry per class of targets, and
  // every node of a class draws its failures from its own named stream (docs/scenarios.md).
  std::vector<RandomCrashSpec> crash_classes;
  std::optional<RandomPartitionSpec> partition;
  bool any() const { return crash || !crash_classes.empty() || partition; }
};

// What an expectation asserts.
enum class ExpectWhat {
  host_state,    // the server's view of a host: text = host, value = state name
  running,       // running containers of text = STACK/SERVICE, count
  availability,  // fraction of requests to text = STACK/LB that succeeded
  log,           // a log line of a node (pattern) containing a string
  event,         // a structured event of a node (pattern) by name, with given field values
  eventually,    // a named signal happened
  invariant,     // a named invariant held after every step
};

enum class ExpectForm { at, during, by, always };

struct ExpectSpec {
  ExpectForm form = ExpectForm::at;
  ExpectWhat what = ExpectWhat::running;
  TimeNs at_ns = 0;    // at, by
  TimeNs from_ns = 0;  // during
  TimeNs to_ns = 0;
  std::string subject;   // host, service, target, node pattern, signal or invariant name
  std::string value;     // host state name; log text; event name
  std::vector<std::pair<std::string, std::string>> where;  // event: field values to match
  std::int64_t count = 0;        // running
  std::optional<double> at_least;  // availability
  std::optional<double> at_most;   // availability (extension)
  bool negated = false;  // `never:` rather than `always:` (same check, see docs/scenarios.md)
  std::string text;      // the expectation as written, for reports
  SourcePos pos;
};

// What the scenario says of one agent's host (extension, top-level `hosts:`): the labels its
// agent registers with, which the allocator's host_label affinity reads.
struct HostSpec {
  std::map<std::string, std::string> labels;
};

struct ScenarioSpec {
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  DurationNs duration_ns = 0;
  ClusterSpec cluster;
  std::vector<StackSpec> stacks;
  std::map<std::string, HostSpec> hosts;  // agent-K -> its host (extension)
  std::vector<ClientSpec> workload;
  std::vector<FaultSpec> faults;
  RandomFaultsSpec random_faults;
  std::vector<ExpectSpec> expect;
  std::string source_file;  // for error messages
  std::string source_text;  // the YAML as read, embedded in traces
};

// The host states of the server's view, as `host_state` probes return them.
enum class HostStateCode : std::int64_t { active = 0, reconnecting = 1, disconnected = 2 };

// Matches a node name against a pattern: an exact name, "group-*", or "all".
bool name_matches(std::string_view pattern, std::string_view name);

}  // namespace stampede
