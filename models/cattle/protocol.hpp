#pragma once
// The messages between the Cattle server, the agents, the load balancers and API clients, one
// struct each (sim/core/wire.hpp), numbered 1 to 14 in the cattle block of models/protocols.hpp.
// The server pings agents and pushes configuration; agents answer with their container lists and
// report container events. Containers and hosts travel by name; lists travel as a NamesPayload.
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "models/protocols.hpp"
#include "sim/core/message.hpp"
#include "sim/core/wire.hpp"

namespace stampede::cattle {

// A list of names: container names, or "container@agent" pairs for directories and backends.
class NamesPayload final : public Payload {
 public:
  // Each name is hashed once, here: a payload is digested at every delivery, and some are sent
  // many times (a balancer's request body, a directory pushed to every agent).
  explicit NamesPayload(std::vector<std::string> names_in) : names(std::move(names_in)) {
    hashes_.reserve(names.size());
    for (const std::string& n : names) hashes_.push_back(hash_bytes(n));
  }
  void digest_into(Digest& d) const override {
    // The same as adding each name (Digest::add of a string adds its hash_bytes).
    d.add(static_cast<std::uint64_t>(names.size()));
    for (std::uint64_t h : hashes_) d.add(h);
  }
  const std::vector<std::string> names;

 private:
  boost::container::small_vector<std::uint64_t, 2> hashes_;
};

inline std::shared_ptr<const NamesPayload> make_names(std::vector<std::string> names) {
  return std::make_shared<const NamesPayload>(std::move(names));
}

// The names a body carries (empty when there is none).
inline const std::vector<std::string>& names_of(const std::shared_ptr<const NamesPayload>& body) {
  static const std::vector<std::string> none;
  return body == nullptr ? none : body->names;
}

// "wordpress/web/1@agent-2" -> {"wordpress/web/1", "agent-2"}.
struct Placement {
  std::string container;
  std::string agent;
};
inline Placement split_placement(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos) return {std::string(s), ""};
  return {std::string(s.substr(0, at)), std::string(s.substr(at + 1))};
}

// "wordpress/web/1" -> "wordpress/web".
inline std::string service_of(std::string_view container) {
  auto slash = container.rfind('/');
  return std::string(slash == std::string_view::npos ? container : container.substr(0, slash));
}


inline constexpr ProtocolRange k_protocol = protocols::k_cattle;

// HTTP statuses of ApiResponse.
inline constexpr std::int64_t k_http_ok = 200;
inline constexpr std::int64_t k_http_unavailable = 503;
inline constexpr std::int64_t k_http_server_error = 500;

// Kinds of ContainerEvent.
enum ContainerEventKind : std::int64_t { event_started = 1, event_stopped = 2, event_died = 3 };

// server -> agent: are you there? (round `seq` of the ping monitor). `instances` asks for the
// container list in the reply (cattle's Ping.INSTANCES option, set on every
// agent.ping.instances.every-th round).
struct Ping {
  static constexpr std::uint32_t k_type = k_protocol.type(0);
  static constexpr std::string_view k_name = "ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t seq = 0;
  bool instances = false;
  STAMPEDE_FIELDS(seq, instances)
};

// agent -> server: the answer to Ping `seq`, with the running containers when the ping asked for
// them and the agent resyncs.
struct Pong {
  static constexpr std::uint32_t k_type = k_protocol.type(1);
  static constexpr std::string_view k_name = "pong";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t seq = 0;
  bool lists_containers = false;
  std::shared_ptr<const NamesPayload> containers;
  STAMPEDE_FIELDS(seq, lists_containers, containers)
  bool valid() const { return lists_containers == (containers != nullptr); }
};

// server -> agent: start the container of process instance `instance`, body [container].
struct StartContainer {
  static constexpr std::uint32_t k_type = k_protocol.type(2);
  static constexpr std::string_view k_name = "start_container";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t instance = 0;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(instance, container)
};

// server -> agent: stop the container of `instance`, body [container].
struct StopContainer {
  static constexpr std::uint32_t k_type = k_protocol.type(3);
  static constexpr std::string_view k_name = "stop_container";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t instance = 0;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(instance, container)
};

// agent -> server: a container of `instance` (0 if unknown) started, stopped or died.
struct ContainerEvent {
  static constexpr std::uint32_t k_type = k_protocol.type(4);
  static constexpr std::string_view k_name = "container_event";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t instance = 0;
  ContainerEventKind kind = event_started;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(instance, kind, container)
};

// server -> agent: whether the overlay exists, and the directory (container@agent).
struct NetworkConfig {
  static constexpr std::uint32_t k_type = k_protocol.type(5);
  static constexpr std::string_view k_name = "network_config";
  static constexpr std::uint32_t k_size_bytes = 512;
  std::int64_t unused = 0;  // a: always 0 (the flag has always travelled in b)
  bool overlay = false;
  std::shared_ptr<const NamesPayload> directory;
  STAMPEDE_FIELDS(unused, overlay, directory)
  bool valid() const { return unused == 0; }
};

// server -> load balancer: its backends (container@agent).
struct LbConfig {
  static constexpr std::uint32_t k_type = k_protocol.type(6);
  static constexpr std::string_view k_name = "lb_config";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::shared_ptr<const NamesPayload> backends;
  STAMPEDE_FIELDS(backends)
};

