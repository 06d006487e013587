#include "models/cattle/process_defs.hpp"

namespace stampede::cattle {

namespace {

// Instance states follow Cattle's (requested, activating, active, stopping, stopped, removed);
// host states follow the agent's: agent.reconnect takes an active agent to reconnecting, and it
// is active again once it answers (rancher/cattle v0.165.8 spring-process-context.xml line 295,
// start="active,activating" transitioning="reconnecting" done="active"). The model splits that
// process in two (host.reconnect, host.activate) so that a host is reconnecting while its pings
// fail; 1.1 has no disconnected state.
//
// instance.stop_remove is the model's name for the pair a service runs to remove a running
// container: instance.stop with instance.remove chained after it (rancher/cattle v0.165.8
// code/iaas/service-discovery/server/src/main/java/io/cattle/platform/servicediscovery/
// deployment/impl/unit/DefaultDeploymentUnitInstance.java:86-98). The stop's agent call is the
// handler of instancehostmap.deactivate (spring-process-context.xml:183-199), which waits for the
// agent's reply; the remove that follows makes no agent call (the host deletes the container at
// the later purge, PostInstancePurge, spring-process-context.xml:223-225), so the pair goes from
// stopping straight to removed once the agent has answered. Only the mechanism
// cattle_stop_waits_reply schedules it (healthcheck.cpp, remove_for_health).
const std::vector<ProcessDef>& definitions() {
  static const std::vector<ProcessDef> defs = {
      {"instance.create", "instance", {"requested"}, "activating", "active",
       HandlerKind::start_on_agent},
      {"instance.start", "instance", {"stopped"}, "starting", "active",
       HandlerKind::start_on_agent},
      {"instance.stop", "instance", {"active"}, "stopping", "stopped", HandlerKind::none},
      {"instance.remove", "instance", {"stopped", "requested"}, "removing", "removed",
       HandlerKind::none},
      {"instance.stop_remove", "instance", {"active"}, "stopping", "removed",
       HandlerKind::stop_on_agent},
      {"host.reconnect", "host", {"active"}, "", "reconnecting", HandlerKind::none},
      {"host.activate", "host", {"reconnecting"}, "activating", "active",
       HandlerKind::none},
  };
  return defs;
}

}  // namespace

const ProcessDef* find_process(std::string_view name) {
  for (const ProcessDef& d : definitions())
    if (d.name == name) return &d;
  return nullptr;
}

}  // namespace stampede::cattle
