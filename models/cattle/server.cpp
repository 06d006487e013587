// The server's boot, message and timer dispatch, faults and probes. The process engine, the
// reconciler and the ping monitor live in files of their own.
#include "models/cattle/server.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>

#include "models/cattle/names.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

using mysql::Transaction;

CattleServer::CattleServer(ServerConfig config)
    : config_(std::move(config)) {
  durable_.store = mysql::Database(config_.max_connections);
  volatile_.memory = mysql::Database(config_.max_connections);
  volatile_.shared = mysql::Database(config_.max_connections);
  if (!config_.manager) return;
  db_client_.emplace("db");
  db_client_->set_callbacks({[this](Ctx& ctx, mysql::PoolEvent e) { on_pool_event(ctx, e); }});
  // Besides its pool, a Cattle 1.1 process makes two more commons-dbcp 1.4 BasicDataSources
  // through the same factory (rancher/cattle v0.165.8 code/framework/db-loader/src/main/java/io/
  // cattle/platform/datasource/DefaultDataSourceFactoryImpl.java lines 12-28), each a pool with
  // properties of its own from resources/content/cattle-global.properties:
  //   - "liquibase" (Loader.java lines 35-38, io.cattle.platform.liquibase):
  //     db.liquibase.maxtotal=1 and db.liquibase.maxidle=0 (lines 81-84). Liquibase 3.1.0's
  //     SpringLiquibase. afterPropertiesSet borrows its one connection, runs the migration on it
  //     and closes it in its finally block (liquibase/liquibase liquibase-parent-3.1.0
  //     liquibase-core/src/main/ java/liquibase/integration/spring/SpringLiquibase.java lines
  //     293-316); with maxIdle 0 the pool destroys a connection given back (commons-pool POOL_1_6
  //     GenericObjectPool.java lines 1442-1443). So it holds one connection for the migration only,
  //     and none after: the data source itself is never closed, but it keeps nothing open.
  //   - "config" (code/iaas/archaius-management/src/main/java/io/cattle/platform/archaius/
  //     startup/ArchaiusStartup.java lines 99-106, the LazyJDBCSource of the DatabaseConfig
  //     bean): db.config.maxtotal=1 and db.config.maxidle=1 (lines 77-79). Archaius polls
  //     SELECT distinct name, value FROM setting through it at the start and then every 60 s,
  //     and the pool keeps its one connection idle in between; the evictor closes only
  //     connections idle more than 5 min (db_min_evictable_idle), so it stays open for the life
  //     of the process.
  liquibase_db_.emplace("db", k_liquibase_source, "liquibase");
  liquibase_db_->set_limits(1, 0);
  liquibase_db_->set_callbacks(
      {[this](Ctx& ctx, mysql::PoolEvent e) { on_liquibase_pool_event(ctx, e); }});
  config_db_.emplace("db", k_config_source, "config");
  config_db_->set_limits(1, 1);
  cm_.emplace(*config_.manager);
  // The manager pings the server's /ping; it answers once the server has its database.
  cm_->set_hooks({[this] { return volatile_.serving; }});
}

void CattleServer::on_start(Ctx& ctx) {
  if (cm_ && !durable_.booted_before) {
    // The operator starts the HA nodes one after another (the field report's "next node to
    // join"): server-K's first boot comes (K-1) start intervals after server-1's.
    DurationNs delay = (config_.manager->index - 1) * ctx.timing(t_ha_start_interval);
    if (delay > 0) {
      ctx.set_timer(delay, timer_tag::encode(HaBoot{}));
      return;
    }
  }
  boot(ctx);
}

