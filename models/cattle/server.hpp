#pragma once
// The Cattle server in single mode: the process engine (resources, transitions, process
// instance rows, an in-memory lock per resource, an in-memory event bus, the replay task),
// the service reconciler, the agent ping monitor, and the configuration pushes that Rancher's
// metadata service makes (overlay network to agents, backends to load balancers). Its MySQL
// store is embedded: durable, but unreachable whenever this process is down.
//
// In HA mode (cluster.servers > 1) each server also embeds a DbClient, which opens its pool to
// the external `db` at boot (one connection, more as borrows need them, as commons-dbcp does;
// pool_per_server at once with cattle_pool_on_demand off), and a cluster manager, which starts
// only once that pool is open: a server refused with error 1040 logs it and stays out of the
// cluster. The process engine then runs on the server's copy of the shared tables (ha.cpp): it
// writes through to the external db and re-reads it every replay interval and on every event
// from the other servers (Redis); it pings only the agents whose ZooKeeper connection lock
// (AGENT.CONNECTION.<id>) it holds, tries the others' locks every twelfth ping round, and
// reconciles a service only while it holds the service's ZooKeeper lock. Like Cattle, a server
// whose session expired goes on acting on the locks it held; the stale-holder check (mechanism
// zk_stale_holder_check, not in Cattle, off unless a scenario switches it on) stops it.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/cattle/allocator.hpp"
#include "models/cattle/healthcheck.hpp"
#include "models/cattle/lock_manager.hpp"
#include "models/cattle/ping_table.hpp"
#include "models/cattle/process_defs.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/row_cache.hpp"
#include "models/cattle/rows.hpp"
#include "models/cattle/timers.hpp"
#include "models/cluster_manager/cluster_manager.hpp"
#include "models/mysql/database.hpp"
#include "models/mysql/db_client.hpp"
#include "models/redis/eventing.hpp"
#include "models/zookeeper/zk_client.hpp"
#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"

namespace stampede::cattle {

using mysql::RowId;

// HA: the name of an agent's ZooKeeper connection lock, "AGENT.CONNECTION.<id>" (ha.cpp).
std::string agent_lock_name(HostId host);
// HA: whether a ZooKeeper lock is the environment's placement lock (placement_lock.cpp).
bool is_placement_lock(const std::string& lock);
// HA: the process instance whose ZooKeeper lock PROCESS.INSTANCE.<id> this is (process_lock.cpp).
std::optional<ProcessId> process_of_lock(const std::string& lock);

struct ServerConfig {
  std::vector<StackSpec> stacks;     // seeded into the store on the first boot
  std::vector<std::string> agents;   // hosts registered on the first boot: "agent-1", ...
  // The labels each agent registers its host with (the scenario's `hosts:`), for the allocator.
  std::map<std::string, std::map<std::string, std::string>> host_labels;
  std::vector<std::string> lb_nodes; // load balancer nodes to configure: "wordpress/lb", ...
  int max_connections = 151;
  int pool_per_server = 50;
  bool embedded_db = true;           // single mode: the DB is this node's (truncate lands here)
  // HA mode: this server's cluster manager (its index is the server's); absent in single mode.
  std::optional<cm::Config> manager;
  int zookeeper = 0;  // HA: the ensemble's size (zookeeper-1..N)
  // HA: the Redis servers redis-1..redis that carry events between the servers (0: none).
  int redis = 1;
};

// A member that a copy assignment leaves as it is (a copy construction copies it): for what
// assign_from() need not bring over, since it passes only between copies of one server.
template <class T>
class KeptOnAssign : public T {
 public:
  KeptOnAssign() = default;
  KeptOnAssign(T v) : T(std::move(v)) {}  // NOLINT: implicit, as a plain T member
  KeptOnAssign(const KeptOnAssign&) = default;
  KeptOnAssign& operator=(const KeptOnAssign&) { return *this; }
};

class CattleServer final : public Node, public zk::EmbedsZkClient {
 public:
  explicit CattleServer(ServerConfig config);

  void on_start(Ctx& ctx) override;
  void on_message(Ctx& ctx, NodeId from, const Message& msg) override;
  void on_timer(Ctx& ctx, std::uint64_t tag) override;
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) override;
  void on_crash() override;
  bool on_fault(Ctx& ctx, const ModelFault& fault) override;
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const override;
  std::optional<std::int64_t> probe_working(std::string_view key, std::string_view arg) const;
  std::uint64_t state_digest() const override;
  std::string_view message_name(std::uint32_t type) const override;
  // Single mode only: an HA server's client libraries hold callbacks bound to this object
  // (pending database answers among them), so a copy would answer into the original.
  std::unique_ptr<Node> clone() const override;
  // HA mode only, in clone()'s place: a copy whose callbacks still point at this object, which
  // is right once assign_from() has put it back into this same object. Every callback the server
  // and its client libraries hold is bound to the server itself (ha.cpp, server.cpp,
  // migration.cpp, healthcheck_ha.cpp), and the cluster manager, the db client and the
  // ZooKeeper and Redis clients are members held by value, so the copy carries their whole state
  // too: nothing the server points at lies outside it.
  std::unique_ptr<Node> saved_copy() const override;
  void assign_from(const Node& saved) override;
  // The fields of the two lists, then those of each embedded client library that is a
  // state::Component (server.cpp).
  std::size_t state_field_count() const override;
  std::string perturb_state_field(std::size_t i) override;

