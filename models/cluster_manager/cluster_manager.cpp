#include "models/cluster_manager/cluster_manager.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "models/cluster_manager/memory.hpp"
#include "models/cluster_manager/names.hpp"
#include "models/cluster_manager/stack.hpp"
#include "sim/core/assert.hpp"

namespace stampede::cm {

std::string_view type_name(std::uint32_t type) {
  std::string_view n = wire::name_of<Heartbeat>(type);
  return n.empty() ? "cm_unknown" : n;
}

std::string member_name(int index) {
  return fmt::format("server-{}", index);
}

Config config_for(const ClusterSpec& cluster, int index) {
  Config c;
  c.index = index;
  c.cluster_size = cluster.cluster_size > 0 ? cluster.cluster_size : cluster.servers;
  c.requested_index = index <= c.cluster_size ? index : 0;
  auto it = cluster.server_versions.find(member_name(index));
  c.version = it == cluster.server_versions.end() ? cluster.version : it->second;
  auto mem = cluster.server_memories_mib.find(member_name(index));
  c.memory_mib = mem == cluster.server_memories_mib.end() ? cluster.server_memory_mib : mem->second;
  return c;
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::blocked:
      return "blocked";
    case Phase::gathering:
      return "gathering";
    case Phase::version_mismatch:
      return "version_mismatch";
    case Phase::server_unavailable:
      return "server_unavailable";
    case Phase::ready:
      return "ready";
    case Phase::waiting_hosts:
      return "waiting_hosts";
    case Phase::launching:
      return "launching";
    case Phase::running:
      return "running";
    case Phase::out_of_memory:
      return "out_of_memory";
  }
  return "?";
}


ClusterManager::ClusterManager(Config config)
    : config_(std::move(config)), durable_{config_.leftover_state, 0} {}

void ClusterManager::crash() {
  // The state files are on disk and the timer generation keeps rising (durable_); the rest died
  // with the process, and the configuration is read again at the next start.
  volatile_ = {};
  rt_ = {};
}

void ClusterManager::read_runtime(Ctx& ctx) {
  rt_.peers_by_index.clear();
  for (int k = 1; k <= config_.cluster_size; ++k)
    rt_.peers_by_index.push_back(ctx.lookup(member_name(k)));
  rt_.metric_changes = ctx.intern(k_metric_membership_changes);
  rt_.metric_health_failures = ctx.intern(k_metric_health_failures);
  rt_.order = stack_order(management_stack());
  STAMPEDE_ASSERT(rt_.order.size() == management_stack().size(),
                  "the management stack's declared dependencies must form a DAG");
  rt_.heartbeat_interval_ns = ctx.timing(k_heartbeat_interval);
  rt_.loop_interval_ns = ctx.timing(k_loop_interval);
  rt_.wait_hosts_poll_ns = ctx.timing(k_wait_hosts_poll);
  rt_.service_start_ns = ctx.timing(k_service_start);
  rt_.max_missed = ctx.timing(k_max_missed);
  rt_.wait_hosts_tries = ctx.timing(k_wait_hosts_tries);
  rt_.version_check = ctx.mechanism(k_version_check);
  rt_.leftover_check = ctx.mechanism(k_leftover_check);
  rt_.health_check = ctx.mechanism(k_health_check);
  rt_.memory_limit = ctx.mechanism(k_memory_limit);
  rt_.membership_table = ctx.mechanism(k_membership_table);
  rt_.own_index_request = ctx.mechanism(k_own_index_request);
  if (!rt_.membership_table) return;
  rt_.db = ctx.lookup("db");
  rt_.db_connect_timeout_ns = ctx.timing(k_db_connect_timeout);
  rt_.db_io_timeout_ns = ctx.timing(k_db_io_timeout);
  rt_.restart_backoff_ns = ctx.timing(k_restart_backoff);
  rt_.restart_reset_after_ns = ctx.timing(k_restart_reset_after);
}