void CattleServer::load_config(Ctx& ctx) {
  cfg_.ping_interval_ns = ctx.timing(t_ping_interval);
  cfg_.ping_timeout_ns = ctx.timing(t_ping_timeout);
  cfg_.reconnect_after = ctx.timing(t_reconnect_after);
  cfg_.ping_instances_every = std::max<std::int64_t>(1, ctx.timing(t_ping_instances_every));
  cfg_.ping_unmanaged_every = std::max<std::int64_t>(1, ctx.timing(t_ping_unmanaged_every));
  cfg_.agent_connection_locks = ctx.mechanism(m_agent_connection_locks);
  cfg_.replay_interval_ns = ctx.timing(t_replay_interval);
  cfg_.lock_wait_ns = ctx.timing(t_lock_wait);
  cfg_.service_lock_wait_ns = ctx.timing(t_service_lock_wait);
  cfg_.retry_max_wait_ns = ctx.timing(t_retry_max_wait);
  cfg_.agent_reply_timeout_ns = ctx.timing(t_agent_reply_timeout);
  cfg_.state_in_store = ctx.mechanism(m_state_in_store);
  cfg_.process_replay = ctx.mechanism(m_process_replay);
  cfg_.zk_service_locks = ctx.mechanism(m_zk_service_locks);
  cfg_.zk_stale_holder_check = ctx.mechanism(m_zk_stale_holder_check);
  cfg_.stop_stray_copies = ctx.mechanism(m_stop_stray_copies);
  cfg_.stop_waits_reply = ctx.mechanism(m_stop_waits_reply);
  cfg_.exit_on_zk_lost = ctx.mechanism(m_exit_on_zk_lost);
  cfg_.pool_on_demand = ctx.mechanism(m_pool_on_demand);
  cfg_.redis_per_node = ctx.mechanism(m_redis_per_node);
  cfg_.agent_events_bus = ctx.mechanism(m_agent_events_bus);
  cfg_.agent_commands_bus = ctx.mechanism(m_agent_commands_bus);
  cfg_.curator_lost_after_ns = ctx.timing(t_curator_lost_after);
  cfg_.boot_time_ns = ctx.timing(t_boot_time);
  cfg_.restart_backoff_ns = ctx.timing(t_restart_backoff);
  cfg_.restart_reset_after_ns = ctx.timing(t_restart_reset_after);
  cfg_.changelog_lock = ctx.mechanism(m_changelog_lock);
  cfg_.release_change_lock = ctx.mechanism(m_release_change_lock);
  cfg_.changelog_lock_wait_ns = ctx.timing(t_changelog_lock_wait);
  cfg_.changelog_lock_poll_ns = ctx.timing(t_changelog_lock_poll);
  cfg_.changelog_update_ns = ctx.timing(t_changelog_update_time);
  cfg_.config_source = ctx.mechanism(m_config_source);
  cfg_.config_poll_interval_ns = ctx.timing(t_config_poll_interval);
  cfg_.alloc_spread = ctx.mechanism(m_alloc_spread);
  cfg_.alloc_ports = ctx.mechanism(m_alloc_ports);
  cfg_.alloc_affinity = ctx.mechanism(m_alloc_affinity);
  cfg_.alloc_soft = ctx.mechanism(m_alloc_soft);
  cfg_.alloc_lock = ctx.mechanism(m_alloc_lock);
  cfg_.process_lock = ctx.mechanism(m_process_lock);
}

void CattleServer::boot(Ctx& ctx) {
  load_config(ctx);
  cfg_.lock_acquisitions = ctx.intern("lock_acquisitions");
  cfg_.process_instances = ctx.intern("process_instances");
  cfg_.events = ctx.intern("events");
  open_pool(ctx);
  // The store is durable, so only the very first boot seeds it; later boots read it back. In HA
  // the first server to find the external database empty seeds it (ha.cpp).
  if (!durable_.booted_before && !cm_) seed(ctx);
  durable_.booted_before = true;
  auto services = static_cast<std::int64_t>(db().table("service")->size());
  auto hosts = static_cast<std::int64_t>(db().table("host")->size());
  ctx.event(LogLevel::notable,
            Event("cattle.server_started").with("services", services).with("hosts", hosts),
            fmt::format("cattle server started ({} services, {} hosts known)", services, hosts));
  ctx.signal("cattle.server_started");
  ctx.set_timer(cfg_.ping_interval_ns, timer_tag::encode(PingTick{}));
  ctx.set_timer(cfg_.replay_interval_ns, timer_tag::encode(ReplayTick{}));
  // A boot event starts the first reconcile and configuration push at once.
  start_health(ctx);
  emit(ctx, "server.started", 0);
  if (!cm_) return;
  volatile_.ha_booted = true;
  durable_.started_ns = ctx.now();
  start_ha(ctx);
  db_client_->start(ctx);
  liquibase_db_->start(ctx);
  config_db_->start(ctx);
  // The Spring context builds the Liquibase bean before anything that reads a table
  // (spring-system-context.xml lines 22-25): the migration comes first, on its own data source
  // (migration.cpp), and the pool opens when it is done.
  if (cfg_.changelog_lock) return liquibase_db_->open_pool(ctx, 1, 1);
  open_ha_pool(ctx);
}