  // The tables the server reads and writes (the durable store, or its own memory copy when the
  // `state_in_store` mechanism is off).
  const mysql::Database& store() const {
    if (cm_) return volatile_.shared;
    return cfg_.state_in_store ? durable_.store : volatile_.memory;
  }
  const mysql::Database& durable_store() const { return durable_.store; }
  // The server's view of a host ("active", ...), or "" when it does not know the host.
  std::string host_state(std::string_view agent) const;
  // HA mode only (null in single mode).
  const cm::ClusterManager* manager() const { return cm_ ? &*cm_ : nullptr; }
  const mysql::DbClient* db_client() const { return db_client_ ? &*db_client_ : nullptr; }
  // HA: the event bus of the running process (none before its boot or while it is down).
  const redis::Eventing* eventing() const { return redis_ ? &*redis_ : nullptr; }
  const zk::ZkClient* zk_client() const { return zk_ ? &*zk_ : nullptr; }
  const zk::ZkClient* embedded_zk_client() const override { return zk_client(); }
  // The probe lock_holders_max: the most holders any in-memory lock has (LockManager).
  std::int64_t lock_holders_max() const { return volatile_.locks.max_holders(); }
  bool ha() const { return cm_.has_value(); }
  // HA: the actions this server took under service locks, as (ZooKeeper session, local time),
  // the last one per session, for the lock.no_stale_holder_action invariant.
  const std::map<std::int64_t, TimeNs>& actions_by_session() const {
    return volatile_.actions;
  }

 private:
  struct RunningProcess {
    enum class Phase { waiting_lock, working } phase = Phase::waiting_lock;
    std::string lock;
    Untracked<TimerId> timer;  // the lock wait or the agent's answer
    TimeNs started_ns = 0;     // when this execution began
    STAMPEDE_FIELDS(phase, lock, timer, started_ns)
  };
  struct BusEvent {
    std::string name;
    std::int64_t resource = 0;  // a host's or an instance's id, 0 for none
    STAMPEDE_FIELDS(name, resource)
  };
  // HA: a service this server works on under its ZooKeeper lock.
  struct ServiceWork {
    enum class Phase { waiting_lock, reading, working } phase = Phase::waiting_lock;
    Untracked<TimerId> timer;  // the lock wait
    STAMPEDE_FIELDS(phase, timer)
  };
  // HA: the per-environment placement lock (placement_lock.cpp). Placements wait on the server in
  // arrival order (SimpleAllocator's synchronized methods); the first takes the ZooKeeper lock,
  // reads the instances, places and holds the lock until its write is in the db. Digested only
  // while there is a placement, so that a run without one keeps its digest.
  class Placement {
   public:
    enum class Phase : std::uint8_t { idle, waiting_lock, reading, placing, writing };
    Phase phase = Phase::idle;
    ProcessId current;            // the process placing, from waiting_lock on
    std::deque<ProcessId> queue;  // the processes waiting behind it
    std::int64_t write_seq = -1;  // writing: the placement's write
    Untracked<TimerId> timer;     // waiting_lock: the lock wait

    void digest_into(Digest& d) const {
      if (phase == Phase::idle && queue.empty()) return;
      state::add(d, phase);
      state::add(d, current);
      state::add(d, queue);
      state::add(d, write_seq);
    }
    void perturb_for_test() { queue.emplace_back(); }
  };
  // HA: the process instances' ZooKeeper locks PROCESS.INSTANCE.<id> (process_lock.cpp), tried
  // (false) or held (true). Digested only while there is one, so that a run without them (single
  // mode) keeps its digest.
  class ProcessLocks {
   public:
    std::map<ProcessId, bool> locks;

    void digest_into(Digest& d) const {
      if (!locks.empty()) state::add(d, locks);
    }
    void perturb_for_test() { locks[ProcessId{1}] = false; }
  };
  // HA: a write sent (or to be sent) to the external db.
  struct JournalEntry {
    mysql::WriteBatch batch;
    bool sent = false;
    bool acked = false;  // answered, with success or an error
    // Made under a service's lock (may_act): sending it is an action of that lock's holder.
    bool action = false;
    STAMPEDE_FIELDS(batch, sent, acked, action)
  };
  // HA: an agent command waiting for the writes before it to be in the db.
  struct DeferredSend {
    ProcessId pi;
    NodeId to = k_no_node;
    HostId host;
    StartContainer msg;
    STAMPEDE_FIELDS(pi, to, host, msg)
  };