void ClusterManager::start(Ctx& ctx) {
  ++durable_.gen;
  volatile_.started = true;
  read_runtime(ctx);
  // The Cattle JVM, the manager and the agent are resident from here on.
  check_memory(ctx, "the cluster manager");
  // rancher-ha checks in once (heartbeat 0) and runs its first loop before sleeping.
  if (rt_.membership_table) {
    if (joined() && !volatile_.out_of_memory) table_start(ctx);
    else loop(ctx);
  } else {
    if (joined() && !volatile_.out_of_memory) send_heartbeat(ctx);
    loop(ctx);
  }
  ctx.set_timer(rt_.heartbeat_interval_ns, tag<HeartbeatTimer>());
  ctx.set_timer(rt_.loop_interval_ns, tag<LoopTimer>());
}

bool ClusterManager::joined() const {
  return !(durable_.leftover && rt_.leftover_check);
}

void ClusterManager::send_heartbeat(Ctx& ctx) {
  auto body = std::make_shared<const VersionBody>(config_.version);
  for (int k = 1; k <= config_.cluster_size; ++k) {
    NodeId to = rt_.peers_by_index[static_cast<std::size_t>(k - 1)];
    if (k == config_.index || to == k_no_node) continue;
    ctx.send(to, wire::encode(Heartbeat{volatile_.heartbeat, config_.index,
                                        volatile_.host_active, body}));
  }
  ++volatile_.heartbeat;
}

void ClusterManager::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)ctx;
  (void)from;
  wire::dispatch<Heartbeat>(msg, [&](const Heartbeat& m) { on(m); });
}

void ClusterManager::on(const Heartbeat& m) {
  int index = static_cast<int>(m.index);
  if (index < 1 || index > config_.cluster_size || index == config_.index) return;
  // A new entry starts fresh: a first check-in proves the peer alive.
  Peer& p = volatile_.peers[index];
  // rancher-ha compares counters for inequality, not order: a restarted peer counts from 0.
  if (m.counter != p.heartbeat) p.fresh = true;
  p.heartbeat = m.counter;
  p.host_active = m.host_active;
  p.version = m.version->version;
}

void ClusterManager::on_timer(Ctx& ctx, std::uint64_t tag) {
  if (auto io = timer_tag::decode<DbIoTimer>(tag)) {
    if (io->gen_low == (durable_.gen & 0xFFFFu)) on(ctx, *io);
    return;
  }
  timer_tag::dispatch<HeartbeatTimer, LoopTimer, HostsPollTimer, ServiceTimer, LocalServiceTimer,
                      RestartTimer>(tag, [&](const auto& t) {
    if (t.gen == durable_.gen) on(ctx, t);
  });
}

void ClusterManager::on(Ctx& ctx, const HeartbeatTimer& t) {
  (void)t;
  // A node that swaps does not get its check-in written in time: the others forget it.
  if (joined() && !volatile_.out_of_memory) {
    if (!rt_.membership_table) send_heartbeat(ctx);
    else if (!volatile_.uuid.empty())
      queue_op(ctx, Op{OpKind::checkin_find, volatile_.heartbeat++, 0, 0});
  }
  ctx.set_timer(rt_.heartbeat_interval_ns, tag<HeartbeatTimer>());
}

void ClusterManager::on(Ctx& ctx, const LoopTimer& t) {
  (void)t;
  loop(ctx);
  ctx.set_timer(rt_.loop_interval_ns, tag<LoopTimer>());
}

void ClusterManager::on(Ctx& ctx, const HostsPollTimer& t) {
  (void)t;
  poll_hosts(ctx);
}

void ClusterManager::on(Ctx& ctx, const ServiceTimer& t) {
  (void)t;
  if (volatile_.out_of_memory) return;  // a master that swaps launches nothing more
  ++volatile_.services_started;
  start_next_service(ctx);
}

void ClusterManager::on(Ctx& ctx, const LocalServiceTimer& t) {
  (void)t;
  start_local_service(ctx);
}