void CattleServer::open_ha_pool(Ctx& ctx) {
  // Cattle's pool is commons-dbcp 1.4's BasicDataSource, and Cattle sets neither initialSize nor
  // minIdle (rancher/cattle v0.165.8 code/packaging/app-config/src/main/resources/META-INF/
  // cattle/defaults/defaults.properties:19-26 and resources/content/cattle-global.properties:
  // 77-91 are every pool property it sets): dbcp's initialSize is 0 (commons-dbcp DBCP_1_4
  // src/java/org/apache/commons/dbcp/BasicDataSource.java:368, preloaded at lines 1393-1396)
  // and minIdle commons-pool's 0 (POOL_1_6 GenericObjectPool.java:245), so nothing connects
  // before the first borrow, which makes one connection; every later borrow that finds none
  // idle makes another (DbClient, db_pool_grow). The boot's first statement is that borrow.
  const int initial = cfg_.pool_on_demand ? 1 : config_.pool_per_server;
  db_client_->open_pool(ctx, config_.pool_per_server, initial);
}

void CattleServer::on_pool_event(Ctx& ctx, mysql::PoolEvent event) {
  switch (event) {
    case mysql::PoolEvent::opened:
      // The pool opens only once Liquibase is done (boot, migration.cpp).
      volatile_.migrated = true;
      return pool_ready(ctx);
    case mysql::PoolEvent::refused:
      // The client has logged the 1040 error. The server cannot run without its pool, so its
      // manager never checks in and the others never count it.
      volatile_.serving = false;
      if (!volatile_.cm_started)
        ctx.event(LogLevel::notable, Event("cattle.cluster_join_skipped"),
                  "not joining the cluster: the database pool could not open");
      return;
    case mysql::PoolEvent::lost:
      return;  // the client reopens the pool by itself
  }
}

void CattleServer::pool_ready(Ctx& ctx) {
  volatile_.serving = true;
  refresh(ctx, true);
  // Joining means checking in with the cluster manager; a pool that reopens after a lost db
  // does not join again.
  if (!volatile_.cm_started) {
    volatile_.cm_started = true;
    cm_->start(ctx);
  }
  if (config_db_->state() == mysql::PoolState::idle) start_config_source(ctx);
}

void CattleServer::start_config_source(Ctx& ctx) {
  if (!cfg_.config_source) return;
  // ArchaiusStartup.start's refresh polls the setting table at once (lines 64-95): the pool's
  // first borrow makes its connection. Its first poll's retries (LazyJDBCSource.checkInitial:
  // 300 tries 1 s apart when the first load fails, which hold the boot back) are not modelled:
  // a connection refused here is tried again at the next poll.
  config_db_->open_pool(ctx, 1, 1);
  ctx.set_timer(cfg_.config_poll_interval_ns, timer_tag::encode(ConfigPoll{}));
}

void CattleServer::on(Ctx& ctx, const ConfigPoll&) {
  // FixedDelayPollingScheduler: the next poll a delay after this one. Its answer changes nothing
  // the model reads (the settings are the scenario's); what it does here is keep the connection
  // busy, so that the evictor never finds it idle long enough, and make it again after a refusal.
  config_db_->select_unmodelled(ctx, [](Ctx&, const mysql::DbResult&) {});
  ctx.set_timer(cfg_.config_poll_interval_ns, timer_tag::encode(ConfigPoll{}));
}

void CattleServer::open_pool(Ctx& ctx) {
  // Only the embedded database is opened here: in HA the external one belongs to the db node.
  if (!config_.embedded_db) return;
  for (int i = 0; i < config_.pool_per_server; ++i) {
    if (auto err = durable_.store.connect()) {
      ctx.event(LogLevel::notable,
                Event("cattle.pool_error")
                    .with("code", std::int64_t{err->code})
                    .with("message", err->message),
                fmt::format("database pool: error {}: {}", err->code, err->message));
      return;
    }
  }
}