  // What survives a crash: the embedded store's files and the boot count. The three sequence
  // numbers are not on disk, but a crash has never reset them; they are kept here so that every
  // recorded trace replays step for step (they only grow, so their values after a restart do
  // not matter to the protocol).
  struct Durable {
    mysql::Database store;  // single mode: the embedded MySQL (its connections die in a crash)
    bool booted_before = false;
    std::int64_t incarnation = 0;  // HA: boots so far, part of the id range of its inserts
    std::int64_t ping_seq = 0;
    std::int64_t next_seq = 0;          // HA: the next write's sequence number
    std::int64_t refresh_from_seq = 0;  // HA: writes from this one on are applied after a read
    // HA lifecycle (lifecycle.cpp). Docker's restart manager keeps its back-off outside the
    // container, so an exit does not reset it.
    std::int64_t exits = 0;          // System.exit(3) on Curator's LOST, so far
    DurationNs restart_wait_ns = 0;  // Docker's last restart wait
    TimeNs started_ns = 0;           // when the current process booted
    STAMPEDE_FIELDS(store, booted_before, incarnation, ping_seq, next_seq, refresh_from_seq,
                    exits, restart_wait_ns, started_ns)
  };
  // What a crash loses: the process's memory.
  struct Volatile {
    mysql::Database memory;  // the tables when the `state_in_store` mechanism is off
    LockManager locks;
    std::map<ProcessId, RunningProcess> running;
    PingTable pings;              // by host: misses in a row, pings unanswered
    std::int64_t ping_round = 0;  // the ping monitor's rounds since the boot (`interation`)
    HostSlots ping_slots;  // HA: the hosts' ping timer slots
    // HA: the agents' AGENT.CONNECTION locks, tried (false) or held (true): cattle's
    // LockDelegatorImpl.holding, which nothing but closing the connection empties.
    std::map<HostId, bool> agent_locks;
    // HA, cattle_agent_events_over_redis: the agents whose websocket this server holds, each
    // subscribed to its events on the Redis bus (agent_bus.cpp).
    SocketTable sockets;
    // HA, cattle_agent_commands_over_redis: the reply-to of each command this server wrote on an
    // agent's socket, until the agent answers (agent_bus.cpp).
    ReplyToTable reply_to;
    std::deque<BusEvent> bus;
    bool bus_scheduled = false;
    // HA mode.
    bool ha_booted = false;   // past the staggered start: the process runs
    bool serving = false;     // the pool opened: the server answers its /ping
    bool cm_started = false;  // the manager was started in this incarnation
    mysql::Database shared;   // the server's copy of the shared tables
    bool cache_ready = false;  // read back from the db at least once since the boot
    bool refreshing = false;
    bool refresh_again = false;  // an event came while a refresh was in flight
    bool refresh_then_replay = false;
    int refresh_waiting = 0;  // tables still to be read
    bool refresh_failed = false;
    std::map<std::string, std::vector<std::pair<RowId, mysql::Row>>> refresh_rows;
    std::map<std::int64_t, JournalEntry> journal;  // writes sent to the db, by sequence
    // Agent commands waiting for the write of this sequence number (and those before it).
    std::map<std::int64_t, std::vector<DeferredSend>> deferred;
    std::map<ServiceId, ServiceWork> service_work;
    std::map<std::int64_t, TimeNs> actions;  // ZooKeeper session -> the last action's time
    bool reconcile_paused_logged = false;
    // The seed's write while the db has not answered it (-1: none): the server works only once
    // its seed is in.
    std::int64_t seed_seq = -1;
    // HA lifecycle: the process exited and waits for Docker's restart; Curator's LOST timer.
    bool down = false;
    Untracked<TimerId> lost_timer;
    // HA schema migration (migration.cpp): done in this process; the wait's deadline.
    bool migrated = false;
    TimeNs changelog_deadline_ns = 0;
    // The exit is on its way (migration.cpp): the pending BootFailed timer says as much, and
    // the exit resets it, so it adds nothing to the state.
    Untracked<bool> boot_failed = false;
    // HA health checks (healthcheck_ha.cpp): the reports and reconciles being handled.
    HealthWorkQueue health_work;
    Placement placement;
    ProcessLocks process_locks;
    // HA health checks (healthcheck_register.cpp): the registrations under their locks.
    HealthRegistrations health_register;
    STAMPEDE_FIELDS(memory, locks, running, pings, ping_round, ping_slots, agent_locks, sockets,
                    reply_to, bus, bus_scheduled, ha_booted, serving, cm_started, shared,
                    cache_ready, refreshing, refresh_again, refresh_then_replay, refresh_waiting,
                    refresh_failed, refresh_rows, journal, deferred, service_work, actions,
                    reconcile_paused_logged, seed_seq, down, lost_timer, migrated,
                    changelog_deadline_ns, boot_failed, health_work, placement, process_locks,
                    health_register)
  };

