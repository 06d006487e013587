#pragma once
// rancher-ha's cluster manager (rancher/cluster-manager), the process that runs beside each
// Cattle server in HA mode, as a sans-I/O library for embedding in the server's node. It is not a
// Node: its owner forwards the messages and timers that are its own (owns_message / owns_timer),
// the model faults it takes (on_fault), and passes its Ctx along. ManagerNode (manager_node.hpp)
// wraps it alone for tests.
//
// What it does, after cluster/manager.go and service/cluster_service.go of
// rancher/cluster-manager v0.1.5 (with cm_membership_table on, as by default, the `cluster`
// table's path of table.cpp replaces the heartbeat messages, the majority gate and the change
// count below, which are not in the source and remain only with the mechanism off):
// - every cm_heartbeat_interval it checks in (here: a heartbeat to every peer server-k); every
//   cm_loop_interval it reads the check-ins, forgets a member whose heartbeat has not moved for
//   cm_max_missed loops, and logs "cluster changed, index=N, members=[...]" when the member set
//   changed (N counts the changes: rancher-ha's N is the node's slot in the cluster instead);
// - it waits for a majority of cluster.servers members ("waiting for at least M cluster
//   members"; NOT IN the source, where that test never holds: table.cpp), then, only with
//   manager_version_check switched on (it is not in rancher/cluster-manager, whose v0.1.5
//   compares no versions: off by default), compares the members' server versions with the
//   master's: a mismatch is logged and the cluster does not form;
// - it pings its local server at http://BRIDGE:18080/ping (manager_health_check); with the wrong
//   bridge address every ping fails and it loops on "server not available", server up or not.
//   Once a ping succeeds, its Rancher agent registers and its host counts as active;
// - the master (the member with the lowest index) waits, polling every cm_wait_hosts_poll, until
//   cluster.servers hosts are active, then starts the ten-service management stack one service
//   at a time in dependency order ("[k/10] starting SERVICE") and signals
//   cluster.management_stack_started;
// - state files left by an earlier attempt (durable: they survive a crash) keep the node from
//   checking in at all (manager_leftover_check) until a "clean_state" fault removes them;
// - when the node's memory is modelled (Config::memory_mib, from cluster.server_memory), the
//   manager adds up the resident footprints of what the node runs (memory.hpp): the Cattle JVM,
//   itself and the agent from its start, then each service of the management stack, which is
//   global (one container per HA host): every node starts its copies one cm_service_start apart
//   once it counts cluster.servers active hosts, as the master starts the launch. When the total
//   passes the node's memory less the OS reserve, the node swaps and stops answering
//   (manager_memory_limit): "node out of memory: ..." is logged, the manager stops checking in
//   (so the others forget it), its health ping of the local server fails, and it starts nothing
//   more, until the node restarts.
//
// Connections: rancher/cluster-manager v0.1.5 (the one rancher/rancher v1.1.2 server/Dockerfile
// line 18 installs) has no connection between members. Each checks in by updating its row of the
// `cluster` table every 5 s (cluster/manager.go lines 15 and 247-252, db/db.go Checkin line 175)
// and learns that another died only when that row's heartbeat has not moved for maxMissed = 2
// polls (manager.go lines 17 and 83-126). So the manager ignores connection events: the
// heartbeat messages here stand for those rows, and a crashed peer is forgotten by the missed
// polls whether it crashed or lost power. Its only connection is its database client's, and a
// failed check-in or poll there is fatal to the process (manager.go line 73, main.go lines
// 49-50); the model does not route the check-ins through the db, so that is not modelled.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/cluster_manager/messages.hpp"
#include "models/cluster_manager/names.hpp"
#include "models/mysql/db_protocol.hpp"
#include "sim/core/node.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"