bool ClusterManager::on_fault(Ctx& ctx, const ModelFault& fault) {
  if (fault.kind != k_fault_clean_state) return false;
  bool& leftover = durable_.leftover;
  if (fault.args.empty() ? !leftover : fault.args.front() != ctx.name_of(ctx.self())) return false;
  if (!leftover) {
    ctx.event(LogLevel::info, Event("cluster.no_leftover_state"), "no leftover state to clean");
    return true;
  }
  leftover = false;
  volatile_.blocked_logged = false;
  ctx.event(LogLevel::notable, Event("cluster.leftover_state_cleaned"),
            "leftover state cleaned: joining the cluster");
  if (volatile_.started && !volatile_.exited) {
    if (rt_.membership_table) {
      if (!volatile_.out_of_memory) table_start(ctx);
    } else {
      if (!volatile_.out_of_memory) send_heartbeat(ctx);
      loop(ctx);
    }
  }
  return true;
}

void ClusterManager::report_blocked(Ctx& ctx) {
  volatile_.phase = Phase::blocked;
  if (volatile_.blocked_logged) return;
  ctx.event(LogLevel::notable, Event("cluster.leftover_state"),
            "leftover state from an earlier attempt: clean it before joining");
  ctx.signal(k_signal_leftover_state);
  volatile_.blocked_logged = true;
}

void ClusterManager::loop(Ctx& ctx) {
  Volatile& v = volatile_;
  if (!joined()) return report_blocked(ctx);
  if (v.out_of_memory) {
    // Starved of memory, the manager gets no further than its health ping, which fails: it
    // neither reads the check-ins nor acts on them.
    ping_server(ctx);
    v.phase = Phase::out_of_memory;
    return;
  }
  if (rt_.membership_table) {
    // The loop's read of the `cluster` table; what follows runs on its answer (table.cpp).
    if (!v.poll_queued && !v.uuid.empty()) {
      v.poll_queued = true;
      queue_op(ctx, Op{OpKind::poll, 0, 0, 0});
    }
    return;
  }
  update_members(ctx);
  // NOT IN rancher/cluster-manager: a majority gate. service/cluster_service.go line 60 tests
  // the length of a list that always holds one entry per index (lines 52-57), so its "Waiting
  // for at least %d cluster members" never shows; the table path (table.cpp) has no gate.
  if (static_cast<int>(v.members.size()) < majority()) {
    v.phase = Phase::gathering;
    v.formed = false;
    return;
  }
  if (!check_versions(ctx)) {
    v.phase = Phase::version_mismatch;
    v.formed = false;
    return;
  }
  act(ctx);
}

void ClusterManager::act(Ctx& ctx) {
  Volatile& v = volatile_;
  if (!v.formed) {
    v.formed = true;
    ctx.event(LogLevel::info,
              Event("cluster.formed").with("members", static_cast<std::int64_t>(v.members.size())),
              fmt::format("cluster formed: {} members", v.members.size()));
    ctx.signal(k_signal_formed);
  }
  if (!ping_server(ctx)) {
    v.phase = Phase::server_unavailable;
    return;
  }
  // The stack's services are global: once every host is active (the master's cue to launch),
  // each node starts its own copies, and they take its memory.
  if (memory_modelled() && !v.local_launching && !v.out_of_memory &&
      active_hosts() >= config_.cluster_size) {
    v.local_launching = true;
    ctx.set_timer(rt_.service_start_ns, tag<LocalServiceTimer>());
  }
  launch_or_wait(ctx);
}

void ClusterManager::launch_or_wait(Ctx& ctx) {
  Volatile& v = volatile_;
  if (v.stack_started) {
    v.phase = Phase::running;
  } else if (v.launching) {
    v.phase = Phase::launching;
  } else if (!master()) {
    // Only the master launches the stack (service.go: `!z.launchedStack && master`).
    v.phase = Phase::ready;
  } else {
    v.phase = Phase::waiting_hosts;
    if (!v.waiting_hosts) {
      v.waiting_hosts = true;
      v.host_polls = 0;
      poll_hosts(ctx);
    }
  }
}