  mysql::Database& db() {
    if (cm_) return volatile_.shared;
    return cfg_.state_in_store ? durable_.store : volatile_.memory;
  }
  // Every write of the engine goes through here: in HA it also goes to the external db.
  // `action`: the write is made under a service's lock, after may_act (ha.cpp, send_next_write).
  std::vector<RowId> commit(Ctx& ctx, mysql::Transaction& txn, bool action = false);

  // Messages (server.cpp).
  void on(Ctx& ctx, NodeId from, const Pong& m);
  void on(Ctx& ctx, NodeId from, const Hello& m);
  void on(Ctx& ctx, NodeId from, const ApiRequest& m);
  // Sends the answer to API request `request`: 200 with the services known, or `status`.
  void answer_api(Ctx& ctx, NodeId to, std::int64_t request, std::int64_t status);
  void on(Ctx& ctx, NodeId from, const ContainerEvent& m);

  // Timers (server.cpp).
  void on(Ctx& ctx, const PingTick& t);
  void on(Ctx& ctx, const PingTimeout& t);
  void on(Ctx& ctx, const ReplayTick& t);
  void on(Ctx& ctx, const BusDrain& t);
  void on(Ctx& ctx, const LockWait& t);
  void on(Ctx& ctx, const AgentReply& t);
  void on(Ctx& ctx, const HaBoot& t);
  void on(Ctx& ctx, const ServiceLockWait& t);
  void on(Ctx& ctx, const PlacementLockWait& t);
  void on(Ctx& ctx, const ZkLost& t);
  void on(Ctx& ctx, const ContainerRestart& t);

  // HA lifecycle (lifecycle.cpp): Curator's LOST, System.exit(3), Docker's restart.
  void arm_lost(Ctx& ctx, DurationNs after_ns);
  void lifecycle_session_event(Ctx& ctx, zk::SessionEvent event);
  void exit_process(Ctx& ctx);

  // HA schema migration at boot (migration.cpp): Liquibase's changelog lock.
  void start_migration(Ctx& ctx);
  void try_changelog_lock(Ctx& ctx);
  void on_changelog_lock_read(Ctx& ctx, const mysql::DbResult& result);
  void on_changelog_lock_taken(Ctx& ctx, const mysql::DbResult& result);
  void boot_failed(Ctx& ctx, std::string why);
  void on(Ctx& ctx, const ChangelogLockPoll& t);
  void on(Ctx& ctx, const ChangelogUpdateDone& t);
  void on(Ctx& ctx, const BootFailed& t);
  void on(Ctx& ctx, const MigrationDone& t);
  // The Liquibase data source's pool events: its connection opened, or could not be made.
  void on_liquibase_pool_event(Ctx& ctx, mysql::PoolEvent event);
  // HA: the server's own pool (mechanism cattle_pool_on_demand), opened once the migration is
  // done; then Archaius's configuration data source and its poll (cattle_config_datasource).
  void open_ha_pool(Ctx& ctx);
  void start_config_source(Ctx& ctx);
  void on(Ctx& ctx, const ConfigPoll& t);
  // The pool is open and the schema is current: the server serves and joins.
  void pool_ready(Ctx& ctx);

  // Boot (server.cpp).
  void boot(Ctx& ctx);
  void seed(Ctx& ctx);
  // Whether the tables hold the seed's marker (an installed database).
  bool seeded() const;
  void open_pool(Ctx& ctx);
  // HA mode: the external pool's outcome decides whether the cluster manager starts.
  void on_pool_event(Ctx& ctx, mysql::PoolEvent event);

  // Typed rows of the server's tables (row_cache.hpp): good until the next write to the table.
  template <class R>
  const RowCache::Map<R>& rows() const {
    return cache_.all<R>(store());
  }
  template <class R>
  const R* row(typename R::IdType id) const {
    return cache_.find<R>(store(), id);
  }
  HostState state_of(HostId host) const;
  InstanceState state_of(InstanceId instance) const;

