#include "sim/fault/faults.hpp"

#include <cmath>
#include <fmt/format.h>

#include "sim/core/assert.hpp"

namespace stampede {

void FaultInjector::mark() {
  last_fault_ns_ = target_.now();
  ++injected_;
}

std::vector<std::vector<NodeId>> FaultInjector::resolve_groups(
    const std::vector<std::vector<std::string>>& groups) const {
  std::vector<std::vector<NodeId>> out;
  for (const auto& g : groups) {
    std::vector<NodeId> ids;
    for (const std::string& pattern : g)
      for (NodeId id : target_.resolve(pattern)) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

std::string FaultInjector::describe_groups(const std::vector<std::vector<NodeId>>& groups) const {
  std::string s;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g) s += " | ";
    s += "[";
    for (std::size_t i = 0; i < groups[g].size(); ++i) {
      if (i) s += ", ";
      s += target_.node_name(groups[g][i]);
    }
    s += "]";
  }
  return s;
}

void FaultInjector::arm() {
  for (const FaultSpec& f : spec_.faults) target_.schedule(f.at_ns, [this, &f] { apply(f); });
  if (const auto& c = spec_.random_faults.crash)
    for (NodeId id : target_.resolve(c->targets)) schedule_random_crash(id, 0);
  // Each node of a class draws from its own stream, named after the class and the node: a node's
  // failure times do not depend on what other nodes or classes the scenario has, so the points
  // of a sweep over cluster sizes share them (common random numbers) and their differences
  // show the cluster, not the dice.
  for (const RandomCrashSpec& c : spec_.random_faults.crash_classes)
    for (NodeId id : target_.resolve(c.targets)) {
      streams_.emplace_back(root_seed_, fmt::format("random_faults.crash/{}/{}", c.targets,
                                                    target_.node_name(id)));
      schedule_class_failure(c, id, streams_.back(), 0);
    }
  if (spec_.random_faults.partition) schedule_random_partition(0);
}

// A fault aimed at nodes by pattern; false when `f` is of another kind.
bool FaultInjector::apply_to_nodes(const FaultSpec& f) {
  for (NodeId id : target_.resolve(f.node)) {
    const std::string_view name = target_.node_name(id);
    switch (f.kind) {
      case FaultKind::crash:
        target_.crash(id);
        target_.note(fmt::format("crash {}", name));
        break;
      case FaultKind::restart:
        target_.restart(id);
        target_.note(fmt::format("restart {}", name));
        break;
      case FaultKind::power_off:
        target_.power_off(id);
        target_.note(fmt::format("power off {}", name));
        break;
      case FaultKind::power_on:
        target_.power_on(id);
        target_.note(fmt::format("power on {}", name));
        break;
      case FaultKind::pause:
        target_.pause(id, f.for_ns);
        target_.note(fmt::format("pause {} for {}", name, format_duration(f.for_ns)));
        break;
      case FaultKind::clock_skew:
        target_.set_clock_skew(id, f.skew_ns);
        target_.note(fmt::format("clock skew {} by {}", name, format_duration(f.skew_ns)));
        break;
      default: return false;
    }
  }
  return true;
}

void FaultInjector::apply(const FaultSpec& f) {
  mark();
  switch (f.kind) {
    case FaultKind::crash:
    case FaultKind::restart:
    case FaultKind::power_off:
    case FaultKind::power_on:
    case FaultKind::pause:
    case FaultKind::clock_skew:
      apply_to_nodes(f);
      break;
    case FaultKind::partition: {
      auto groups = resolve_groups(f.groups);
      target_.network().partition(groups);
      target_.note("partition " + describe_groups(groups));
      break;
    }
    case FaultKind::partition_oneway: {
      auto groups = resolve_groups(f.groups);
      STAMPEDE_ASSERT(groups.size() == 2, "a one-way partition has a from and a to group");
      target_.network().partition_oneway(groups[0], groups[1]);
      target_.note("one-way partition " + describe_groups(groups) + " (messages from the first are lost)");
      break;
    }
    case FaultKind::heal:
      target_.network().heal_all();
      target_.note("heal all");
      break;
    case FaultKind::kill_container: {
      bool taken = target_.model_fault(ModelFault{"kill_container", {f.container}});
      target_.note(fmt::format("kill container {}{}", f.container,
                               taken ? "" : " (no running container of that name: nothing killed)"));
      break;
    }
    case FaultKind::truncate: {
      bool taken = target_.model_fault(ModelFault{"truncate", f.tables});
      target_.note(fmt::format("truncate {}{}", fmt::join(f.tables, ", "),
                               taken ? "" : " (the store is down: nothing truncated)"));
      break;
    }
    case FaultKind::clean_state: {
      // The node's cluster manager removes its own state files. Model faults go to live nodes
      // only, so a server that is down keeps its files.
      bool taken = target_.model_fault(ModelFault{"clean_state", {f.node}});
      target_.note(fmt::format("clean state of {}{}", f.node,
                               taken ? "" : " (the server is down: nothing cleaned)"));
      break;
    }
  }
}

// Exponential draws through the Chooser, so that the nemesis can be replayed and enumerated.
static DurationNs draw_exponential(Chooser& chooser, DurationNs mean_ns) {
  double u = chooser.unit(ChoiceKind::fault);
  return std::max<DurationNs>(
      1, static_cast<DurationNs>(std::llround(-static_cast<double>(mean_ns) * std::log1p(-u))));
}

void FaultInjector::schedule_random_crash(NodeId id, TimeNs from_ns) {
  const RandomCrashSpec& c = *spec_.random_faults.crash;
  TimeNs crash_at = from_ns + draw_exponential(target_.chooser(), c.mttf_ns);
  if (crash_at >= spec_.duration_ns) return;
  target_.schedule(crash_at, [this, id, &c] {
    if (!target_.is_up(id)) return;
    mark();
    target_.crash(id);
    target_.note(fmt::format("crash {} (random)", target_.node_name(id)));
    TimeNs restart_at = target_.now() + draw_exponential(target_.chooser(), c.mttr_ns);
    target_.schedule(restart_at, [this, id] {
      mark();
      target_.restart(id);
      target_.note(fmt::format("restart {} (random)", target_.node_name(id)));
      schedule_random_crash(id, target_.now());
    });
  });
}

// The list form's failure of one node: up for an exponential time of mean `mttf`, then down
// (crashed or powered off) for an exponential time of mean `mttr`, and again. A node already
// down when its failure comes (a scripted fault, another class) is left alone, and draws its next
// failure after the repair time it would have had, so that its stream stays in step.
void FaultInjector::schedule_class_failure(const RandomCrashSpec& c, NodeId id,
                                           RandomStream& stream, TimeNs from_ns) {
  const TimeNs fail_at = from_ns + stream.exponential(c.mttf_ns);
  if (fail_at >= spec_.duration_ns) return;
  target_.schedule(fail_at, [this, &c, id, &stream] {
    const DurationNs down_ns = stream.exponential(c.mttr_ns);
    const bool power = c.how == RandomFailureHow::power_off;
    const std::string_view name = target_.node_name(id);
    const bool took = target_.is_up(id);
    if (took) {
      mark();
      if (power) {
        target_.power_off(id);
      } else {
        target_.crash(id);
      }
      target_.note(fmt::format("{} {} (random, {})", power ? "power off" : "crash", name,
                               c.targets));
    }
    target_.schedule(target_.now() + down_ns, [this, &c, id, &stream, power, took] {
      // Only a failure this class caused is repaired here: a node a scripted fault took down
      // stays down until its scripted restart.
      if (took && !target_.is_up(id)) {
        mark();
        if (power) {
          target_.power_on(id);
        } else {
          target_.restart(id);
        }
        target_.note(fmt::format("{} {} (random, {})", power ? "power on" : "restart",
                                 target_.node_name(id), c.targets));
      }
      schedule_class_failure(c, id, stream, target_.now());
    });
  });
}

void FaultInjector::schedule_random_partition(TimeNs from_ns) {
  const RandomPartitionSpec& p = *spec_.random_faults.partition;
  TimeNs cut_at = from_ns + draw_exponential(target_.chooser(), p.mtbf_ns);
  if (cut_at >= spec_.duration_ns) return;
  target_.schedule(cut_at, [this, &p] {
    // A random bisection of the cluster's infrastructure nodes (clients and load balancers keep
    // their links, like the outside world).
    std::vector<NodeId> nodes;
    for (const char* pattern : {"server-*", "agent-*", "zookeeper-*", "redis-*", "db"})
      for (NodeId id : target_.resolve(pattern)) nodes.push_back(id);
    if (nodes.size() < 2) return;
    std::vector<std::vector<NodeId>> groups(2);
    for (NodeId id : nodes) groups[target_.chooser().pick(ChoiceKind::fault, 2)].push_back(id);
    if (groups[0].empty() || groups[1].empty()) {
      // Keep it a real cut: move one node across.
      auto& from = groups[0].empty() ? groups[1] : groups[0];
      auto& to = groups[0].empty() ? groups[0] : groups[1];
      to.push_back(from.back());
      from.pop_back();
    }
    mark();
    target_.network().partition(groups);
    target_.note("partition " + describe_groups(groups) + " (random)");
    target_.schedule(target_.now() + p.duration_ns, [this] {
      mark();
      target_.network().heal_all();
      target_.note("heal all (random)");
      schedule_random_partition(target_.now());
    });
  });
}

}  // namespace stampede
