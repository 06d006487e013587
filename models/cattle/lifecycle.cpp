// HA: the Cattle process's lifecycle in Rancher 1.1 (cattle v0.165.8 with rancher-ha, that is
// rancher/cluster-manager v0.1.5).
//
// Exit on LOST. rancher/cattle v0.165.8 code/implementation/zookeeper/src/main/java/io/cattle/
// platform/zookeeper/lock/CuratorFactory.java lines 30-41 adds a connection state listener that
// logs "*** Lost Connection to ZooKeeper! ***" three times and "*** Good Bye ***", then calls
// System.exit(3) (line 38), when Curator reports LOST. Curator is 2.10.0 (code/meta-parent/
// pom.xml lines 117-120). In Curator 2.x LOST is reported when the session expires and also when
// an operation gives up with a connection loss: a background operation retries under the
// client's RetryNTimes(zookeeper.retries=3, zookeeper.sleep.between.retry.time=1000)
// (CuratorFactory.java line 28) and each try waits up to zookeeper.connection.timeout.millis=30000
// for a connection (code/packaging/app-config/src/main/resources/META-INF/cattle/system-services/
// defaults.properties lines 165-169). The model reports LOST when the client has been without a
// connection for curator_lost_after (from the boot, until a first connection, as well), and at
// once when the session expires.
//
// The restart. rancher-ha runs Cattle in a container of its own, `rancher-ha-cattle`, command
// `cattle`, with RestartPolicy always (rancher/cluster-manager v0.1.5 service/cluster_service.go
// lines 177-211, launchRancherServer); the command execs Cattle's JVM (rancher/rancher v1.1.2
// server/bin/cattle, server/service/cattle/run), so the JVM's exit is the container's. Docker's
// restart manager of that time (docker/docker restartmanager/restartmanager.go, the docker 1.11
// and 1.12 version, which imports docker/engine-api) waits 100 ms before the first restart and
// doubles the wait at each further one, with no ceiling (the 1-minute cap came with
// moby/moby#30683, docker 17.04), and starts again from 100 ms when the
// container had run for 10 s or more. The new process then boots (cattle_boot_time) before it
// opens its pool, its ZooKeeper and Redis sessions and answers anything.
//
// The cluster manager runs in the other container (the `ha` command of the rancher/server image,
// rancher/rancher v1.1.2 server/bin/ha line 22), so it lives on while Cattle is down: its health
// ping of the server fails meanwhile (models/cluster_manager).
//
// The exited process's timers go with it: the engine cancels every timer of the node except the
// cluster manager's (Ctx::exit_process), as a crash cancels all of them. Before it did, a timer
// longer than the restart reached the next process (the Redis subscriber's redis_retry_interval
// of 60 s woke the new process's subscriber early; with cattle_boot_time set to seconds, more).
#include <fmt/format.h>

#include "models/cattle/lifecycle.hpp"
#include "models/cattle/names.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

static void register_migration(Registry& r);
static void register_redis_per_node(Registry& r);
static void register_agent_events_bus(Registry& r);