  // Process engine (process_engine.cpp).
  ProcessId schedule_process(Ctx& ctx, std::string_view process, HostId host);
  ProcessId schedule_process(Ctx& ctx, std::string_view process, InstanceId instance);
  ProcessId schedule(Ctx& ctx, std::string_view process, std::int64_t resource);
  void run_process(Ctx& ctx, ProcessId pi);
  void execute(Ctx& ctx, ProcessId pi);
  // The handler's part of execute: the host an agent handler runs on (none to finish at once),
  // or nullopt when the process failed or was canceled.
  std::optional<HostId> prepare_handler(Ctx& ctx, const ProcessRow& p, const ProcessDef& def);
  // The host a stop handler calls, or none when the call is skipped.
  HostId stop_target(const ProcessRow& p) const;
  // Sends process `pi`'s command (a start, or else a stop) to the host's agent and waits.
  void call_agent(Ctx& ctx, ProcessId pi, HostId host, bool start);
  // The agent answered the command of a working process of `handler` on the instance: it
  // finishes. Whether there was one.
  bool agent_answered(Ctx& ctx, InstanceId instance, HandlerKind handler);
  // `from`: the resource's state before the process ran, or "" for its current one.
  void finish_process(Ctx& ctx, ProcessId pi, std::string_view from);
  void cancel_process(Ctx& ctx, ProcessId pi, std::string_view why);
  void fail_process(Ctx& ctx, ProcessId pi, std::string_view why);
  void release_lock(Ctx& ctx, ProcessId pi);
  bool has_unfinished(HostId host) const;
  bool has_unfinished(InstanceId instance) const;
  bool has_unfinished(ResourceType type, std::int64_t resource) const;
  // The state text of a process's resource, or nullopt when the resource is gone.
  std::optional<std::string_view> resource_state(const ProcessRow& p) const;
  void replay(Ctx& ctx);
  // Whether the replay task runs process `p` now (Cattle's shouldWaitLonger).
  bool replay_due(const ProcessRow& p, TimeNs now) const;
  void emit(Ctx& ctx, std::string name, std::int64_t resource);
  void drain_bus(Ctx& ctx);
  void on_container_started(Ctx& ctx, InstanceId instance);
  // The log line and structured event of a finished process (`from`: the state it left).
  void announce(Ctx& ctx, std::string_view process, std::int64_t resource, std::string_view from);
  void announce_host(Ctx& ctx, std::string_view process, HostId host, std::string_view from);

  // Reconciler and configuration pushes (reconciler.cpp).
  void reconcile(Ctx& ctx);
  void push_config(Ctx& ctx);
  void push_lb_config(Ctx& ctx);
  // The host's name ("" when unknown): a reference into the row cache, good until a write.
  const std::string& host_name(HostId host) const;
  std::optional<HostId> host_by_name(std::string_view name) const;
  // The node of a host's agent, and the host of an agent's node, kept by the row cache so that
  // pings, pongs, hellos and pushes do not look names up (row_cache.hpp).
  NodeId agent_node(Ctx& ctx, HostId host) const;
  std::optional<HostId> host_of_node(Ctx& ctx, NodeId node) const;

  void reconcile_service(Ctx& ctx, ServiceId service);
  // A service's instances that are not removed, by their index in the service.
  std::map<std::int64_t, InstanceId> instances_by_index(ServiceId service) const;

