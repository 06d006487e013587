// The agent ping monitor (cattle's PingMonitorImpl): every `task.agent.ping.schedule` the server
// pings each host's agent; a ping unanswered within `agent.ping.timeout.seconds` is a failure,
// and after `agent.ping.reconnect.after.failed.count` failures in a row an active host gets a
// reconnect process. Each reply carries the agent's container list (`agent.ping.instances.every`
// = 1), which is how the server learns that a container died.
#include <algorithm>
#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"
#include "models/cattle/timers.hpp"

namespace stampede::cattle {

using mysql::to_text;

void CattleServer::ping_all(Ctx& ctx) {
  ++durable_.ping_seq;
  std::int64_t seq = durable_.ping_seq & 0xffffff;
  for (const auto& [hid, host] : *db().table("host")) {
    // (No host process removes a host; a removed row, written by another tool, is skipped.)
    if (host.at("state") == "removed") continue;
    // In HA each server pings only its partition of the agents (cluster.isInPartition).
    if (cm_ && !in_partition(hid)) continue;
    NodeId agent = ctx.lookup(host.at("name"));
    if (agent == k_no_node) continue;
    volatile_.pings[hid].outstanding[seq] = ctx.now();
    ctx.send(agent, wire::encode(Ping{seq}));
    ctx.set_timer(cfg_.ping_timeout_ns,
                  timer_tag::encode(PingTimeout{ping_slot(hid), static_cast<std::uint64_t>(seq)}));
  }
  // The metadata service is polled by agents and load balancers; pushing it with every ping
  // round stands for that polling and repairs pushes lost in a partition.
  push_config(ctx);
}

std::uint64_t CattleServer::ping_slot(RowId host) {
  // Single mode: the host's own id, which the embedded store hands out from 1 (the tags of
  // single-mode runs stay what they always were). HA: a small slot of this server's, as an HA
  // row id does not fit the timer (timers.hpp).
  if (!cm_) return static_cast<std::uint64_t>(host);
  return volatile_.ping_slots.slot_of(host);
}

std::optional<RowId> CattleServer::host_of_ping_slot(std::uint64_t slot) const {
  if (!cm_) return static_cast<RowId>(slot);
  return volatile_.ping_slots.host_of(slot);
}

void CattleServer::ping_succeeded(Ctx& ctx, RowId host) {
  volatile_.pings[host].failures = 0;
  HostState state = host_state_of(db(), host);
  if ((state == HostState::reconnecting || state == HostState::disconnected) &&
      !has_unfinished("host", host))
    schedule_process(ctx, "host.activate", host);
}

void CattleServer::ping_failed(Ctx& ctx, RowId host) {
  int failures = ++volatile_.pings[host].failures;
  std::string name = host_name(host);
  ctx.event(failures < 3 ? LogLevel::debug : LogLevel::info,
            Event("cattle.ping_missed").with("host", name).with("count", std::int64_t{failures}),
            fmt::format("missed ping from agent {} count [{}]", name, failures));
  if (has_unfinished("host", host)) return;
  HostState state = host_state_of(db(), host);
  if (state == HostState::active && failures >= cfg_.reconnect_after) {
    schedule_process(ctx, "host.reconnect", host);
  } else if (state == HostState::reconnecting &&
             ctx.now() - db().get_int("host", host, "updated_ns") >=
                 cfg_.disconnect_after_ns) {
    schedule_process(ctx, "host.disconnect", host);
  }
}

void CattleServer::sync_containers(Ctx& ctx, RowId host, const std::vector<std::string>& running,
                                   TimeNs as_of_ns) {
  std::vector<std::string> sorted = running;
  std::sort(sorted.begin(), sorted.end());
  for (RowId iid : db().where("instance", "host_id", to_text(host))) {
    if (instance_state_of(db(), iid) != InstanceState::active) continue;
    // A container that became active after the list was taken is not in it yet.
    if (db().get_int("instance", iid, "updated_ns") > as_of_ns) continue;
    if (std::binary_search(sorted.begin(), sorted.end(), db().get("instance", iid, "name")))
      continue;
    container_gone(ctx, iid, "missing from its agent's container list");
  }
}

void CattleServer::container_gone(Ctx& ctx, RowId instance, std::string_view how) {
  if (instance_state_of(db(), instance) != InstanceState::active ||
      has_unfinished("instance", instance))
    return;
  std::string container = db().get("instance", instance, "name");
  std::string host = host_name(db().get_int("instance", instance, "host_id"));
  ctx.event(LogLevel::notable,
            Event("cattle.container_died")
                .with("container", container)
                .with("host", host)
                .with("how", how),
            fmt::format("container {} died on {} ({})", container, host, how));
  schedule_process(ctx, "instance.stop", instance);
}

}  // namespace stampede::cattle
