// Every field of every node's explicit state reaches the node's digest. Each scenario under
// scenarios/ runs until its world is busy; then, for every node, a clone has one field of its
// durable or volatile state changed at a time, and its state digest must change. A field added
// to a model later and left out of the digest fails here (one left out of the field list does
// not compile: sim/core/fields.hpp).
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "models/register.hpp"
#include "tests/common/registry.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/scenario.hpp"

using namespace stampede;

namespace {

const Registry& registry() { return test::models_registry(); }

std::vector<std::string> scenario_files() {
  std::vector<std::string> files;
  for (const auto& dir : {std::string(SCENARIOS_DIR), std::string(SCENARIOS_DIR) + "/known-bugs"})
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

struct Finding {
  std::string node;
  std::string field;  // empty: the node has no explicit state, or no clone
  std::string problem;
};

// At the first step at or after `at_ns`, perturbs every field of every node and stops the run.
class PerturbAt final : public StepObserver {
 public:
  explicit PerturbAt(TimeNs at_ns) : at_ns_(at_ns) {}
  void on_world(const WorldView& world) override { world_ = &world; }
  void on_step(const StepInfo& step) override {
    if (done_ || step.time_ns < at_ns_) return;
    done_ = true;
    for (NodeId id = 0; id < world_->node_count(); ++id) check_node(id);
  }
  bool stop_requested() const override { return done_; }
  bool done() const { return done_; }
  std::size_t fields_checked() const { return fields_checked_; }
  std::size_t nodes_checked() const { return nodes_checked_; }
  std::size_t uncloneable() const { return uncloneable_; }
  const std::vector<Finding>& findings() const { return findings_; }

 private:
  void check_node(NodeId id) {
    std::string name(world_->node_name(id));
    const Node& node = world_->node(id);
    std::unique_ptr<Node> base = node.clone();
    if (!base) {
      // An HA Cattle server cannot be copied: its client libraries hold callbacks bound to the
      // server itself (models/cattle/server.hpp). Its state structs are the single-mode
      // server's, whose every field this test checks in the single-mode scenarios.
      if (name.rfind("server-", 0) == 0 && node.state_field_count() > 0) {
        ++uncloneable_;
        return;
      }
      findings_.push_back({name, "", "clone() returns nullptr"});
      return;
    }
    const std::size_t n = base->state_field_count();
    if (n == 0) {
      findings_.push_back({name, "", "no explicit state (state_field_count() is 0)"});
      return;
    }
    ++nodes_checked_;
    const std::uint64_t d0 = base->state_digest();
    if (d0 != node.state_digest()) findings_.push_back({name, "", "a clone digests differently"});
    for (std::size_t i = 0; i < n; ++i) {
      std::unique_ptr<Node> copy = node.clone();
      std::string field = copy->perturb_state_field(i);
      ++fields_checked_;
      if (copy->state_digest() == d0) findings_.push_back({name, field, "digest did not change"});
    }
  }

  TimeNs at_ns_;
  const WorldView* world_ = nullptr;
  bool done_ = false;
  std::size_t fields_checked_ = 0;
  std::size_t nodes_checked_ = 0;
  std::size_t uncloneable_ = 0;
  std::vector<Finding> findings_;
};

// The time of the last step at or before `limit_ns`: some scenarios go quiet before their end.
class LastStep final : public StepObserver {
 public:
  explicit LastStep(TimeNs limit_ns) : limit_ns_(limit_ns) {}
  void on_step(const StepInfo& step) override {
    if (step.time_ns <= limit_ns_) last_ns_ = step.time_ns;
    else past_ = true;
  }
  bool stop_requested() const override { return past_; }
  TimeNs last_ns() const { return last_ns_; }

 private:
  TimeNs limit_ns_;
  TimeNs last_ns_ = 0;
  bool past_ = false;
};

}  // namespace

TEST_CASE("every field of every node's state reaches its digest, in every scenario", "[state]") {
  for (const std::string& file : scenario_files()) {
    ScenarioSpec spec = load_scenario(file, registry());
    // Far enough in that clients, sessions and processes exist (70 s), or the run's last step.
    LastStep last(std::min<TimeNs>(spec.duration_ns, 70 * k_s));
    RunConfig first;
    first.seed = spec.seed;
    first.observers.push_back(&last);
    run_scenario(spec, registry(), first);
    PerturbAt probe(last.last_ns());
    RunConfig config;
    config.seed = spec.seed;
    config.observers.push_back(&probe);
    run_scenario(spec, registry(), config);
    INFO(file);
    REQUIRE(probe.done());
    CHECK(probe.nodes_checked() > 0);
    // Only HA servers may be skipped, and the single-mode server is checked in its scenarios.
    if (spec.cluster.servers == 1) CHECK(probe.uncloneable() == 0);
    CHECK(probe.fields_checked() > 0);
    for (const Finding& f : probe.findings()) {
      INFO(f.node << " " << f.field << ": " << f.problem);
      CHECK(false);
    }
  }
}
