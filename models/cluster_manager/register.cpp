#include "models/cluster_manager/register.hpp"

#include <string>

#include "models/cluster_manager/names.hpp"

namespace stampede {

namespace {

constexpr const char* k_cluster_go = "rancher/cluster-manager v0.1.5 cluster/manager.go";
constexpr const char* k_rancher_go =
    "rancher/cluster-manager v0.1.5 rancher/rancher.go WaitForHosts";

void register_timings(Registry& r) {
  r.add_timing({std::string(cm::k_heartbeat_interval), TimingUnit::duration, 5 * k_s,
                std::string(k_cluster_go) +
                    ":15 interval = 5 * time.Second, heartbeat() lines 247-252 (checkin)",
                "how often a manager checks in (sends its heartbeat to its peers)"});
  r.add_timing({std::string(cm::k_loop_interval), TimingUnit::duration, 5 * k_s,
                std::string(k_cluster_go) + ":206 loop sleeps interval (5 s) after each pass",
                "how often a manager reads the check-ins, updates membership and acts"});
  r.add_timing({std::string(cm::k_max_missed), TimingUnit::count, 2,
                std::string(k_cluster_go) + ":17 maxMissed = 2 (pruneMembers, lines 112-126)",
                "loops without a new heartbeat after which a member is forgotten"});
  r.add_timing({std::string(cm::k_wait_hosts_poll), TimingUnit::duration, 2 * k_s,
                std::string(k_rancher_go) + ":54 time.Sleep(2 * time.Second)",
                "how often the master re-counts active hosts while it waits for them"});
  r.add_timing({std::string(cm::k_wait_hosts_tries), TimingUnit::count, 31,
                std::string(k_rancher_go) + ":50 gives up when i > 30 (about one minute, see "
                                            "rancher/rancher#5395)",
                "polls before the master gives up waiting for hosts (and starts again)"});
  r.add_timing({std::string(cm::k_db_connect_timeout), TimingUnit::duration, 127 * k_s,
                "rancher/cluster-manager v0.1.5 config/config.go lines 168-186: the DSN sets no "
                "timeout, so a connect waits for the kernel: Linux tcp_syn_retries=6 gives up "
                "after 1+2+4+8+16+32+64 = 127 s (Documentation/networking/ip-sysctl.txt)",
                "cm_membership_table: how long a manager's connect to an unreachable db hangs "
                "before it fails (and the manager exits)"});
  r.add_timing({std::string(cm::k_db_io_timeout), TimingUnit::duration, 924600 * k_ms,
                "rancher/cluster-manager v0.1.5: go-sql-driver/mysql 71f003c sets no read "
                "timeout, so an unanswered statement waits for TCP: Linux tcp_retries2=15, \"a "
                "hypothetical timeout of 924.6 seconds\" (Documentation/networking/"
                "ip-sysctl.txt)",
                "cm_membership_table: how long a manager's statement to an unreachable db hangs "
                "before it fails (and the manager exits)"});
  r.add_timing({std::string(cm::k_service_start), TimingUnit::duration, 5 * k_s,
                "model choice: one container start with its image present and its health check "
                "passing (no upstream figure)",
                "time to start one service of the management stack"});
}

// Membership through the `cluster` table (table.cpp).
void register_table_names(Registry& r) {
  r.add_mechanism({std::string(cm::k_membership_table),
                   "membership through the MySQL `cluster` table, as rancher/cluster-manager "
                   "v0.1.5 has it (models/cluster_manager/table.cpp): a row per manager process "
                   "(a new UUID at each start), checked in every 5 s, forgotten after 2 loops "
                   "without a new heartbeat, the lowest row id is the master and assigns the "
                   "indexes, no majority needed, and a failed check-in or read exits the "
                   "process (Docker restarts it). On by default; off, the managers send each "
                   "other heartbeat messages instead, need a majority and never exit, which is "
                   "NOT IN the source (the model's stand-in before the table, kept to compare)"});
  r.add_mechanism({std::string(cm::k_own_index_request),
                   "Off by default, as the release is deployed; on is NOT IN it: "
                   "server-K's manager asks for index K in its row (requested_index), so a "
                   "restarted manager gets its old index back. rancher/cluster-manager v0.1.5 "
                   "(commit bceca5d, installed by rancher/rancher v1.1.2 server/Dockerfile line "
                   "18) reads the request from the INDEX variable of its parent container "
                   "(service/cluster_service.go lines 262-281), which it creates with rancher-ha's "
                   "own environment (docker/docker.go lines 103-110 and 263, config/config.go "
                   "lines 95-118), and rancher/cattle v0.165.8's rancher-ha.sh sets no INDEX "
                   "(resources/content/haconfig/script.ftl lines 15-38 and 84). Off, as deployed: "
                   "no manager asks, and the master gives a new row the lowest free index "
                   "(cluster/manager.go assignIndex, lines 143-201), so a restarted manager can "
                   "move to another slot and relaunch its ZooKeeper and Redis under that INDEX "
                   "(cm_membership_table only)",
                   false});
  r.add_signal({std::string(cm::k_signal_manager_exited),
                "cm_membership_table: a manager's check-in or read failed and it exited "
                "(log.Fatal); Docker restarts it with a new UUID"});
}

void register_mechanisms(Registry& r) {
  r.add_mechanism({std::string(cm::k_version_check),
                   "NOT IN rancher/cluster-manager, off by default: the managers compare their "
                   "servers' versions and a mixed cluster never forms. rancher/cluster-manager "
                   "v0.1.5 (the one Rancher 1.1.0-1.1.3 install) compares no versions anywhere "
                   "in its code; off: a mixed cluster forms and launches its stack, as it did",
                   false});
  r.add_mechanism({std::string(cm::k_leftover_check),
                   "off: state files from an earlier attempt are ignored and the node joins at "
                   "once (the model does not follow what the stale files would break)"});
  r.add_mechanism({std::string(cm::k_health_check),
                   "off: the manager launches its agent without pinging the local server, so a "
                   "wrong bridge address is never reported (the agent still cannot register)"});
  r.add_mechanism({std::string(cm::k_memory_limit),
                   "a node whose processes need more than its memory (cluster.server_memory, "
                   "less an OS reserve) swaps and stops answering; off: every node fits what it "
                   "runs, however little memory it has"});
}

void register_names(Registry& r) {
  register_mechanisms(r);
  r.add_signal({std::string(cm::k_signal_stack_started),
                "the master manager has started all ten services of the management stack"});
  r.add_signal({std::string(cm::k_signal_formed),
                "a manager sees a majority of cluster.servers members, with agreeing versions"});
  r.add_signal({std::string(cm::k_signal_version_mismatch),
                "a manager found members running different server versions"});
  r.add_signal({std::string(cm::k_signal_server_unavailable),
                "a manager's health ping of its local server started failing"});
  r.add_signal({std::string(cm::k_signal_leftover_state),
                "a manager found state files from an earlier attempt and does not join"});
  r.add_signal({std::string(cm::k_signal_out_of_memory),
                "a node's processes outgrew its memory: it swaps and stops answering"});

  r.add_metric({std::string(cm::k_metric_membership_changes),
                "membership changes seen by managers (\"cluster changed\" lines)"});
  r.add_metric({std::string(cm::k_metric_health_failures),
                "failed health pings of a manager's local server"});

  r.add_log_message({"cluster changed, index=N, members=[server-1, ...]",
                     "a manager's member set changed; N counts the changes (notable)"});
  r.add_log_message({"waiting for at least M cluster members",
                     "a manager sees fewer members than a majority of cluster.servers"});
  r.add_log_message(
      {"forgetting cluster member server-K", "a member missed cm_max_missed loops of heartbeats"});
  r.add_log_message({"version mismatch: server-K runs V, cluster runs W",
                     "a member runs another server version than the master; the cluster does not "
                     "form (notable)"});
  r.add_log_message({"cluster formed: N members", "all members present, versions agree"});
  r.add_log_message({"server not available at http://ADDRESS:18080/ping",
                     "the health ping of the local server through the bridge address failed"});
  r.add_log_message({"rancher agent registered: host active",
                     "the local server answered; the node's host counts as active"});
  r.add_log_message(
      {"waiting for N host(s) to be active", "the master waits for cluster.servers active hosts"});
  r.add_log_message(
      {"failed while waiting for N host(s) to be active: timeout waiting for hosts "
       "to be active",
       "the master gave up after cm_wait_hosts_tries polls (notable)"});
  r.add_log_message({"[K/10] starting SERVICE",
                     "the master starts the management stack's services in dependency order"});
  r.add_log_message({"done launching management stack", "all ten services started (notable)"});
  r.add_log_message({"container zk is missing env INDEX=K: recreated (it ran with INDEX=J)",
                     "cm_membership_table: the manager moved from slot J to slot K, and the "
                     "host's zk and redis containers are recreated with the new INDEX (notable)"});
  r.add_log_message({"leftover state from an earlier attempt: clean it before joining",
                     "a manager with stale state files does not check in (notable)"});
  r.add_log_message({"leftover state cleaned: joining the cluster",
                     "a clean_state fault removed the stale files (notable)"});
  r.add_log_message({"node out of memory: N MiB needed, M MiB usable",
                     "what the node runs outgrew its memory less the OS reserve; the line goes on "
                     "\"of T MiB after starting P: swapping, unresponsive\". The node checks in no "
                     "more and its server stops answering (notable)"});
}

void register_events(Registry& r) {
  r.add_event({"cluster.changed", {"index", "members"},
               "a manager's member set changed: the index counts the changes, the members are "
               "\"server-1, server-2\" as in the log line (cm_membership_table: the index is "
               "the manager's own slot, 0 while it has none, and the members are listed by "
               "slot, \"\" for an empty one, as rancher-ha logs them)"});
  r.add_event({"cluster.waiting_for_members", {"needed"},
               "a manager sees fewer members than a majority (needed) of cluster.servers"});
  r.add_event({"cluster.member_forgotten", {"member"},
               "a member missed cm_max_missed loops of heartbeats and was forgotten"});
  r.add_event({"cluster.version_mismatch", {"member", "version", "cluster_version"},
               "a member runs another server version than the master's (cluster_version)"});
  r.add_event({"cluster.formed", {"members"}, "a majority of members is present, versions agree"});
  r.add_event({"cluster.server_not_available", {"address", "port"},
               "the health ping of the local server at this address failed"});
  r.add_event({"cluster.server_available", {}, "the local server answers its health ping again"});
  r.add_event({"cluster.host_active", {},
               "the local server answered; the node's Rancher agent registered"});
  r.add_event({"cluster.waiting_for_hosts", {"hosts"},
               "the master polls until this many hosts are active"});
  r.add_event({"cluster.wait_hosts_timeout", {"hosts"},
               "the master gave up waiting for this many active hosts (cm_wait_hosts_tries)"});
  r.add_event({"cluster.service_starting", {"position", "total", "service"},
               "the master starts the management stack's service at this position"});
  r.add_event({"cluster.stack_started", {}, "the master started all of the management stack"});
  r.add_event({"cluster.leftover_state", {},
               "a manager with state files from an earlier attempt does not check in"});
  r.add_event({"cluster.leftover_state_cleaned", {},
               "a clean_state fault removed the stale files; the manager joins"});
  r.add_event({"cluster.no_leftover_state", {}, "a clean_state fault found nothing to clean"});
  r.add_event({"cluster.master", {"master"},
               "cm_membership_table: the manager became (1) or stopped being (0) the master "
               "(\"Currently Master: true\")"});
  r.add_event({"cluster.index_assigned", {"member", "index"},
               "cm_membership_table: the master saved this member's index"});
  r.add_event({"cluster.delete_failed", {"err"},
               "cm_membership_table: the DELETE of a forgotten member's row failed (logged only)"});
  r.add_event({"cluster.manager_exited", {"why"},
               "cm_membership_table: a check-in or a read of the `cluster` table failed and the "
               "manager process exited (log.Fatal)"});
  r.add_event({"cluster.container_recreated",
               {"container", "index", "was"},
               "cm_membership_table: the manager's slot moved from `was` to `index`, and the "
               "host's zk or redis container, launched with INDEX=was, is recreated with the "
               "new INDEX (rancher/cluster-manager v0.1.5 docker/docker.go lines 155-192)"});
  r.add_event({"cluster.manager_restarted", {"exits"},
               "cm_membership_table: Docker restarted rancher-ha after its back-off"});
  r.add_event({"cluster.node_out_of_memory",
               {"needed_mib", "usable_mib", "memory_mib", "last_started"},
               "what the node runs outgrew its memory less the OS reserve after starting "
               "last_started: it swaps and stops answering"});
}

}  // namespace

void register_cluster_manager(Registry& r) {
  register_timings(r);
  register_names(r);
  register_table_names(r);
  register_events(r);
}

}  // namespace stampede