// The scenario's starting data: the hosts its agents registered and the stacks a user created.
// Real Cattle installs its schema and first rows with Liquibase at the first boot
// (rancher/cattle v0.165.8 code/framework/db-loader/src/main/java/io/cattle/platform/liquibase/
// Loader.java, a SpringLiquibase bean that the context builds before anything else:
// code/packaging/app-config/src/main/resources/META-INF/cattle/system/spring-system-context.xml
// lines 22-24, changelog resources/content/db/changelog.xml). Liquibase runs each changeset in a
// transaction with its DATABASECHANGELOG row, so a changeset counts as applied only if its
// writes are in; a failed one stops the boot and runs again at the next. The seed here is one
// transaction for the same reason: its rows and the "seeded" marker commit together or not at
// all, and in HA the server works only once the database has taken it (ha.cpp, on_seed_result).
void CattleServer::seed(Ctx& ctx) {
  Transaction all;  // HA: every write with its real id, sent to the db as one transaction
  auto apply = [&](Transaction& t) {
    return cm_ ? volatile_.shared.commit(t, all) : db().commit(t);
  };
  Transaction txn;
  for (const std::string& agent : config_.agents)
    write::insert(txn, HostRow{HostId{}, agent, HostState::active, 0});
  write::insert(txn, NetworkRow{NetworkId{}, "managed", "ipsec", "active"});
  apply(txn);
  for (const StackSpec& stack : config_.stacks) {
    Transaction s;
    write::insert(s, StackRow{StackId{}, stack.name, "active"});
    StackId stack_id{apply(s).front()};
    Transaction t;
    for (const ServiceSpec& svc : stack.services)
      write::insert(t, ServiceRow{ServiceId{}, svc.name, stack_id, ServiceKind::service,
                                  svc.scale, fmt::format("{}", fmt::join(svc.links, ",")),
                                  std::nullopt, "active"});
    if (stack.load_balancer)
      write::insert(t, ServiceRow{ServiceId{}, stack.load_balancer->name, stack_id,
                                  ServiceKind::loadbalancer, std::nullopt, std::nullopt,
                                  fmt::format("{}", fmt::join(stack.load_balancer->targets, ",")),
                                  "active"});
    apply(t);
  }
  Transaction mark;
  write::insert(mark, SettingRow{SettingId{}, std::string(k_seeded_setting), "true"});
  apply(mark);
  if (cm_) volatile_.seed_seq = enqueue_write(ctx, all);
  ctx.event(LogLevel::info, Event("cattle.store_seeded"),
            "seeded the store from the scenario's stacks");
}

bool CattleServer::seeded() const {
  for (const auto& [id, setting] : rows<SettingRow>())
    if (setting.name == k_seeded_setting) return true;
  return false;
}

// In HA mode the embedded ZooKeeper and Redis clients and the database pool learn of a dead
// server from their sockets at once, as the real clients do (models/zookeeper/zk_client.hpp,
// models/redis/redis_client.hpp, models/mysql/db_client.hpp); each ignores events about peers
// other than its own.
//
// An agent's closed connection changes nothing here, as in cattle v0.165.8: when an agent's
// event stream (its websocket to /v1/subscribe) closes, the server only stops writing to it
// (code/framework/api-pub-sub-jetty/.../WebSocketMessageWriter.java onWebSocketClose, lines
// 34-37) and unsubscribes its listener (code/framework/api-pub-sub/.../
// NonBlockingSubscriptionHandler.java unsubscribe, lines 208-212); nothing marks the host. Only
// a failed ping schedules agent.reconnect (code/iaas/agent-server/.../ping/impl/
// PingMonitorImpl.java line 141; here ping_monitor.cpp), and a ping to an agent with
// no stream is simply unanswered, so `refused` is ignored too. The cluster manager's check-ins
// are database rows (models/cluster_manager/cluster_manager.hpp), so a peer's closed connection
// tells it nothing either.
void CattleServer::on_connection(Ctx& ctx, NodeId peer, ConnectionEvent event) {
  if (!cm_ || !volatile_.ha_booted || cm_->unresponsive()) return;
  // The manager's own connection to the db (cm_membership_table) shares the node's.
  cm_->on_connection(ctx, peer, event);
  if (volatile_.down) return;
  db_client_->on_connection(ctx, peer, event);
  liquibase_db_->on_connection(ctx, peer, event);
  config_db_->on_connection(ctx, peer, event);
  if (zk_) zk_->on_connection(ctx, peer, event);
  if (redis_) redis_->on_connection(ctx, peer, event);
  // An agent's websocket closed: its subscription handler stops forwarding (agent_bus.cpp).
  if (event != ConnectionEvent::refused && agent_events_on_bus()) detach_socket(ctx, peer);
}

void CattleServer::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  if (cm_) {
    // The manager's container runs on while Cattle's has exited (lifecycle.cpp), and so does
    // its own database connection (cm_membership_table).
    if (cm::ClusterManager::owns_db_message(msg)) {
      if (volatile_.ha_booted && !cm_->unresponsive()) cm_->on_db_message(ctx, msg);
      return;
    }
    if (volatile_.down && cm::ClusterManager::owns_message(msg.type))
      return cm_->on_message(ctx, from, msg);
    // No Cattle process, either not yet booted or exited and not yet restarted.
    if (!volatile_.ha_booted || volatile_.down) return;
    if (cm::ClusterManager::owns_message(msg.type)) return cm_->on_message(ctx, from, msg);
    // A node that swaps (observation 10) answers nothing: not its agents, the API, the db, its
    // ZooKeeper and Redis sessions. Its manager behaves as models/cluster_manager says.
    if (cm_->unresponsive()) return;
    if (mysql::DbClient::owns_message(msg.type))
      return db_client_for(mysql::DbClient::source_of_message(msg))->on_message(ctx, from, msg);
    if (zk::ZkClient::owns_message(msg.type)) {
      if (zk_) zk_->on_message(ctx, from, msg);
      return;
    }
    if (redis::Eventing::owns_message(msg.type)) {
      if (redis_) redis_->on_message(ctx, from, msg);
      return;
    }
  }
  wire::dispatch<Pong, Hello, ApiRequest, ContainerEvent, HealthReport>(
      msg, [&](const auto& m) { on(ctx, from, m); });
}