// agent -> server on (re)connect, with the running containers when the agent resyncs.
struct Hello {
  static constexpr std::uint32_t k_type = k_protocol.type(7);
  static constexpr std::string_view k_name = "hello";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t unused = 0;  // a: always 0 (the flag has always travelled in b)
  bool lists_containers = false;
  std::shared_ptr<const NamesPayload> containers;
  STAMPEDE_FIELDS(unused, lists_containers, containers)
  bool valid() const { return unused == 0 && lists_containers == (containers != nullptr); }
};

// server -> agent: the answer to Hello.
struct Welcome {
  static constexpr std::uint32_t k_type = k_protocol.type(8);
  static constexpr std::string_view k_name = "welcome";
  static constexpr std::uint32_t k_size_bytes = 64;
  STAMPEDE_FIELDS()
};

// API client -> server: GET /v1/services, attempt `request`.
struct ApiRequest {
  static constexpr std::uint32_t k_type = k_protocol.type(9);
  static constexpr std::string_view k_name = "api_request";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t request = 0;
  STAMPEDE_FIELDS(request)
};

// server -> API client: the answer to `request`: an HTTP status and the number of services.
struct ApiResponse {
  static constexpr std::uint32_t k_type = k_protocol.type(10);
  static constexpr std::string_view k_name = "api_response";
  static constexpr std::uint32_t k_size_bytes = 1024;
  std::int64_t request = 0;
  std::int64_t status = k_http_ok;
  std::int64_t services = 0;
  STAMPEDE_FIELDS(request, status, services)
};

// Health checks (models/cattle/healthcheck.hpp). server -> agent: every container this host
// checks, as "INSTANCE:CONTAINER@AGENT" entries (the instance's row id, its container, the host
// it runs on): Cattle's healthcheck config item, which the host's network agent turns into its
// HAProxy configuration (rancher/cattle v0.165.8 resources/content/config-content/healthcheck/
// content/etc/healthcheck/healthcheck.cfg.ftl lines 26-38). The whole list each time.
struct HealthcheckConfig {
  static constexpr std::uint32_t k_type = k_protocol.type(11);
  static constexpr std::string_view k_name = "healthcheck_config";
  static constexpr std::uint32_t k_size_bytes = 1024;
  std::shared_ptr<const NamesPayload> entries;
  STAMPEDE_FIELDS(entries)
};

// One entry of a HealthcheckConfig, "INSTANCE:CONTAINER@AGENT", and back.
inline std::string health_entry(std::int64_t instance, std::string_view container,
                                std::string_view agent) {
  return std::to_string(instance) + ":" + std::string(container) + "@" + std::string(agent);
}
struct HealthEntry {
  std::int64_t instance = 0;
  std::string container;
  std::string agent;
};
inline std::optional<HealthEntry> parse_health_entry(std::string_view entry) {
  auto colon = entry.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  HealthEntry e;
  for (char c : entry.substr(0, colon)) {
    if (c < '0' || c > '9') return std::nullopt;
    e.instance = e.instance * 10 + (c - '0');
  }
  Placement p = split_placement(entry.substr(colon + 1));
  e.container = std::move(p.container);
  e.agent = std::move(p.agent);
  return e;
}

// Kinds of HealthReport: HAProxy's UP and DOWN (rancher/cattle v0.165.8 code/iaas/healthcheck/
// src/main/java/io/cattle/iaas/healthcheck/process/ServiceEventCreate.java lines 47-56).
enum HealthReportKind : std::int64_t { report_up = 1, report_down = 2 };

// agent -> server, through the API: a checker's view of `instance` changed (a serviceEvent).
struct HealthReport {
  static constexpr std::uint32_t k_type = k_protocol.type(12);
  static constexpr std::string_view k_name = "health_report";
  static constexpr std::uint32_t k_size_bytes = 256;
  std::int64_t instance = 0;
  std::int64_t kind = report_up;
  STAMPEDE_FIELDS(instance, kind)
};

// server -> agent: compute.instance.deactivate, the stop of a service's container that the
// server's process waits on (mechanism cattle_stop_waits_reply, process_defs.cpp), body
// [container]. The agent always answers, with a ContainerEvent of kind event_stopped, also when
// it no longer has the instance's container (models/agent/agent.cpp).
struct DeactivateContainer {
  static constexpr std::uint32_t k_type = k_protocol.type(13);
  static constexpr std::string_view k_name = "deactivate_container";
  static constexpr std::uint32_t k_size_bytes = 128;
  std::int64_t instance = 0;
  std::shared_ptr<const NamesPayload> container;
  STAMPEDE_FIELDS(instance, container)
};

// server -> agent, HA with cattle_agent_events_over_redis: the ping the server's subscription
// handler writes on an agent's websocket every api.sub.ping.interval.millis (5000, rancher/
// cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/cattle/api-server/
// defaults.properties:1), whatever the event bus does (NonBlockingSubscriptionHandler.java
// lines 157 and 170-182, code/framework/api-pub-sub/src/main/java/io/cattle/platform/api/pubsub/
// subscribe/). It tells the agent its socket lives; it is not the ping monitor's Ping.
struct SocketPing {
  static constexpr std::uint32_t k_type = k_protocol.type(14);
  static constexpr std::string_view k_name = "socket_ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  STAMPEDE_FIELDS()
};

static_assert(Ping::k_type == 1 && ApiResponse::k_type == 11,
              "the Cattle protocol's numbers are those of every recorded trace");

// The name of a message of this protocol, or "" when the type is not one of these.
std::string_view message_type_name(std::uint32_t type);

}  // namespace stampede::cattle
