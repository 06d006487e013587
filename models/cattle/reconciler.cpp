// The service reconciler and the metadata pushes. The reconciler compares each service's desired
// scale (its row in the store) with the instances the store knows, and runs processes to create
// or restart the missing ones. The pushes tell agents the overlay network and where each
// container runs, and tell load balancers their backends, all read from the store.
#include <fmt/format.h>

#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"

namespace stampede::cattle {

using mysql::Row;
using mysql::to_text;
using mysql::Transaction;

void CattleServer::reconcile(Ctx& ctx) {
  // In HA each service is reconciled under its ZooKeeper lock, by one server at a time.
  if (cm_) return reconcile_ha(ctx);
  std::vector<RowId> services;
  for (const auto& [id, row] : *db().table("service"))
    if (row.at("kind") == "service") services.push_back(id);
  for (RowId sid : services) reconcile_service(ctx, sid);
}

void CattleServer::reconcile_service(Ctx& ctx, RowId sid) {
  std::string stack = db().get("stack", db().get_int("service", sid, "stack_id"), "name");
  std::string name = stack + "/" + db().get("service", sid, "name");
  std::int64_t scale = db().get_int("service", sid, "scale");
  std::map<std::int64_t, RowId> by_index;
  for (RowId iid : db().where("instance", "service_id", to_text(sid)))
    if (instance_state_of(db(), iid) != InstanceState::removed)
      by_index[db().get_int("instance", iid, "index")] = iid;
  for (std::int64_t i = 1; i <= scale; ++i) {
    auto it = by_index.find(i);
    if (it == by_index.end()) {
      RowId network = 0;
      const auto* nets = db().table("network");
      if (!nets->empty()) network = nets->begin()->first;
      Transaction txn;
      txn.insert("instance", Row{{"name", fmt::format("{}/{}", name, i)},
                                 {"service_id", to_text(sid)},
                                 {"index", to_text(i)},
                                 {"host_id", "0"},
                                 {"network_id", to_text(network)},
                                 {"state", std::string(to_text(InstanceState::requested))},
                                 {"updated_ns", to_text(ctx.now())}});
      // The insert is an action under the service's lock: check the lock is still ours.
      if (cm_ && !may_act(ctx, sid)) return;
      RowId iid = commit(ctx, txn).front();
      schedule_process(ctx, "instance.create", iid);
      continue;
    }
    RowId iid = it->second;
    if (has_unfinished("instance", iid)) continue;
    InstanceState state = instance_state_of(db(), iid);
    if (state == InstanceState::requested) {
      schedule_process(ctx, "instance.create", iid);
    } else if (state == InstanceState::stopped) {
      // A container restarts on its own host, and only once the server can reach it.
      RowId host = db().get_int("instance", iid, "host_id");
      if (host_state_of(db(), host) == HostState::active)
        schedule_process(ctx, "instance.start", iid);
    }
  }
}

RowId CattleServer::place() const {
  // Spread: the active host with the fewest instances, ties broken by host name.
  RowId best = 0;
  std::size_t best_count = 0;
  std::string best_name;
  for (const auto& [hid, host] : *store().table("host")) {
    if (host_state_of(host) != HostState::active) continue;
    std::size_t n = 0;
    for (RowId iid : store().where("instance", "host_id", to_text(hid)))
      n += instance_state_of(store(), iid) != InstanceState::removed;
    const std::string& hname = host.at("name");
    if (best == 0 || n < best_count || (n == best_count && hname < best_name)) {
      best = hid;
      best_count = n;
      best_name = hname;
    }
  }
  return best;
}

void CattleServer::push_config(Ctx& ctx) {
  // Running containers and where they run: the directory agents resolve links with.
  std::vector<std::string> directory;
  for (const auto& [iid, row] : *db().table("instance"))
    if (instance_state_of(row) == InstanceState::active)
      directory.push_back(row.at("name") + "@" + host_name(std::stoll(row.at("host_id"))));
  bool overlay = !db().table("network")->empty();
  auto dir_payload = make_names(directory);
  for (const auto& [hid, host] : *db().table("host")) {
    if (cm_ && !in_partition(hid)) continue;
    NodeId agent = ctx.lookup(host.at("name"));
    if (agent == k_no_node) continue;
    ctx.send(agent, wire::encode(NetworkConfig{0, overlay, dir_payload}));
  }
  // In HA the master alone configures the balancers, so that they hear one voice.
  if (!pushes_lb_config()) return;
  for (const std::string& lb_node : config_.lb_nodes) {
    NodeId lb = ctx.lookup(lb_node);
    if (lb == k_no_node) continue;
    auto slash = lb_node.find('/');
    std::string stack = lb_node.substr(0, slash);
    std::string lb_name = lb_node.substr(slash + 1);
    std::vector<std::string> backends;
    auto stack_ids = db().where("stack", "name", stack);
    for (RowId stack_id : stack_ids) {
      for (RowId lb_sid : db().where("service", "stack_id", to_text(stack_id))) {
        if (db().get("service", lb_sid, "kind") != "loadbalancer" ||
            db().get("service", lb_sid, "name") != lb_name)
          continue;
        std::string targets = db().get("service", lb_sid, "targets") + ",";
        for (RowId sid : db().where("service", "stack_id", to_text(stack_id))) {
          std::string svc = db().get("service", sid, "name") + ",";
          if (("," + targets).find("," + svc) == std::string::npos) continue;
          for (RowId iid : db().where("instance", "service_id", to_text(sid)))
            if (instance_state_of(db(), iid) == InstanceState::active)
              backends.push_back(db().get("instance", iid, "name") + "@" +
                                 host_name(db().get_int("instance", iid, "host_id")));
        }
      }
    }
    ctx.send(lb, wire::encode(LbConfig{make_names(backends)}));
  }
}

}  // namespace stampede::cattle