void ClusterManager::prune_members(Ctx& ctx) {
  // cluster.go updateMembers/pruneMembers: every known member misses a beat unless its counter
  // moved since the last loop; one that missed cm_max_missed loops in a row is forgotten.
  auto& peers = volatile_.peers;
  for (auto it = peers.begin(); it != peers.end();) {
    Peer& p = it->second;
    if (p.fresh) {
      p.fresh = false;
      p.missed = 0;
    } else {
      ++p.missed;
    }
    if (p.missed >= rt_.max_missed) {
      std::string name = member_name(it->first);
      ctx.event(LogLevel::info, Event("cluster.member_forgotten").with("member", name),
                fmt::format("forgetting cluster member {}", name));
      it = peers.erase(it);
    } else {
      ++it;
    }
  }
}

void ClusterManager::update_members(Ctx& ctx) {
  Volatile& v = volatile_;
  prune_members(ctx);
  std::vector<int> now = {config_.index};
  for (const auto& [index, p] : v.peers) now.push_back(index);
  std::sort(now.begin(), now.end());
  if (now == v.members) return;
  v.members = std::move(now);
  ++v.change_index;
  ctx.count(rt_.metric_changes, 1);
  std::string names = fmt::format("{}", fmt::join(members(), ", "));
  ctx.event(LogLevel::notable,
            Event("cluster.changed").with("index", v.change_index).with("members", names),
            fmt::format("cluster changed, index={}, members=[{}]", v.change_index, names));
  if (static_cast<int>(v.members.size()) < majority())
    ctx.event(LogLevel::info,
              Event("cluster.waiting_for_members").with("needed", std::int64_t{majority()}),
              fmt::format("waiting for at least {} cluster members", majority()));
}

bool ClusterManager::check_versions(Ctx& ctx) {
  if (!rt_.version_check) return true;
  // The cluster runs the master's version: the master is the member that set the cluster up.
  auto version_of = [&](int index) -> const std::string& {
    return index == config_.index ? config_.version : volatile_.peers.at(index).version;
  };
  const std::string& cluster_version = version_of(volatile_.members.front());
  std::vector<int> mismatched;
  std::vector<std::string> lines;
  for (int index : volatile_.members) {
    if (version_of(index) == cluster_version) continue;
    mismatched.push_back(index);
    lines.push_back(fmt::format("version mismatch: {} runs {}, cluster runs {}", member_name(index),
                                version_of(index), cluster_version));
  }
  std::string report = fmt::format("{}", fmt::join(lines, "\n"));
  if (report != volatile_.mismatch_reported) {
    // Reported once per distinct mismatch, not once per loop.
    for (std::size_t i = 0; i < lines.size(); ++i)
      ctx.event(LogLevel::notable,
                Event("cluster.version_mismatch")
                    .with("member", member_name(mismatched[i]))
                    .with("version", version_of(mismatched[i]))
                    .with("cluster_version", cluster_version),
                lines[i]);
    if (!lines.empty()) ctx.signal(k_signal_version_mismatch);
    volatile_.mismatch_reported = report;
  }
  return lines.empty();
}

void ClusterManager::agent_registered(Ctx& ctx) {
  // The agent container keeps running once launched: the host stays active from here on.
  if (volatile_.host_active) return;
  volatile_.host_active = true;
  ctx.event(LogLevel::info, Event("cluster.host_active"), "rancher agent registered: host active");
}

