#pragma once
// The Rancher agent on one host: runs the containers the server asks for, answers the server's
// pings with its container list, reports container events, keeps its containers running while
// the server is unreachable (it never restarts a dead container by itself), reconnects, and holds
// the host's end of the overlay network. The app's containers run here too: a web container
// answers a request by querying its linked db container over the overlay.
//
// Rancher 1.1's agent (rancher/python-agent v0.85.1, the agent.package.python.agent.url of
// cattle v0.165.8's resources/content/cattle-global.properties) holds one websocket to the
// server's /v1/subscribe, and the server's pings travel on it. When that socket closes, or a
// connect to it is refused, ws.run_forever returns and the process exits (cattle/agent/event.py
// lines 219-235; bootstrap.sh execs it, cattle v0.165.8 resources/content/config-content/
// bootstrap/bootstrap.sh line 71); the agent container's loop starts it again 5 s later
// (rancher/rancher v1.1.2 agent/run.sh lines 313-319: `run_bootstrap || true; sleep 5`), against
// CATTLE_URL again. So the agent learns at once of a server process that died
// (on_connection), and only by its own timeout of a server that lost power or was cut off.
//
// Docker's events do not travel on that socket: the host's host-api (rancher/host-api v0.34.0,
// the agent.package.host.api.url of cattle v0.165.8 resources/content/cattle-global.properties
// line 16) watches them and posts each as a containerEvent through Cattle's API, CATTLE_URL
// (events/send_to_rancher_handler.go lines 38-50). So a container's death reaches whichever
// server the API's DNS name resolves to, whether or not the agent's socket is up.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/app/http.hpp"
#include "models/cattle/protocol.hpp"
#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"
#include "sim/core/timer_tag.hpp"

namespace stampede::agent {

// A service of the scenario with its desired scale, for the invariants that count containers.
struct ServiceScale {
  std::string service;  // STACK/SERVICE
  int scale = 0;
  std::vector<PortSpec> ports;  // the ports its containers publish (host.port_conflict)
};

struct AgentConfig {
  std::string server = "server-1";
  // HA mode: every server, in order. The agent follows whichever server pings it (the one whose
  // partition holds its host) and, when it has heard from none for agent_connection_timeout,
  // tries the next one with each reconnect attempt. Empty in single mode.
  std::vector<std::string> servers;
  // HA with Redis: with cattle_agent_events_over_redis the servers' pings come over the bus,
  // through the server holding the agent's socket.
  bool redis_bus = false;
  // STACK/SERVICE -> the STACK/SERVICE names it links to (a web container needs its db).
  // Transparent: every web request finds its service here by a view of its container's name.
  std::map<std::string, std::vector<std::string>, std::less<>> links;
  std::shared_ptr<const std::vector<ServiceScale>> catalog;
  // STACK/SERVICE -> its health check, for the checks this host runs for the server
  // (healthcheck.cpp).
  std::map<std::string, HealthCheckSpec> health_checks;
};

// The agent's timers: the kind in the top byte, as they have always been.
struct ConnectionCheck {  // has the server been heard from lately?
  static constexpr TimerKind k_kind{8, 1};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};
struct HelloTimer {  // the next reconnect attempt
  static constexpr TimerKind k_kind{8, 2};
  static constexpr std::array<unsigned, 0> k_bits{};
  STAMPEDE_FIELDS()
};
struct StartedTimer {  // the container of start `token` is up
  static constexpr TimerKind k_kind{8, 3};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::uint64_t token = 0;
  STAMPEDE_FIELDS(token)
};
struct QueryTimer {  // the db query `query` had no answer in time
  static constexpr TimerKind k_kind{8, 4};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::int64_t query = 0;
  STAMPEDE_FIELDS(query)
};

// Health checks (healthcheck.cpp): the next check of a container is due; a check had no answer
// in time.
struct HealthTick {
  static constexpr TimerKind k_kind{8, 5};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::int64_t instance = 0;
  STAMPEDE_FIELDS(instance)
};
// The check is named by its sequence number alone: an HA instance id takes 56 bits (its server's
// index from bit 40 up, models/cattle/timers.hpp), too many to share a tag with a sequence number.
struct HealthTimeout {
  static constexpr TimerKind k_kind{8, 6};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::uint64_t seq = 0;  // the check
  STAMPEDE_FIELDS(seq)
};

// HAProxy's view of one container it checks for the server.
struct HealthTarget {
  enum class View : std::uint8_t { init, up, down } view = View::init;
  std::string container;
  std::string agent;    // the host it runs on
  int successes = 0;    // in a row
  int failures = 0;     // in a row
  std::uint64_t in_flight = 0;  // the check awaiting its answer (0: none)
  Untracked<TimerId> timer;     // the next check, or the one in flight's timeout
  STAMPEDE_FIELDS(view, container, agent, successes, failures, in_flight, timer)
};

// The containers this host checks, by instance id. Digested only when it has ever checked one, so
// that a run without health checks keeps its digest.
class HealthTargets {
 public:
  std::map<std::int64_t, HealthTarget> targets;
  std::uint64_t next_seq = 0;
  // HA: the reports posted so far. The health-check process posts through the API's DNS name on
  // its own, apart from host-api's container events (durable api_posts), so the two rotate
  // independently; digested only once it has posted, so that single mode keeps its digests.
  std::uint64_t posts = 0;
  void digest_into(Digest& d) const {
    if (targets.empty() && next_seq == 0) return;
    state::add(d, targets);
    d.add(next_seq);
    if (posts != 0) d.add(posts);
  }
  void perturb_for_test() { ++next_seq; }
};

class Agent final : public Node {
 public:
  explicit Agent(AgentConfig config);

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override;
  void on_crash() override;
  bool on_fault(Ctx& ctx, const ModelFault& fault) override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
  std::string_view message_name(std::uint32_t type) const override;
  std::unique_ptr<Node> clone() const override { return std::make_unique<Agent>(*this); }
  std::size_t state_field_count() const override {
    return state::field_total(durable_, volatile_);
  }
  std::string perturb_state_field(std::size_t i) override {
    return state::perturb_field(i, durable_, volatile_);
  }

