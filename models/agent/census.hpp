#pragma once
// The agents' running containers per service, summed over the live agents, kept for one run.
// service.scale_exceeded and the convergence predicate (models/register.cpp) ask for these sums
// after most agent steps; summing every agent there, with a dynamic_cast each, made a step cost
// O(agents) and an agent-hour O(agents) too (issue 15, bench/agents.sh). The census keeps each
// agent's counts and re-reads only the agents that the engine's change log names since its last
// look (sim/core/changes.hpp), so it costs what moved. It lives in the run's WorldView cache and
// holds node ids and numbers only, never a node: the explorer's restored snapshots put clones in
// the nodes' place, and the log then says "everything", after which every agent is read again.
#include <cstdint>
#include <string>
#include <vector>

#include "models/agent/agent.hpp"
#include "sim/core/registry.hpp"

namespace stampede::agent {

class Census final : public ViewCache {
 public:
  // The sums as a full pass over the world finds them: what the census must always equal.
  struct Counts {
    std::vector<ServiceScale> services;  // the first live agent's catalog (any agent's if none)
    std::vector<std::int64_t> running;   // per service, over the live agents
    std::int64_t live = 0;               // live nodes named agent-* that are agents
    std::int64_t named = 0;              // nodes named agent-*, up or down
    bool operator==(const Counts& o) const;
  };
  static Counts recount(const WorldView& w);

  // This run's census, brought up to date with the world.
  static const Census& of(const WorldView& w);

  // False when the agents do not share one catalog (never so for a scenario's world): the
  // sums per service of the first live agent's catalog are then not kept, and callers use
  // recount().
  bool uniform() const { return uniform_; }
  const Counts& counts() const { return counts_; }
  // The first live agent (for its catalog and grace timing), or nullptr when none is up.
  const Agent* first_live(const WorldView& w) const;

 private:
  void rebuild(const WorldView& w);
  void reread(const WorldView& w, std::size_t agent);

  ChangeLog::Cursor cursor_;
  std::size_t node_count_ = ~std::size_t{0};  // the world size the agent list was made for
  bool uniform_ = true;
  std::vector<NodeId> agents_;           // nodes named agent-* that are agents, by id
  std::vector<std::int32_t> index_;      // by node id: the position in agents_, or -1
  std::vector<std::int32_t> by_agent_;   // agents_.size() x services: counts of a live agent
  std::vector<std::uint8_t> up_;         // by position in agents_
  std::vector<std::uint8_t> named_;      // by position in agents_: in named_list_
  std::vector<std::uint32_t> named_list_;  // the agents the change log named, during of()
  Counts counts_;
};

}  // namespace stampede::agent