namespace stampede::cm {

using mysql::RowId;

struct Config {
  int index = 1;  // this node is server-<index>
  // CLUSTER_SIZE (cluster.cluster_size, else cluster.servers): the indexes 1..cluster_size, the
  // cluster's slots; the stack waits for that many active hosts.
  int cluster_size = 1;
  // The index this manager asks for in its row (requested_index). The model gives server-K K;
  // a host beyond the cluster's size asks for none: it ran the same rancher-ha.sh, which sets no
  // INDEX (rancher/cattle v0.165.8 resources/content/haconfig/script.ftl lines 15-38 and 84), so
  // RequestedIndex finds none (rancher/cluster-manager v0.1.5 service/cluster_service.go lines
  // 262-281).
  int requested_index = 1;
  std::string version = "1.1.1";
  // The address the manager pings its server through. rancher-ha derives it from the Docker
  // bridge network; a scenario can set a wrong one (observation 8).
  std::string bridge_address = std::string(k_docker_bridge_gateway);
  // State files from an earlier attempt are on this node's disk (observation 9).
  bool leftover_state = false;
  // The node's memory (observation 10); 0: not modelled, the node never runs short.
  std::int64_t memory_mib = 0;
};

// The node name of member `index`: the managers run beside the Cattle servers server-1..N.
std::string member_name(int index);

// The configuration of server-<index> for a cluster: its version from server_versions (else the
// cluster's version), its memory from server_memories (else server_memory). bridge_address and
// leftover_state keep their defaults here; the Cattle server's builder (models/register.cpp)
// sets them from cluster.bridge_address, server_bridge_addresses and leftover_state.
Config config_for(const ClusterSpec& cluster, int index);

enum class Phase : std::uint8_t {
  blocked,             // leftover state: not checked in
  gathering,           // fewer members than a majority of cluster.servers
  version_mismatch,    // all members here, but their versions differ
  server_unavailable,  // formed, but the local server does not answer the health ping
  ready,               // formed and healthy, not the master (the master launches the stack)
  waiting_hosts,       // the master waits for cluster.servers active hosts
  launching,           // the master is starting the management stack
  running,             // the master has started the stack
  out_of_memory,       // the node swaps: it checks in no more and its server does not answer
};
std::string_view phase_name(Phase p);

class ClusterManager {
 public:
  struct Hooks {
    // Whether the local Cattle server is up and would answer /ping at the right address. Unset
    // means always up.
    std::function<bool()> local_server_up;
  };
  // What the manager knows of a peer from its check-ins.
  struct Peer {
    std::int64_t heartbeat = 0;  // the highest counter heard
    bool fresh = true;           // a new counter arrived since the last loop
    int missed = 0;              // loops without a new counter
    bool member = false;         // seen by a loop (rancher-ha adds members only when it polls)
    std::string version;
    bool host_active = false;
    STAMPEDE_FIELDS(heartbeat, fresh, missed, member, version, host_active)
  };
  // A row of the `cluster` table as a manager last read it (cm_membership_table; table.cpp).
  // rancher/cluster-manager v0.1.5 cluster/manager.go `seen`, lines 77-81, with the row's
  // columns (db/db.go lines 87-97). `server` is the row's `name` (server-K);
  // `host_active` and `version` are the model's stand-ins for what the real manager asks
  // Cattle's API (the active hosts) and what it never compares (versions).
  struct Seen {
    std::int64_t id = 0;  // the AUTO_INCREMENT id: the lowest is the master
    int server = 0;
    std::int64_t heartbeat = 0;
    int missed = 0;
    int index = 0;      // assigned_index, 0 until the master assigns one
    int requested = 0;  // requested_index
    bool host_active = false;
    std::string version;
    STAMPEDE_FIELDS(id, server, heartbeat, missed, index, requested, host_active, version)
  };
  // A statement of the manager's on its own database connection, one at a time in order.
  enum class OpKind : std::uint8_t { checkin_find, checkin_write, poll, erase, save_index };
  struct Op {
    OpKind kind = OpKind::poll;
    std::int64_t value = 0;  // checkin: the heartbeat
    RowId row = 0;           // checkin_write: the row found (0: none); erase, save_index
    int index = 0;           // save_index: the slot
    STAMPEDE_FIELDS(kind, value, row, index)
  };
  // What a crash keeps.
  struct Durable {
    bool leftover = false;  // state files of an earlier attempt, on the node's disk
    // Not on disk, but it keeps rising across a crash: an owner that does not cancel timers on
    // crash must still see the earlier incarnation's timers as stale.
    std::uint32_t gen = 0;
    // Docker's restart manager keeps these outside the container (cm_membership_table).
    std::int64_t exits = 0;
    DurationNs restart_wait_ns = 0;
    TimeNs started_ns = 0;
    // The INDEX the host's zk and redis containers were last launched with (0: none yet). They
    // outlive the manager process and the host's reboots (`--restart=always`).
    int containers_index = 0;
    STAMPEDE_FIELDS(leftover, gen, exits, restart_wait_ns, started_ns, containers_index)
  };
  // What dies with the process.
  struct Volatile {
    bool started = false;
    bool blocked_logged = false;
    std::map<int, Peer> peers;  // by index
    std::vector<int> members;   // sorted indexes, self included once checked in
    std::int64_t heartbeat = 0;
    std::int64_t change_index = 0;
    Phase phase = Phase::gathering;
    std::string mismatch_reported;
    bool formed = false;
    bool host_active = false;
    bool server_failing = false;
    bool waiting_hosts = false;
    int host_polls = 0;
    bool launching = false;
    int services_started = 0;
    bool stack_started = false;
    // Memory (observation 10): a restart frees it all.
    bool local_launching = false;
    int local_services = 0;
    std::int64_t demand_mib = 0;
    bool out_of_memory = false;
    // Membership through the `cluster` table (cm_membership_table; table.cpp).
    std::string uuid;                   // this process's, new at every start (main.go line 12)
    std::map<std::string, Seen> seen;   // the rows read, by uuid
    std::deque<Op> ops;                 // statements waiting for the connection
    std::optional<Op> in_flight;        // the statement sent (or the connect under way)
    std::int64_t request = 0;           // its request id (0: none)
    std::int64_t requests = 0;          // request ids handed out
    std::int64_t conn = 0;              // the connection (0: none yet, or found dead)
    bool connecting = false;
    Untracked<TimerId> io_timer;
    bool poll_queued = false;
    bool table_master = false;
    std::vector<int> slots;  // the cluster last configured: the server in each slot (0: none)
    int slot = 0;            // this member's slot in it
    bool exited = false;     // the process exited; Docker restarts it
    STAMPEDE_FIELDS(started, blocked_logged, peers, members, heartbeat, change_index, phase,
                    mismatch_reported, formed, host_active, server_failing, waiting_hosts,
                    host_polls, launching, services_started, stack_started, local_launching,
                    local_services, demand_mib, out_of_memory, uuid, seen, ops, in_flight,
                    request, requests, conn, connecting, io_timer, poll_queued, table_master,
                    slots, slot, exited)
  };

