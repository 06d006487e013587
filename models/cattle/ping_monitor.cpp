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

namespace stampede::cattle {

using mysql::to_text;

void CattleServer::ping_all(Ctx& ctx) {
  ++ping_seq_;
  std::int64_t seq = ping_seq_ & 0xffffff;
  for (const auto& [hid, host] : *db().table("host")) {
    if (host.at("state") == "removed") continue;
    // In HA each server pings only its partition of the agents (cluster.isInPartition).
    if (cm_ && !in_partition(hid)) continue;
    NodeId agent = ctx.lookup(host.at("name"));
    if (agent == k_no_node) continue;
    pings_[hid].outstanding[seq] = ctx.now();
    ctx.send(agent, Message{msg_ping, 64, seq, 0, 0, nullptr});
    ctx.set_timer(ctx.timing(t_ping_timeout),
                  make_tag(timer_ping_timeout, (static_cast<std::uint64_t>(hid) << 24) |
                                                   static_cast<std::uint64_t>(seq)));
  }
  // The metadata service is polled by agents and load balancers; pushing it with every ping
  // round stands for that polling and repairs pushes lost in a partition.
  push_config(ctx);
}

void CattleServer::ping_succeeded(Ctx& ctx, RowId host) {
  pings_[host].failures = 0;
  std::string state = db().get("host", host, "state");
  if ((state == "reconnecting" || state == "disconnected") && !has_unfinished("host", host))
    schedule_process(ctx, "host.activate", host);
}

void CattleServer::ping_failed(Ctx& ctx, RowId host) {
  int failures = ++pings_[host].failures;
  ctx.log(failures < 3 ? LogLevel::debug : LogLevel::info,
          fmt::format("missed ping from agent {} count [{}]", host_name(host), failures));
  if (has_unfinished("host", host)) return;
  std::string state = db().get("host", host, "state");
  if (state == "active" && failures >= ctx.timing(t_reconnect_after)) {
    schedule_process(ctx, "host.reconnect", host);
  } else if (state == "reconnecting" &&
             ctx.now() - db().get_int("host", host, "updated_ns") >=
                 ctx.timing(t_disconnect_after)) {
    schedule_process(ctx, "host.disconnect", host);
  }
}

void CattleServer::sync_containers(Ctx& ctx, RowId host, const std::vector<std::string>& running,
                                   TimeNs as_of_ns) {
  std::vector<std::string> sorted = running;
  std::sort(sorted.begin(), sorted.end());
  for (RowId iid : db().where("instance", "host_id", to_text(host))) {
    if (db().get("instance", iid, "state") != "active") continue;
    // A container that became active after the list was taken is not in it yet.
    if (db().get_int("instance", iid, "updated_ns") > as_of_ns) continue;
    if (std::binary_search(sorted.begin(), sorted.end(), db().get("instance", iid, "name")))
      continue;
    container_gone(ctx, iid, "missing from its agent's container list");
  }
}

void CattleServer::container_gone(Ctx& ctx, RowId instance, std::string_view how) {
  if (db().get("instance", instance, "state") != "active" || has_unfinished("instance", instance))
    return;
  ctx.log(LogLevel::notable, fmt::format("container {} died on {} ({})",
                                         db().get("instance", instance, "name"),
                                         host_name(db().get_int("instance", instance, "host_id")),
                                         how));
  schedule_process(ctx, "instance.stop", instance);
}

}  // namespace stampede::cattle