bool ClusterManager::ping_server(Ctx& ctx) {
  Volatile& v = volatile_;
  // Only the real bridge gateway reaches the server's published port; any other address gets no
  // answer, whether the server is up or not.
  // A node that swaps answers nothing in time, its server included.
  bool answers = config_.bridge_address == k_docker_bridge_gateway && !v.out_of_memory &&
                 (!hooks_.local_server_up || hooks_.local_server_up());
  if (!rt_.health_check) {
    // Without the ping the agent is launched blind; it registers (its host turns active) only
    // if the server answers at the address it was given.
    if (answers) agent_registered(ctx);
    return true;
  }
  if (!answers) {
    ctx.count(rt_.metric_health_failures, 1);
    ctx.event(LogLevel::info,
              Event("cluster.server_not_available")
                  .with("address", config_.bridge_address)
                  .with("port", std::int64_t{k_rancher_server_port}),
              fmt::format("server not available at http://{}:{}/ping", config_.bridge_address,
                          k_rancher_server_port));
    if (!v.server_failing) ctx.signal(k_signal_server_unavailable);
    v.server_failing = true;
    return false;
  }
  if (v.server_failing)
    ctx.event(LogLevel::info, Event("cluster.server_available"), "server available again");
  v.server_failing = false;
  agent_registered(ctx);
  return true;
}

int ClusterManager::active_hosts() const {
  int n = 0;
  if (rt_.membership_table) {
    // The model's stand-in for the Cattle API's active hosts: the servers whose rows say their
    // agent registered (this one's own state for itself).
    std::vector<int> active;
    for (const auto& [uuid, s] : volatile_.seen)
      if (s.server != config_.index && s.host_active) active.push_back(s.server);
    std::sort(active.begin(), active.end());
    n = static_cast<int>(std::unique(active.begin(), active.end()) - active.begin());
    return n + (volatile_.host_active ? 1 : 0);
  }
  for (int index : volatile_.members) {
    if (index == config_.index ? volatile_.host_active : volatile_.peers.at(index).host_active)
      ++n;
  }
  return n;
}

void ClusterManager::poll_hosts(Ctx& ctx) {
  Volatile& v = volatile_;
  if (!v.waiting_hosts) return;
  if (!v.formed || !master() || v.out_of_memory) {
    v.waiting_hosts = false;
    return;
  }
  if (active_hosts() >= config_.cluster_size) {
    v.waiting_hosts = false;
    v.launching = true;
    v.services_started = 0;
    v.phase = Phase::launching;
    start_next_service(ctx);
    return;
  }
  std::int64_t hosts = config_.cluster_size;
  // rancher.go WaitForHosts gives up after 31 polls. With the `cluster` table (the release's
  // path) its caller deletes the agent container and calls log.Fatalf, so the process exits and
  // Docker restarts it with a new row (rancher/cluster-manager v0.1.5 service/cluster_service.go
  // lines 145-149). The heartbeat stand-in has no process exit and simply starts a new wait.
  if (v.host_polls >= rt_.wait_hosts_tries) {
    std::string why = fmt::format("failed while waiting for {} host(s) to be active: timeout "
                                  "waiting for hosts to be active",
                                  hosts);
    ctx.event(LogLevel::notable, Event("cluster.wait_hosts_timeout").with("hosts", hosts), why);
    v.waiting_hosts = false;
    if (rt_.membership_table) exit_process(ctx, why);
    return;
  }
  ++v.host_polls;
  ctx.event(LogLevel::info, Event("cluster.waiting_for_hosts").with("hosts", hosts),
            fmt::format("waiting for {} host(s) to be active", hosts));
  ctx.set_timer(rt_.wait_hosts_poll_ns, tag<HostsPollTimer>());
}

void ClusterManager::start_next_service(Ctx& ctx) {
  Volatile& v = volatile_;
  auto total = rt_.order.size();
  if (static_cast<std::size_t>(v.services_started) >= total) {
    v.launching = false;
    v.stack_started = true;
    v.phase = Phase::running;
    ctx.event(LogLevel::notable, Event("cluster.stack_started"),
              "done launching management stack");
    ctx.signal(k_signal_stack_started);
    return;
  }
  const std::string& service = rt_.order[static_cast<std::size_t>(v.services_started)];
  ctx.event(LogLevel::info,
            Event("cluster.service_starting")
                .with("position", std::int64_t{v.services_started + 1})
                .with("total", static_cast<std::int64_t>(total))
                .with("service", service),
            fmt::format("[{}/{}] starting {}", v.services_started + 1, total, service));
  ctx.set_timer(rt_.service_start_ns, tag<ServiceTimer>());
}