  // HA mode (ha.cpp).
  void start_ha(Ctx& ctx);
  void crash_ha();
  void refresh(Ctx& ctx, bool then_replay);
  void on_refresh_result(Ctx& ctx, const std::string& table, const mysql::DbResult& result);
  void on_commit_result(Ctx& ctx, std::int64_t seq, const mysql::DbResult& result);
  // Queues resolved writes for the db as one transaction; returns its sequence number.
  std::int64_t enqueue_write(Ctx& ctx, const mysql::Transaction& resolved, bool action = false);
  // The first read since the boot: seeds an empty database (server-1) and tells whether the
  // server may work on the tables now.
  bool on_first_read(Ctx& ctx);
  void on_seed_result(Ctx& ctx, const mysql::DbResult& result);
  void prune_journal();
  void send_next_write(Ctx& ctx);
  // The stale-holder check at a write: abandons all service work, drops the unsent writes.
  void drop_stale_work(Ctx& ctx);
  bool in_partition(HostId host) const;
  // Whether this server pings the host's agent and pushes its configuration: in HA, whether it
  // holds the agent's connection lock (or, with agent_connection_locks off, its partition).
  bool owns_agent(HostId host) const;
  // HA, cattle_agent_events_over_redis (agent_bus.cpp): the agents' events over Redis.
  bool agent_events_on_bus() const { return redis_.has_value() && cfg_.agent_events_bus; }
  void subscribe_replies(Ctx& ctx);
  void attach_socket(Ctx& ctx, HostId host, NodeId agent);
  void detach_socket(Ctx& ctx, NodeId peer);
  void ping_socket_agents(Ctx& ctx);
  void publish_ping(Ctx& ctx, HostId host, std::int64_t seq, bool instances);
  void on_bus_message(Ctx& ctx, const std::string& channel, const std::string& payload);
  void forward_ping(Ctx& ctx, HostId host, const std::string& payload);
  void publish_pong(Ctx& ctx, HostId host, const Pong& m);
  void on_bus_pong(Ctx& ctx, const std::string& payload);
  // HA, cattle_agent_commands_over_redis (agent_bus.cpp): the agent commands and their replies
  // over Redis too.
  bool agent_commands_on_bus() const { return agent_events_on_bus() && cfg_.agent_commands_bus; }
  // Sends a command (StartContainer, StopContainer, DeactivateContainer) to the agent of `host`,
  // whose node is `agent`: published on the bus when the commands go over it, else direct.
  template <class Cmd>
  void command_agent(Ctx& ctx, HostId host, NodeId agent, const Cmd& cmd) {
    if (agent_commands_on_bus())
      return publish_command(ctx, host, Cmd::k_type, cmd.instance, names_of(cmd.container));
    if (agent != k_no_node) ctx.send(agent, wire::encode(cmd));
  }
  void publish_command(Ctx& ctx, HostId host, std::uint32_t type, std::int64_t instance,
                       const std::vector<std::string>& names);
  void forward_command(Ctx& ctx, HostId host, const std::string& payload);
  void relay_reply(Ctx& ctx, const ContainerEvent& m);
  void on_bus_reply(Ctx& ctx, const std::string& payload);
  // An agent's ContainerEvent, from its node `from` (directly, or its reply over the bus).
  void container_event(Ctx& ctx, NodeId from, const ContainerEvent& m);
  // PingMonitorImpl.handleUnowned on its rounds: tries the agent's connection lock.
  void try_agent_lock(Ctx& ctx, HostId host);
  void on_agent_lock(Ctx& ctx, HostId host, bool acquired);
  bool pushes_lb_config() const;
  void reconcile_ha(Ctx& ctx);
  bool service_needs_work(ServiceId service, TimeNs now) const;
  // Unfinished start processes of the service that no run of this server is working on and
  // that the replay task would run now (replay_due).
  std::vector<ProcessId> waiting_processes(ServiceId service, TimeNs now) const;
  void on_lock_acquired(Ctx& ctx, const std::string& lock);
  void on_lock_lost(Ctx& ctx, const std::string& lock);
  void on_session_event(Ctx& ctx, zk::SessionEvent event);
  void on_service_read(Ctx& ctx, ServiceId service, const mysql::DbResult& result);
  void on_lock_wait_over(Ctx& ctx, ServiceId service);
  // Releases the service's lock once this server runs no process of it any more.
  void service_work_check(Ctx& ctx, ServiceId service);
  void abandon_service(Ctx& ctx, ServiceId service, std::string_view why);
  // Whether this server may act on the service now; records the action when it may.
  bool may_act(Ctx& ctx, ServiceId service);
  // The service whose lock a process needs (start handlers on a service's instance), or none.
  ServiceId service_lock_of(ProcessId pi) const;
  bool holding_service(ServiceId service) const;
  void publish_event(Ctx& ctx, const std::string& name);
  // Sends `msg` for process `pi` once every write made so far is in the database, and only if
  // the server may still act on the process's service then.
  void send_when_durable(Ctx& ctx, ProcessId pi, HostId host, NodeId to, StartContainer msg);

  // The allocator (allocator.cpp): the host for a new instance, or none with `why` saying why.
  HostId allocate(Ctx& ctx, InstanceId instance, std::string& why);
  std::vector<alloc::Candidate> alloc_candidates(InstanceId placing, bool residents) const;
  // HA, the placement lock (placement_lock.cpp). placement_wait queues a start that needs a host
  // and returns true, unless it is the placement that holds the lock and has read the rows.
  bool needs_placement(const ProcessRow& p, const ProcessDef& def) const;
  bool placement_wait(Ctx& ctx, ProcessId pi, const ProcessRow& p, const ProcessDef& def);
  void placement_next(Ctx& ctx);
  void placement_lock_acquired(Ctx& ctx);
  void on_placement_read(Ctx& ctx, const mysql::DbResult& result);
  void placement_writing(ProcessId pi);
  void placement_write_done(Ctx& ctx, std::int64_t seq);
  void placement_done(Ctx& ctx);
  // HA, the process instance's lock (process_lock.cpp). process_lock_wait tries the lock and
  // returns true while the process must wait for the answer; the answer runs it again.
  bool process_lock_wait(Ctx& ctx, ProcessId pi);
  void process_lock_answer(Ctx& ctx, ProcessId pi, bool acquired);
  void release_process_lock(Ctx& ctx, ProcessId pi);
  // HA: drops the writes not yet sent to the db (and the agent commands waiting for them);
  // returns how many.
  std::size_t drop_unsent_writes(Ctx& ctx);
  // The scenario's spec of a service (and its stack's name), or null.
  const ServiceSpec* service_spec(ServiceId service, std::string* stack_name) const;