void register_lifecycle(Registry& r) {
  constexpr std::string_view props =
      "rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/cattle/"
      "system-services/defaults.properties";
  r.add_timing({std::string(t_curator_lost_after), TimingUnit::duration, 33 * k_s,
                fmt::format("zookeeper.connection.timeout.millis=30000 plus zookeeper.retries=3 x "
                            "zookeeper.sleep.between.retry.time=1000 ({} lines 165-169), the "
                            "RetryNTimes of CuratorFactory.java line 28: Curator 2.10 reports "
                            "LOST when an operation has waited out the connection timeout and "
                            "its retries",
                            props),
                "HA: a Cattle server without a ZooKeeper connection this long gets LOST and exits "
                "(cattle_exit_on_zk_lost)"});
  r.add_timing({std::string(t_boot_time), TimingUnit::duration, 60 * k_s,
                "model choice: the issue's \"a boot takes about a minute\" (Spring context, "
                "Liquibase's changelog check, the process engine) from field reports; no timing "
                "in the sources",
                "HA: from Docker's restart of an exited Cattle container to the new process "
                "opening its pool and sessions"});
  r.add_timing({std::string(t_restart_backoff), TimingUnit::duration, 100 * k_ms,
                "docker/docker restartmanager/restartmanager.go (docker 1.11/1.12, mid-2016): "
                "defaultTimeout = 100 * time.Millisecond, backoffMultiplier = 2, no ceiling (the "
                "1-minute cap came with moby/moby#30683, docker 17.04)",
                "HA: Docker's wait before restarting an exited container, doubled at each "
                "restart that follows a short run"});
  r.add_timing({std::string(t_restart_reset_after), TimingUnit::duration, 10 * k_s,
                "docker/docker restartmanager/restartmanager.go (docker 1.11/1.12): \"if the "
                "container ran for more than 10s ... reset the timeout back to the default\"",
                "HA: a container that ran this long restarts after docker_restart_backoff again"});
  r.add_mechanism({std::string(m_exit_on_zk_lost),
                   "HA: a Cattle server whose ZooKeeper connection is LOST (Curator 2.10) calls "
                   "System.exit(3), as rancher/cattle v0.165.8 CuratorFactory.java line 38 does, "
                   "and Docker restarts its container after its back-off and a boot; off: the "
                   "server stays up without a session and stops reconciling"});
  r.add_mechanism({std::string(m_pool_on_demand),
                   "HA: a Cattle server's db pool opens with one connection (its boot's first "
                   "borrow) and makes another for each borrow that finds none idle, as "
                   "commons-dbcp 1.4's BasicDataSource with Cattle's settings does (initialSize 0 "
                   "and minIdle 0 unset by rancher/cattle v0.165.8; commons-dbcp DBCP_1_4 "
                   "BasicDataSource.java:368); off: it opens pool_per_server connections at boot, "
                   "as field-notes observation 6 describes it"});
  register_migration(r);
  register_redis_per_node(r);
  register_agent_events_bus(r);
  r.add_signal({"cattle.exited", "HA: a Cattle server called System.exit(3) on Curator's LOST"});
  r.add_event({"cattle.zk_lost_exit", {"code"},
               "HA: Curator reported LOST; the Cattle process logs Good Bye and exits"});
  r.add_event({"cattle.process_restarted", {"exits", "backoff_ms"},
               "HA: Docker restarted the exited Cattle container, after its back-off and a boot"});
}

// The event bus over one Redis per node (ha.cpp, models/redis/eventing.hpp).
static void register_redis_per_node(Registry& r) {
  r.add_mechanism({std::string(m_redis_per_node),
                   "HA: one Redis per cluster slot (redis-1..K, K = cluster_size, else servers), "
                   "as rancher/cluster-manager v0.1.5 starts them and lists them in "
                   "CATTLE_REDIS_HOSTS (config/config.go lines 156-162, service/"
                   "cluster_service.go lines 183-184); each Cattle server subscribes on every one "
                   "and publishes with RedisEventingService's rotation and fail-over (rancher/"
                   "cattle v0.165.8 RedisEventingService.java doPublish lines 102-127, "
                   "doSubscribe lines 129-156), so one Redis down loses no event; off: the single "
                   "redis-1 of a one-host CATTLE_REDIS_HOSTS (by default the cluster has only "
                   "it), whose loss drops every publish and leaves every subscriber deaf until "
                   "redis_retry_interval"});
}

// Pings over the Redis bus (agent_bus.cpp).
static void register_agent_events_bus(Registry& r) {
  r.add_mechanism({std::string(m_agent_events_bus),
                   "HA: the owner's pings travel as Redis events: published as "
                   "`ping;agent=<id>` (rancher/cattle v0.165.8 AgentEventingConnection.java:36-45, "
                   "RedisEventingService's rotation and fail-over), forwarded to the agent by the "
                   "server whose /v1/subscribe holds its websocket (NonBlockingSubscriptionHandler"
                   ".java:84-102), and answered through /v1/publish back over the bus to the "
                   "owner's reply-to (PublishManager.java:40-58); the socket's server pings it "
                   "itself every 5 s (api.sub.ping.interval.millis). So a bus down for longer than "
                   "the ping timeout fails every ping and sends hosts reconnecting while agents "
                   "stay connected; off: the owner pings the agent directly and the agent follows "
                   "whoever pings it"});
  r.add_mechanism({std::string(m_agent_commands_bus),
                   "HA, with cattle_agent_events_over_redis: a process's agent command (a "
                   "container's start, stop or deactivate) travels as a Redis event like a ping: "
                   "AgentBasedProcessHandler.java:166 and 179-180 calls RemoteAgentImpl.callSync, "
                   "whose call publishes it (RemoteAgentImpl.java:61-75 and 96-105, rancher/cattle "
                   "v0.165.8); the server holding the agent's websocket forwards it, and the "
                   "agent's answer goes back over the bus to the caller's reply-to, so a command "
                   "sent while the bus is down, or whose socket's server crashes before the "
                   "answer, is lost: the caller's process times out after agent_reply_timeout and "
                   "the replay runs it again; off: the caller sends commands to the agent directly "
                   "and the agent answers it directly"});
}