void ClusterManager::start_local_service(Ctx& ctx) {
  Volatile& v = volatile_;
  int total = static_cast<int>(rt_.order.size());
  if (v.out_of_memory || v.local_services >= total) return;
  ++v.local_services;
  check_memory(ctx, rt_.order[static_cast<std::size_t>(v.local_services - 1)]);
  if (!v.out_of_memory && v.local_services < total)
    ctx.set_timer(rt_.service_start_ns, tag<LocalServiceTimer>());
}

void ClusterManager::check_memory(Ctx& ctx, std::string_view last_started) {
  Volatile& v = volatile_;
  if (!memory_modelled() || v.out_of_memory) return;
  v.demand_mib = node_demand_mib(config_.memory_mib, rt_.order, v.local_services);
  std::int64_t usable_mib = config_.memory_mib - os_reserve_mib();
  // Switched off, the node is taken to fit whatever it runs (no swapping, no GC storms).
  if (v.demand_mib <= usable_mib || !rt_.memory_limit) return;
  v.out_of_memory = true;
  v.phase = Phase::out_of_memory;
  ctx.event(LogLevel::notable,
            Event("cluster.node_out_of_memory")
                .with("needed_mib", v.demand_mib)
                .with("usable_mib", usable_mib)
                .with("memory_mib", config_.memory_mib)
                .with("last_started", last_started),
            fmt::format("node out of memory: {} MiB needed, {} MiB usable of {} MiB after "
                        "starting {}: swapping, unresponsive",
                        v.demand_mib, usable_mib, config_.memory_mib, last_started));
  ctx.signal(k_signal_out_of_memory);
}

bool ClusterManager::master() const {
  if (rt_.membership_table) return volatile_.table_master;
  // rancher-ha's master is the member with the lowest check-in id (the first to register); the
  // managers here start together, so the lowest index stands in for it.
  return !volatile_.members.empty() && volatile_.members.front() == config_.index;
}

std::vector<std::string> ClusterManager::members() const {
  std::vector<std::string> out;
  out.reserve(volatile_.members.size());
  for (int index : volatile_.members) out.push_back(member_name(index));
  return out;
}

void ClusterManager::digest_into(Digest& d) const {
  state::add(d, durable_);
  state::add(d, volatile_);
}

std::uint64_t ClusterManager::digest() const {
  Digest d;
  digest_into(d);
  return d.value();
}

std::optional<std::int64_t> ClusterManager::probe(std::string_view key,
                                                  std::string_view arg) const {
  (void)arg;
  const Volatile& v = volatile_;
  if (key == "cm.phase") return static_cast<std::int64_t>(v.phase);
  if (key == "cm.members") return static_cast<std::int64_t>(v.members.size());
  if (key == "cm.change_index") return v.change_index;
  if (key == "cm.master") return master() ? 1 : 0;
  if (key == "cm.host_active") return v.host_active ? 1 : 0;
  if (key == "cm.services_started") return v.services_started;
  if (key == "cm.stack_started") return v.stack_started ? 1 : 0;
  if (key == "cm.leftover_state") return durable_.leftover ? 1 : 0;
  if (key == "cm.out_of_memory") return v.out_of_memory ? 1 : 0;
  if (key == "cm.memory_demand_mib") return v.demand_mib;
  if (key == "cm.exits") return durable_.exits;
  if (key == "cm.rows") return static_cast<std::int64_t>(v.seen.size());
  if (key == "cm.slot") return v.slot;
  return std::nullopt;
}

}  // namespace stampede::cm