void CattleServer::on(Ctx& ctx, NodeId from, const Pong& m) {
  auto host = host_of_node(ctx, from);
  if (!host) return;
  // The agent's reply is posted to this server's API, which puts it on the bus (agent_bus.cpp).
  if (agent_events_on_bus()) return publish_pong(ctx, *host, m);
  std::optional<TimeNs> sent_ns = volatile_.pings[*host].answered(m.seq);
  if (!sent_ns) return;  // it already timed out
  ping_succeeded(ctx, *host);
  if (m.lists_containers) sync_containers(ctx, *host, names_of(m.containers), *sent_ns);
}

void CattleServer::on(Ctx& ctx, NodeId from, const Hello& m) {
  auto host = host_of_node(ctx, from);
  // A host this server does not know: nothing to resume. Real Cattle creates a registered
  // agent's host from the resources its ping reply reports (rancher/cattle v0.165.8
  // code/iaas/agent-server/src/main/java/io/cattle/platform/agent/server/resource/impl/
  // AgentResourcesMonitorImpl.java setHosts, lines 196-258); here the seed stands for those
  // registrations, made before the scenario starts, and it commits whole with its marker, so a
  // server working on the tables always knows every agent's host.
  if (!host) return;
  std::string from_name(ctx.name_of(from));
  ctx.event(LogLevel::info, Event("cattle.agent_connected").with("host", from_name),
            fmt::format("agent {} connected", from_name));
  ping_succeeded(ctx, *host);
  if (m.lists_containers) sync_containers(ctx, *host, names_of(m.containers), ctx.now());
  ctx.send(from, wire::encode(Welcome{}));
  if (agent_events_on_bus()) attach_socket(ctx, *host, from);
}

void CattleServer::on(Ctx& ctx, NodeId from, const ApiRequest& m) {
  // GET /v1/services. A server answers once it has its store: in HA, once its pool is open and
  // it has read the shared tables; until then (or without its database) it says 503.
  bool ready = !cm_ || (volatile_.cache_ready && db_client_->connected());
  if (!ready) return answer_api(ctx, from, m.request, k_http_unavailable);
  if (!cm_) return answer_api(ctx, from, m.request, k_http_ok);
  // HA: the request's API key is looked up first, a read of its credential row through the pool
  // (rancher/cattle v0.165.8 code/iaas/auth-logic/src/main/java/io/cattle/platform/iaas/api/auth/
  // dao/impl/AuthDaoImpl.java getAccountByKeys, lines 194-202, the query in rancher/rancher#5015's
  // log), so every request borrows a connection; a failed read is the API's 500.
  const std::int64_t request = m.request;
  db_client_->select_unmodelled(ctx, [this, from, request](Ctx& c, const mysql::DbResult& r) {
    if (r.ok()) return answer_api(c, from, request, k_http_ok);
    // Cattle's ExceptionHandler logs the request's exception (the line in #5015's report).
    const std::string error = mysql::format_error(*r.error);
    c.event(LogLevel::info, Event("cattle.api_failed").with("error", error),
            fmt::format("Exception in API for request: {}", error));
    answer_api(c, from, request, k_http_server_error);
  });
}

void CattleServer::answer_api(Ctx& ctx, NodeId to, std::int64_t request, std::int64_t status) {
  std::int64_t services = 0;
  if (status == k_http_ok)
    for (const auto& [id, service] : rows<ServiceRow>())
      services += service.kind == ServiceKind::service;
  ctx.send(to, wire::encode(ApiResponse{request, status, services}));
}

void CattleServer::on(Ctx& ctx, NodeId from, const ContainerEvent& m) {
  // With the commands on the bus, a start's or a stop's answer goes back to the caller over the
  // bus (agent_bus.cpp); only a container's death is the agent's own report.
  if (agent_commands_on_bus() && m.kind != event_died) return relay_reply(ctx, m);
  container_event(ctx, from, m);
}

