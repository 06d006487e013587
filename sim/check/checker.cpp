#include "sim/check/checker.hpp"

#include <fmt/format.h>

namespace stampede {

std::string_view host_state_name(std::int64_t code) {
  switch (static_cast<HostStateCode>(code)) {
    case HostStateCode::active: return "active";
    case HostStateCode::reconnecting: return "reconnecting";
    case HostStateCode::disconnected: return "disconnected";
  }
  return "unknown";
}

static const std::vector<std::string> k_agents = {"agent-*"};
static const std::vector<std::string> k_servers = {"server-*"};

static bool is_state(ExpectWhat w) {
  return w == ExpectWhat::host_state || w == ExpectWhat::running;
}

Checker::Checker(const ScenarioSpec& spec, const Registry& registry, const WorldView& world,
                 const RunRecord& record)
    : spec_(spec), registry_(registry), world_(world), record_(record), inert_(registry) {
  for (const ExpectSpec& e : spec_.expect) {
    Slot s;
    s.spec = &e;
    if (e.what == ExpectWhat::invariant) {
      s.invariant = registry_.find_invariant(e.subject);
      if (s.invariant) s.affects.emplace(s.invariant->depends_on);
    }
    if (e.what == ExpectWhat::running) s.affects.emplace(k_agents);
    if (e.what == ExpectWhat::host_state) s.affects.emplace(k_servers);
    if (e.what == ExpectWhat::invariant ? s.invariant != nullptr : is_state(e.what))
      all_slots_.push_back(static_cast<std::uint32_t>(slots_.size()));
    slots_.push_back(s);
    ExpectResult r;
    r.spec = &e;
    r.passed = true;
    results_.push_back(r);
  }
}

namespace {
// Whether the event record carries every field value of `where`.
bool event_fields_match(const LogRecord& l,
                        const std::vector<std::pair<std::string, std::string>>& where) {
  for (const auto& [key, value] : where) {
    bool found = false;
    for (const auto& [k, v] : l.fields) found = found || (k == key && v == value);
    if (!found) return false;
  }
  return true;
}
}  // namespace

void Checker::arm(const ScheduleFn& schedule) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const ExpectSpec& e = *slots_[i].spec;
    if (!is_state(e.what)) continue;
    if (e.form == ExpectForm::at || e.form == ExpectForm::by)
      schedule(e.at_ns, [this, i] { check_at(i); });
    // A window opens with a check step of its own, so that a state is judged at its first
    // instant even when nothing else happens then (the step's observers do the judging).
    if (e.form == ExpectForm::during) schedule(e.from_ns, [] {});
  }
}

const std::vector<NodeId>& Checker::nodes_matching(std::string_view pattern) const {
  if (matching_nodes_ != world_.node_count()) {
    matching_.clear();
    matching_nodes_ = world_.node_count();
  }
  for (const auto& [p, ids] : matching_)
    if (p == pattern) return ids;
  std::vector<NodeId> ids;
  for (NodeId id = 0; id < world_.node_count(); ++id)
    if (name_matches(pattern, world_.node_name(id))) ids.push_back(id);
  matching_.emplace_back(std::string(pattern), std::move(ids));
  return matching_.back().second;
}

bool Checker::state_holds(const ExpectSpec& e, std::string* observed) const {
  if (e.what == ExpectWhat::running) {
    std::int64_t n = running_total(e.subject);
    if (observed) *observed = fmt::format("{} running", n);
    return n == e.count;
  }
  // host_state: the view of the first live server that tracks the host.
  for (NodeId id : nodes_matching("server-*")) {
    if (!world_.is_up(id)) continue;
    if (auto v = world_.node(id).probe("host_state", e.subject)) {
      if (observed) *observed = std::string(host_state_name(*v));
      return host_state_name(*v) == e.value;
    }
  }
  if (observed) *observed = "unknown (no live server tracks it)";
  return false;
}

