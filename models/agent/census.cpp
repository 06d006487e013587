#include "models/agent/census.hpp"

#include <type_traits>
#include <typeinfo>

namespace stampede::agent {

namespace {

bool is_agent_name(std::string_view name) { return name.starts_with("agent-"); }

// `n` as an Agent, or nullptr. Agent is final, so comparing the dynamic type is the dynamic_cast
// without its cost: reread() runs after most agent steps (issue 13, callgrind).
const Agent* as_agent(const Node& n) {
  static_assert(std::is_final_v<Agent>);
  return typeid(n) == typeid(Agent) ? static_cast<const Agent*>(&n) : nullptr;
}

bool same_catalog(const std::vector<ServiceScale>& a, const std::vector<ServiceScale>& b) {
  if (&a == &b) return true;  // the scenario's agents share one catalog
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].service != b[i].service || a[i].scale != b[i].scale) return false;
  return true;
}

}  // namespace

bool Census::Counts::operator==(const Counts& o) const {
  return same_catalog(services, o.services) && running == o.running && live == o.live &&
         named == o.named;
}

Census::Counts Census::recount(const WorldView& w) {
  Counts c;
  std::vector<const Agent*> live;
  const Agent* first = nullptr;
  for (NodeId id = 0, n = static_cast<NodeId>(w.node_count()); id < n; ++id) {
    if (!is_agent_name(w.node_name(id))) continue;
    ++c.named;
    auto* a = dynamic_cast<const Agent*>(&w.node(id));
    if (!a) continue;
    if (!first) first = a;
    if (w.is_up(id)) live.push_back(a);
  }
  c.live = static_cast<std::int64_t>(live.size());
  if (!first) return c;
  // The invariants read the first live agent's catalog; with none up, any agent's will do.
  c.services = live.empty() ? first->catalog() : live.front()->catalog();
  for (const ServiceScale& s : c.services) {
    std::int64_t n = 0;
    for (const Agent* a : live) n += a->running(s.service);
    c.running.push_back(n);
  }
  return c;
}

const Census& Census::of(const WorldView& w) {
  Census& c = w.cache<Census>();
  if (c.node_count_ != w.node_count()) {
    w.changes().read(c.cursor_, [](NodeId) {});  // what the rebuild reads is current
    c.rebuild(w);
    return c;
  }
  // Each agent the log names is read once, however often it stepped since: between two looks an
  // agent steps several times (a request reaches its web container, then its db's reply).
  // A few agents are found by their stamps rather than by walking the log
  // (ChangeLog::read_watched).
  const bool incremental = w.changes().read_watched(c.cursor_, c.agents_, [&](NodeId id) {
    if (id >= c.index_.size() || c.index_[id] < 0) return;
    const auto agent = static_cast<std::uint32_t>(c.index_[id]);
    if (c.named_[agent]) return;
    c.named_[agent] = 1;
    c.named_list_.push_back(agent);
  });
  for (std::uint32_t agent : c.named_list_) {
    c.named_[agent] = 0;
    if (incremental) c.reread(w, agent);
  }
  c.named_list_.clear();
  if (!incremental)
    for (std::size_t i = 0; i < c.agents_.size(); ++i) c.reread(w, i);
  return c;
}

void Census::rebuild(const WorldView& w) {
  node_count_ = w.node_count();
  agents_.clear();
  index_.assign(node_count_, -1);
  counts_ = Counts{};
  uniform_ = true;
  const Agent* first = nullptr;
  for (NodeId id = 0; id < node_count_; ++id) {
    if (!is_agent_name(w.node_name(id))) continue;
    ++counts_.named;
    auto* a = dynamic_cast<const Agent*>(&w.node(id));
    if (!a) continue;
    if (!first) first = a;
    uniform_ = uniform_ && same_catalog(first->catalog(), a->catalog());
    index_[id] = static_cast<std::int32_t>(agents_.size());
    agents_.push_back(id);
  }
  if (first) counts_.services = first->catalog();
  counts_.running.assign(counts_.services.size(), 0);
  by_agent_.assign(agents_.size() * counts_.services.size(), 0);
  up_.assign(agents_.size(), 0);
  named_.assign(agents_.size(), 0);
  named_list_.clear();
  for (std::size_t i = 0; i < agents_.size(); ++i) reread(w, i);
}

void Census::reread(const WorldView& w, std::size_t agent) {
  const NodeId id = agents_[agent];
  // The node may be a clone put back by a restored snapshot: it is looked up again each time.
  const Agent* a = w.is_up(id) ? as_agent(w.node(id)) : nullptr;
  const bool up = a != nullptr;
  counts_.live += static_cast<std::int64_t>(up) - up_[agent];
  up_[agent] = up;
  const std::size_t services = counts_.services.size();
  std::int32_t* kept = by_agent_.data() + agent * services;
  for (std::size_t s = 0; s < services; ++s) {
    // With one catalog for every agent, position s of the agent's is counts_.services[s].
    const std::int32_t v = !up        ? 0
                           : uniform_ ? a->running_at(s)
                                      : a->running(counts_.services[s].service);
    counts_.running[s] += v - kept[s];
    kept[s] = v;
  }
}

const Agent* Census::first_live(const WorldView& w) const {
  for (std::size_t i = 0; i < agents_.size(); ++i)
    if (up_[i]) return dynamic_cast<const Agent*>(&w.node(agents_[i]));
  return nullptr;
}

}  // namespace stampede::agent