void CattleServer::container_event(Ctx& ctx, NodeId from, const ContainerEvent& m) {
  // A report from a host other than the one the instance is placed on is about a stray copy: a
  // start command that waited on a paused agent while the create was retried (and placed) on
  // another host once this one went reconnecting. Cattle v0.165.8 does not stop it (the
  // mechanism's description in models/register.cpp says where); with the mechanism on, the
  // server stops the copy and takes neither its start nor its stop for the instance's.
  InstanceId instance{m.instance};
  if (cfg_.stop_stray_copies && instance.valid()) {
    const InstanceRow* row = this->row<InstanceRow>(instance);
    HostId placed = row ? row->host : HostId{};
    auto reporter = host_of_node(ctx, from);
    if (placed.valid() && reporter && *reporter != placed) {
      // The stop is an agent command like any other: over the bus when the commands take it.
      if (m.kind == event_started)
        command_agent(ctx, *reporter, from, StopContainer{m.instance, m.container});
      return;
    }
  }
  if (m.kind == event_started) return on_container_started(ctx, instance);
  // The agent's answer to a removal's stop (process_engine.cpp, call_agent) finishes it.
  if (m.kind == event_stopped && agent_answered(ctx, instance, HandlerKind::stop_on_agent)) return;
  if (instance.valid()) container_gone(ctx, instance, "reported by its agent");
}

void CattleServer::on_timer(Ctx& ctx, std::uint64_t tag) {
  if (cm_) {
    if (cm::ClusterManager::owns_timer(tag)) return cm_->on_timer(ctx, tag);
    // The engine cancelled the exited process's timers (lifecycle.cpp): only Docker's restart
    // is set while it is down.
    if (volatile_.down) {
      auto restart = timer_tag::decode<ContainerRestart>(tag);
      STAMPEDE_ASSERT(restart.has_value(), "a timer of an exited Cattle process fired");
      return on(ctx, *restart);
    }
    // Swapping, the server's own work stalls too; a restart sets its timers again.
    if (cm_->unresponsive()) return;
    if (mysql::DbClient::owns_timer(tag))
      return db_client_for(mysql::timer_source(tag))->on_timer(ctx, tag);
    if (zk::ZkClient::owns_timer(tag)) {
      if (zk_) zk_->on_timer(ctx, tag);
      return;
    }
    if (redis::Eventing::owns_timer(tag)) {
      if (redis_) redis_->on_timer(ctx, tag);
      return;
    }
  }
  bool known =
      timer_tag::dispatch<PingTick, PingTimeout, ReplayTick, BusDrain, LockWait, AgentReply, HaBoot,
                          ServiceLockWait, ZkLost, ContainerRestart, ChangelogLockPoll,
                          ChangelogUpdateDone, BootFailed, HealthCleanupTick, HealthLockWait,
                          MigrationDone, ConfigPoll, PlacementLockWait, HealthRegisterWait>(
          tag, [&](const auto& t) { on(ctx, t); });
  STAMPEDE_ASSERT(known, "a Cattle server timer of no known kind");
}

void CattleServer::on(Ctx& ctx, const PingTick&) {
  ping_all(ctx);
  ctx.set_timer(cfg_.ping_interval_ns, timer_tag::encode(PingTick{}));
}

void CattleServer::on(Ctx& ctx, const PingTimeout& t) {
  std::optional<HostId> host = host_of_ping_slot(t.host_slot);
  if (!host) return;
  if (!volatile_.pings[*host].answered(static_cast<std::int64_t>(t.seq))) return;  // answered
  ping_failed(ctx, *host);
}

void CattleServer::on(Ctx& ctx, const ReplayTick&) {
  // In HA the tables are read back first; the replay runs on what was read.
  if (cm_) refresh(ctx, true);
  else replay(ctx);
  ctx.set_timer(cfg_.replay_interval_ns, timer_tag::encode(ReplayTick{}));
}

void CattleServer::on(Ctx& ctx, const BusDrain&) {
  volatile_.bus_scheduled = false;
  drain_bus(ctx);
}

void CattleServer::on(Ctx& ctx, const LockWait& t) {
  ProcessId pi{t.pi};
  auto it = volatile_.running.find(pi);
  if (it == volatile_.running.end() || it->second.phase != RunningProcess::Phase::waiting_lock)
    return;
  volatile_.locks.give_up(it->second.lock, t.pi);
  fail_process(ctx, pi, "timed out waiting for lock " + it->second.lock);
}