void Checker::refresh_agents() const {
  running_nodes_ = world_.node_count();
  const std::vector<NodeId>& agents = nodes_matching("agent-*");
  agent_index_.assign(running_nodes_, -1);
  for (std::size_t i = 0; i < agents.size(); ++i)
    agent_index_[agents[i]] = static_cast<std::int32_t>(i);
  for (RunningCounts& c : running_) c.all_stale = true;
}

void Checker::mark_stale(NodeId node) const {
  const std::int32_t i = node < agent_index_.size() ? agent_index_[node] : -1;
  if (i < 0) return;
  for (RunningCounts& c : running_) {
    if (c.all_stale || c.stale[i]) continue;
    c.stale[i] = 1;
    c.stale_list.push_back(static_cast<std::uint32_t>(i));
  }
}

std::int64_t Checker::running_total(const std::string& service) const {
  if (running_nodes_ != world_.node_count()) refresh_agents();
  // The agents that stepped since the last look, as the engine recorded them (a node's probes
  // change only at its own steps; fault and check steps, crashes and restored snapshots make
  // the log say "everything").
  auto stepped = [this](NodeId node) {
    if (node < agent_index_.size() && agent_index_[node] >= 0) mark_stale(node);
  };
  const std::vector<NodeId>& agents = nodes_matching("agent-*");
  // A few agents are found by their stamps rather than by walking the log (read_watched).
  if (!world_.changes().read_watched(changes_read_, agents, stepped))
    for (RunningCounts& r : running_) r.all_stale = true;
  RunningCounts* c = nullptr;
  for (RunningCounts& r : running_)
    if (r.service == service) c = &r;
  if (!c) {
    c = &running_.emplace_back();
    c->service = service;
  }
  auto count = [&](std::size_t i) -> std::int64_t {
    if (!world_.is_up(agents[i])) return 0;
    return world_.node(agents[i]).probe("running", service).value_or(0);
  };
  if (c->all_stale) {
    c->by_agent.assign(agents.size(), 0);
    c->stale.assign(agents.size(), 0);
    c->stale_list.clear();
    c->total = 0;
    for (std::size_t i = 0; i < agents.size(); ++i) c->total += c->by_agent[i] = count(i);
    c->all_stale = false;
    return c->total;
  }
  for (std::uint32_t i : c->stale_list) {
    std::int64_t v = count(i);
    c->total += v - c->by_agent[i];
    c->by_agent[i] = v;
    c->stale[i] = 0;
  }
  c->stale_list.clear();
  return c->total;
}

void Checker::fail(std::size_t i, std::string detail, std::uint64_t step) {
  Slot& s = slots_[i];
  ExpectResult& r = results_[i];
  if (s.decided && !r.passed) return;
  s.decided = true;
  r.passed = false;
  r.detail = std::move(detail);
  r.violated_at_ns = world_.now();
  r.violated_step = step;
}

void Checker::check_at(std::size_t i) {
  Slot& s = slots_[i];
  const ExpectSpec& e = *s.spec;
  if (s.decided) return;
  std::string observed;
  bool ok = state_holds(e, &observed);
  if (!ok) {
    fail(i, "observed " + observed, last_step_);
    if (misses_steps_) failed_at_check_.push_back(static_cast<std::uint32_t>(i));
    return;
  }
  s.decided = true;
  results_[i].passed = true;
  results_[i].detail = "observed " + observed;
  if (e.form == ExpectForm::by) results_[i].holds_since_ns = s.streak_start_ns.value_or(world_.now());
}

const std::vector<std::uint32_t>& Checker::slots_for(NodeId node) {
  if (node >= slots_known_.size()) {
    slots_known_.resize(node + 1, false);
    slots_by_node_.resize(node + 1);
  }
  if (!slots_known_[node]) {
    // Invariants name the nodes they read; containers run on agents and host states live on
    // servers (docs/scenario-contract.md): a step at any other node cannot change what these judge.
    for (std::uint32_t i : all_slots_)
      if (!slots_[i].affects || slots_[i].affects->may_affect(world_, node))
        slots_by_node_[node].push_back(i);
    slots_known_[node] = true;
  }
  return slots_by_node_[node];
}

