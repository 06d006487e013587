#include "models/register.hpp"

#include <fmt/format.h>

#include <boost/container/small_vector.hpp>
#include <charconv>
#include <functional>
#include <map>
#include <type_traits>
#include <typeinfo>

#include "models/agent/agent.hpp"
#include "models/agent/census.hpp"
#include "models/app/api_client.hpp"
#include "models/app/client.hpp"
#include "models/app/http.hpp"
#include "models/app/load_balancer.hpp"
#include "models/cattle/lifecycle.hpp"
#include "models/cattle/names.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cluster_manager/register.hpp"
#include "models/lease_lock/register.hpp"
#include "models/mysql/db_node.hpp"
#include "models/mysql/db_workload.hpp"
#include "models/redis/register.hpp"
#include "models/timing_bounds.hpp"
#include "models/zookeeper/invariants.hpp"
#include "models/zookeeper/register.hpp"
#include "models/zookeeper/zk_server.hpp"
#include "sim/core/engine_mechanisms.hpp"

namespace stampede {

namespace {

constexpr std::string_view k_cattle_props =
    "rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/cattle/"
    "agent-server/defaults.properties";
constexpr std::string_view k_engine_props =
    "rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/cattle/"
    "defaults/defaults.properties";

void add_duration(Registry& r, std::string name, DurationNs value, std::string source,
                  std::string description) {
  r.add_timing(TimingDef{std::move(name), TimingUnit::duration, value, std::move(source),
                         std::move(description)});
}

void add_count(Registry& r, std::string name, std::int64_t value, std::string source,
               std::string description) {
  r.add_timing(TimingDef{std::move(name), TimingUnit::count, value, std::move(source),
                         std::move(description)});
}

// The process engine's timings: the replay, the lock waits, the retry wait.
void register_engine_timings(Registry& r) {
  add_duration(r, "process_replay_interval", 15 * k_s,
               fmt::format("task.process.replay.schedule=15 ({} line 6)", k_engine_props),
               "how often unfinished process instances are replayed (and services reconciled)");
  add_duration(r, "lock_wait", 3 * k_s,
               "rancher/cattle v0.165.8 code/iaas/logic-common/src/main/java/io/cattle/platform/"
               "process/common/lock/ResourceChangeLock.java getWait() (lines 12-15) returns 3000: "
               "the lock <type>.<id>.CHANGE that GenericResourceProcessState (line 36) gives "
               "every process of a resource; a wait that runs out fails the process with "
               "RESOURCE_BUSY (DefaultProcessInstanceImpl.java lines 248-249, 591-593)",
               "how long a process waits for its resource's lock before it fails");
  add_duration(r, std::string(cattle::t_service_lock_wait), 10 * k_s,
               fmt::format("default.lock.wait.millis=10000 ({} line 18), the wait of every "
                           "AbstractBlockingLockDefintion (rancher/cattle v0.165.8 code/framework/"
                           "lock/src/main/java/io/cattle/platform/lock/definition/"
                           "AbstractBlockingLockDefintion.java line 9), which the service's "
                           "lock SERVICE.<id> is (code/iaas/service-discovery/server/src/main/"
                           "java/io/cattle/platform/servicediscovery/deployment/impl/lock/"
                           "ServiceLock.java)",
                           k_engine_props),
               "HA: how long a server waits for a service's ZooKeeper lock before it gives up "
               "until the next reconcile, and for the placement lock ALLOCATOR.LOCK.ACCOUNT.<id> "
               "before the placement's process fails (AccountAllocatorLock is one too)");
  add_duration(r, std::string(cattle::t_retry_max_wait), 120 * k_s,
               "process.retry_max_wait.millis=120000 (rancher/cattle v0.165.8 resources/content/"
               "cattle-global.properties line 48), read by code/framework/engine/src/main/java/"
               "io/cattle/platform/engine/eventing/impl/ProcessEventListenerImpl.java line 129",
               "the longest a process that failed twice or more waits after its last run before "
               "the replay task runs it again (15 s + 2^n/2 ms until then, n its runs)");
}

// The ping monitor's timings (PingMonitorImpl and its defaults).
void register_ping_timings(Registry& r) {
  add_duration(r, "agent_ping_interval", 5 * k_s,
               fmt::format("task.agent.ping.schedule=5 ({}:16)", k_cattle_props),
               "how often the server pings each agent");
  add_duration(r, "agent_ping_timeout", 15 * k_s,
               fmt::format("agent.ping.timeout.seconds=15 ({}:14); PingMonitorImpl.doPing "
                           "waits that long for the reply (PingMonitorImpl.java:111)",
                           k_cattle_props),
               "how long a ping waits for its reply before it counts as failed");
  add_count(r, "agent_ping_instances_every", 3,
            fmt::format("agent.ping.instances.every=3 ({}:11); PingMonitorImpl.handleOwned "
                        "sets Ping.INSTANCES when the round counter is a multiple of it "
                        "(PingMonitorImpl.java:88-97)",
                        k_cattle_props),
            "the pings of every this-many-th round ask for the agent's container list");
  add_count(r, "agent_ping_unmanaged_every", 12,
            fmt::format("agent.ping.unmanaged.every=12 ({}:4-5, \"1 minute\"); "
                        "PingMonitorImpl.handleUnowned acts on an agent whose "
                        "AGENT.CONNECTION lock the server does not hold only on those rounds "
                        "(PingMonitorImpl.java:71-75, 99-106)",
                        k_cattle_props),
            "HA: every this-many-th round a server tries the connection lock of each agent it "
            "does not own (and pings only the agents it owns)");
  add_count(r, "agent_ping_reconnect_after_failed_count", 6,
            fmt::format("agent.ping.reconnect.after.failed.count=6 ({}:13); PingMonitorImpl."
                        "pingFailure schedules agent.reconnect for an active agent at that count",
                        k_cattle_props),
            "consecutive failed pings after which an active host goes reconnecting");
}

void register_timings(Registry& r) {
  register_engine_timings(r);
  register_ping_timings(r);
  add_duration(r, "agent_reply_timeout", 15 * k_s,
               "eventing.timeout.millis=15000 with eventing.retry=1 (rancher/cattle v0.165.8 "
               "code/packaging/app-config/src/main/resources/META-INF/cattle/system-services/"
               "defaults.properties:80-81): an agent handler's callSync sends once and fails "
               "after the timeout (code/framework/async/src/main/java/io/cattle/platform/async/"
               "retry/impl/RetryTimeoutServiceImpl.java:46-54); the model does not extend a "
               "start's wait by its progress events",
               "a start or stop handler fails when its agent has not answered within this");
  add_duration(r, "agent_connection_timeout", 15 * k_s,
               "model choice: three missed server pings (3 x task.agent.ping.schedule)",
               "an agent that has heard nothing from the server this long starts reconnecting");
  add_duration(r, "agent_reconnect_delay", 5 * k_s,
               "rancher/rancher v1.1.2 agent/run.sh lines 313-319: the agent container runs "
               "the bootstrap (which execs rancher/python-agent v0.85.1, whose process exits "
               "when its websocket to the server closes or its connect fails, cattle/agent/"
               "event.py lines 219-235) in a loop, `sleep 5` between runs",
               "from an agent losing its server's connection to its next connect attempt, and "
               "between attempts");
  add_duration(r, "scale_exceeded_grace", 10 * k_s,
               "model choice: two reconcile passes of cattle's 5 s agent ping schedule; the "
               "model never overshoots on purpose, so any excess that lasts is a violation",
               "service.scale_exceeded ignores containers that have run for less than this");
  add_duration(r, "container_start_delay", 1 * k_s,
               "model choice: time docker takes to start a container",
               "from a start command to a running container");
  // Not Cattle's own pool's timeouts (models/mysql/db_node.cpp: db_socket_timeout and
  // db_pool_max_wait, which replaced its db_query_timeout): the two once shared that name, and every run took the later registration's 10 s while `list timings`
  // showed this one's 1 s, so 10 s is what the app's pinned results were measured with.
  add_duration(r, "app_db_query_timeout", 10 * k_s,
               "model choice: the web container's database query timeout (10 s, the value every "
               "run used while this timing shared the name db_query_timeout with Cattle's pool)",
               "a web request fails when its db query to the stack's db container has no answer "
               "within this");
  add_duration(r, "lb_backend_timeout", 3 * k_s,
               "model choice: HAProxy `timeout connect` + `timeout server` of the balancer",
               "the balancer answers a request with an error after this");
  add_duration(r, "api_connect_timeout", 1 * k_s,
               "model choice: how long an API client waits for one server before it tries the "
               "next address of the DNS name",
               "an API request moves to the next server after this without an answer");
  add_duration(r, "client_request_timeout", 5 * k_s,
               "model choice: the client's request timeout",
               "a request not answered within this counts as failed");
  add_duration(r, std::string(cattle::t_ha_start_interval), 10 * k_s,
               "model choice: the operator starts the HA nodes one after another, as the field "
               "report's \"next node to join\" implies; rancher-ha gives no figure",
               "HA: server-K first boots (K-1) times this after server-1");
}

void register_health_mechanisms(Registry& r) {
  r.add_mechanism({std::string(cattle::m_health_read_back),
                   "HA: the server that receives a checker's report writes the checker's row, "
                   "takes the container's HealthcheckInstanceLock (UPDATE.HCI.<id>, a ZooKeeper "
                   "lock) and decides from the rows it reads back from the db (rancher/cattle "
                   "v0.165.8 HealthcheckServiceImpl.java:66-179); off (not in Cattle): it decides "
                   "at once from its own copy of the shared tables, which may not have the rows "
                   "the other servers wrote since its last read"});
  r.add_mechanism(
      {std::string(cattle::m_health_register_lock),
       "HA: a server registers a container's health checkers (finds or creates its "
       "healthcheck_instance row, reads its checker rows and the active hosts, and "
       "adds checkers up to three) under the ZooKeeper lock "
       "HEALTHCHECK.<id>.INSTANCE.REGISTER, waited for up to default.lock.wait.millis "
       "(rancher/cattle v0.165.8 HealthcheckServiceImpl.java:204-254, "
       "HealthcheckRegisterLock.java:8-10), reading the rows back from the db under it; "
       "off: it registers at once from its own copy of the shared tables, and two "
       "servers registering one container at once both add the checkers it lacks "
       "(health.checker_rows)"});
  r.add_mechanism({std::string(cattle::m_config_item_triggers),
                   "the checker lists (the healthcheck config item) are pushed to every agent only "
                   "after instance.start, instance.stop and healthcheckinstancehostmap.create "
                   "(rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/"
                   "META-INF/cattle/system-services/defaults.properties lines 13 and 64-66, read "
                   "by AgentInstanceApplyItems.java lines 29-62); a host that goes reconnecting "
                   "or comes back pushes nothing unless it got checkers; off (not in Cattle): every "
                   "host.reconnect and host.activate pushes to every active host, N^2/2 "
                   "deliveries for a wave of N hosts coming back"});
}

void register_health_timings(Registry& r) {
  add_duration(r, std::string(cattle::t_health_cleanup_interval), 60 * k_s,
               "task.healthcheck.cleanup.schedule=60 (seconds), rancher/cattle v0.165.8 "
               "code/iaas/healthcheck/src/main/resources/META-INF/cattle/system-services/"
               "healthcheck-defaults.properties:1",
               "a container (re)initializing longer than its health check's "
               "initializing_timeout / reinitializing_timeout is removed at the next run of "
               "this task (HealthcheckCleanupMonitorImpl.java:72-90)");
}

// The allocator's (models/cattle/allocator.hpp).
void register_allocator_mechanisms(Registry& r) {
  r.add_mechanism({std::string(cattle::m_alloc_spread),
                   "the allocator tries the active hosts by compute_free, most free first, then "
                   "by host id (rancher/cattle v0.165.8 code/iaas/simple-allocator/src/main/java/"
                   "io/cattle/platform/simple/allocator/dao/impl/SimpleAllocatorDaoImpl.java:61 "
                   "with simple.allocator.spread=true, allocator-server/defaults.properties:4): "
                   "each instance placed takes one unit, so a new container goes to the host "
                   "with the fewest; off: spread=false, compute_free ascending, which packs "
                   "containers onto the lowest-id host"});
  r.add_mechanism({std::string(cattle::m_alloc_ports),
                   "the allocator puts no two starting or running containers that publish the "
                   "same public port and protocol on one host (code/iaas/allocator/.../"
                   "constraint/PortsConstraint.java:27-46, a hard constraint); off: ports are "
                   "not looked at"});
  r.add_mechanism({std::string(cattle::m_alloc_affinity),
                   "the allocator reads a service's io.rancher.scheduler.affinity:host_label, "
                   "container_label and container labels, with _ne and _soft suffixes "
                   "(code/iaas/allocator/.../service/AllocatorServiceImpl.java:233-276, "
                   "HostAffinityConstraint, ContainerLabelAffinityConstraint, "
                   "ContainerAffinityConstraint); off: the labels are ignored"});
  r.add_mechanism({std::string(cattle::m_alloc_soft),
                   "when no host meets every constraint, the allocator drops a soft (_soft) one "
                   "of the candidate that failed the fewest and tries again "
                   "(code/iaas/allocator/.../service/AbstractAllocator.java:236-255 and 334-372); "
                   "off: soft constraints act as hard ones"});
  r.add_mechanism({std::string(cattle::m_alloc_lock),
                   "HA: a placement takes the environment's lock ALLOCATOR.LOCK.ACCOUNT.<id> "
                   "(code/iaas/simple-allocator/.../AccountAllocatorLock.java:5-8, chosen at "
                   "SimpleAllocator.java:45-55), a ZooKeeper lock waited for up to "
                   "default.lock.wait.millis, reads the instances from the db under it and holds "
                   "it until the placement's write is in (AbstractAllocator.java:229-260); off: a "
                   "server places from its copy of the tables under the service's lock only. "
                   "Single mode places in one step either way"});
  r.add_mechanism({std::string(cattle::m_process_lock),
                   "HA: a server runs a process instance only under its ZooKeeper lock "
                   "PROCESS.INSTANCE.<id> (code/framework/engine/.../impl/ProcessLock.java:8-10, "
                   "taken with no wait at DefaultProcessInstanceImpl.java:102-112); a try that "
                   "finds another holder exits PROCESS_ALREADY_IN_PROGRESS and leaves the process "
                   "to the next replay. Off: every server's replay also runs a process that "
                   "another server is running. Single mode's in-JVM lock is the check that a "
                   "process is not already running on the server, either way"});
}

// How the server stops containers: a stray copy, and a service's removal of its container.
void register_stop_mechanisms(Registry& r) {
  r.add_mechanism({std::string(cattle::m_stop_stray_copies),
                   "NOT IN CATTLE, off by default: a container reported by another host than its "
                   "instance's (a start command that waited on a paused agent while the create "
                   "was placed elsewhere) is stopped. rancher/cattle v0.165.8 leaves it running: "
                   "code/iaas/ha/src/main/java/io/cattle/platform/ha/monitor/impl/"
                   "PingInstancesMonitorImpl.java determineSyncActions (lines 171-240) matches a "
                   "host's report only against that host's instances and turns an unmatched "
                   "running container into a start event, which code/iaas/logic/src/main/java/"
                   "io/cattle/platform/process/containerevent/ContainerEventCreate.java handle "
                   "(lines 133-135) ignores for an instance already running; off: the copy runs on "
                   "and the service exceeds its scale",
                   false});
  r.add_mechanism({std::string(cattle::m_stop_waits_reply),
                   "a service removes a running container by instance.stop with instance.remove "
                   "chained (rancher/cattle v0.165.8 code/iaas/service-discovery/server/src/main/"
                   "java/io/cattle/platform/servicediscovery/deployment/impl/unit/"
                   "DefaultDeploymentUnitInstance.java:86-98): the stop's handler "
                   "(IgnoreReconnectionAgentHandler on instancehostmap.deactivate, code/packaging/"
                   "app-config/src/main/resources/META-INF/cattle/process/"
                   "spring-process-context.xml:183-199) sends compute.instance.deactivate and "
                   "waits for the agent's reply (code/iaas/logic-common/src/main/java/io/cattle/"
                   "platform/process/common/handler/AgentBasedProcessHandler.java:164-176), one "
                   "send of 15 s (eventing.retry=1, eventing.timeout.millis=15000: code/packaging/"
                   "app-config/src/main/resources/META-INF/cattle/system-services/"
                   "defaults.properties:80-81; code/framework/async/src/main/java/io/cattle/"
                   "platform/async/retry/impl/RetryTimeoutServiceImpl.java:46-54), skipped for a "
                   "reconnecting host (IgnoreReconnectionAgentHandler.java:13-18); unanswered, the "
                   "instance stays stopping (a ping that lists it does nothing: PingInstancesMonitor"
                   "Impl.java:257) until the replay runs the stop again. The replacement does not "
                   "wait for it (DeploymentUnitInstance.java:38-43 removes the expose map at once, "
                   "ServiceExposeMapDaoImpl.java:101-115 counts only mapped instances). Off: the "
                   "instance is removed at once and its stop sent without waiting, so the next ping "
                   "that lists the copy stops it (PingInstancesMonitorImpl.java:262-266)"});
}

// The mechanisms the engines read themselves (sim/core/engine_mechanisms.hpp): TCP's.
static void register_engine_mechanisms(Registry& r) {
  r.add_mechanism({std::string(k_tcp_retransmit),
                   "every engine: a stream message that meets a cut link on an open connection "
                   "waits for the sender's TCP retransmission and arrives after the heal, one "
                   "latency after the first retransmission timer expiry that finds the link up "
                   "(the RTO starts at TCP_RTO_MIN 200 ms plus the round trip and doubles up to "
                   "TCP_RTO_MAX 120 s, Linux include/net/tcp.h), everything sent after it on the "
                   "connection behind it; after tcp_retries2 = 15 retransmissions (924.6 s at "
                   "TCP_RTO_MIN, Linux Documentation/networking/ip-sysctl.rst) the sender reads "
                   "`closed` and the messages are lost. Off (not TCP): what crosses a cut link is "
                   "lost and the connection stays open"});
  r.add_mechanism({std::string(k_tcp_socket_per_process),
                   "every engine: a process whose host lost power (or that crashed while cut "
                   "off) connects after its restart on a new socket, as TCP does (a new source "
                   "port): its first send is delivered at once and the peer hears nothing, keeping "
                   "the old connection half-open; the external db keeps that connection's "
                   "sessions, which count against max_connections, until db_wait_timeout closes "
                   "them. Off (one connection per pair of nodes): the first send is lost on the "
                   "old connection, which it resets, and the peer reads `closed` (the db frees "
                   "every session of that client at once)"});
}

void register_mechanisms(Registry& r) {
  r.add_mechanism({"agent_resync",
                   "ping replies and reconnects carry the agent's container list; off: a "
                   "container that dies while the server is cut off is never noticed, so never "
                   "restarted"});
  r.add_mechanism({"agent_connection_events",
                   "an agent whose server's process dies reads the closed socket and reconnects "
                   "after agent_reconnect_delay, and a refused connect waits that long too; off: "
                   "it notices only by agent_connection_timeout, as after a power loss or a "
                   "partition"});
  r.add_mechanism({"host_api_events",
                   "a container's death is posted by the host's host-api through the API to "
                   "the server the DNS name gives (rancher/host-api v0.34.0 events/"
                   "send_to_rancher_handler.go:38-50), whether or not the agent's own socket is "
                   "up; off: the agent reports it on its socket, only while connected"});
  r.add_mechanism({"state_in_store",
                   "the server's tracking (services, instances, hosts, network) lives in the "
                   "MySQL store; off: it lives in the server's memory, lost when the server "
                   "crashes and untouched when the store is truncated"});
  r.add_mechanism({std::string(cattle::m_zk_stale_holder_check),
                   "NOT IN CATTLE, off by default: rancher/cattle v0.165.8's ZooKeeper locks "
                   "(code/implementation/zookeeper/src/main/java/io/cattle/platform/zookeeper/"
                   "lock/InterProcessMutextLockWrapper.java lines 40-46, Curator's "
                   "InterProcessMutex.acquire) are never asked, once held, whether the session "
                   "still holds them, so a holder whose session expired goes on acting. On: a "
                   "server acts under a service's ZooKeeper lock only while its client "
                   "holds the lock and has heard from ZooKeeper within 2/3 of the session "
                   "timeout, and abandons the work when the lock is lost or the session expires; "
                   "off (Cattle): it trusts its own bookkeeping, and a paused or cut-off holder "
                   "goes on acting after ZooKeeper gave the lock to another server",
                   false});
  register_stop_mechanisms(r);
  r.add_mechanism({std::string(cattle::m_agent_connection_locks),
                   "HA: each agent is owned by the server holding its ZooKeeper lock "
                   "AGENT.CONNECTION.<id> (rancher/cattle v0.165.8 AgentConnectionManagerImpl."
                   "haveLock, PingMonitorImpl.ping); a server pings only the agents it owns and "
                   "tries the others' locks every agent_ping_unmanaged_every rounds, so the "
                   "agents of a crashed owner wait for its session to expire and for such a "
                   "round; off: the agents are divided among the cluster's members at every "
                   "round (isInPartition, which cattle has only from v0.184.0, by environment)"});
  r.add_mechanism({std::string(cattle::m_zk_service_locks),
                   "HA: a service is reconciled only under its ZooKeeper lock; off: every server "
                   "reconciles every service on its own"});
  r.add_mechanism({"api_dns_failover",
                   "an API client whose server does not answer (or answers 503) tries the next "
                   "address of the DNS name; off: the request fails with the first server"});
  r.add_mechanism({std::string(cattle::m_health_checks),
                   "Rancher's health checks (single and HA mode): up to 3 other hosts check "
                   "each container of a service with a health_check (rancher/cattle v0.165.8 "
                   "code/iaas/healthcheck/src/main/java/io/cattle/iaas/healthcheck/service/impl/"
                   "HealthcheckServiceImpl.java:259), it is unhealthy when all of them say so "
                   "(lines 136-179; in HA judged under its ZooKeeper lock from the shared rows) "
                   "and the service replaces it as its strategy says; off: nobody checks, only a "
                   "dead container is restarted (the balancer's own checks go on)"});
  register_engine_mechanisms(r);
  r.add_mechanism({"process_replay",
                   "unfinished process instances are replayed every process_replay_interval; "
                   "off: a process that failed or was cut short by a crash is never finished"});
}

void register_names(Registry& r) {

  for (auto [name, what] : std::initializer_list<std::pair<const char*, const char*>>{
           {"containers_started", "containers an agent started (first starts and restarts)"},
           {"lock_acquisitions", "resource locks taken by the process engine"},
           {"process_instances", "process instances created (one per state transition run)"},
           {"events", "events put on the server's event bus"},
           {"config_pushes", "checker lists (the healthcheck config item) the server sent to agents"},
           {"stale_holder_refusals",
            "HA: actions a server did not take because it could not trust its ZooKeeper lock"},
           {"requests_served", "client requests answered successfully"},
           {"requests_failed", "client requests that failed or timed out"},
           {"api_requests_served", "API requests (GET /v1/services) a server answered"},
           {"api_requests_failed", "API requests no server answered in time"}})
    r.add_metric({name, what});

  for (auto [name, what] : std::initializer_list<std::pair<const char*, const char*>>{
           {"cattle.server_started", "a Cattle server process booted (first boot or restart)"},
           {"cattle.host_reconnecting", "a host went from active to reconnecting"},
           {"cattle.host_reconnected", "a reconnecting host became active"},
           {"cattle.container_restarted", "the server restarted a stopped container"},
           {"mysql.truncated", "tables of the Cattle store were truncated"},
           {"agent.container_died", "a container died on its host"}})
    r.add_signal({name, what});

  for (auto [name, what] : std::initializer_list<std::pair<const char*, const char*>>{
           {"cattle server started", "server-1 booted; says how many services and hosts it "
                                     "knows from its store"},
           {"host agent-N reconnecting", "the ping monitor scheduled a reconnect"},
           {"host agent-N active again", "a host answered pings again"},
           {"container X died on agent-N", "the server noticed a dead container (ping reply, "
                                           "reconnect or event)"},
           {"container X marked stopped", "instance.stop finished"},
           {"container X restarted on agent-N", "instance.start finished"},
           {"container X started", "an agent started a container"},
           {"container X died (killed)", "the kill_container fault"},
           {"tables T truncated (foreign_key_checks=0)", "the truncate fault"},
           {"TRUNCATE failed: error 1701", "Cannot truncate a table referenced in a foreign key "
                                          "constraint"},
           {"Too many connections", "MySQL error 1040 when the server opens its pool"},
           {"overlay network torn down", "an agent lost the managed network (no network row)"},
           {"overlay network set up", "an agent set up the managed network"},
           {"lost the connection to server-1",
            "an agent lost its connection to the server (closed, refused or timeout)"},
           {"stopped work on service S: ...",
            "HA: a server abandoned a service's reconcile (lock lost, session expired, db gone)"},
           {"read the shared tables", "HA: a server's first read of the external database"},
           {"write to the database failed", "HA: a write-through to the external db failed"},
           {"Exception in API for request: ERROR ...",
            "HA: an API request's credential lookup failed (a pool error, or 1040 Too many "
            "connections as in rancher/rancher#5015); the request got 500"},
           {"failed: Scheduling failed: ...",
            "the allocator found no host for a new container: the constraints it could not meet, "
            "or No candidates available; the replay task tries again"}})
    r.add_log_message({name, what});
}

// The structured events of the Cattle server, the agents and the app (Ctx::event): each stands
// beside a log line of the same meaning, with its named fields for `event:` expectations.
// The events of the agents and of the app's load balancers.
void register_agent_events(Registry& r) {
  r.add_event({"agent.connected", {"server"}, "an agent (re)connected to a server"});
  r.add_event({"agent.connection_lost", {"server", "how"},
               "an agent lost its server's connection (how: closed or refused when the server "
               "process died, timeout after agent_connection_timeout of silence); its "
               "containers keep running"});
  r.add_event({"agent.stale_socket_closed",
               {"server"},
               "over the Redis bus, an agent closed the socket that a Hello of an earlier "
               "attempt, held behind a cut link, opened on a server after the heal"});
  r.add_event({"agent.overlay_changed", {"up"},
               "an agent set up (up=true) or tore down (up=false) the managed network"});
  r.add_event({"agent.container_started", {"container"}, "an agent started a container"});
  r.add_event({"agent.container_died", {"container"}, "the kill_container fault"});
  r.add_event({"agent.health_changed", {"container", "health"},
               "this host's check of another host's container flipped (UP or DOWN), reported "
               "to the server"});
  r.add_event({"app.lb_backends_configured", {"backends"},
               "a load balancer's number of backends changed with a configuration push"});
  r.add_event({"app.lb_backend_up", {"container"}, "a backend passed its health checks again"});
  r.add_event({"app.lb_backend_down", {"container"}, "a backend failed its health checks"});
}

void register_events(Registry& r) {
  r.add_event({"cattle.host_state_changed", {"host", "from", "to"},
               "a host process finished: the host went from one state (active, reconnecting, "
               "activating) to another (Cattle 1.1 has no disconnected state)"});
  r.add_event({"cattle.container_created", {"container", "host"},
               "instance.create finished: the container runs on its host"});
  r.add_event({"cattle.container_restarted", {"container", "host"},
               "instance.start finished: a stopped container runs again"});
  r.add_event({"cattle.container_stopped", {"container"}, "instance.stop finished"});
  r.add_event({"cattle.container_health", {"container", "health"},
               "a container's health state changed (healthy, unhealthy, reinitializing): "
               "all its checkers agreed, or one came back healthy"});
  r.add_event({"cattle.container_removed", {"container", "host", "why", "stopped"},
               "the health check's strategy (or a (re)initializing timeout) removed a container; "
               "stopped: whether the stop was sent (not to a reconnecting host)"});
  r.add_event({"cattle.container_stop_finished", {"container", "host"},
               "instance.stop_remove finished (mechanism cattle_stop_waits_reply): the agent "
               "answered the removal's stop, or the call was skipped for a reconnecting host; "
               "the instance is removed"});
  r.add_event({"cattle.removed_copy_stopped", {"container", "host"},
               "a host listed a container whose instance was removed: the server stops it"});
  r.add_event({"cattle.container_died", {"container", "host", "how"},
               "the server noticed a dead container (ping reply, reconnect or the agent's "
               "event) and stops its instance"});
  r.add_event({"cattle.server_started", {"services", "hosts"},
               "a Cattle server booted, knowing this many services and hosts from its store"});
  r.add_event({"cattle.store_seeded", {}, "the store was seeded from the scenario's stacks"});
  r.add_event({"cattle.pool_error", {"code", "message"},
               "the server could not open its embedded database pool (MySQL error)"});
  r.add_event({"cattle.cluster_join_skipped", {},
               "HA: a server whose database pool was refused stays out of the cluster"});
  r.add_event({"cattle.agent_connected", {"host"}, "an agent said hello to the server"});
  r.add_event({"cattle.agent_owned", {"host"},
               "HA: the server took the agent's AGENT.CONNECTION lock and now pings it"});
  r.add_event({"cattle.ping_missed", {"host", "count"},
               "a ping went unanswered; count is the failures in a row (info from the third)"});
  r.add_event({"cattle.process_failed", {"process", "resource_type", "resource_id", "why"},
               "a process instance's handler failed; it is retried or left to the replay"});
  r.add_event({"cattle.process_in_progress",
               {"process", "process_id"},
               "HA: another server holds the process instance's lock PROCESS.INSTANCE.<id>: "
               "the exit PROCESS_ALREADY_IN_PROGRESS, the process is left to the next replay"});
  r.add_event({"cattle.db_write_failed", {"error"},
               "HA: a write-through to the external database failed"});
  r.add_event({"cattle.api_failed", {"error"},
               "HA: an API request's credential lookup through the pool failed with this error; "
               "the request got 500"});
  r.add_event({"cattle.stale_work_dropped", {"services", "writes"},
               "HA: the server stopped its service work and dropped queued writes because its "
               "ZooKeeper session cannot be trusted"});
  r.add_event({"cattle.shared_tables_read", {"services", "hosts"},
               "HA: a server's first read of the shared tables since its boot"});
  r.add_event({"cattle.reconcile_paused", {},
               "HA: the server stopped reconciling: it has no ZooKeeper session"});
  r.add_event({"cattle.service_work_stopped", {"service", "why"},
               "HA: a server abandoned a service's reconcile (lock lost, session expired, db "
               "gone)"});
  r.add_event({"mysql.truncate_failed", {"code", "message"},
               "a truncate fault on the server's embedded db or on the external db failed with "
               "this error"});
  r.add_event({"mysql.tables_truncated", {"tables"}, "the truncate fault emptied these tables"});
  register_agent_events(r);
}

// The ids of the nodes that the HA checks and the convergence predicate read, found once per
// world (nodes are added only while it is built, and keep their ids): the checks run after every
// step at a server or ZooKeeper node, where asking the view for the same names again (a hash of
// "zookeeper-1", a walk of the prefix lists) was 1.3% of the HA hour (issue 13, callgrind).
// Ids only, never a node, so restored snapshots leave it exact.
class HaNodes final : public ViewCache {
 public:
  static const HaNodes& of(const WorldView& w) {
    HaNodes& c = w.cache<HaNodes>();
    if (c.node_count_ != w.node_count()) c.rebuild(w);
    return c;
  }
  const std::vector<NodeId>& servers() const { return servers_; }
  const std::vector<NodeId>& zookeepers() const { return zookeepers_; }
  // server-1, server-2, ... up to the first number that names no node.
  const std::vector<NodeId>& numbered_servers() const { return numbered_servers_; }
  bool ensemble() const { return ensemble_; }  // whether a node is named zookeeper-1

