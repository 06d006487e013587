#include "models/cattle/process_defs.hpp"

namespace stampede::cattle {

namespace {

// Instance states follow Cattle's (requested, activating, active, stopping, stopped, removed);
// host states follow the agent's (active, reconnecting, disconnected).
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
      {"host.disconnect", "host", {"reconnecting"}, "", "disconnected", HandlerKind::none},
      {"host.activate", "host", {"reconnecting", "disconnected"}, "activating", "active",
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
