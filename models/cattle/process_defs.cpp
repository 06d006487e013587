#include "models/cattle/process_defs.hpp"

namespace stampede::cattle {

namespace {

// Instance states follow Cattle's (requested, activating, active, stopping, stopped, removed);
// host states follow the agent's: agent.reconnect takes an active agent to reconnecting, and it
// is active again once it answers (rancher/cattle v0.165.8 spring-process-context.xml line 295,
// start="active,activating" transitioning="reconnecting" done="active"). The model splits that
// process in two (host.reconnect, host.activate) so that a host is reconnecting while its pings
// fail; 1.1 has no disconnected state.
const std::vector<ProcessDef>& definitions() {
  static const std::vector<ProcessDef> defs = {
      {"instance.create", "instance", {"requested"}, "activating", "active",
       HandlerKind::start_on_agent},
      {"instance.start", "instance", {"stopped"}, "starting", "active",
       HandlerKind::start_on_agent},
      {"instance.stop", "instance", {"active"}, "stopping", "stopped", HandlerKind::none},
      {"instance.remove", "instance", {"stopped", "requested"}, "removing", "removed",
       HandlerKind::none},
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