 private:
  void rebuild(const WorldView& w) {
    node_count_ = w.node_count();
    servers_ = w.nodes_with_prefix("server-");
    zookeepers_ = w.nodes_with_prefix("zookeeper-");
    numbered_servers_.clear();
    for (int k = 1;; ++k) {
      NodeId id = w.find("server-" + std::to_string(k));
      if (id == k_no_node) break;
      numbered_servers_.push_back(id);
    }
    ensemble_ = w.find("zookeeper-1") != k_no_node;
  }

  std::size_t node_count_ = ~std::size_t{0};
  std::vector<NodeId> servers_;     // named server-*, in id order
  std::vector<NodeId> zookeepers_;  // named zookeeper-*, in id order
  std::vector<NodeId> numbered_servers_;
  bool ensemble_ = false;
};

// The agents' running containers per service over the live agents, from the run's census (kept
// between steps) or, when the agents do not share one catalog, counted in `scratch`.
const agent::Census::Counts& agent_counts(const WorldView& w, agent::Census::Counts& scratch) {
  const agent::Census& census = agent::Census::of(w);
  if (census.uniform()) return census.counts();
  scratch = agent::Census::recount(w);
  return scratch;
}

// Agents carry the scenario's services and scales; the invariants read them there.
using AgentList = boost::container::small_vector<const agent::Agent*, 8>;
AgentList live_agents(const WorldView& w) {
  AgentList out;
  for (NodeId id : w.nodes_with_prefix("agent-")) {
    if (!w.is_up(id)) continue;
    if (auto* a = dynamic_cast<const agent::Agent*>(&w.node(id))) out.push_back(a);
  }
  return out;
}

// The HA servers that are up, with their cluster manager and database client.
using ServerList = boost::container::small_vector<const cattle::CattleServer*, 4>;
ServerList live_ha_servers(const WorldView& w) {
  ServerList out;
  for (NodeId id : w.nodes_with_prefix("server-")) {
    if (!w.is_up(id)) continue;
    auto* s = dynamic_cast<const cattle::CattleServer*>(&w.node(id));
    if (s && s->manager()) out.push_back(s);
  }
  return out;
}

// The HA server named `name`, up or down (its disk and its last pool outcome still count).
const cattle::CattleServer* ha_server(const WorldView& w, std::string_view name) {
  NodeId id = w.find(name);
  if (id == k_no_node) return nullptr;
  auto* s = dynamic_cast<const cattle::CattleServer*>(&w.node(id));
  return s && s->manager() ? s : nullptr;
}

// The first member a live manager counts for which `bad` holds, as "server-1 counts server-3".
std::optional<std::string> member_where(
    const WorldView& w, const std::function<bool(const cattle::CattleServer&)>& bad) {
  for (const cattle::CattleServer* s : live_ha_servers(w))
    for (const std::string& m : s->manager()->members()) {
      const cattle::CattleServer* member = ha_server(w, m);
      if (member && bad(*member))
        return fmt::format("{} counts {} as a member",
                           cm::member_name(s->manager()->config().index), m);
    }
  return std::nullopt;
}

// HA: an event no other server could hear (models/redis/eventing.hpp).
void register_event_checks(Registry& r) {
  r.add_invariant({"cattle.event_lost",
                   "HA: a Cattle server's event reached no Redis: its publish failed on every "
                   "Redis it lists (redis.publish_lost), so no other server heard of the change "
                   "until its own replay tick",
                   [](const WorldView& w) -> std::optional<std::string> {
                     for (NodeId id : w.nodes_with_prefix("server-")) {
                       if (!w.is_up(id)) continue;
                       auto* s = dynamic_cast<const cattle::CattleServer*>(&w.node(id));
                       const redis::Eventing* bus = s ? s->eventing() : nullptr;
                       if (bus && bus->lost() > 0)
                         return fmt::format("{} lost {} event(s): every Redis failed",
                                            w.node_name(id), bus->lost());
                     }
                     return std::nullopt;
                   },
                   {"server-*"}});
}

void register_ha_checks(Registry& r) {
  register_event_checks(r);
  r.add_invariant({"cluster.refused_joined",
                   "a manager counts as a member a server whose database pool was refused (error "
                   "1040): such a server must stay out of the cluster",
                   [](const WorldView& w) -> std::optional<std::string> {
                     auto why = member_where(w, [](const cattle::CattleServer& m) {
                       return m.db_client()->state() == mysql::PoolState::refused;
                     });
                     if (why) return *why + " although its database pool was refused";
                     return std::nullopt;
                   },
                   {"server-*"}});
  r.add_invariant({"cluster.leftover_joined",
                   "a manager counts as a member a server that still has state files from an "
                   "earlier attempt",
                   [](const WorldView& w) -> std::optional<std::string> {
                     auto why = member_where(w, [](const cattle::CattleServer& m) {
                       return m.manager()->leftover_state();
                     });
                     if (why) return *why + " although it has leftover state";
                     return std::nullopt;
                   },
                   {"server-*"}});
  r.add_invariant({"cluster.mixed_version_stack",
                   "a master started the management stack while its members run different "
                   "server versions",
                   [](const WorldView& w) -> std::optional<std::string> {
                     for (const cattle::CattleServer* s : live_ha_servers(w)) {
                       const cm::ClusterManager& master = *s->manager();
                       if (!master.stack_started()) continue;
                       for (const std::string& m : master.members()) {
                         const cattle::CattleServer* member = ha_server(w, m);
                         if (!member) continue;
                         const std::string& v = member->manager()->config().version;
                         if (v != master.config().version)
                           return fmt::format("{} started the stack on {} with {} on {}",
                                              cm::member_name(master.config().index),
                                              master.config().version, m, v);
                       }
                     }
                     return std::nullopt;
                   },
                   {"server-*"}});
}

// `n` as a T, or nullptr. T is final, so comparing the dynamic type is the dynamic_cast, without
// its cost: lock.no_stale_holder_action runs after every step at a server or ZooKeeper node, and
// its four dynamic_casts a run were 1.6% of the HA hour (issue 13, callgrind).
template <class T>
const T* exactly(const Node& n) {
  static_assert(std::is_final_v<T>);
  return typeid(n) == typeid(T) ? static_cast<const T*>(&n) : nullptr;
}

// The lock check's way to a node's embedded ZooKeeper client: a Cattle server's by its exact
// type, any other node's by the dynamic_cast (zk::EmbeddedClientOf).
const zk::EmbedsZkClient* embedded_client(const Node& n) {
  if (const auto* s = exactly<cattle::CattleServer>(n)) return s;
  return dynamic_cast<const zk::EmbedsZkClient*>(&n);
}

// The probe zk.committed_count, from the disk directly when `id` is a ZooKeeper server.
std::optional<std::int64_t> committed_count(const WorldView& w, NodeId id) {
  if (const auto* zk = exactly<zk::ZkServer>(w.node(id))) return zk->disk().committed;
  return w.node(id).probe("zk.committed_count", "");
}

// The probe lock_holders_max, asked of the server itself when `id` is a Cattle server: the probe
// compares a dozen keys first, after every step at a server or ZooKeeper node.
std::optional<std::int64_t> lock_holders_max(const WorldView& w, NodeId id) {
  if (const auto* s = exactly<cattle::CattleServer>(w.node(id))) return s->lock_holders_max();
  return w.node(id).probe("lock_holders_max", "");
}

// The ZooKeeper server whose committed view lock.no_stale_holder_action reads: the live one that
// has committed the most (lowest id on a tie), or k_no_node.
NodeId committed_view(const WorldView& w, const HaNodes& nodes) {
  NodeId view = k_no_node;
  std::int64_t best = -1;
  for (NodeId id : nodes.zookeepers()) {
    if (!w.is_up(id)) continue;
    auto c = committed_count(w, id);
    if (c && *c > best) best = *c, view = id;
  }
  return view;
}

// The HA server at `id` when it is up, or nullptr.
const cattle::CattleServer* live_ha_server(const WorldView& w, NodeId id) {
  if (!w.is_up(id)) return nullptr;
  const auto* s = exactly<cattle::CattleServer>(w.node(id));
  return s && s->manager() ? s : nullptr;
}

// Server `s`'s first action (in session order) taken after `view` (not k_no_node) had expired
// its session, put into words.
std::optional<std::string> stale_action_of(const WorldView& w, const cattle::CattleServer& s,
                                           NodeId view) {
  // The view's answer to the zk.session_expired_ns probe, read from its data tree directly when
  // it is a ZooKeeper server (the probe would print the session id and parse it back).
  const auto* zk_view = exactly<zk::ZkServer>(w.node(view));
  auto expired_at = [&](std::int64_t session) -> std::optional<std::int64_t> {
    if (zk_view != nullptr) return zk_view->tree().session_expired_at(session);
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text, session);
    (void)ec;  // 24 characters hold any int64
    return w.node(view).probe("zk.session_expired_ns",
                              std::string_view(text, static_cast<std::size_t>(end - text)));
  };
  for (const auto& [session, acted_ns] : s.actions_by_session()) {
    auto expired = expired_at(session);
    if (expired && *expired <= acted_ns)
      return fmt::format(
          "{} acted on a service lock at {:.3f}s, after its ZooKeeper session "
          "0x{:x} expired at {:.3f}s",
          cm::member_name(s.manager()->config().index), static_cast<double>(acted_ns) / k_s,
          session, static_cast<double>(*expired) / k_s);
  }
  return std::nullopt;
}

// lock.no_stale_holder_action, found afresh: a server's last action under each ZooKeeper session
// it used, against the moment the leader expired that session in the committed view. ZooKeeper
// is asked for the committed view only once some server has acted under a session. `view_out`
// receives the view when it was found.
std::optional<std::string> stale_holder_action_afresh(const WorldView& w,
                                                      std::optional<NodeId>* view_out) {
  const HaNodes& nodes = HaNodes::of(w);
  bool acted = false;
  for (NodeId id : nodes.servers()) {
    const cattle::CattleServer* s = live_ha_server(w, id);
    acted = acted || (s && !s->actions_by_session().empty());
  }
  if (!acted) return std::nullopt;
  const NodeId view = committed_view(w, nodes);
  if (view_out) *view_out = view;
  if (view == k_no_node) return std::nullopt;
  for (NodeId id : nodes.servers())
    if (const cattle::CattleServer* s = live_ha_server(w, id))
      if (auto why = stale_action_of(w, *s, view)) return why;
  return std::nullopt;
}

// lock.no_stale_holder_action runs after every step at a server or a ZooKeeper node. Most are
// at a server, and then nothing but that server's own actions can have changed: the committed
// view and its expiries change only in a ZooKeeper node's steps, a node goes up or down only in
// steps that make the engine's change log say "everything" (sim/core/changes.hpp). So while the
// last answer was "none" and the log since names servers only, only those servers are asked
// again, against the view found last; a ZooKeeper step, "everything" or a violation finds the
// answer afresh. Asking every server and every ZooKeeper node after each step was 2.5% of the
// HA hour (issue 13, callgrind). Ids only, never a node, so restored snapshots leave it exact.
class StaleHolders final : public ViewCache {
 public:
  static std::optional<std::string> check(const WorldView& w) {
    StaleHolders& c = w.cache<StaleHolders>();
    const HaNodes& nodes = HaNodes::of(w);
    if (c.kind_.size() != w.node_count()) c.reset(w, nodes);
    bool zk_stepped = false;
    const bool incremental =
        w.changes().read_nodes(c.cursor_, c.watched_, [&c, &zk_stepped](NodeId id) {
          if (c.kind_[id] == k_zookeeper) zk_stepped = true;
          if (c.kind_[id] == k_server) c.stepped_[id] = 1;
        });
    if (incremental && !zk_stepped && c.clean_) return c.recheck_stepped(w, nodes);
    return c.afresh(w, nodes);
  }