void CattleServer::on(Ctx& ctx, const AgentReply& t) {
  ProcessId pi{t.pi};
  auto it = volatile_.running.find(pi);
  if (it == volatile_.running.end() || it->second.phase != RunningProcess::Phase::working) return;
  fail_process(ctx, pi, "no answer from the agent");
}

void CattleServer::on(Ctx& ctx, const HaBoot&) { boot(ctx); }

void CattleServer::on(Ctx& ctx, const ServiceLockWait& t) {
  on_lock_wait_over(ctx, ServiceId{t.service});
}

void CattleServer::on_crash() {
  // Memory goes; the embedded database's files stay, but its connections die with the process.
  durable_.store.drop_all_connections();
  volatile_ = Volatile{};
  volatile_.memory = mysql::Database(config_.max_connections);
  volatile_.shared = mysql::Database(config_.max_connections);
  if (!cm_) return;
  cm_->crash();
  db_client_->crash();
  liquibase_db_->crash();
  config_db_->crash();
  crash_ha();
}

bool CattleServer::on_fault(Ctx& ctx, const ModelFault& fault) {
  if (cm_ && cm_->on_fault(ctx, fault)) return true;
  if (fault.kind != "truncate" || !config_.embedded_db) return false;
  // The field report's operator switched foreign-key checks off first (SET FOREIGN_KEY_CHECKS=0).
  auto err = durable_.store.truncate(fault.args, /*foreign_key_checks=*/false);
  if (err) {
    ctx.event(LogLevel::notable,
              Event("mysql.truncate_failed")
                  .with("code", std::int64_t{err->code})
                  .with("message", err->message),
              fmt::format("TRUNCATE failed: error {}: {}", err->code, err->message));
  } else {
    std::string tables = fmt::format("{}", fmt::join(fault.args, ", "));
    ctx.event(LogLevel::notable, Event("mysql.tables_truncated").with("tables", tables),
              fmt::format("tables {} truncated (foreign_key_checks=0)", tables));
    ctx.signal("mysql.truncated");
  }
  return true;
}

std::string CattleServer::host_state(std::string_view agent) const {
  auto id = host_by_name(agent);
  return id ? std::string(to_text(state_of(*id))) : "";
}

HostState CattleServer::state_of(HostId host) const {
  const HostRow* h = row<HostRow>(host);
  return h == nullptr ? HostState::unknown : h->state;
}

InstanceState CattleServer::state_of(InstanceId instance) const {
  const InstanceRow* i = row<InstanceRow>(instance);
  return i == nullptr ? InstanceState::unknown : i->state;
}

// key.starts_with(prefix) for a three-character prefix, compared in line: the invariants ask a
// server for zk.* keys after every step at a server or a ZooKeeper node, and starts_with
// compiled to a call to memcmp.
static bool has_prefix(std::string_view key, const char (&prefix)[4]) {
  return key.size() >= 3 && key[0] == prefix[0] && key[1] == prefix[1] && key[2] == prefix[2];
}

std::optional<std::int64_t> CattleServer::probe(std::string_view key,
                                                std::string_view arg) const {
  // The embedded clients' keys first: the invariants ask for zk.* after most steps.
  if (has_prefix(key, "zk.")) return zk_ ? zk_->probe(key, arg) : std::nullopt;
  if (has_prefix(key, "cm.")) return cm_ ? cm_->probe(key, arg) : std::nullopt;
  if (has_prefix(key, "db.")) return cm_ ? db_client_->probe(key, arg) : std::nullopt;
  if (key == "host_state") {
    auto id = host_by_name(arg);
    switch (id ? state_of(*id) : HostState::unknown) {
      case HostState::active: return static_cast<std::int64_t>(HostStateCode::active);
      case HostState::reconnecting:
      case HostState::activating: return static_cast<std::int64_t>(HostStateCode::reconnecting);
      case HostState::unknown:
      case HostState::removed: return std::nullopt;
    }
    return std::nullopt;
  }
  if (key == "hosts_active") {
    // Counted when the host table is read after a change (RowCache), not at every question.
    return cache_.hosts_active(store());
  }
  if (key == "owns_agent") {
    // Whether this server pings the agent (arg: the host's name) and pushes its configuration.
    auto id = host_by_name(arg);
    return id && owns_agent(*id) ? 1 : 0;
  }
  if (key == "lock_holders_max") return lock_holders_max();
  if (key == "services_known") {
    std::int64_t n = 0;
    for (const auto& [id, service] : rows<ServiceRow>())
      n += service.kind == ServiceKind::service;
    return n;
  }
  if (key == "processes_running") return static_cast<std::int64_t>(volatile_.running.size());
  if (key == "processes_working" || key == "process_working") return probe_working(key, arg);
  if (cm_ && key == "cattle.exits") return durable_.exits;
  if (cm_ && key == "cattle.down") return volatile_.down ? 1 : 0;
  if (cm_ && key == "ha.cache_ready") return volatile_.cache_ready ? 1 : 0;
  if (cm_ && key == "ha.services_working")
    return static_cast<std::int64_t>(volatile_.service_work.size());
  return std::nullopt;
}

