#pragma once
// What every engine's change log (sim/core/changes.hpp) and the agent census built on it
// (models/agent/census.hpp) must do, as step observers that any engine's run can carry: the
// kernel's and the explorer's tests (tests/explore/test_census.cpp) and SimGrid's, which runs in
// a child process (tests/simgrid/child.cpp).
#include <set>
#include <string>
#include <vector>

#include "models/agent/census.hpp"
#include "sim/core/records.hpp"
#include "sim/core/registry.hpp"

namespace stampede::test {

// Three agents, a service of scale 3 and one of 1, agents crashed and restarted (so the live
// count and the running sums go down and up), a partition, a killed container.
inline constexpr const char* k_census_scenario = R"(
name: census
seed: 1
duration: 4m
cluster:
  servers: 1
  agents: 3
  network: {latency: 2ms}
stacks:
  - name: s
    services:
      - {name: db, scale: 1}
      - {name: web, scale: 3, links: [db]}
faults:
  - {at: 40s, crash: agent-2}
  - {at: 55s, kill_container: s/web/1}
  - {at: 70s, restart: agent-2}
  - {at: 90s, partition: [[server-1], [agent-*]]}
  - {at: 100s, crash: agent-1}
  - {at: 120s, heal: all}
  - {at: 130s, restart: agent-1}
expect:
  - {never: service.scale_exceeded}
)";

inline std::string describe(const agent::Census::Counts& c) {
  std::string s = "live " + std::to_string(c.live) + " named " + std::to_string(c.named);
  for (std::size_t i = 0; i < c.running.size(); ++i)
    s += " " + c.services[i].service + "=" + std::to_string(c.running[i]);
  return s;
}

// Compares the census with a recount after every `every`-th step (and after every fault step).
class CensusWatch final : public StepObserver {
 public:
  explicit CensusWatch(std::uint64_t every) : every_(every) {}
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override {
    if (step.index % every_ != 0 && step.kind != StepKind::fault) return;
    compare(*world_, agent::Census::of(*world_).counts());
  }
  void compare(const WorldView& w, const agent::Census::Counts& kept) {
    ++checked;
    agent::Census::Counts fresh = agent::Census::recount(w);
    if (!(kept == fresh)) {
      ++stale;
      if (first_stale.empty()) first_stale = describe(kept) + " against " + describe(fresh);
    }
    seen.insert(describe(fresh));
  }
  int checked = 0;
  int stale = 0;
  std::string first_stale;
  std::set<std::string> seen;  // distinct counts met: the run did move them

 private:
  std::uint64_t every_;
  const WorldView* world_ = nullptr;
};

// The change log's contract with its readers, read after every step: a step at a node names
// that node, and a fault or check step asks for a full read. On the kernel, whose steps run one
// after another, it names no other node (unless some node went down or came up during the step).
// On SimGrid (`interleaved`) a step that makes a simcall lets other actors' steps run in its
// middle, so the log may name their nodes too, and a node step that ran in a fault's middle finds
// the fault's "everything"; it must still name each step's node at the step's end. An
// engine that stopped recording steps, or kept no log at all (every read then asks for a full
// read), breaks it.
class ChangeLogWatch final : public StepObserver {
 public:
  explicit ChangeLogWatch(bool interleaved = false) : interleaved_(interleaved) {}
  void on_world(const WorldView& world) override {
    world_ = &world;
    for (NodeId id = 0; id < world.node_count(); ++id) up_.push_back(world.is_up(id));
    world.changes().read(cursor_, [](NodeId) {});  // the first look is a full read
  }
  void on_step(const StepInfo& step) override {
    std::vector<NodeId> named;
    const bool partial = world_->changes().read(cursor_, [&](NodeId id) { named.push_back(id); });
    bool up_moved = false;
    for (NodeId id = 0; id < up_.size(); ++id) {
      const bool up = world_->is_up(id);
      up_moved |= up != up_[id];
      up_[id] = up;
    }
    const bool engine_step = step.kind == StepKind::fault || step.kind == StepKind::check ||
                             step.node == k_no_node;
    if (engine_step) {
      ++engine_steps;
      if (partial) fail(step, "an engine step did not ask for a full read");
      return;
    }
    ++node_steps;
    if (!partial) {
      // Never on the kernel (3 agents never fill the log). On SimGrid, a node step that ran in
      // a fault step's middle finds the fault's "everything": at most one such read per engine
      // step (callers check full_reads).
      ++full_reads;
      if (!interleaved_) fail(step, "a step at a node asked for a full read");
      return;
    }
    bool has_node = false;
    bool others = false;
    for (NodeId id : named) {
      has_node |= id == step.node;
      others |= id != step.node;
    }
    if (!has_node) fail(step, "did not name the step's node");
    if (others && interleaved_steps++ == 0) {
      first_interleaved = "step " + std::to_string(step.index) + " (kind " +
                          std::to_string(static_cast<int>(step.kind)) + ") at node " +
                          std::to_string(step.node) + " named";
      for (NodeId id : named) {
        // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive of its inlined
        // memcpy) on " " + std::to_string(id) here.
        first_interleaved += ' ';
        first_interleaved += std::to_string(id);
      }
    }
    if (others && !up_moved && !interleaved_) fail(step, "named another node");
  }
  int interleaved_steps = 0;  // steps whose read named other nodes as well
  std::string first_interleaved;
  int node_steps = 0;
  int engine_steps = 0;
  int full_reads = 0;
  int broken = 0;
  std::string first_broken;

 private:
  void fail(const StepInfo& step, const char* what) {
    if (broken++ == 0)
      first_broken = "step " + std::to_string(step.index) + " at node " +
                     std::to_string(step.node) + ": " + what;
  }
  bool interleaved_;
  const WorldView* world_ = nullptr;
  ChangeLog::Cursor cursor_;
  std::vector<bool> up_;
};

}  // namespace stampede::test