 private:
  static constexpr std::uint8_t k_other = 0;
  static constexpr std::uint8_t k_server = 1;
  static constexpr std::uint8_t k_zookeeper = 2;

  void reset(const WorldView& w, const HaNodes& nodes) {
    kind_.assign(w.node_count(), k_other);
    stepped_.assign(w.node_count(), 0);
    for (NodeId id : nodes.servers()) kind_[id] = k_server;
    for (NodeId id : nodes.zookeepers()) kind_[id] = k_zookeeper;
    watched_ = nodes.servers();
    watched_.insert(watched_.end(), nodes.zookeepers().begin(), nodes.zookeepers().end());
    clean_ = false;
  }
  std::optional<std::string> afresh(const WorldView& w, const HaNodes& nodes) {
    for (NodeId id : nodes.servers()) stepped_[id] = 0;
    view_.reset();
    auto why = stale_holder_action_afresh(w, &view_);
    clean_ = !why;
    return why;
  }
  // The servers named since the last look, in id order (the first violation found afresh would
  // be among them, the others had none).
  std::optional<std::string> recheck_stepped(const WorldView& w, const HaNodes& nodes) {
    bool unknown_view = false;
    std::optional<std::string> why;
    for (NodeId id : nodes.servers()) {
      if (!stepped_[id]) continue;
      stepped_[id] = 0;
      const cattle::CattleServer* s = live_ha_server(w, id);
      if (why || unknown_view || !s || s->actions_by_session().empty()) continue;
      if (!view_)
        unknown_view = true;  // the first action of the run: no view was needed yet
      else if (*view_ != k_no_node)
        why = stale_action_of(w, *s, *view_);
    }
    if (unknown_view) return afresh(w, nodes);
    clean_ = !why;
    return why;
  }