// The schema migration's names (migration.cpp).
static void register_migration(Registry& r) {
  constexpr std::string_view liquibase =
      "Liquibase 3.1.0 (rancher/cattle v0.165.8 code/meta-parent/pom.xml lines 258-260), "
      "StandardLockService.waitForLock";
  r.add_timing({std::string(t_changelog_lock_wait), TimingUnit::duration, 5 * k_m,
                fmt::format("{}: GlobalConfiguration databaseChangeLogLockWaitTime, 5 minutes "
                            "by default; Cattle sets none",
                            liquibase),
                "HA: how long a booting server waits for Liquibase's changelog lock before its "
                "boot fails and it exits"});
  r.add_timing({std::string(t_changelog_lock_poll), TimingUnit::duration, 10 * k_s,
                fmt::format("{}: databaseChangeLogLockPollRate, 10 s by default", liquibase),
                "HA: between a booting server's tries at the changelog lock"});
  r.add_timing({std::string(t_changelog_update_time), TimingUnit::duration, 2 * k_s,
                "model choice: how long Liquibase holds the lock to find every changeset run "
                "(the model's schema never changes between versions: cattle v0.165.7 and "
                "v0.165.8 have the same changelog)",
                "HA: how long a booting server holds the changelog lock"});
  r.add_mechanism({std::string(m_changelog_lock),
                   "HA: a booting server first opens Liquibase's own connection (data source "
                   "\"liquibase\", Loader.java lines 35-38, closed after the migration: "
                   "db.liquibase.maxidle=0) and takes its DATABASECHANGELOGLOCK row "
                   "(rancher/cattle v0.165.8 io.cattle.platform.liquibase.Loader), waits for it "
                   "while another holds it, and exits when it cannot get it in "
                   "liquibase_lock_wait; a process that dies holding it leaves it set, as "
                   "Cattle does at every boot (rancher/cattle v0.165.8 code/packaging/app-config/"
                   "src/main/resources/META-INF/cattle/system/spring-system-context.xml lines "
                   "22-25); off: no migration step"});
  r.add_mechanism({std::string(m_release_change_lock),
                   "HA, off as in a default install: db.release.change.lock=true "
                   "(CATTLE_DB_RELEASE_CHANGE_LOCK=true): a booting server deletes the changelog "
                   "lock first (rancher/cattle v0.165.8 code/framework/db-loader/src/main/java/io/"
                   "cattle/platform/liquibase/Loader.java lines 46-57; unset, only embedded "
                   "databases get this), so a lock left by a dead process does not stop it",
                   false});
  r.add_timing({std::string(t_config_poll_interval), TimingUnit::duration, 60 * k_s,
                "Netflix/archaius archaius-0.5.14 (rancher/cattle v0.165.8 code/meta-parent/"
                "pom.xml lines 378-380) archaius-core/src/main/java/com/netflix/config/"
                "FixedDelayPollingScheduler.java line 34 (delayMillis = 60000), which the "
                "ConfigScheduler bean keeps (code/packaging/app-config/src/main/resources/"
                "META-INF/cattle/base-config/spring-base-config-context.xml line 9)",
                "HA: between Archaius's polls of the setting table on the configuration data "
                "source's connection"});
  r.add_mechanism({std::string(m_config_source),
                   "HA: each Cattle process holds one more connection, Archaius's configuration "
                   "data source (rancher/cattle v0.165.8 code/iaas/archaius-management/src/main/"
                   "java/io/cattle/platform/archaius/startup/ArchaiusStartup.java lines 99-106; "
                   "db.config.maxtotal=1, db.config.maxidle=1 in resources/content/"
                   "cattle-global.properties lines 77-79), opened when its pool is and polled "
                   "every archaius_poll_interval, so never evicted; off: no such connection"});
  r.add_event({"cattle.boot_failed", {"why"},
               "HA: the Spring context failed (the changelog lock, or the database under it); "
               "the process exits"});
  r.add_event({"cattle.changelog_lock_waiting", {},
               "HA: Liquibase found the changelog lock set and waits a poll"});
}