  explicit ClusterManager(Config config);
  void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

  // From the owner's on_start (also after a restart).
  void start(Ctx& ctx);
  // From the owner's on_crash: all but the leftover state files is volatile.
  void crash();

  static bool owns_message(std::uint32_t type) { return is_cm_type(type); }
  // Whether a message from the db is for the manager's own connection (cm_membership_table):
  // the owner routes it here, and the rest to its own database client.
  static bool owns_db_message(const Message& msg);
  // A message owns_db_message accepted.
  void on_db_message(Ctx& ctx, const Message& msg);
  // The owner's Node::on_connection: the manager's connection to the db shares the node's.
  void on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event);
  // Whether the manager process is down, waiting for Docker's restart.
  bool exited() const { return volatile_.exited; }
  static bool owns_timer(std::uint64_t tag) { return (tag & k_tag_prefix_mask) == k_tag_prefix; }
  void on_message(Ctx& ctx, NodeId from, const Message& msg);
  void on_timer(Ctx& ctx, std::uint64_t tag);
  // Takes "clean_state" with this node's name as its argument (or no argument: any blocked node).
  bool on_fault(Ctx& ctx, const ModelFault& fault);

  const Config& config() const { return config_; }
  Phase phase() const { return volatile_.phase; }
  std::vector<std::string> members() const;  // by index
  // The members' indexes, sorted (member_name gives their names), without building names.
  const std::vector<int>& member_indexes() const { return volatile_.members; }
  std::int64_t change_index() const { return volatile_.change_index; }
  bool master() const;
  bool host_active() const { return volatile_.host_active; }
  int services_started() const { return volatile_.services_started; }
  bool stack_started() const { return volatile_.stack_started; }
  bool leftover_state() const { return durable_.leftover; }
  // The node ran out of memory and thrashes: nothing on it answers. The owning server should
  // ignore what it receives while this holds.
  bool unresponsive() const { return volatile_.out_of_memory; }
  // The resident total of what the node runs (0 when its memory is not modelled).
  std::int64_t memory_demand_mib() const { return volatile_.demand_mib; }
  // Copies of management stack services started on this node (memory modelled only).
  int local_services() const { return volatile_.local_services; }
  std::uint64_t digest() const;
  // The state::Component trio, so that the owner's digest and perturbation reach in here.
  void digest_into(Digest& d) const;
  std::size_t state_field_count() const { return state::field_total(durable_, volatile_); }
  std::string perturb_state_field(std::size_t i) {
    return state::perturb_field(i, durable_, volatile_);
  }
  // cm.phase (a Phase), cm.members, cm.change_index, cm.master, cm.host_active,
  // cm.services_started, cm.stack_started, cm.leftover_state, cm.out_of_memory,
  // cm.memory_demand_mib; nullopt for other keys.
  std::optional<std::int64_t> probe(std::string_view key, std::string_view arg) const;