  ChangeLog::Cursor cursor_;
  std::vector<std::uint8_t> kind_;     // by node id: k_server, k_zookeeper or k_other
  std::vector<NodeId> watched_;        // the servers and the ZooKeeper nodes
  std::vector<std::uint8_t> stepped_;  // by node id: a server named since the last look
  bool clean_ = false;                 // the last answer was "none"
  std::optional<NodeId> view_;         // the committed view of the last full look, if it found one
};

std::optional<std::string> check_no_stale_holder_action(const WorldView& w) {
  return StaleHolders::check(w);
}

// host.port_conflict: two running containers of one live agent publish the same public port.
// The check runs after every step at an agent; a conflict can only appear or go at the agent
// that stepped, so each agent's answer is kept and asked again only when the engine's change
// log names it (sim/core/changes.hpp), as the lock check and the agents' census do. Asking
// every agent at every agent step grew with the square of the agents. Ids and strings only,
// never a node, so restored snapshots (after which the log says "everything") leave it exact.
class PortConflicts final : public ViewCache {
 public:
  static const PortConflicts& of(const WorldView& w) {
    PortConflicts& c = w.cache<PortConflicts>();
    if (c.conflict_.size() != w.node_count()) {
      c.conflict_.assign(w.node_count(), std::string{});
      c.is_agent_.assign(w.node_count(), 0);
      c.agents_.clear();
      c.ports_ = false;
      for (NodeId id : w.nodes_with_prefix("agent-")) {
        const auto* a = dynamic_cast<const agent::Agent*>(&w.node(id));
        if (a == nullptr) continue;
        c.agents_.push_back(id);
        c.is_agent_[id] = 1;
        // Only a scenario that publishes ports can have a conflict (one catalog for all).
        const auto& catalog = a->catalog();
        c.ports_ = c.ports_ || std::any_of(catalog.begin(), catalog.end(),
                                           [](const auto& svc) { return !svc.ports.empty(); });
      }
      w.changes().read(c.cursor_, [](NodeId) {});  // the pass below reads the current state
      c.reread_all(w);
      return c;
    }
    if (!c.ports_) return c;
    const auto named = [&](NodeId id) {
      if (id < c.is_agent_.size() && c.is_agent_[id]) c.reread(w, id);
    };
    if (!w.changes().read(c.cursor_, named)) c.reread_all(w);
    return c;
  }
  // The first conflict in agent id order, as the check reports it.
  std::optional<std::string> first(const WorldView& w) const {
    for (NodeId id : agents_)
      if (!conflict_[id].empty()) return fmt::format("on {}: {}", w.node_name(id), conflict_[id]);
    return std::nullopt;
  }

