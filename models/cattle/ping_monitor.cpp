// The agent ping monitor (cattle's PingMonitorImpl): every `task.agent.ping.schedule` the server
// pings each host's agent; a ping unanswered within `agent.ping.timeout.seconds` is a failure,
// and after `agent.ping.reconnect.after.failed.count` failures in a row an active host gets a
// reconnect process (rancher/cattle v0.165.8 code/iaas/agent-server/src/main/java/io/cattle/
// platform/agent/server/ping/impl/PingMonitorImpl.java, PingMonitorImpl below, lines 108-149).
// The round counter (`interation`, line 58, in memory, so from 0 again after a restart) picks the
// rounds whose pings ask for the agent's container list: every `agent.ping.instances.every`-th
// (lines 88-90 and 95-97; 3 in the defaults, that is every 15 s). Only those replies carry the
// list (rancher/cattle v0.165.8 code/iaas/ha/src/main/java/io/cattle/platform/ha/monitor/impl/
// PingInstancesMonitorImpl.java:344 ignores a reply without it), which is how the server learns
// that a container died without the agent's event.
#include <algorithm>
#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

void CattleServer::ping_all(Ctx& ctx) {
  ++durable_.ping_seq;
  std::int64_t seq = durable_.ping_seq & 0xffffff;
  bool instances = volatile_.ping_round % cfg_.ping_instances_every == 0;
  for (const auto& [hid, host] : rows<HostRow>()) {
    // (No host process removes a host; a removed row, written by another tool, is skipped.)
    if (host.state == HostState::removed) continue;
    // In HA each server pings only the agents it owns (PingMonitorImpl.ping, lines 99-106:
    // handleOwned when the LockDelegator holds the agent's connection lock, handleUnowned
    // otherwise).
    if (!owns_agent(hid)) {
      try_agent_lock(ctx, hid);
      continue;
    }
    if (agent_events_on_bus()) {
      // The ping goes to the bus, whoever holds the agent's socket (agent_bus.cpp).
      volatile_.pings[hid].sent(seq, ctx.now());
      publish_ping(ctx, hid, seq, instances);
    } else {
      NodeId agent = agent_node(ctx, hid);
      if (agent == k_no_node) continue;
      volatile_.pings[hid].sent(seq, ctx.now());
      ctx.send(agent, wire::encode(Ping{seq, instances}));
    }
    ctx.set_timer(cfg_.ping_timeout_ns,
                  timer_tag::encode(PingTimeout{ping_slot(hid), static_cast<std::uint64_t>(seq)}));
  }
  // The subscription handlers' own pings of the sockets this server holds, every
  // api.sub.ping.interval.millis (5 s, the ping schedule's period too).
  if (agent_events_on_bus()) ping_socket_agents(ctx);
  ++volatile_.ping_round;
  // The metadata service is polled by agents and load balancers; pushing it with every ping
  // round stands for that polling and repairs pushes lost in a partition.
  push_config(ctx);
}

bool CattleServer::owns_agent(HostId host) const {
  if (!cm_) return true;
  if (!cfg_.agent_connection_locks || !zk_) return in_partition(host);
  auto it = volatile_.agent_locks.find(host);
  return it != volatile_.agent_locks.end() && it->second;
}

void CattleServer::try_agent_lock(Ctx& ctx, HostId host) {
  if (!cm_ || !cfg_.agent_connection_locks || !zk_) return;
  // handleUnowned acts only on every agent.ping.unmanaged.every-th round (lines 71-75). What it
  // does is hand a ping to AgentServiceImpl.execute, whose getConnection tries the lock
  // (AgentConnectionManagerImpl.java:65-69 and 143-156, a tryLock through the LockDelegator):
  // the lock is what changes hands. The event it would then send to the agent is not a ping
  // (getAgentEvent reads the ping's options as the event, AgentServiceImpl.java:137-149), and
  // nobody waits for its answer, so the model sends nothing: the owner's first real ping is the
  // next round's.
  if (volatile_.ping_round % cfg_.ping_unmanaged_every != 0) return;
  if (volatile_.agent_locks.count(host) != 0) return;  // a try is in flight
  volatile_.agent_locks[host] = false;
  zk_->try_lock(ctx, agent_lock_name(host));
}