 private:
  // Read at start, the same on every start: not state.
  struct Runtime {
    std::vector<NodeId> peers_by_index;  // [index - 1]
    std::vector<std::string> order;      // the management stack's start order
    SeriesId metric_changes = 0;
    SeriesId metric_health_failures = 0;
    DurationNs heartbeat_interval_ns = 0;
    DurationNs loop_interval_ns = 0;
    DurationNs wait_hosts_poll_ns = 0;
    DurationNs service_start_ns = 0;
    std::int64_t max_missed = 0;
    std::int64_t wait_hosts_tries = 0;
    bool version_check = true;
    bool leftover_check = true;
    bool health_check = true;
    bool memory_limit = true;
    bool membership_table = false;
    bool own_index_request = false;
    NodeId db = k_no_node;
    DurationNs db_connect_timeout_ns = 0;
    DurationNs db_io_timeout_ns = 0;
    DurationNs restart_backoff_ns = 0;
    DurationNs restart_reset_after_ns = 0;
  };

  template <class T>
  std::uint64_t tag() const {
    return timer_tag::encode(T{durable_.gen});
  }
  int majority() const { return config_.cluster_size / 2 + 1; }
  void read_runtime(Ctx& ctx);
  bool joined() const;
  void send_heartbeat(Ctx& ctx);
  void on(const Heartbeat& m);
  void on(Ctx& ctx, const HeartbeatTimer& t);
  void on(Ctx& ctx, const LoopTimer& t);
  void on(Ctx& ctx, const HostsPollTimer& t);
  void on(Ctx& ctx, const ServiceTimer& t);
  void on(Ctx& ctx, const LocalServiceTimer& t);
  void loop(Ctx& ctx);
  void report_blocked(Ctx& ctx);
  void launch_or_wait(Ctx& ctx);
  // What the loop does once it knows the members: the health ping and the master's launch.
  void act(Ctx& ctx);
  void update_members(Ctx& ctx);
  void prune_members(Ctx& ctx);
  bool check_versions(Ctx& ctx);
  bool ping_server(Ctx& ctx);
  void agent_registered(Ctx& ctx);
  int active_hosts() const;
  void poll_hosts(Ctx& ctx);
  void start_next_service(Ctx& ctx);
  bool memory_modelled() const { return config_.memory_mib > 0; }
  void start_local_service(Ctx& ctx);
  void check_memory(Ctx& ctx, std::string_view last_started);

  // Membership through the `cluster` table (table.cpp).
  void table_start(Ctx& ctx);
  void queue_op(Ctx& ctx, Op op);
  void next_op(Ctx& ctx);
  void send_op(Ctx& ctx);
  void db_failed(Ctx& ctx, std::string_view error);
  void on_db_answer(Ctx& ctx, const mysql::DbResult& result);
  void on_rows(Ctx& ctx, const std::vector<std::pair<mysql::RowId, mysql::Row>>& rows);
  void table_update_members(const std::vector<std::pair<mysql::RowId, mysql::Row>>& rows);
  void table_prune(Ctx& ctx);
  bool table_assign_index(Ctx& ctx);
  void table_configure(Ctx& ctx);
  void launch_zk_redis(Ctx& ctx, int slot);
  void exit_process(Ctx& ctx, std::string_view why);
  void on(Ctx& ctx, const DbIoTimer& t);
  void on(Ctx& ctx, const RestartTimer& t);

  Config config_;
  Hooks hooks_;
  Runtime rt_;
  Durable durable_;
  Volatile volatile_;
};

// The owner's digest and perturbation reach in here (sim/core/state.hpp).
static_assert(state::Component<ClusterManager>);

}  // namespace stampede::cm
