#pragma once
// SimGrid platforms for the SimGrid engine: one built from the scenario (a star of one host per
// node), or a user's platform file (SimGrid XML v4.1) with a map from node names to host names;
// and the state of the platform's links, kept in step with stampede's Network so that a
// partition turns off the links that only cut traffic crosses.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/message.hpp"
#include "sim/core/spec.hpp"
#include "sim/net/network.hpp"

namespace simgrid::s4u {
class Host;
class Link;
}  // namespace simgrid::s4u

namespace stampede::sg {

// 1 Gbps on every host link of a built platform, in bytes per second.
inline constexpr double k_default_bandwidth_bytes_per_s = 125e6;
inline constexpr const char* k_controller_host = "stampede-controller";

struct HostMapEntry {
  std::string host;
  SourcePos pos;      // where the host name was written, for errors
  SourcePos key_pos;  // where the node name was written
};

struct PlatformOptions {
  std::optional<std::string> file;  // --platform FILE.xml; none: built from the scenario
  // Node name -> host name, for file platforms. A node that is not mapped runs on the host of
  // its own name.
  std::map<std::string, HostMapEntry> hosts;
  std::string hosts_file;  // where `hosts` came from ("" when nowhere)
  double bandwidth_bytes_per_s = k_default_bandwidth_bytes_per_s;
};

// The side channel for the node-to-host map until scenarios carry `cluster.platform_hosts`:
// FILE.hosts.yaml next to FILE.xml, holding `hosts: {NODE: HOST, ...}`. Absent file: no map.
std::string host_map_path(const std::string& platform_file);
// Reads it into `opts` (when it exists). Throws InputError "PATH:LINE:COL: message".
void read_host_map(PlatformOptions& opts);

// Loads a platform file into the current s4u::Engine. Throws InputError: "FILE:LINE:1: message"
// for a parse error SimGrid locates, "--platform FILE: message" otherwise.
void load_platform_file(const std::string& file);
// Builds the default platform: a star zone with one host per node, each joined to the centre by
// a split-duplex link of half the scenario's latency (so host to host is the whole latency) and
// the given bandwidth. The latency is the fixed value, the midpoint of min-max or the mean.
// Returns the controller's host: one more host of the star, joined to nothing.
simgrid::s4u::Host* build_star_platform(const std::vector<std::string>& node_names,
                                        const NetworkSpec& net,
                                        double bandwidth_bytes_per_s);
// A host in a zone of its own, joined to nothing, for the controller actor next to a platform
// file: no crash of a node's host can take it down.
simgrid::s4u::Host* add_controller_host();
// The host a node runs on: its mapped host or the host of its own name. Throws InputError.
simgrid::s4u::Host* resolve_host(const PlatformOptions& opts, const std::string& node_name);
// Every entry of the map must name a node of the scenario, or have the shape of a node name
// (agent-7, client-12, STACK/LB): another scenario on the same platform may have it. Throws
// InputError on anything else, a likely typo.
void check_host_map(const PlatformOptions& opts, const std::vector<std::string>& node_names);

// Every pair of the nodes' hosts must be joined by a route. SimGrid 3.32 dereferences a missing
// route between two zones (a Full zone with no zoneRoute at all indexes an empty routing table;
// one with some has null gateways), so the routes are first asked for in a forked child: its
// crash becomes InputError "--platform FILE: SimGrid finds no route from host A ... to host B",
// and this process never asks the question that kills it.
void check_routes(const std::string& file, const std::vector<simgrid::s4u::Host*>& host_of_node);

DurationNs representative_latency_ns(const LatencySpec& l);

// Keeps each link of the routes between nodes on exactly when some pair of nodes that are still
// reachable (stampede's Network decides) routes over it. A link that only cut traffic uses goes
// off, so SimGrid fails what is in flight over it, as the kernel drops it.
class LinkStates {
 public:
  explicit LinkStates(std::vector<simgrid::s4u::Host*> host_of_node);
  void sync(const Network& net);
  std::size_t links_off() const;

 private:
  struct Use {
    simgrid::s4u::Link* link = nullptr;
    std::vector<std::pair<NodeId, NodeId>> pairs;  // ordered pairs routed over it
  };
  std::vector<Use> uses_;  // in order of first use, pair by pair in id order
};

}  // namespace stampede::sg