  // Running containers of a service (STACK/SERVICE) on this host.
  int running(std::string_view service) const;
  // The same count for the service at position `i` of catalog(): what the census asks after
  // every agent step, without a look-up by name.
  int running_at(std::size_t i) const {
    const std::vector<int>& counts = volatile_.running_by_catalog;
    return i < counts.size() ? counts[i] : 0;
  }
  // Running containers of a service that have been running since `before_ns` or earlier.
  int running_since(std::string_view service, TimeNs before_ns) const;
  // scale_exceeded_grace, read at start.
  DurationNs scale_grace_ns() const { return cfg_.scale_grace_ns; }
  bool is_running(std::string_view container) const;
  // Two running containers of this host that publish one public port and protocol, described,
  // or nullopt. Docker would refuse the second bind; the model's agent does not look at ports,
  // so the invariant host.port_conflict asks this instead.
  std::optional<std::string> port_conflict() const;
  bool overlay_up() const { return volatile_.overlay_up; }
  bool connected() const { return volatile_.connected; }
  const std::vector<ServiceScale>& catalog() const;

 private:
  struct Container {
    bool running = false;  // false while starting
    std::int64_t instance = 0;
    std::uint64_t start_token = 0;
    NodeId requester = k_no_node;  // the server that asked for the start hears that it started
    // When it started running (the agent's clock). Not digested: it only feeds the grace window
    // of service.scale_exceeded, a checking parameter, and the start time is in the trace's
    // steps already.
    Untracked<TimeNs> running_since_ns = 0;
    STAMPEDE_FIELDS(running, instance, start_token, requester, running_since_ns)
  };
  struct PendingQuery {
    NodeId lb = k_no_node;
    std::int64_t lb_request = 0;
    Untracked<TimerId> timer;
    STAMPEDE_FIELDS(lb, lb_request, timer)
  };
  // Where the last request's db query went: the linked container, its agent, that agent's id
  // and the query's body. Every web request asks the directory the same question between two
  // configuration pushes, so the look-up and the body are kept while the answer stays the same
  // (a cache, derived from the directory: untracked).
  struct DbRoute {
    std::string container;
    std::string agent;
    NodeId peer = k_no_node;
    std::shared_ptr<const cattle::NamesPayload> body;
    // The question the last look-up answered (the linked service, at which build of the
    // directory) and its answer: found or not, and whether the container is this host's own.
    // While both stay the same, a request skips the search and the string compares.
    std::string linked;
    std::uint64_t directory_build = 0;
    bool found = false;
    bool local = false;
  };
  // What survives a crash of the host. These are counters that have always been kept across a
  // crash (the host's containers and connection are not): keeping them keeps every recorded
  // trace's steps.
  struct Durable {
    std::uint64_t next_token = 1;
    std::int64_t next_query = 1;
    std::uint64_t api_posts = 0;  // host-api's posts so far: the DNS round robin's position
    STAMPEDE_FIELDS(next_token, next_query, api_posts)
  };
  struct ServiceCount {
    std::string service;  // STACK/SERVICE
    int running = 0;
  };
  // What a crash of the host loses: its containers, its end of the overlay, its connection.
  struct Volatile {
    NodeId server = k_no_node;     // set again at every start
    std::size_t server_index = 0;  // HA: the position of server in config_.servers
    // The transparent comparator finds a container by a message's name without copying it.
    std::map<std::string, Container, std::less<>> containers;
    // Running containers per service, in service order: derived from `containers`, kept for
    // the invariants. A short list searched by length first: the convergence check's `running`
    // probe asks after most agent steps, and a string map's look-up was two out-of-line
    // compares per level (bench/RESULTS.md, session 27).
    Untracked<std::vector<ServiceCount>> running_by_service;
    Untracked<std::vector<int>> running_by_catalog;  // the same, by position in catalog()
    std::map<std::uint64_t, std::string> starting;  // start token -> container
    bool overlay_up = false;
    std::map<std::string, std::string> directory;  // container -> agent, from the server's push
    // The push `directory` was built from (null: none since the start). The server sends the
    // same directory to every agent at every ping round, and rebuilding the map each time was a
    // string map's allocation and destruction per push (issue 15); a push whose names equal
    // these leaves the map as it is. Derived from `directory`'s history, so not digested.
    Untracked<std::shared_ptr<const cattle::NamesPayload>> directory_from;
    // How many times `directory` was built since the start (1 after the first push): DbRoute's
    // answer holds while this stays the same.
    Untracked<std::uint64_t> directory_builds;
    bool connected = false;
    bool retry_pending = false;  // a HelloTimer (the next reconnect attempt) is set
    TimeNs last_contact_ns = 0;
    std::map<std::int64_t, PendingQuery> queries;  // one per web request in flight
    Untracked<DbRoute> db_route;
    HealthTargets health;  // the network agent's HAProxy checks
    STAMPEDE_FIELDS(server, server_index, containers, running_by_service, running_by_catalog,
                    starting, overlay_up, directory, directory_from, directory_builds, connected,
                    retry_pending, last_contact_ns, queries, db_route, health)
  };
  // Read at start (the same on every start: not state).
  struct Config {
    SeriesId containers_started = 0;
    DurationNs scale_grace_ns = 0;
    DurationNs connection_timeout_ns = 0;
    DurationNs reconnect_delay_ns = 0;
    DurationNs container_start_delay_ns = 0;
    DurationNs db_query_timeout_ns = 0;
    bool resync = true;
    bool connection_events = true;  // mechanism agent_connection_events
    bool host_api_events = true;    // mechanism host_api_events
    // HA with cattle_agent_events_over_redis: pings come over the socket's server only.
    bool events_bus = false;
    // HA with cattle_agent_commands_over_redis too: the container commands come over it as well.
    bool commands_bus = false;
    bool loaded = false;
  };