 private:
  void reread_all(const WorldView& w) {
    if (!ports_) return;
    for (NodeId id : agents_) reread(w, id);
  }
  void reread(const WorldView& w, NodeId id) {
    const auto& a = static_cast<const agent::Agent&>(w.node(id));
    std::optional<std::string> c = w.is_up(id) ? a.port_conflict() : std::nullopt;
    conflict_[id] = c ? std::move(*c) : std::string{};
  }

  ChangeLog::Cursor cursor_;
  std::vector<NodeId> agents_;          // the Agent nodes, in id order
  std::vector<std::uint8_t> is_agent_;  // by node id
  std::vector<std::string> conflict_;   // by node id: its conflict, empty when none
  bool ports_ = false;                  // whether any service publishes a port
};

std::optional<std::string> check_port_conflict(const WorldView& w) {
  return PortConflicts::of(w).first(w);
}

std::optional<std::string> check_single_runner(const WorldView& w) {
  // Each up server's process instances that wait for an agent, by id (probe process_working).
  std::map<std::int64_t, NodeId> runner;
  for (NodeId id : w.nodes_with_prefix("server-")) {
    if (!w.is_up(id)) continue;
    const Node& server = w.node(id);
    std::int64_t n = server.probe("processes_working", "").value_or(0);
    for (std::int64_t k = 0; k < n; ++k) {
      std::optional<std::int64_t> pi = server.probe("process_working", fmt::format("{}", k));
      if (!pi) continue;
      auto [it, fresh] = runner.emplace(*pi, id);
      if (!fresh)
        return fmt::format("process {} runs on {} and on {}", *pi, w.node_name(it->second),
                           w.node_name(id));
    }
  }
  return std::nullopt;
}

// health.checker_rows: in the external db, a container with two healthcheck_instance rows, or a
// container's health check with two checker rows (healthcheck_instance_host_map) for one host.
// Cattle finds or creates both under HEALTHCHECK.<id>.INSTANCE.REGISTER (rancher/cattle v0.165.8
// HealthcheckServiceImpl.java:210-254), so neither should happen. The answer is kept with the
// tables' stamps, which change whenever a table does (mysql::Database::stamp): most db steps
// change neither table.
class CheckerRows final : public ViewCache {
 public:
  static const std::optional<std::string>& of(const WorldView& w) {
    CheckerRows& c = w.cache<CheckerRows>();
    NodeId id = w.find("db");
    const auto* node = id == k_no_node ? nullptr : dynamic_cast<const mysql::DbNode*>(&w.node(id));
    if (node == nullptr) return c.answer_ = std::nullopt, c.answer_;
    const mysql::Database& db = node->database();
    std::uint64_t hci = db.stamp(cattle::HealthcheckInstanceRow::k_table);
    std::uint64_t maps = db.stamp(cattle::HealthcheckHostMapRow::k_table);
    if (hci == c.hci_stamp_ && maps == c.map_stamp_) return c.answer_;
    c.hci_stamp_ = hci;
    c.map_stamp_ = maps;
    c.answer_ = find(db);
    return c.answer_;
  }