void CattleServer::arm_lost(Ctx& ctx, DurationNs after_ns) {
  if (!cfg_.exit_on_zk_lost) return;
  if (volatile_.lost_timer != 0) {
    if (after_ns > 0) return;  // already counting from an earlier disconnection
    ctx.cancel_timer(volatile_.lost_timer);
  }
  volatile_.lost_timer = ctx.set_timer(after_ns, timer_tag::encode(ZkLost{}));
}

void CattleServer::lifecycle_session_event(Ctx& ctx, zk::SessionEvent event) {
  switch (event) {
    case zk::SessionEvent::connected:
      if (volatile_.lost_timer != 0) ctx.cancel_timer(volatile_.lost_timer);
      volatile_.lost_timer = 0;
      return;
    case zk::SessionEvent::connection_lost:
      return arm_lost(ctx, cfg_.curator_lost_after_ns);
    case zk::SessionEvent::expired:
      // Not at once: the client that reports it is still on the stack.
      return arm_lost(ctx, 0);
  }
}

void CattleServer::on(Ctx& ctx, const ZkLost&) {
  volatile_.lost_timer = 0;
  if (!zk_ || zk_->state() == zk::SessionState::connected) return;
  ctx.event(LogLevel::notable, Event("cattle.zk_lost_exit").with("code", std::int64_t{3}),
            "*** Lost Connection to ZooKeeper! *** Good Bye (exit 3)");
  exit_process(ctx);
}

void CattleServer::exit_process(Ctx& ctx) {
  // The process's sockets close with it: its peers read EOF.
  auto close = [&ctx](const std::string& name) {
    if (NodeId id = ctx.lookup(name); id != k_no_node) ctx.close_connection(id);
  };
  close("db");
  for (int k = 1; k <= config_.zookeeper; ++k) close(fmt::format("zookeeper-{}", k));
  for (int k = 1; k <= config_.redis; ++k) close(fmt::format("redis-{}", k));
  for (const std::string& agent : config_.agents) close(agent);
  for (const std::string& lb : config_.lb_nodes) close(lb);
  // Everything of the process goes, as in a crash, its timers too, but the manager's container
  // runs on.
  ctx.exit_process([](std::uint64_t tag) { return cm::ClusterManager::owns_timer(tag); });
  bool manager_started = volatile_.cm_started;
  bool booted = volatile_.ha_booted;
  db_client_->crash();
  liquibase_db_->crash();
  config_db_->crash();
  crash_ha();
  volatile_ = Volatile{};
  volatile_.memory = mysql::Database(config_.max_connections);
  volatile_.shared = mysql::Database(config_.max_connections);
  volatile_.cm_started = manager_started;
  // The node stays booted: the manager's own db connection must still hear its answers while
  // Cattle is down (server.cpp routes them by ha_booted), or a check-in sent then waits out its
  // whole connect timeout.
  volatile_.ha_booted = booted;
  volatile_.down = true;
  ++durable_.exits;
  // Docker's restart manager: the wait starts again from its first value after a long run.
  if (ctx.now() - durable_.started_ns >= cfg_.restart_reset_after_ns) durable_.restart_wait_ns = 0;
  durable_.restart_wait_ns =
      durable_.restart_wait_ns == 0 ? cfg_.restart_backoff_ns : durable_.restart_wait_ns * 2;
  ctx.signal("cattle.exited");
  ctx.set_timer(durable_.restart_wait_ns + cfg_.boot_time_ns,
                timer_tag::encode(ContainerRestart{}));
}

void CattleServer::on(Ctx& ctx, const ContainerRestart&) {
  volatile_.down = false;
  ctx.event(LogLevel::info,
            Event("cattle.process_restarted")
                .with("exits", durable_.exits)
                .with("backoff_ms", durable_.restart_wait_ns / k_ms),
            fmt::format("docker restarted the cattle container (exit {}, after {} ms back-off "
                        "and the boot)",
                        durable_.exits, durable_.restart_wait_ns / k_ms));
  boot(ctx);
  // Docker counts the container's run from its start, the boot included.
  durable_.started_ns = ctx.now() - cfg_.boot_time_ns;
}

}  // namespace stampede::cattle