bool Checker::watches(const WorldView& world, NodeId node) {
  (void)world;  // world_ is the same view
  const bool watched = !slots_for(node).empty();
  misses_steps_ = misses_steps_ || !watched;
  return watched;
}

bool Checker::watches_message(std::uint32_t type) {
  const bool watched = !inert_.inert(type);
  misses_steps_ = misses_steps_ || !watched;
  return watched;
}

void Checker::on_step(const StepInfo& step) {
  // The step before this one, which the check that failed in it would have named (see
  // misses_steps_): a check step reaches every observer right after its action.
  for (std::uint32_t i : failed_at_check_)
    if (step.index) results_[i].violated_step = step.index - 1;
  failed_at_check_.clear();
  if (step.index) last_step_ = step.index;
  // Fault and check steps may crash or restart any node: everything is judged again.
  const bool anywhere =
      step.node == k_no_node || step.kind == StepKind::fault || step.kind == StepKind::check;
  // A request on its way through the app changes nothing the checks read (Registry).
  if (step.kind == StepKind::deliver && inert_.inert(step.msg_type)) return;
  TimeNs now = world_.now();
  for (std::uint32_t i : anywhere ? all_slots_ : slots_for(step.node)) {
    Slot& s = slots_[i];
    const ExpectSpec& e = *s.spec;
    if (s.decided) continue;
    if (e.what == ExpectWhat::invariant) {
      if (auto why = s.invariant->check(world_)) fail(i, *why, last_step_);
      continue;
    }
    if (e.form == ExpectForm::during && now >= e.from_ns && now <= e.to_ns) {
      // The observation is put into words only when it fails: this runs after most steps.
      std::string observed;
      if (!state_holds(e, nullptr)) {
        state_holds(e, &observed);
        fail(i, "observed " + observed, last_step_);
      }
    } else if (e.form == ExpectForm::by && now <= e.at_ns) {
      if (state_holds(e, nullptr)) {
        if (!s.streak_start_ns) s.streak_start_ns = now;
      } else {
        s.streak_start_ns.reset();
      }
    }
  }
}

double Checker::availability(const std::string& target, TimeNs from_ns, TimeNs to_ns,
                             int* n) const {
  const std::vector<Sample>* samples = record_.series("requests:" + target);
  int total = 0, ok = 0;
  if (samples)
    for (const Sample& x : *samples)
      if (x.time_ns >= from_ns && x.time_ns <= to_ns) {
        ++total;
        ok += x.value != 0;
      }
  *n = total;
  return total ? static_cast<double>(ok) / total : 0.0;
}

namespace {

// What Checker::save_state keeps: per expectation, its slot's decision and streak and its result.
struct CheckerState {
  struct SlotState {
    bool decided = false;
    bool window_failed = false;
    std::optional<TimeNs> streak_start_ns;
  };
  std::vector<SlotState> slots;
  std::vector<ExpectResult> results;
  std::uint64_t last_step = 0;
};

}  // namespace

std::shared_ptr<const void> Checker::save_state() const {
  auto st = std::make_shared<CheckerState>();
  st->slots.reserve(slots_.size());
  for (const Slot& s : slots_) st->slots.push_back({s.decided, s.window_failed, s.streak_start_ns});
  st->results = results_;
  st->last_step = last_step_;
  return st;
}

void Checker::restore_state(const void* state) {
  const auto& st = *static_cast<const CheckerState*>(state);
  for (std::size_t i = 0; i < slots_.size() && i < st.slots.size(); ++i) {
    slots_[i].decided = st.slots[i].decided;
    slots_[i].window_failed = st.slots[i].window_failed;
    slots_[i].streak_start_ns = st.slots[i].streak_start_ns;
  }
  results_ = st.results;
  last_step_ = st.last_step;
  // The world is another one now: every kept `running` count is read again.
  for (RunningCounts& c : running_) c.all_stale = true;
}