 private:
  static std::optional<std::string> find(const mysql::Database& db) {
    const mysql::Table* hcis = db.table(cattle::HealthcheckInstanceRow::k_table);
    const mysql::Table* maps = db.table(cattle::HealthcheckHostMapRow::k_table);
    if (hcis == nullptr || maps == nullptr) return std::nullopt;
    std::map<std::string, mysql::RowId> by_instance;
    for (const auto& [id, row] : *hcis) {
      auto [it, fresh] = by_instance.emplace(row.at("instance_id"), id);
      if (!fresh)
        return fmt::format("instance {} has healthcheck_instance rows {} and {}",
                           row.at("instance_id"), it->second, id);
    }
    std::map<std::pair<std::string, std::string>, mysql::RowId> by_checker;
    for (const auto& [id, row] : *maps) {
      auto [it, fresh] =
          by_checker.emplace(std::pair{row.at("healthcheck_instance_id"), row.at("host_id")}, id);
      if (!fresh)
        return fmt::format(
            "instance {} is checked twice by host {} (healthcheck_instance_host_map "
            "rows {} and {})",
            row.at("instance_id"), row.at("host_id"), it->second, id);
    }
    return std::nullopt;
  }

  std::uint64_t hci_stamp_ = 0;
  std::uint64_t map_stamp_ = 0;
  std::optional<std::string> answer_;
};

// The health checks' invariant (healthcheck_register.cpp): a registration that ran beside
// another one shows in the db's rows.
void register_health_checks(Registry& r) {
  r.add_invariant({"health.checker_rows",
                   "HA: in the external db a container has two healthcheck_instance rows, or two "
                   "checker rows (healthcheck_instance_host_map) for one host; Cattle finds or "
                   "creates them under HEALTHCHECK.<id>.INSTANCE.REGISTER (mechanism "
                   "cattle_healthcheck_register_lock)",
                   [](const WorldView& w) { return CheckerRows::of(w); },
                   {"db"}});
}

void register_checks(Registry& r) {
  r.add_invariant({"lock.no_stale_holder_action",
                   "HA: a server acted under a service's ZooKeeper lock (inserted an instance, "
                   "asked an agent to start a container) after ZooKeeper had expired the session "
                   "that held it (times are the nodes' own clocks)",
                   check_no_stale_holder_action,
                   {"server-*", "zookeeper-*"}});
  r.add_invariant({"service.scale_exceeded",
                   "more containers of a service running on their hosts than its scale, counting "
                   "only containers that have run for scale_exceeded_grace",
                   [](const WorldView& w) -> std::optional<std::string> {
                     agent::Census::Counts scratch;
                     const agent::Census::Counts& counts = agent_counts(w, scratch);
                     if (counts.live == 0) return std::nullopt;
                     for (std::size_t i = 0; i < counts.services.size(); ++i) {
                       const agent::ServiceScale& s = counts.services[i];
                       if (counts.running[i] <= s.scale) continue;
                       // Over the scale: count again, without the containers still inside the
                       // grace window (an overshoot that a reconcile may yet correct).
                       auto agents = live_agents(w);
                       int settled = 0;
                       for (const agent::Agent* a : agents)
                         settled += a->running_since(s.service, w.now() - a->scale_grace_ns());
                       if (settled > s.scale)
                         return fmt::format("{} containers of {} running for {}s or more, "
                                            "scale {}",
                                            settled, s.service,
                                            agents.front()->scale_grace_ns() / k_s, s.scale);
                     }
                     return std::nullopt;
                   },
                   {"agent-*"}});
  r.add_invariant({"host.port_conflict",
                   "two running containers on one host publish the same public port and "
                   "protocol: the allocator's PortsConstraint (rancher/cattle v0.165.8 "
                   "code/iaas/allocator/.../constraint/PortsConstraint.java:27-46) should have "
                   "kept them apart; Docker would refuse the second bind, which the model's agent "
                   "does not",
                   check_port_conflict,
                   {"agent-*"}});
  r.add_invariant({"process.single_runner",
                   "HA: two servers run one process instance at once (each has started it and "
                   "waits for its agent's answer); Cattle's lock PROCESS.INSTANCE.<id> "
                   "(mechanism cattle_process_lock) is what prevents it",
                   check_single_runner,
                   {"server-*"}});
  r.add_invariant({"lock.mutual_exclusion",
                   "two holders of one lock at once: of a server's in-memory lock, or (HA) of a "
                   "service's ZooKeeper lock among servers whose sessions are live in "
                   "ZooKeeper's committed view",
                   [](const WorldView& w) -> std::optional<std::string> {
                     // The servers' in-memory locks, and whether there is an ensemble (this
                     // runs after every step at a server or ZooKeeper node: no pass over the
                     // agents).
                     const HaNodes& nodes = HaNodes::of(w);
                     const bool ensemble = nodes.ensemble();
                     for (NodeId id : nodes.servers()) {
                       if (!w.is_up(id)) continue;
                       auto v = lock_holders_max(w, id);
                       if (v && *v > 1)
                         return fmt::format("{} has a lock with {} holders", w.node_name(id),
                                            *v);
                     }
                     // The ZooKeeper locks, asked only of the nodes that embed a ZooKeeper client
                     // (Cattle servers, the zookeeper model's lock clients).
                     if (!ensemble) return std::nullopt;
                     return zk::check_lock_mutual_exclusion_among_clients(w, embedded_client);
                   },
                   {"server-*", "zookeeper-*"}});
}

// The messages after which no check needs to look again, and the convergence predicate.
void register_convergence(Registry& r) {
  // A client request on its way (client, balancer, web container, db container and back) and an
  // API read change no container, host or lock: the checks need not look again after them.
  for (std::uint32_t t : {app::HttpRequest::k_type, app::HttpResponse::k_type,
                          app::BackendRequest::k_type, app::BackendResponse::k_type,
                          app::DbQuery::k_type, app::DbReply::k_type})
    r.add_inert_message(t);
  for (std::uint32_t t : {cattle::ApiRequest::k_type, cattle::ApiResponse::k_type})
    r.add_inert_message(t);
  r.set_converged([](const WorldView& w) {
    agent::Census::Counts scratch;
    const agent::Census::Counts& counts = agent_counts(w, scratch);
    if (counts.live == 0) return false;
    for (std::size_t i = 0; i < counts.services.size(); ++i)
      if (counts.running[i] != counts.services[i].scale) return false;
    const std::int64_t agents_total = counts.named;
    // The hosts as the first live server sees them (server-1 in single mode; in HA any server's
    // copy of the shared tables will do, server-1 may be the one that crashed).
    std::optional<std::int64_t> active;
    for (NodeId id : HaNodes::of(w).numbered_servers()) {
      if (w.is_up(id)) active = w.node(id).probe("hosts_active", "");
      if (active) break;
    }
    if (!active || *active != agents_total) return false;
    return true;
  }, {"agent-*", "server-*"});
}

std::string agent_name(int i) { return fmt::format("agent-{}", i); }

// The cluster manager of server-<index>, with the scenario's bridge address and leftover state.
cm::Config manager_config(const ClusterSpec& cluster, int index) {
  cm::Config c = cm::config_for(cluster, index);
  std::string name = cm::member_name(index);
  if (!cluster.bridge_address.empty()) c.bridge_address = cluster.bridge_address;
  if (auto it = cluster.server_bridge_addresses.find(name);
      it != cluster.server_bridge_addresses.end())
    c.bridge_address = it->second;
  for (const std::string& s : cluster.leftover_state) c.leftover_state |= s == name;
  return c;
}

void build_cattle(const ScenarioSpec& spec, WorldBuilder& world) {
  const bool ha = spec.cluster.servers > 1;
  for (int i = 1; i <= spec.cluster.servers; ++i) {
    cattle::ServerConfig c;
    // Every server knows the scenario's stacks and hosts; in HA the first to find the external
    // database empty seeds it, and all of them work on what it holds.
    c.stacks = spec.stacks;
    for (int a = 1; a <= spec.cluster.agents; ++a) c.agents.push_back(agent_name(a));
    for (const auto& [agent, host] : spec.hosts) c.host_labels[agent] = host.labels;
    for (const StackSpec& s : spec.stacks)
      if (s.load_balancer) c.lb_nodes.push_back(s.name + "/" + s.load_balancer->name);
    c.max_connections = spec.cluster.database.max_connections;
    c.pool_per_server = spec.cluster.database.pool_per_server;
    // In single mode the store is embedded in server-1; in HA every server works on a copy of
    // the external `db`'s tables, through its pool.
    c.embedded_db = i == 1 && !spec.cluster.database.external;
    if (ha) {
      c.manager = manager_config(spec.cluster, i);
      c.zookeeper = spec.cluster.zookeeper;
      c.redis = spec.cluster.redis;
    }
    world.add_node(fmt::format("server-{}", i), std::make_unique<cattle::CattleServer>(c));
  }
  if (!ha) return;
  auto db = std::make_unique<mysql::DbNode>(spec.cluster.database);
  // Cattle's health-check tables, shared by the servers (models/cattle/healthcheck_ha.cpp).
  bool health = false;
  for (const StackSpec& st : spec.stacks)
    for (const ServiceSpec& sv : st.services) health = health || sv.health_check.has_value();
  if (health) {
    db->add_table(std::string(cattle::HealthcheckInstanceRow::k_table));
    db->add_table(std::string(cattle::HealthcheckHostMapRow::k_table));
  }
  world.add_node("db", std::move(db));
  auto clients = spec.cluster.timing.find(std::string(mysql::k_db_clients));
  if (clients == spec.cluster.timing.end()) return;
  for (std::int64_t k = 1; k <= clients->second; ++k)
    world.add_node(fmt::format("dbclient-{}", k), std::make_unique<mysql::DbWorkload>());
}

void build_agents(const ScenarioSpec& spec, WorldBuilder& world) {
  auto catalog = std::make_shared<std::vector<agent::ServiceScale>>();
  std::map<std::string, std::vector<std::string>, std::less<>> links;
  std::map<std::string, HealthCheckSpec> health_checks;
  for (const StackSpec& stack : spec.stacks)
    for (const ServiceSpec& svc : stack.services) {
      std::string full = stack.name + "/" + svc.name;
      catalog->push_back({full, svc.scale, svc.ports});
      for (const std::string& l : svc.links) links[full].push_back(stack.name + "/" + l);
      if (svc.health_check) health_checks[full] = *svc.health_check;
    }
  std::vector<std::string> servers;
  if (spec.cluster.servers > 1)
    for (int i = 1; i <= spec.cluster.servers; ++i) servers.push_back(fmt::format("server-{}", i));
  for (int a = 1; a <= spec.cluster.agents; ++a) {
    agent::AgentConfig c;
    // In HA the agents first register through the DNS name's round robin.
    c.server = servers.empty() ? "server-1" : servers[static_cast<std::size_t>(a - 1) %
                                                      servers.size()];
    c.servers = servers;
    // The servers' events, pings among them, travel over Redis only when the cluster has one.
    c.redis_bus = !servers.empty() && spec.cluster.redis > 0;
    c.links = links;
    c.catalog = catalog;
    c.health_checks = health_checks;
    world.add_node(agent_name(a), std::make_unique<agent::Agent>(c));
  }
}

void build_app(const ScenarioSpec& spec, WorldBuilder& world) {
  for (const StackSpec& stack : spec.stacks) {
    if (!stack.load_balancer) continue;
    app::LoadBalancerConfig c;
    for (const std::string& target : stack.load_balancer->targets)
      for (const ServiceSpec& svc : stack.services)
        if (svc.name == target && svc.health_check && !c.health_check)
          c.health_check = svc.health_check;
    world.add_node(stack.name + "/" + stack.load_balancer->name,
                   std::make_unique<app::LoadBalancer>(c));
  }
  int k = 1;
  for (const ClientSpec& cs : spec.workload) {
    std::string name = fmt::format("client-{}", k++);
    if (cs.api) {
      app::ApiClientConfig c;
      for (int i = 1; i <= spec.cluster.servers; ++i) c.servers.push_back(fmt::format("server-{}", i));
      c.interval_ns = cs.interval_ns;
      world.add_node(name, std::make_unique<app::ApiClient>(c));
      continue;
    }
    world.add_node(name,
                   std::make_unique<app::Client>(app::ClientConfig{cs.target, cs.interval_ns}));
  }
}

}  // namespace

void register_models(Registry& registry) {
  registry.add_model({"cattle", build_cattle});
  registry.add_model({"agent", build_agents});
  registry.add_model({"app", build_app});
  register_timings(registry);
  register_mechanisms(registry);
  register_allocator_mechanisms(registry);
  register_health_timings(registry);
  register_health_mechanisms(registry);
  cattle::register_lifecycle(registry);
  register_names(registry);
  register_events(registry);
  register_checks(registry);
  register_health_checks(registry);
  register_convergence(registry);
  register_ha_checks(registry);
  // HA-mode systems; they add nodes only when the scenario asks for them.
  register_zookeeper(registry);
  register_redis(registry);
  // The external MySQL of HA mode; its node `db` is built with the servers (build_cattle).
  register_db_node(registry);
  // The rancher-ha cluster manager, embedded in each HA server.
  register_cluster_manager(registry);
  // The explorer's known-answer model; it adds nodes only when a scenario asks for it.
  register_lease_lock(registry);
  // Last: the ranges apply to the timings every model above registered.
  bound_timings(registry);
}

std::optional<std::string> stale_holder_action_full(const WorldView& world) {
  return stale_holder_action_afresh(world, nullptr);
}

}  // namespace stampede
