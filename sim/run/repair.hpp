#pragma once
// Container repair time and scale violations, measured from the world as the checker sees it
// (the agents' `running` probes), for the sizing study (docs/sweeps.md, "The HA sizing study").
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/check/checker.hpp"
#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"

namespace stampede {

// For each service of the scenario, once it has first run at its scale: a repair starts at the
// first instant it has fewer running containers (a container killed, its host crashed or
// powered off) and ends at the first instant it has its scale again; an excess starts when it has
// more (two copies after a partition heals) and ends when it is back at or under its scale.
// Running containers are those alive on agents that are up, whatever the servers believe.
class RepairTracker final : public StepObserver {
 public:
  // With a registry, a delivery of one of its inert messages (a request on its way through the
  // app, Registry::inert_message) only marks its agent to be counted again at the next step
  // that is not one: such a delivery changes no container, and it is most of a run's steps.
  RepairTracker(const ScenarioSpec& spec, const WorldView& world,
                const Registry* registry = nullptr);
  void on_step(const StepInfo& step) override;
  bool may_stop() const override { return false; }
  // Only an agent's own steps change what runs on it (and fault and check steps, which every
  // observer sees); an inert delivery changes nothing there, and the agents that stepped are
  // counted again from the engine's ChangeLog. The last step's time comes with on_paused.
  bool watches(const WorldView& world, NodeId node) override;
  bool watches_message(std::uint32_t type) override { return !inert_ || !inert_->inert(type); }
  void on_paused(TimeNs last_step_ns) override { last_ns_ = std::max(last_ns_, last_step_ns); }

  // Every finished repair's duration, in the order they ended.
  const std::vector<DurationNs>& repairs_ns() const { return repairs_ns_; }
  // Services still below their scale when the run ended (a repair that never finished).
  int unfinished() const;
  // Total time, summed over services, with more containers running than the scale; at the end
  // of the run an excess still open counts up to the last step.
  DurationNs over_scale_ns() const;
  int over_scale_episodes() const { return over_scale_episodes_; }
  bool has_services() const { return !services_.empty(); }

 private:
  struct Service {
    std::string subject;  // STACK/SERVICE, as the agents' probe names it
    std::int64_t scale = 0;
    std::int64_t running = 0;  // the sum of per_agent
    std::vector<std::int64_t> per_agent;
    bool reached = false;     // has run at its scale once
    TimeNs below_since = -1;  // a repair in progress
    TimeNs above_since = -1;  // an excess in progress
  };
  void find_agents();
  void recount(std::size_t agent);
  void recount_stale();
  void judge(Service& s, TimeNs now);

  const WorldView& world_;
  std::vector<Service> services_;
  std::vector<NodeId> agents_;
  std::vector<std::int32_t> agent_index_;  // by node id: index into agents_, or -1
  bool found_ = false;
  std::optional<InertTypes> inert_;
  std::vector<std::uint8_t> stale_;        // by agent index: a step since its count
  std::vector<std::uint32_t> stale_list_;  // the agents marked in stale_
  ChangeLog::Cursor changes_read_;         // where the agents' steps were last read
  std::vector<DurationNs> repairs_ns_;
  DurationNs over_scale_ns_ = 0;
  int over_scale_episodes_ = 0;
  TimeNs last_ns_ = 0;
};

// The nearest-rank percentile (0 < q <= 1) of `values`, which must not be empty.
DurationNs percentile_ns(std::vector<DurationNs> values, double q);

}  // namespace stampede
