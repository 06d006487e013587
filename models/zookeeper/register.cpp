#include "models/zookeeper/register.hpp"

#include <fmt/format.h>

#include "models/zookeeper/invariants.hpp"
#include "models/zookeeper/names.hpp"
#include "models/zookeeper/zk_lock_client.hpp"
#include "models/zookeeper/zk_probe.hpp"
#include "models/zookeeper/zk_server.hpp"

namespace stampede {

namespace {

constexpr const char* k_admin_guide =
    "ZooKeeper Administrator's Guide (zookeeperAdmin), sample zoo.cfg";
constexpr const char* k_lock_clients = "zk_lock_clients";

// Processing times: what the real servers spend between the steps the model takes, where the
// cost is the JVM's and the kernel's work rather than a constant in ZooKeeper's source. Each is
// measured on Debian's ZooKeeper 3.8 (release-3.8.0-1) on loopback, from the servers' own logs
// after a leader's SIGKILL (conformance/, the leader-kill experiment); docs/conformance.md, "Why
// rows fail", gives the breakdown.
void register_processing_times(Registry& r) {
  constexpr const char* k_measured =
      "measured (processing time, not a constant of ZooKeeper's source): docs/conformance.md, "
      "\"Why rows fail\", from the servers' logs after a leader's SIGKILL: ";
  // The defaults are read off an idle machine (load under 0.2), as docs/conformance.md is
  // measured: under load every figure grows, the teardown to 6-15 ms (and more).
  r.add_timing({std::string(zk::k_exit_teardown), TimingUnit::duration, 7 * k_ms,
                fmt::format("{}the kill to the first follower's EOF (\"Exception when following "
                            "the leader\") took 5-10 ms, median 7, in 10 runs of the "
                            "conformance leader kill (3 servers, its clients writing) on an "
                            "otherwise idle machine (2026-12-07); 2.6-3.4 ms in 5 runs on "
                            "2026-12-06. The kernel frees the JVM's heap before it closes its "
                            "sockets",
                            k_measured),
                "a crashed (SIGKILLed) ZooKeeper server's connections close this long after the "
                "kill: its peers read EOF then, plus one latency"});
  r.add_timing({std::string(zk::k_follower_shutdown_time), TimingUnit::duration, 3 * k_ms,
                fmt::format("{}3-49 ms on an idle machine from \"Exception when following the "
                            "leader\" to \"Peer state changed: looking\" (Learner.shutdown, "
                            "QuorumPeer.java:1535-1545 at release-3.8.0-1), 3-13 ms with 3 "
                            "servers, 3-49 ms with 5 (24 followers in 8 runs): the shortest",
                            k_measured),
                "a follower that lost its leader shuts its request processors down for at least "
                "this long before it goes LOOKING"});
  r.add_timing({std::string(zk::k_follower_shutdown_spread), TimingUnit::duration, 10 * k_ms,
                fmt::format("{}as above, the 3-server runs' longest less the shortest (the "
                            "5-server runs' 46 ms is five JVMs sharing the test machine's two "
                            "cores, which servers on hosts of their own do not)", k_measured),
                "a follower's shutdown takes zk_follower_shutdown_time plus a uniform draw of up "
                "to this (which follower goes LOOKING first decides whether the election needs "
                "a 200 ms vote resend)"});
  r.add_timing({std::string(zk::k_leader_bind_time), TimingUnit::duration, 10 * k_ms,
                fmt::format("{}the new leader binds its quorum port in Leader's constructor "
                            "(Leader.java:289-322 at release-3.8.0-1) after the followers' "
                            "first connects, which come 4-18 ms after their election ended and "
                            "are refused in 6 of 7 runs", k_measured),
                "a new leader accepts learners this long after its election ended; a follower "
                "that connects before is refused and retries after 100 ms "
                "(leaderConnectDelayDuringRetryMs)"});
  r.add_timing({std::string(zk::k_learner_sync_time), TimingUnit::duration, 45 * k_ms,
                fmt::format("{}44-58 ms (85 ms for a SNAP) from a follower's connection to the "
                            "leader's \"Have quorum of supporters\", less the model's four "
                            "one-way latencies", k_measured),
                "a follower acks NEWLEADER this long after it got it: the epoch exchange, the "
                "DIFF or SNAP and its snapshot (Learner.syncWithLeader)"});
  r.add_timing({std::string(zk::k_leader_startup_time), TimingUnit::duration, 40 * k_ms,
                fmt::format("{}\"Have quorum of supporters\" to \"Peer state changed: leading "
                            "- broadcast\" (Leader.startZkServer, Leader.java:1516-1550 at "
                            "release-3.8.0-1)", k_measured),
                "a new leader starts its request processors for this long after a quorum acked "
                "NEWLEADER, before it serves"});
}

void register_timings(Registry& r) {
  using zk::k_tick_time;
  r.add_timing({std::string(zk::k_tick_time), TimingUnit::duration, 2000 * k_ms,
                fmt::format("{}: tickTime=2000", k_admin_guide),
                "ZooKeeper's basic time unit: heartbeats, and limits counted in ticks"});
  r.add_timing({std::string(zk::k_init_limit), TimingUnit::count, 10,
                fmt::format("{}: initLimit=10", k_admin_guide),
                "ticks a follower has to connect to and sync with a new leader"});
  r.add_timing({std::string(zk::k_sync_limit), TimingUnit::count, 5,
                fmt::format("{}: syncLimit=5", k_admin_guide),
                "ticks a follower may stay silent before the leader drops it (and vice versa)"});
  r.add_timing({std::string(zk::k_min_session_timeout), TimingUnit::count, 2,
                "zookeeperAdmin: minSessionTimeout defaults to 2 x tickTime",
                "smallest session timeout a server grants, in ticks"});
  r.add_timing({std::string(zk::k_max_session_timeout), TimingUnit::count, 20,
                "zookeeperAdmin: maxSessionTimeout defaults to 20 x tickTime",
                "largest session timeout a server grants, in ticks"});
  r.add_timing({std::string(zk::k_session_timeout), TimingUnit::duration, 30 * k_s,
                "zookeeper.session.timeout.millis=30000 (rancher/cattle v0.165.8 code/packaging/"
                "app-config/src/main/resources/META-INF/cattle/system-services/"
                "defaults.properties line 167), passed to CuratorFrameworkFactory.newClient with "
                "RetryNTimes(zookeeper.retries=3, zookeeper.sleep.between.retry.time=1000) "
                "(code/implementation/zookeeper/src/main/java/io/cattle/platform/zookeeper/lock/"
                "CuratorFactory.java lines 28-29; properties lines 168-169); granted as asked "
                "(within [4 s, 40 s])",
                "session timeout a client asks for; the server clamps it to [min, max]"});
  r.add_timing({std::string(zk::k_finalize_wait), TimingUnit::duration, 200 * k_ms,
                "ZooKeeper FastLeaderElection.finalizeWait = 200 ms (lookForLeader waits it "
                "again after each vote that is not better, lines 1049-1054 at release-3.8.0-1)",
                "how long an election waits for a better vote once a quorum agrees, from the "
                "last vote received; also the first notification timeout"});
  r.add_timing({std::string(zk::k_max_notification_interval), TimingUnit::duration, 60 * k_s,
                "ZooKeeper FastLeaderElection.maxNotificationInterval = 60 s",
                "cap of the doubling interval at which a looking server resends its vote"});
  register_processing_times(r);
  r.add_timing({std::string(zk::k_dirty_expire), TimingUnit::duration, 30 * k_s,
                "Linux vm.dirty_expire_centisecs=3000, the default (Documentation/admin-guide/"
                "sysctl/vm.rst; mm/page-writeback.c dirty_expire_interval)",
                "with zk_force_sync_no, a txn log write the server did not sync reaches the disk "
                "once it has been dirty this long, at the flusher's next wake"});
  r.add_timing({std::string(zk::k_dirty_writeback), TimingUnit::duration, 5 * k_s,
                "Linux vm.dirty_writeback_centisecs=500, the default (Documentation/admin-guide/"
                "sysctl/vm.rst; mm/page-writeback.c dirty_writeback_interval); the flusher's "
                "phase (multiples of it since the run's start) is a model choice",
                "how often the kernel's flusher wakes to write pages dirty longer than "
                "zk_dirty_expire"});
  r.add_timing({std::string(zk::k_lock_client_hold), TimingUnit::duration, k_s,
                "stampede workload choice (no upstream default)",
                "how long a zkclient-N test client holds its lock"});
  r.add_timing({std::string(zk::k_lock_client_idle), TimingUnit::duration, k_s,
                "stampede workload choice (no upstream default)",
                "how long a zkclient-N test client waits between holding its lock"});
  r.add_timing({k_lock_clients, TimingUnit::count, 0,
                "stampede workload choice (no upstream default)",
                "number of zkclient-N nodes looping on the lock /locks/demo"});
  r.add_timing({std::string(zk::k_probe_interval), TimingUnit::duration, 0,
                "stampede measurement choice (no upstream default)",
                "how often the zkprobe node writes to the ensemble (availability:zookeeper); 0 "
                "builds no probe"});
  r.add_timing({std::string(zk::k_probe_timeout), TimingUnit::duration, k_s,
                "stampede measurement choice (no upstream default)",
                "a probe write not committed within this counts as unavailable"});
}

void register_invariants(Registry& r) {
  r.add_invariant({"zk.lock_mutual_exclusion",
                   "no two clients hold one ZooKeeper lock while both their sessions are live in "
                   "the committed view (the live server with the longest committed log)",
                   zk::check_lock_mutual_exclusion});
  r.add_invariant({"zk.single_leader_per_epoch",
                   "no two live servers lead the same epoch (once a quorum acked it)",
                   zk::check_single_leader_per_epoch});
  r.add_invariant({"zk.committed_never_lost",
                   "committed logs of live servers agree, and a server synced in an epoch later "
                   "than a committed txn's holds it",
                   zk::check_committed_never_lost});
  r.add_invariant(
      {"zk.acknowledged_write_kept",
       "the last write the zkprobe node was told had committed is in the log of every "
       "live leader that serves (forceSync=no with a whole ensemble powered off at once "
       "breaks it: zk_force_sync_no)",
       zk::check_acknowledged_write_kept});
}

void register_events(Registry& r) {
  r.add_event({"zookeeper.leader_elected", {"server", "epoch"},
               "a leader synced a quorum and serves: \"LEADING: zookeeper-N leads epoch E\""});
  r.add_event({"zookeeper.session_expired", {"session", "timeout_ms"},
               "the leader applied the expiry of a session: \"Expiring session 0x..., timeout of "
               "Nms exceeded\""});
  r.add_event({"zookeeper.shutdown", {"reason"},
               "a server left its role (lost its leader or its quorum) and looks for a leader "
               "again: \"shutdown called: ...; going LOOKING\""});
  r.add_event({"zookeeper.log_lost",
               {"entries", "last_zxid"},
               "a server restarted after a power loss without the txn log entries the kernel had "
               "not yet written (zk_force_sync_no)"});
  r.add_event({"zookeeper.follower_dropped", {"follower"},
               "the leader dropped a follower (its server id) that stayed silent too long"});
  r.add_event({"zookeeper.sync_truncated_committed", {"last_zxid"},
               "a follower's sync with its leader cut committed txns from its log (never under "
               "Zab; zk.committed_never_lost reports it)"});
  r.add_event({"zookeeper.client_session_timed_out", {"silent_ms", "session"},
               "a client heard nothing from its server for 2/3 of the session timeout and "
               "declared connection loss"});
  r.add_event({"zookeeper.client_socket_closed", {"server", "event"},
               "a client's connection to its server closed or was refused (event: closed or "
               "refused); it tries the next server"});
  r.add_event({"zookeeper.leader_connection_event",
               {"leader", "event"},
               "a follower's connection to its leader closed (it goes LOOKING) or was refused "
               "(it tries again after leaderConnectDelayDuringRetryMs, five times at most)"});
}

}  // namespace

void register_zookeeper(Registry& r) {
  register_timings(r);
  r.add_mechanism({std::string(zk::k_correct_vote_order),
                   "off: the vote comparison of ZooKeeper before ZOOKEEPER-1419 (the server-id "
                   "tie-break ignores the epoch), with which elections can fail to settle"});
  r.add_mechanism({std::string(zk::k_session_order),
                   "a server answers a session's read only after the session's earlier writes "
                   "are applied there, as ZooKeeper's CommitProcessor does (release-3.8.0-1 "
                   "CommitProcessor.java lines 68-72, 252-256); off: reads are answered from the "
                   "local tree at once, so a getChildren sent right after the session's own "
                   "delete still shows the deleted node (tests/zookeeper/test_lock_recipe.cpp). "
                   "Curator's lock recipe does not depend on it: it lists only after its create "
                   "is answered, and a write is answered once applied. Neither setting orders a "
                   "delete lost with one connection against a list at another server "
                   "(docs/ha-models.md)"});
  r.add_mechanism({std::string(zk::k_learner_connect_tries),
                   "a follower whose connects to its chosen leader are refused five times (the "
                   "leader's process is down, or it does not lead and has no quorum port bound) "
                   "gives up and looks for a leader again, as Learner.connectToLeader does "
                   "(release-3.8.0-1 Learner.java lines 413-446, 348; Follower.java 127-129); "
                   "off: it retries every 100 ms until initLimit ticks have passed (20 s), so a "
                   "5-node leader kill whose followers settled on a server that went on to follow "
                   "another serves only after 20 s (tests/zookeeper/test_learner_connect.cpp)"});
  r.add_mechanism({std::string(zk::k_force_sync_no),
                   "forceSync=no, as Rancher 1.x's server image writes it into zoo.cfg (rancher/"
                   "rancher server/bin/zk, commit 7a8364a, line 58): a server acknowledges a "
                   "txn it has written to the operating system without syncing it "
                   "(release-3.8.0-1 FileTxnLog.java lines 155 and 376-386), so a host that loses "
                   "power loses the log entries the kernel's flusher had not yet written "
                   "(zk_dirty_expire, zk_dirty_writeback), acknowledged ones included, and a "
                   "whole ensemble powered off at once forgets writes its clients were told had "
                   "committed (scenarios/known-bugs/zk-power-loss.yaml); a crash loses nothing, "
                   "the page cache outlives the process. Off: forceSync=yes, ZooKeeper's "
                   "default, every entry is on disk before it is acknowledged"});
  register_invariants(r);
  register_events(r);
  r.add_signal({std::string(zk::k_signal_leader_elected),
                "a ZooKeeper leader has synced a quorum and serves (once per epoch)"});
  r.add_signal(
      {std::string(zk::k_signal_session_expired), "the ZooKeeper leader expired a client session"});
  r.add_metric({std::string(zk::k_metric_elections), "ZooKeeper leaderships established"});
  r.add_metric({std::string(zk::k_metric_commits),
                "txns committed by ZooKeeper leaders (a new leader re-commits its log's tail)"});
  r.add_metric({std::string(zk::k_metric_lock_acquisitions), "locks acquired by zkclient-N"});
  r.add_log_message({"LEADING: zookeeper-N leads epoch E", "a leader is established (notable)"});
  r.add_log_message({"Expiring session 0x..., timeout of Nms exceeded",
                     "the leader expired a session (notable)"});
  r.add_log_message({"Client session timed out, have not heard from server in Nms",
                     "a client declared connection loss"});
  r.add_log_message({"shutdown called: ...; going LOOKING",
                     "a server left its role (lost its leader or its quorum)"});
  r.add_model({"zookeeper", [](const ScenarioSpec& spec, WorldBuilder& b) {
                 int n = spec.cluster.zookeeper;
                 if (n <= 0) return;
                 for (int k = 1; k <= n; ++k)
                   b.add_node(fmt::format("zookeeper-{}", k), std::make_unique<zk::ZkServer>(k, n));
                 auto it = spec.cluster.timing.find(k_lock_clients);
                 std::int64_t clients = it == spec.cluster.timing.end() ? 0 : it->second;
                 for (std::int64_t k = 1; k <= clients; ++k)
                   b.add_node(fmt::format("zkclient-{}", k), std::make_unique<zk::ZkLockClient>(n));
                 auto probe = spec.cluster.timing.find(std::string(zk::k_probe_interval));
                 if (probe != spec.cluster.timing.end() && probe->second > 0)
                   b.add_node("zkprobe", std::make_unique<zk::ZkProbe>(n));
               }});
}

}  // namespace stampede
