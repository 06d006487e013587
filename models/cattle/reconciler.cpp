// The service reconciler and the metadata pushes. The reconciler compares each service's desired
// scale (its row in the store) with the instances the store knows, and runs processes to create
// or restart the missing ones. The pushes tell agents the overlay network and where each
// container runs, and tell load balancers their backends, all read from the store.
#include <fmt/format.h>

#include "models/cattle/protocol.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"

namespace stampede::cattle {

using mysql::to_text;
using mysql::Transaction;

void CattleServer::reconcile(Ctx& ctx) {
  // In HA each service is reconciled under its ZooKeeper lock, by one server at a time.
  if (cm_) return reconcile_ha(ctx);
  std::vector<ServiceId> services;
  for (const auto& [id, service] : rows<ServiceRow>())
    if (service.kind == ServiceKind::service) services.push_back(id);
  for (ServiceId sid : services) reconcile_service(ctx, sid);
}

std::map<std::int64_t, InstanceId> CattleServer::instances_by_index(ServiceId service) const {
  std::map<std::int64_t, InstanceId> by_index;
  for (InstanceId iid : cache_.instances_of(store(), service)) {
    const InstanceRow& instance = *row<InstanceRow>(iid);
    // An instance whose expose map is gone is no longer the service's, though its stop may
    // still be under way (ServiceExposeMapDaoImpl.java:101-115 lists only mapped instances).
    if (instance.state != InstanceState::removed && !instance.expose_map_removed)
      by_index[instance.index] = iid;
  }
  return by_index;
}

void CattleServer::reconcile_service(Ctx& ctx, ServiceId sid) {
  // Copies: the loop commits.
  const ServiceRow* service_row = row<ServiceRow>(sid);
  ServiceRow service = service_row ? *service_row : ServiceRow{};
  const StackRow* stack = row<StackRow>(service.stack);
  if (stack == nullptr) {
    // Cattle names a service's containers after its stack, which it loads by id from the
    // database when it deploys (rancher/cattle v0.165.8 code/iaas/service-discovery/server/src/
    // main/java/io/cattle/platform/servicediscovery/deployment/impl/unit/
    // DeploymentUnitService.java line 27), and a service row never exists without its stack's.
    // In HA this server's copy of the tables is read one table at a time (ha.cpp, refresh), so
    // a read that crosses the commit of a new stack and its services can hold the service
    // without its stack: the service waits for the next read (the replay task's, or an
    // event's) rather than get containers named "/<service>/<n>". Not a read of its own: a
    // stack row lost for good (a truncated table) would then make every read start another.
    return;
  }
  std::string name = stack->name + "/" + service.name;
  std::int64_t scale = service.scale.value_or(0);
  // The health check's strategy removes unhealthy containers; the loop below replaces them.
  health_recreate(ctx, sid);
  std::map<std::int64_t, InstanceId> by_index = instances_by_index(sid);
  for (std::int64_t i = 1; i <= scale; ++i) {
    auto it = by_index.find(i);
    if (it == by_index.end()) {
      const auto& nets = rows<NetworkRow>();
      NetworkId network = nets.empty() ? NetworkId{} : nets.begin()->first;
      Transaction txn;
      write::insert(txn, InstanceRow{InstanceId{}, fmt::format("{}/{}", name, i), sid, i, HostId{},
                                     network, InstanceState::requested, ctx.now()});
      // The insert is an action under the service's lock: check the lock is still ours.
      if (cm_ && !may_act(ctx, sid)) return;
      InstanceId iid{commit(ctx, txn, /*action=*/true).front()};
      schedule_process(ctx, "instance.create", iid);
      continue;
    }
    InstanceId iid = it->second;
    if (has_unfinished(iid)) continue;
    InstanceState state = state_of(iid);
    if (state == InstanceState::requested) {
      schedule_process(ctx, "instance.create", iid);
    } else if (state == InstanceState::stopped) {
      // A container restarts on its own host, and only once the server can reach it.
      const InstanceRow* instance = row<InstanceRow>(iid);
      if (instance && state_of(instance->host) == HostState::active)
        schedule_process(ctx, "instance.start", iid);
    }
  }
}

void CattleServer::push_config(Ctx& ctx) {
  // In HA a process that has not read the shared tables since it booted (a restart while the
  // database is out of reach, lifecycle.cpp) knows nothing yet, and pushes nothing.
  if (cm_ && !volatile_.cache_ready) return;
  // Running containers and where they run: the directory agents resolve links with.
  std::vector<std::string> directory;
  for (const auto& [iid, instance] : rows<InstanceRow>())
    if (instance.state == InstanceState::active)
      directory.push_back(instance.name + "@" + host_name(instance.host));
  bool overlay = !rows<NetworkRow>().empty();
  auto dir_payload = make_names(directory);
  for (const auto& [hid, host] : rows<HostRow>()) {
    if (!owns_agent(hid)) continue;
    NodeId agent = agent_node(ctx, hid);
    if (agent == k_no_node) continue;
    ctx.send(agent, wire::encode(NetworkConfig{0, overlay, dir_payload}));
  }
  // In HA the master alone configures the balancers, so that they hear one voice.
  if (pushes_lb_config()) push_lb_config(ctx);
  // In HA no server registers every checker: each pushes the lists of the agents it owns after
  // each read of the shared tables and each ping round (healthcheck_ha.cpp).
  if (cm_ && cfg_.health_any) push_health_config(ctx);
}

void CattleServer::push_lb_config(Ctx& ctx) {
  for (const std::string& lb_node : config_.lb_nodes) {
    NodeId lb = ctx.lookup(lb_node);
    if (lb == k_no_node) continue;
    auto slash = lb_node.find('/');
    std::string stack = lb_node.substr(0, slash);
    std::string lb_name = lb_node.substr(slash + 1);
    std::vector<std::string> backends;
    for (const auto& [stack_id, stack_row] : rows<StackRow>()) {
      if (stack_row.name != stack) continue;
      for (const auto& [lb_sid, lb_row] : rows<ServiceRow>()) {
        if (lb_row.stack != stack_id || lb_row.kind != ServiceKind::loadbalancer ||
            lb_row.name != lb_name)
          continue;
        std::string targets = lb_row.targets.value_or("") + ",";
        for (const auto& [sid, service] : rows<ServiceRow>()) {
          if (service.stack != stack_id) continue;
          std::string svc = service.name + ",";
          if (("," + targets).find("," + svc) == std::string::npos) continue;
          for (InstanceId iid : cache_.instances_of(store(), sid)) {
            const InstanceRow& instance = *row<InstanceRow>(iid);
            if (instance.state == InstanceState::active)
              backends.push_back(instance.name + "@" + host_name(instance.host));
          }
        }
      }
    }
    ctx.send(lb, wire::encode(LbConfig{make_names(backends)}));
  }
}

}  // namespace stampede::cattle