  void on(Ctx& ctx, NodeId from, const cattle::Ping& m);
  void on(Ctx& ctx, NodeId from, const cattle::Welcome& m);
  void on(Ctx& ctx, NodeId from, const cattle::SocketPing& m);
  void on(Ctx& ctx, NodeId from, const cattle::StartContainer& m);
  void on(Ctx& ctx, NodeId from, const cattle::StopContainer& m);
  void on(Ctx& ctx, NodeId from, const cattle::DeactivateContainer& m);
  void on(Ctx& ctx, NodeId from, const cattle::NetworkConfig& m);
  void on(Ctx& ctx, NodeId lb, const app::BackendRequest& m);
  void on(Ctx& ctx, NodeId from, const app::DbQuery& m);
  void on(Ctx& ctx, NodeId from, const app::DbReply& m);
  void on(Ctx& ctx, NodeId from, const app::HealthCheck& m);
  // Health checks of other hosts' containers (healthcheck.cpp).
  void on(Ctx& ctx, NodeId from, const cattle::HealthcheckConfig& m);
  void on(Ctx& ctx, NodeId from, const app::HealthReply& m);
  void on(Ctx& ctx, const HealthTick& t);
  void on(Ctx& ctx, const HealthTimeout& t);
  void health_result(Ctx& ctx, std::int64_t instance, bool ok);
  const HealthCheckSpec* health_spec(std::string_view container) const;
  void post_health_report(Ctx& ctx, const cattle::HealthReport& report);
  void on(Ctx& ctx, const ConnectionCheck& t);
  void on(Ctx& ctx, const HelloTimer& t);
  void on(Ctx& ctx, const StartedTimer& t);
  void on(Ctx& ctx, const QueryTimer& t);
  void start_container(Ctx& ctx, NodeId requester, const std::string& name,
                       std::int64_t instance);
  void mark_connected(Ctx& ctx);
  // Whether a message the server of the agent's socket wrote on it, from `from`, was read after
  // the agent closed that socket (or from a server whose socket it is not).
  bool read_on_closed_socket(NodeId from) const;
  // The agent gives up on its server's connection (`how`: closed, refused or timeout): it closes
  // its socket, as the exiting process does, and its next attempt comes after the delay.
  void lose_connection(Ctx& ctx, std::string_view how);
  void schedule_retry(Ctx& ctx);
  // host-api reports a container's death through the API: a POST to the server the API's DNS
  // name gives, whatever the state of the agent's own connection.
  void post_container_event(Ctx& ctx, const cattle::ContainerEvent& event);
  // Searches the directory for a container of the `linked` service and keeps the answer in
  // db_route, with the question, for the web requests to come.
  void find_db_route(Ctx& ctx, const std::string& linked);
  void send_hello(Ctx& ctx);
  std::vector<std::string> running_list() const;
  void recount();
  void load_config(Ctx& ctx);

  AgentConfig config_;
  Config cfg_;
  Durable durable_;
  Volatile volatile_;
};

}  // namespace stampede::agent