void Checker::finish() {
  TimeNs end = world_.now();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.decided) continue;
    judge_at_end(*s.spec, results_[i], end);
    s.decided = true;
  }
}

void Checker::judge_at_end(const ExpectSpec& e, ExpectResult& r, TimeNs end) const {
  switch (e.what) {
    case ExpectWhat::invariant:
      r.passed = true;
      r.detail = "held after every step";
      break;
    case ExpectWhat::host_state:
    case ExpectWhat::running:
      if (e.form == ExpectForm::during) {
        r.passed = true;
        std::string observed;
        state_holds(e, &observed);
        r.detail = "held throughout";
      } else {
        // A timed check the run never reached (it ended early).
        r.passed = false;
        r.detail = "the run ended before the instant was reached";
      }
      break;
    case ExpectWhat::availability:
      judge_availability(e, r, end);
      break;
    case ExpectWhat::log:
      judge_log(e, r, end);
      break;
    case ExpectWhat::event:
      judge_event(e, r, end);
      break;
    case ExpectWhat::eventually:
      judge_eventually(e, r, end);
      break;
  }
}

void Checker::judge_availability(const ExpectSpec& e, ExpectResult& r, TimeNs end) const {
  TimeNs from = 0, to = end;
  if (e.form == ExpectForm::during) {
    from = e.from_ns;
    to = e.to_ns;
  } else if (e.form == ExpectForm::at || e.form == ExpectForm::by) {
    to = e.at_ns;
  }
  int n = 0;
  double a = availability(e.subject, from, to, &n);
  r.detail = fmt::format("{:.4f} over {} requests", a, n);
  r.passed = n > 0 && (!e.at_least || a >= *e.at_least) && (!e.at_most || a <= *e.at_most);
  if (n == 0) r.detail = "no requests in the window";
}

void Checker::judge_log(const ExpectSpec& e, ExpectResult& r, TimeNs end) const {
  TimeNs by = e.form == ExpectForm::always ? end : e.at_ns;
  r.passed = false;
  r.detail = "no such line";
  for (const LogRecord& l : record_.logs()) {
    if (l.time_ns > by) break;
    if (name_matches(e.subject, world_.node_name(l.node)) &&
        l.text.find(e.value) != std::string::npos) {
      r.passed = true;
      r.detail = fmt::format("{} at {}: {}", world_.node_name(l.node), format_duration(l.time_ns),
                             l.text);
      break;
    }
  }
}

void Checker::judge_event(const ExpectSpec& e, ExpectResult& r, TimeNs end) const {
  TimeNs by = e.form == ExpectForm::always ? end : e.at_ns;
  r.passed = false;
  r.detail = "no such event";
  for (const LogRecord& l : record_.logs()) {
    if (l.time_ns > by) break;
    if (l.event != e.value || !name_matches(e.subject, world_.node_name(l.node))) continue;
    if (!event_fields_match(l, e.where)) continue;
    r.passed = true;
    r.detail = fmt::format("{} at {}: {}", world_.node_name(l.node), format_duration(l.time_ns),
                           l.text);
    break;
  }
}

void Checker::judge_eventually(const ExpectSpec& e, ExpectResult& r, TimeNs end) const {
  TimeNs by = e.form == ExpectForm::always ? end : e.at_ns;
  r.passed = false;
  r.detail = "never happened";
  for (const SignalRecord& sig : record_.signals()) {
    if (sig.time_ns > by) break;
    if (sig.name == e.subject) {
      r.passed = true;
      r.detail =
          fmt::format("at {} on {}", format_duration(sig.time_ns), world_.node_name(sig.node));
      break;
    }
  }
}

bool Checker::all_passed() const {
  for (const ExpectResult& r : results_)
    if (!r.passed) return false;
  return true;
}

std::optional<TimeNs> Checker::first_failure_ns() const {
  std::optional<TimeNs> first;
  for (const ExpectResult& r : results_)
    if (!r.passed && r.violated_at_ns && (!first || *r.violated_at_ns < *first))
      first = r.violated_at_ns;
  return first;
}

}  // namespace stampede