  // Health checks (healthcheck.cpp).
  void start_health(Ctx& ctx);
  // Creates the two tables in a store of a scenario with health checks.
  static void add_health_tables(mysql::Database& db);
  const HealthCheckSpec* health_spec(ServiceId service) const;
  const HealthCheckSpec* health_spec_of(InstanceId instance) const;
  const std::vector<HostId>& active_hosts() const;  // in id order (the row cache's)
  // A container's rows (nullopt: it has no healthcheck_instance row), and every container's.
  std::optional<HealthRow> health_row(InstanceId instance) const;
  std::map<InstanceId, HealthRow> health_rows() const;
  const HealthcheckHostMapRow* checker_row(InstanceId instance, HostId checker) const;
  void health_started(Ctx& ctx, InstanceId instance);
  // Whether it created checker rows (healthcheckinstancehostmap.create).
  bool register_health(Ctx& ctx, InstanceId instance);
  void push_health_config(Ctx& ctx);
  void on(Ctx& ctx, NodeId from, const HealthReport& m);
  void on(Ctx& ctx, const HealthCleanupTick& t);
  void set_health(Ctx& ctx, InstanceId instance, Health health);
  void health_host_lost(Ctx& ctx, HostId host);
  void health_host_back(Ctx& ctx, HostId host);
  // The containers of a service its strategy removes now.
  std::vector<InstanceId> health_doomed(ServiceId service) const;
  // The strategy's removals at the service's reconcile; whether it removed any.
  bool health_recreate(Ctx& ctx, ServiceId service);
  void remove_for_health(Ctx& ctx, InstanceId instance, std::string_view why);
  void stop_removed_copies(Ctx& ctx, HostId host, const std::vector<std::string>& running);

  // Health checks in HA (healthcheck_ha.cpp): a report or a reconcile goes through the shared
  // tables under the container's HealthcheckInstanceLock.
  void health_enqueue(Ctx& ctx, InstanceId instance, HealthWork work);
  void health_work_start(Ctx& ctx, InstanceId instance);
  void health_work_done(Ctx& ctx, InstanceId instance, std::string_view dropped);
  void health_read(Ctx& ctx, InstanceId instance);
  void on_health_read(Ctx& ctx, InstanceId instance, std::string_view table,
                      const mysql::DbResult& result);
  void health_write(Ctx& ctx, InstanceId instance);
  // The db answered write `seq` (and those before it).
  void health_write_done(Ctx& ctx, std::int64_t seq, bool ok);
  // The write is in: take the container's lock (or judge at once without ZooKeeper).
  void health_lock(Ctx& ctx, InstanceId instance);
  void health_lock_acquired(Ctx& ctx, HealthcheckInstanceId hci);
  void health_judge(Ctx& ctx, InstanceId instance);
  void on(Ctx& ctx, const HealthLockWait& t);
  // HA registration of a container's checkers under HEALTHCHECK.<id>.INSTANCE.REGISTER
  // (healthcheck_register.cpp, mechanism cattle_healthcheck_register_lock).
  bool health_register_locked() const;
  void health_register(Ctx& ctx, InstanceId instance);
  void health_register_acquired(Ctx& ctx, InstanceId instance);
  void on_health_register_read(Ctx& ctx, InstanceId instance, std::string_view table,
                               const mysql::DbResult& result);
  void health_register_write(Ctx& ctx, InstanceId instance);
  void health_register_write_done(Ctx& ctx, std::int64_t seq, bool ok);
  void health_register_done(Ctx& ctx, InstanceId instance, std::string_view dropped);
  void on(Ctx& ctx, const HealthRegisterWait& t);
  // The container's checker rows to add (pick_checkers on this server's copy), committed; whether
  // there were any.
  bool add_checkers(Ctx& ctx, InstanceId instance, const HealthRow& hrow);
  // A fresh read of some of a table's rows into the copy: the rows whose `instance_id` is the
  // container's, or (instance invalid) the whole table.
  void merge_read(std::string_view table, InstanceId instance, const mysql::DbResult& result);

  // Ping monitor (ping_monitor.cpp).
  void ping_all(Ctx& ctx);
  // The slot a host's ping timeouts carry, and back (timers.hpp, PingTimeout).
  std::uint64_t ping_slot(HostId host);
  std::optional<HostId> host_of_ping_slot(std::uint64_t slot) const;
  void ping_succeeded(Ctx& ctx, HostId host);
  void ping_failed(Ctx& ctx, HostId host);
  void sync_containers(Ctx& ctx, HostId host, const std::vector<std::string>& running,
                       TimeNs as_of_ns);
  void container_gone(Ctx& ctx, InstanceId instance, std::string_view how);