std::optional<std::int64_t> CattleServer::probe_working(std::string_view key,
                                                        std::string_view arg) const {
  // The process instances that have started and wait for an agent's answer, in id order:
  // processes_working counts them, process_working (arg: k) is the k-th one's id. The invariant
  // process.single_runner asks them after every server step.
  std::int64_t k = 0;
  std::int64_t want = -1;
  if (key == "process_working") want = std::strtoll(std::string(arg).c_str(), nullptr, 10);
  for (const auto& [pi, rp] : volatile_.running) {
    if (rp.phase != RunningProcess::Phase::working) continue;
    if (k == want) return pi.value;
    ++k;
  }
  if (want >= 0) return std::nullopt;
  return k;
}

template <class Self, class F>
void CattleServer::for_each_component(Self& self, F&& f) {
  if (self.cm_) f("cm", *self.cm_);
  if (self.db_client_) f("db_client", *self.db_client_);
  if (self.liquibase_db_) f("liquibase_db", *self.liquibase_db_);
  if (self.config_db_) f("config_db", *self.config_db_);
  if (self.zk_) f("zk", *self.zk_);
  if (self.redis_) f("redis", *self.redis_);
}

std::uint64_t CattleServer::state_digest() const {
  Digest d;
  state::add(d, durable_);
  state::add(d, volatile_);
  for_each_component(*this, [&](std::string_view, const auto& c) {
    if constexpr (state::SelfDigesting<std::remove_cvref_t<decltype(c)>>) c.digest_into(d);
    else d.add(c.digest());
  });
  return d.value();
}

std::size_t CattleServer::state_field_count() const {
  std::size_t n = state::field_total(durable_, volatile_);
  for_each_component(*this, [&](std::string_view, const auto& c) {
    if constexpr (state::Component<std::remove_cvref_t<decltype(c)>>) n += c.state_field_count();
  });
  return n;
}

std::string CattleServer::perturb_state_field(std::size_t i) {
  std::size_t own = state::field_total(durable_, volatile_);
  if (i < own) return state::perturb_field(i, durable_, volatile_);
  std::size_t seen = own;
  std::string name;
  for_each_component(*this, [&](std::string_view component, auto& c) {
    if constexpr (state::Component<std::remove_cvref_t<decltype(c)>>) {
      std::size_t n = c.state_field_count();
      if (name.empty() && i < seen + n)
        name = std::string(component) + "." + c.perturb_state_field(i - seen);
      seen += n;
    }
  });
  return name;
}

std::unique_ptr<Node> CattleServer::clone() const {
  if (cm_) return nullptr;
  return std::make_unique<CattleServer>(*this);
}

std::unique_ptr<Node> CattleServer::saved_copy() const {
  if (!cm_) return nullptr;  // clone() serves single mode
  return std::make_unique<CattleServer>(*this);
}

void CattleServer::assign_from(const Node& saved) {
  *this = static_cast<const CattleServer&>(saved);
}

std::string_view CattleServer::message_name(std::uint32_t type) const {
  if (cm::is_cm_type(type)) return cm::type_name(type);
  if (mysql::is_db_type(type)) return mysql::db_type_name(type);
  if (zk::is_client_type(type)) return zk::type_name(type);
  if (redis::is_redis_type(type)) return redis::type_name(type);
  std::string_view n = message_type_name(type);
  return n.empty() ? "msg" : n;
}

const std::string& CattleServer::host_name(HostId host) const {
  static const std::string none;
  const HostRow* h = row<HostRow>(host);
  return h == nullptr ? none : h->name;
}

std::optional<HostId> CattleServer::host_by_name(std::string_view name) const {
  return cache_.host_named(store(), name);
}

NodeId CattleServer::agent_node(Ctx& ctx, HostId host) const {
  return cache_.node_of(store(), host, [&ctx](std::string_view name) { return ctx.lookup(name); });
}

std::optional<HostId> CattleServer::host_of_node(Ctx& ctx, NodeId node) const {
  return cache_.host_of_node(store(), node, [&ctx](NodeId n) { return ctx.name_of(n); });
}

}  // namespace stampede::cattle
