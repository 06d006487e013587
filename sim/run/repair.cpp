#include "sim/run/repair.hpp"

#include <algorithm>
#include <cmath>

namespace stampede {

RepairTracker::RepairTracker(const ScenarioSpec& spec, const WorldView& world,
                             const Registry* registry)
    : world_(world) {
  if (registry) inert_.emplace(*registry);
  for (const StackSpec& stack : spec.stacks)
    for (const ServiceSpec& svc : stack.services)
      if (svc.scale > 0) {
        Service s;
        s.subject = stack.name + "/" + svc.name;
        s.scale = svc.scale;
        services_.push_back(std::move(s));
      }
}

void RepairTracker::find_agents() {
  found_ = true;
  agent_index_.assign(world_.node_count(), -1);
  for (NodeId id = 0; id < world_.node_count(); ++id)
    if (name_matches("agent-*", world_.node_name(id))) {
      agent_index_[id] = static_cast<std::int32_t>(agents_.size());
      agents_.push_back(id);
    }
  for (Service& s : services_) s.per_agent.assign(agents_.size(), 0);
  stale_.assign(agents_.size(), 0);
}

void RepairTracker::recount_stale() {
  // The agents that stepped since the last count, as the engine recorded them (every step at a
  // node, and "everything" for fault and check steps, crashes and restored snapshots).
  auto stepped = [this](NodeId node) {
    const std::int32_t a = node < agent_index_.size() ? agent_index_[node] : -1;
    if (a < 0 || stale_[a]) return;
    stale_[a] = 1;
    stale_list_.push_back(static_cast<std::uint32_t>(a));
  };
  // A few agents are found by their stamps rather than by walking the log (read_watched).
  if (!world_.changes().read_watched(changes_read_, agents_, stepped)) {
    for (std::uint32_t a : stale_list_) stale_[a] = 0;
    stale_list_.clear();
    for (std::size_t a = 0; a < agents_.size(); ++a) recount(a);
    return;
  }
  for (std::uint32_t a : stale_list_) {
    stale_[a] = 0;
    recount(a);
  }
  stale_list_.clear();
}

bool RepairTracker::watches(const WorldView& world, NodeId node) {
  return !services_.empty() && name_matches("agent-*", world.node_name(node));
}

// One agent's containers of every service, kept per agent so that a step of one agent costs a
// probe per service instead of a sum over every agent.
void RepairTracker::recount(std::size_t agent) {
  const NodeId id = agents_[agent];
  const bool up = world_.is_up(id);
  for (Service& s : services_) {
    std::int64_t n = 0;
    if (up)
      if (auto v = world_.node(id).probe("running", s.subject)) n = *v;
    s.running += n - s.per_agent[agent];
    s.per_agent[agent] = n;
  }
}

void RepairTracker::judge(Service& s, TimeNs now) {
  if (!s.reached) {
    if (s.running < s.scale) return;
    s.reached = true;
  }
  if (s.running < s.scale && s.below_since < 0) s.below_since = now;
  if (s.running >= s.scale && s.below_since >= 0) {
    repairs_ns_.push_back(now - s.below_since);
    s.below_since = -1;
  }
  if (s.running > s.scale && s.above_since < 0) {
    s.above_since = now;
    ++over_scale_episodes_;
  }
  if (s.running <= s.scale && s.above_since >= 0) {
    over_scale_ns_ += now - s.above_since;
    s.above_since = -1;
  }
}

void RepairTracker::on_step(const StepInfo& step) {
  if (services_.empty()) return;
  if (!found_) find_agents();
  last_ns_ = step.time_ns;
  const bool one_agent = step.node != k_no_node && step.kind != StepKind::fault &&
                         step.node < agent_index_.size();
  if (one_agent) {
    const std::int32_t a = agent_index_[step.node];
    if (a < 0) return;  // only an agent's own step changes what runs on it
    // Counted at the next judged step: until then its count cannot have moved, so judging now
    // would find what the last judgement found.
    if (inert_ && step.kind == StepKind::deliver && inert_->inert(step.msg_type)) return;
    recount_stale();  // this agent among them
  } else {
    // A fault (a crash, a restart, a killed container) or a step of no node: count everywhere.
    world_.changes().read(changes_read_, [](NodeId) {});  // what the pass below reads is current
    for (std::uint32_t a : stale_list_) stale_[a] = 0;
    stale_list_.clear();
    for (std::size_t a = 0; a < agents_.size(); ++a) recount(a);
  }
  for (Service& s : services_) judge(s, step.time_ns);
}

int RepairTracker::unfinished() const {
  int n = 0;
  for (const Service& s : services_) n += s.below_since >= 0;
  return n;
}

DurationNs RepairTracker::over_scale_ns() const {
  DurationNs total = over_scale_ns_;
  for (const Service& s : services_)
    if (s.above_since >= 0) total += last_ns_ - s.above_since;
  return total;
}

DurationNs percentile_ns(std::vector<DurationNs> values, double q) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace stampede