  // Given at construction and never written: the same in every copy of the server, so an
  // assignment (assign_from, between copies of one server) leaves it. Copying its strings and
  // stacks with every saved copy was 1% of known bug (b)'s plain dfs (callgrind).
  KeptOnAssign<ServerConfig> config_;
  Durable durable_;
  Volatile volatile_;
  // The timings and mechanisms the server uses, read once at every boot (names.hpp): the same
  // at every boot, so not state.
  struct Config {
    DurationNs ping_interval_ns = 0;
    DurationNs ping_timeout_ns = 0;
    std::int64_t reconnect_after = 0;  // failed pings
    std::int64_t ping_instances_every = 1;  // rounds
    std::int64_t ping_unmanaged_every = 1;  // rounds
    bool agent_connection_locks = true;
    DurationNs replay_interval_ns = 0;
    DurationNs lock_wait_ns = 0;          // a resource's change lock
    DurationNs service_lock_wait_ns = 0;  // HA: a service's ZooKeeper lock
    DurationNs retry_max_wait_ns = 0;
    DurationNs agent_reply_timeout_ns = 0;
    bool state_in_store = true;
    bool process_replay = true;
    bool zk_service_locks = true;
    bool zk_stale_holder_check = false;
    bool stop_stray_copies = false;
    bool stop_waits_reply = true;
    bool exit_on_zk_lost = true;
    bool pool_on_demand = true;
    bool redis_per_node = true;
    bool agent_events_bus = true;
    bool agent_commands_bus = true;
    DurationNs curator_lost_after_ns = 0;
    DurationNs boot_time_ns = 0;
    DurationNs restart_backoff_ns = 0;
    DurationNs restart_reset_after_ns = 0;
    bool changelog_lock = true;
    bool release_change_lock = false;
    bool config_source = true;
    DurationNs config_poll_interval_ns = 0;
    DurationNs changelog_lock_wait_ns = 0;
    DurationNs changelog_lock_poll_ns = 0;
    DurationNs changelog_update_ns = 0;
    SeriesId lock_acquisitions = 0;
    SeriesId process_instances = 0;
    SeriesId events = 0;
    SeriesId stale_refusals = 0;
    // The allocator (allocator.cpp).
    bool alloc_spread = true;
    bool alloc_ports = true;
    bool alloc_affinity = true;
    bool alloc_soft = true;
    bool alloc_lock = true;  // HA: the per-environment placement lock in ZooKeeper
    bool process_lock = true;  // HA: each process instance's lock in ZooKeeper
    // Health checks (healthcheck.cpp).
    bool health_checks = true;
    bool health_any = false;  // the mechanism on, and a service has a health check
    bool health_read_back = true;  // HA: judge a report from the rows read back under its lock
    bool health_register_lock = true;  // HA: register checkers under the container's lock
    // Push the checker lists only after the processes that increment the healthcheck item.
    bool config_item_triggers = true;
    SeriesId config_pushes = 0;  // the checker lists sent to agents
    DurationNs health_cleanup_interval_ns = 0;
  };
  void load_config(Ctx& ctx);
  Config cfg_;
  // The typed rows of store(), parsed once per change of a table: a cache, not state. An
  // assignment leaves it as it was (assign_from): it names the table versions it holds by the
  // store's stamps, which no two contents of any store share (mysql::Database::stamp), so it is
  // right for whatever store the assignment brings and parses again only the tables that differ.
  // Copying it with every saved copy of an HA server and back was about 3% of known bug (b)'s
  // plain dfs (callgrind; the copies are made at nearly every step, the restores far fewer).
  KeptOnAssign<RowCache> cache_;
  // HA mode: the client libraries the server links in. Each keeps its own durable and volatile
  // parts and its own crash (the manager's state files, the pool's connections), so they stay
  // out of the two lists. The digest and the perturbation reach into each through its
  // state::Component trio (digest_into, state_field_count, perturb_state_field) when it has one,
  // and through its digest() otherwise (server.cpp, for_each_component): the helpers that own
  // these classes are adding the trio on their branches, and the server picks it up at merge
  // without a change. zk_ and redis_ are made at each HA boot and dropped in a crash.
  // Calls f(name, client) for each embedded client library the server has, in a fixed order.
  template <class Self, class F>
  static void for_each_component(Self& self, F&& f);
  std::optional<mysql::DbClient> db_client_;
  // The two data sources a Cattle 1.1 process holds besides its pool (server.cpp, the
  // constructor): Liquibase's, for the migration at boot, and Archaius's configuration source.
  std::optional<mysql::DbClient> liquibase_db_;
  std::optional<mysql::DbClient> config_db_;
  // Their numbers in connection ids and timer tags (models/mysql/db_protocol.hpp, source_of).
  static constexpr int k_liquibase_source = 1;
  static constexpr int k_config_source = 2;
  // The client of a data source's number: a message or timer of the process goes to it.
  mysql::DbClient* db_client_for(int source) {
    if (source == k_liquibase_source) return &*liquibase_db_;
    if (source == k_config_source) return &*config_db_;
    return &*db_client_;
  }
  std::optional<cm::ClusterManager> cm_;
  std::optional<zk::ZkClient> zk_;
  std::optional<redis::Eventing> redis_;
};

}  // namespace stampede::cattle
