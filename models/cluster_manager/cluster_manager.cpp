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
  return type == heartbeat ? "cm_heartbeat" : "cm_unknown";
}

std::string member_name(int index) {
  return fmt::format("server-{}", index);
}

Config config_for(const ClusterSpec& cluster, int index) {
  Config c;
  c.index = index;
  c.cluster_size = cluster.servers;
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
    : config_(std::move(config)), leftover_(config_.leftover_state) {}

void ClusterManager::crash() {
  // The state files are on disk and the timer generation must keep rising (an owner that does
  // not cancel timers on crash must still see the old ones as stale); the rest died with the
  // process.
  Hooks hooks = std::move(hooks_);
  bool leftover = leftover_;
  std::uint32_t gen = gen_;
  *this = ClusterManager(config_);
  hooks_ = std::move(hooks);
  leftover_ = leftover;
  gen_ = gen;
}

void ClusterManager::start(Ctx& ctx) {
  ++gen_;
  started_ = true;
  peers_by_index_.clear();
  for (int k = 1; k <= config_.cluster_size; ++k)
    peers_by_index_.push_back(ctx.lookup(member_name(k)));
  metric_changes_ = ctx.intern(k_metric_membership_changes);
  metric_health_failures_ = ctx.intern(k_metric_health_failures);
  order_ = stack_order(management_stack());
  STAMPEDE_ASSERT(order_.size() == management_stack().size(),
                  "the management stack's declared dependencies must form a DAG");
  // The Cattle JVM, the manager and the agent are resident from here on.
  check_memory(ctx, "the cluster manager");
  // rancher-ha checks in once (heartbeat 0) and runs its first loop before sleeping.
  if (joined(ctx) && !out_of_memory_) send_heartbeat(ctx);
  loop(ctx);
  ctx.set_timer(ctx.timing(k_heartbeat_interval), tag(t_heartbeat));
  ctx.set_timer(ctx.timing(k_loop_interval), tag(t_loop));
}

bool ClusterManager::joined(Ctx& ctx) const {
  return !(leftover_ && ctx.mechanism(k_leftover_check));
}

void ClusterManager::send_heartbeat(Ctx& ctx) {
  auto body = std::make_shared<const VersionBody>(config_.version);
  std::int64_t flags = host_active_ ? k_flag_host_active : 0;
  for (int k = 1; k <= config_.cluster_size; ++k) {
    NodeId to = peers_by_index_[static_cast<std::size_t>(k - 1)];
    if (k == config_.index || to == k_no_node) continue;
    ctx.send(to, Message{heartbeat, 96, heartbeat_, config_.index, flags, body});
  }
  ++heartbeat_;
}

void ClusterManager::on_message(Ctx& ctx, NodeId from, const Message& msg) {
  (void)ctx;
  (void)from;
  if (msg.type != heartbeat) return;
  int index = static_cast<int>(msg.b);
  if (index < 1 || index > config_.cluster_size || index == config_.index) return;
  Peer& p = peers_[index];  // a new entry starts fresh: a first check-in proves the peer alive
  // rancher-ha compares counters for inequality, not order: a restarted peer counts from 0.
  if (msg.a != p.heartbeat) p.fresh = true;
  p.heartbeat = msg.a;
  p.host_active = (msg.c & k_flag_host_active) != 0;
  if (const auto* v = dynamic_cast<const VersionBody*>(msg.body.get())) p.version = v->version;
}

void ClusterManager::on_timer(Ctx& ctx, std::uint64_t t) {
  if (tag_gen(t) != gen_) return;
  switch (tag_kind(t)) {
    case t_heartbeat:
      // A node that swaps does not get its check-in written in time: the others forget it.
      if (joined(ctx) && !out_of_memory_) send_heartbeat(ctx);
      ctx.set_timer(ctx.timing(k_heartbeat_interval), tag(t_heartbeat));
      break;
    case t_loop:
      loop(ctx);
      ctx.set_timer(ctx.timing(k_loop_interval), tag(t_loop));
      break;
    case t_hosts_poll:
      poll_hosts(ctx);
      break;
    case t_service:
      if (out_of_memory_) break;  // a master that swaps launches nothing more
      ++services_started_;
      start_next_service(ctx);
      break;
    case t_local:
      start_local_service(ctx);
      break;
    default:
      break;
  }
}

bool ClusterManager::on_fault(Ctx& ctx, const ModelFault& fault) {
  if (fault.kind != k_fault_clean_state) return false;
  if (fault.args.empty() ? !leftover_ : fault.args.front() != ctx.name_of(ctx.self())) return false;
  if (!leftover_) {
    ctx.log(LogLevel::info, "no leftover state to clean");
    return true;
  }
  leftover_ = false;
  blocked_logged_ = false;
  ctx.log(LogLevel::notable, "leftover state cleaned: joining the cluster");
  if (started_) {
    if (!out_of_memory_) send_heartbeat(ctx);
    loop(ctx);
  }
  return true;
}

void ClusterManager::loop(Ctx& ctx) {
  if (!joined(ctx)) {
    phase_ = Phase::blocked;
    if (!blocked_logged_) {
      ctx.log(LogLevel::notable, "leftover state from an earlier attempt: clean it before joining");
      ctx.signal(k_signal_leftover_state);
      blocked_logged_ = true;
    }
    return;
  }
  if (out_of_memory_) {
    // Starved of memory, the manager gets no further than its health ping, which fails: it
    // neither reads the check-ins nor acts on them.
    ping_server(ctx);
    phase_ = Phase::out_of_memory;
    return;
  }
  update_members(ctx);
  // service.go Update: the cluster is configured once a majority is present; the stack waits
  // for all cluster.servers hosts below.
  if (static_cast<int>(members_.size()) < majority()) {
    phase_ = Phase::gathering;
    formed_ = false;
    return;
  }
  if (!check_versions(ctx)) {
    phase_ = Phase::version_mismatch;
    formed_ = false;
    return;
  }
  if (!formed_) {
    formed_ = true;
    ctx.log(LogLevel::info, fmt::format("cluster formed: {} members", members_.size()));
    ctx.signal(k_signal_formed);
  }
  if (!ping_server(ctx)) {
    phase_ = Phase::server_unavailable;
    return;
  }
  // The stack's services are global: once every host is active (the master's cue to launch),
  // each node starts its own copies, and they take its memory.
  if (memory_modelled() && !local_launching_ && !out_of_memory_ &&
      active_hosts() >= config_.cluster_size) {
    local_launching_ = true;
    ctx.set_timer(ctx.timing(k_service_start), tag(t_local));
  }
  if (stack_started_) {
    phase_ = Phase::running;
  } else if (launching_) {
    phase_ = Phase::launching;
  } else if (!master()) {
    // Only the master launches the stack (service.go: `!z.launchedStack && master`).
    phase_ = Phase::ready;
  } else {
    phase_ = Phase::waiting_hosts;
    if (!waiting_hosts_) {
      waiting_hosts_ = true;
      host_polls_ = 0;
      poll_hosts(ctx);
    }
  }
}

void ClusterManager::update_members(Ctx& ctx) {
  // cluster.go updateMembers/pruneMembers: every known member misses a beat unless its counter
  // moved since the last loop; one that missed cm_max_missed loops in a row is forgotten.
  std::int64_t max_missed = ctx.timing(k_max_missed);
  for (auto it = peers_.begin(); it != peers_.end();) {
    Peer& p = it->second;
    if (p.fresh) {
      p.fresh = false;
      p.missed = 0;
    } else {
      ++p.missed;
    }
    if (p.missed >= max_missed) {
      ctx.log(LogLevel::info, fmt::format("forgetting cluster member {}", member_name(it->first)));
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<int> now = {config_.index};
  for (const auto& [index, p] : peers_) now.push_back(index);
  std::sort(now.begin(), now.end());
  if (now == members_) return;
  members_ = std::move(now);
  ++change_index_;
  ctx.count(metric_changes_, 1);
  std::vector<std::string> names = members();
  ctx.log(LogLevel::notable, fmt::format("cluster changed, index={}, members=[{}]", change_index_,
                                         fmt::join(names, ", ")));
  if (static_cast<int>(members_.size()) < majority())
    ctx.log(LogLevel::info, fmt::format("waiting for at least {} cluster members", majority()));
}

bool ClusterManager::check_versions(Ctx& ctx) {
  if (!ctx.mechanism(k_version_check)) return true;
  // The cluster runs the master's version: the master is the member that set the cluster up.
  auto version_of = [&](int index) -> const std::string& {
    return index == config_.index ? config_.version : peers_.at(index).version;
  };
  const std::string& cluster_version = version_of(members_.front());
  std::vector<std::string> lines;
  for (int index : members_) {
    if (version_of(index) == cluster_version) continue;
    lines.push_back(fmt::format("version mismatch: {} runs {}, cluster runs {}", member_name(index),
                                version_of(index), cluster_version));
  }
  std::string report = fmt::format("{}", fmt::join(lines, "\n"));
  if (report != mismatch_reported_) {
    // Reported once per distinct mismatch, not once per loop.
    for (const auto& line : lines) ctx.log(LogLevel::notable, line);
    if (!lines.empty()) ctx.signal(k_signal_version_mismatch);
    mismatch_reported_ = report;
  }
  return lines.empty();
}

bool ClusterManager::ping_server(Ctx& ctx) {
  // Only the real bridge gateway reaches the server's published port; any other address gets no
  // answer, whether the server is up or not.
  // A node that swaps answers nothing in time, its server included.
  bool answers = config_.bridge_address == k_docker_bridge_gateway && !out_of_memory_ &&
                 (!hooks_.local_server_up || hooks_.local_server_up());
  if (!ctx.mechanism(k_health_check)) {
    // Without the ping the agent is launched blind; it registers (its host turns active) only
    // if the server answers at the address it was given.
    if (answers && !host_active_) {
      host_active_ = true;
      ctx.log(LogLevel::info, "rancher agent registered: host active");
    }
    return true;
  }
  if (!answers) {
    ctx.count(metric_health_failures_, 1);
    ctx.log(LogLevel::info, fmt::format("server not available at http://{}:{}/ping",
                                        config_.bridge_address, k_rancher_server_port));
    if (!server_failing_) ctx.signal(k_signal_server_unavailable);
    server_failing_ = true;
    return false;
  }
  if (server_failing_) ctx.log(LogLevel::info, "server available again");
  server_failing_ = false;
  if (!host_active_) {
    // The agent container keeps running once launched: the host stays active from here on.
    host_active_ = true;
    ctx.log(LogLevel::info, "rancher agent registered: host active");
  }
  return true;
}

int ClusterManager::active_hosts() const {
  int n = 0;
  for (int index : members_) {
    if (index == config_.index ? host_active_ : peers_.at(index).host_active) ++n;
  }
  return n;
}

void ClusterManager::poll_hosts(Ctx& ctx) {
  if (!waiting_hosts_) return;
  if (!formed_ || !master() || out_of_memory_) {
    waiting_hosts_ = false;
    return;
  }
  if (active_hosts() >= config_.cluster_size) {
    waiting_hosts_ = false;
    launching_ = true;
    services_started_ = 0;
    phase_ = Phase::launching;
    start_next_service(ctx);
    return;
  }
  // rancher.go WaitForHosts gives up after 31 polls; the process exits (log.Fatalf) and its
  // container restarts. Here the next loop simply starts a new wait.
  if (host_polls_ >= ctx.timing(k_wait_hosts_tries)) {
    ctx.log(LogLevel::notable,
            fmt::format("failed while waiting for {} host(s) to be active: timeout waiting for "
                        "hosts to be active",
                        config_.cluster_size));
    waiting_hosts_ = false;
    return;
  }
  ++host_polls_;
  ctx.log(LogLevel::info, fmt::format("waiting for {} host(s) to be active", config_.cluster_size));
  ctx.set_timer(ctx.timing(k_wait_hosts_poll), tag(t_hosts_poll));
}

void ClusterManager::start_next_service(Ctx& ctx) {
  auto total = order_.size();
  if (static_cast<std::size_t>(services_started_) >= total) {
    launching_ = false;
    stack_started_ = true;
    phase_ = Phase::running;
    ctx.log(LogLevel::notable, "done launching management stack");
    ctx.signal(k_signal_stack_started);
    return;
  }
  ctx.log(LogLevel::info, fmt::format("[{}/{}] starting {}", services_started_ + 1, total,
                                      order_[static_cast<std::size_t>(services_started_)]));
  ctx.set_timer(ctx.timing(k_service_start), tag(t_service));
}

void ClusterManager::start_local_service(Ctx& ctx) {
  if (out_of_memory_ || local_services_ >= static_cast<int>(order_.size())) return;
  ++local_services_;
  check_memory(ctx, order_[static_cast<std::size_t>(local_services_ - 1)]);
  if (!out_of_memory_ && local_services_ < static_cast<int>(order_.size()))
    ctx.set_timer(ctx.timing(k_service_start), tag(t_local));
}

void ClusterManager::check_memory(Ctx& ctx, std::string_view last_started) {
  if (!memory_modelled() || out_of_memory_) return;
  demand_mib_ = node_demand_mib(config_.memory_mib, order_, local_services_);
  std::int64_t usable_mib = config_.memory_mib - os_reserve_mib();
  // Switched off, the node is taken to fit whatever it runs (no swapping, no GC storms).
  if (demand_mib_ <= usable_mib || !ctx.mechanism(k_memory_limit)) return;
  out_of_memory_ = true;
  phase_ = Phase::out_of_memory;
  ctx.log(LogLevel::notable,
          fmt::format("node out of memory: {} MiB needed, {} MiB usable of {} MiB after "
                      "starting {}: swapping, unresponsive",
                      demand_mib_, usable_mib, config_.memory_mib, last_started));
  ctx.signal(k_signal_out_of_memory);
}

bool ClusterManager::master() const {
  // rancher-ha's master is the member with the lowest check-in id (the first to register); the
  // managers here start together, so the lowest index stands in for it.
  return !members_.empty() && members_.front() == config_.index;
}

std::vector<std::string> ClusterManager::members() const {
  std::vector<std::string> out;
  out.reserve(members_.size());
  for (int index : members_) out.push_back(member_name(index));
  return out;
}

std::uint64_t ClusterManager::digest() const {
  Digest d;
  d.add(static_cast<std::uint64_t>(config_.index)).add(config_.version).add(config_.bridge_address);
  d.add(leftover_ ? 1u : 0u).add(gen_).add(static_cast<std::uint64_t>(phase_));
  d.add_signed(heartbeat_).add_signed(change_index_);
  for (int m : members_) d.add(static_cast<std::uint64_t>(m));
  for (const auto& [index, p] : peers_) {
    d.add(static_cast<std::uint64_t>(index)).add_signed(p.heartbeat).add(p.fresh ? 1u : 0u);
    d.add(static_cast<std::uint64_t>(p.missed)).add(p.version).add(p.host_active ? 1u : 0u);
  }
  d.add(mismatch_reported_).add(formed_ ? 1u : 0u).add(host_active_ ? 1u : 0u);
  d.add(server_failing_ ? 1u : 0u).add(waiting_hosts_ ? 1u : 0u);
  d.add(static_cast<std::uint64_t>(host_polls_)).add(launching_ ? 1u : 0u);
  d.add(static_cast<std::uint64_t>(services_started_)).add(stack_started_ ? 1u : 0u);
  d.add(blocked_logged_ ? 1u : 0u);
  // Only when modelled, so that the digests of scenarios without memory keys stay as they were.
  if (memory_modelled()) {
    d.add(static_cast<std::uint64_t>(config_.memory_mib)).add(local_launching_ ? 1u : 0u);
    d.add(static_cast<std::uint64_t>(local_services_)).add_signed(demand_mib_);
    d.add(out_of_memory_ ? 1u : 0u);
  }
  return d.value();
}

std::optional<std::int64_t> ClusterManager::probe(std::string_view key,
                                                  std::string_view arg) const {
  (void)arg;
  if (key == "cm.phase") return static_cast<std::int64_t>(phase_);
  if (key == "cm.members") return static_cast<std::int64_t>(members_.size());
  if (key == "cm.change_index") return change_index_;
  if (key == "cm.master") return master() ? 1 : 0;
  if (key == "cm.host_active") return host_active_ ? 1 : 0;
  if (key == "cm.services_started") return services_started_;
  if (key == "cm.stack_started") return stack_started_ ? 1 : 0;
  if (key == "cm.leftover_state") return leftover_ ? 1 : 0;
  if (key == "cm.out_of_memory") return out_of_memory_ ? 1 : 0;
  if (key == "cm.memory_demand_mib") return demand_mib_;
  return std::nullopt;
}

}  // namespace stampede::cm