void CattleServer::on_agent_lock(Ctx& ctx, HostId host, bool acquired) {
  auto it = volatile_.agent_locks.find(host);
  if (!acquired) {
    // Refused: another server holds it. A lock this server believes it holds stays held: the
    // LockDelegator's `holding` map is emptied only when the connection closes.
    if (it != volatile_.agent_locks.end() && !it->second) volatile_.agent_locks.erase(it);
    return;
  }
  if (it == volatile_.agent_locks.end()) {
    zk_->unlock(ctx, agent_lock_name(host));
    return;
  }
  if (it->second) return;
  it->second = true;
  std::string name = host_name(host);
  ctx.event(LogLevel::info, Event("cattle.agent_owned").with("host", name),
            fmt::format("took the connection lock of agent {}", name));
}

std::uint64_t CattleServer::ping_slot(HostId host) {
  // Single mode: the host's own id, which the embedded store hands out from 1 (the tags of
  // single-mode runs stay what they always were). HA: a small slot of this server's, as an HA
  // row id does not fit the timer (timers.hpp).
  if (!cm_) return static_cast<std::uint64_t>(host.value);
  return volatile_.ping_slots.slot_of(host);
}

std::optional<HostId> CattleServer::host_of_ping_slot(std::uint64_t slot) const {
  if (!cm_) return HostId{static_cast<std::int64_t>(slot)};
  return volatile_.ping_slots.host_of(slot);
}

void CattleServer::ping_succeeded(Ctx& ctx, HostId host) {
  volatile_.pings[host].failures = 0;
  HostState state = state_of(host);
  if (state == HostState::reconnecting && !has_unfinished(host))
    schedule_process(ctx, "host.activate", host);
}

void CattleServer::ping_failed(Ctx& ctx, HostId host) {
  int failures = ++volatile_.pings[host].failures;
  std::string name = host_name(host);
  ctx.event(failures < 3 ? LogLevel::debug : LogLevel::info,
            Event("cattle.ping_missed").with("host", name).with("count", std::int64_t{failures}),
            fmt::format("missed ping from agent {} count [{}]", name, failures));
  if (has_unfinished(host)) return;
  const HostRow* row = this->row<HostRow>(host);
  HostState state = row ? row->state : HostState::unknown;
  // A reconnecting host stays so until it answers: Cattle 1.1 has no disconnected state.
  if (state == HostState::active && failures >= cfg_.reconnect_after)
    schedule_process(ctx, "host.reconnect", host);
}

void CattleServer::sync_containers(Ctx& ctx, HostId host, const std::vector<std::string>& running,
                                   TimeNs as_of_ns) {
  std::vector<std::string> sorted = running;
  std::sort(sorted.begin(), sorted.end());
  // A copy of the ids: container_gone commits.
  std::vector<InstanceId> on_host = cache_.instances_on(store(), host);
  for (InstanceId iid : on_host) {
    const InstanceRow* instance = row<InstanceRow>(iid);
    if (instance == nullptr || instance->state != InstanceState::active) continue;
    // A container that became active after the list was taken is not in it yet.
    if (instance->updated_ns > as_of_ns) continue;
    if (std::binary_search(sorted.begin(), sorted.end(), instance->name)) continue;
    container_gone(ctx, iid, "missing from its agent's container list");
  }
  stop_removed_copies(ctx, host, sorted);
}

void CattleServer::container_gone(Ctx& ctx, InstanceId instance, std::string_view how) {
  if (state_of(instance) != InstanceState::active || has_unfinished(instance)) return;
  const InstanceRow& row = *this->row<InstanceRow>(instance);
  std::string container = row.name;
  std::string host = host_name(row.host);
  ctx.event(LogLevel::notable,
            Event("cattle.container_died")
                .with("container", container)
                .with("host", host)
                .with("how", how),
            fmt::format("container {} died on {} ({})", container, host, how));
  schedule_process(ctx, "instance.stop", instance);
}

}  // namespace stampede::cattle
