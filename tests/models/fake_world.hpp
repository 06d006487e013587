#pragma once
// A tiny deterministic world for model tests: a time-ordered event queue, a fixed latency, link
// cuts, crashes and restarts, and the registry's timings and mechanisms. It drives the models'
// Nodes through a Ctx of its own, so the tests need no engine.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "models/register.hpp"
#include "sim/core/registry.hpp"

namespace stampede::testing {

class FakeWorld final : public WorldView, public WorldBuilder {
 public:
  struct LogLine {
    TimeNs time_ns;
    std::string node;
    std::string text;
  };

  explicit FakeWorld(std::map<std::string, bool> mechanisms = {},
                     std::map<std::string, std::int64_t> timings = {}) {
    register_models(registry_);
    for (const TimingDef& t : registry_.timings()) timings_[t.name] = t.default_value;
    for (const MechanismDef& m : registry_.mechanisms()) mechanisms_[m.name] = m.default_on;
    for (auto& [k, v] : timings) timings_[k] = v;
    for (auto& [k, v] : mechanisms) mechanisms_[k] = v;
  }

  void build(const ScenarioSpec& spec) {
    for (const ModelEntry& m : registry_.models()) m.build(spec, *this);
  }

  NodeId add_node(std::string name, std::unique_ptr<Node> node) override {
    NodeId id = static_cast<NodeId>(slots_.size());
    auto s = std::make_unique<Slot>();
    s->name = std::move(name);
    s->node = std::move(node);
    s->ctx = std::make_unique<FakeCtx>(*this, id);
    slots_.push_back(std::move(s));
    return id;
  }

  // Starts every node at the current instant.
  void start() {
    for (NodeId id = 0; id < slots_.size(); ++id)
      push(Event{now_, 0, Kind::start, id, 0, 0, {}, 0});
  }

  void run_until(TimeNs t) {
    while (!queue_.empty() && queue_.top().time_ns <= t) {
      Event ev = queue_.top();
      queue_.pop();
      now_ = ev.time_ns;
      dispatch(ev);
      check_invariants();
    }
    now_ = std::max(now_, t);
  }

  // Faults.
  void cut(const std::string& a_pattern, const std::string& b_pattern) {
    for (NodeId a = 0; a < slots_.size(); ++a)
      for (NodeId b = 0; b < slots_.size(); ++b)
        if (name_matches(a_pattern, slots_[a]->name) && name_matches(b_pattern, slots_[b]->name)) {
          cuts_.insert({a, b});
          cuts_.insert({b, a});
        }
  }
  // Drops what `from` sends to `to`, and nothing the other way.
  void cut_one_way(const std::string& from, const std::string& to) {
    cuts_.insert({find(from), find(to)});
  }
  void heal() { cuts_.clear(); }
  void crash(const std::string& name) {
    Slot& s = *slots_[find(name)];
    if (!s.up) return;
    s.up = false;
    ++s.epoch;
    s.node->on_crash();
  }
  void restart(const std::string& name) {
    NodeId id = find(name);
    Slot& s = *slots_[id];
    if (s.up) return;
    s.up = true;
    ++s.epoch;
    push(Event{now_, 0, Kind::start, id, 0, s.epoch, {}, 0});
  }
  // Delivers a message as if `from` had sent it now.
  void inject(const std::string& from, const std::string& to, Message msg) {
    NodeId t = find(to);
    push(Event{now_, 0, Kind::deliver, t, find(from), slots_[t]->epoch, std::move(msg), 0});
  }
  // Called with every message as it is delivered (a test's recorder), when set.
  std::function<void(NodeId from, NodeId to, const Message& msg)> on_deliver;
  bool model_fault(const ModelFault& f) {
    for (auto& s : slots_)
      if (s->up && s->node->on_fault(*s->ctx, f)) return true;
    return false;
  }

  // Observations.
  template <class T>
  T& node_as(const std::string& name) {
    return dynamic_cast<T&>(*slots_[find(name)]->node);
  }
  std::int64_t running(const std::string& service) const {
    return probe_sum("all", "running", service);
  }
  std::string host_state(const std::string& agent) const {
    auto v = probe_one("server-1", "host_state", agent);
    if (!v) return "unknown";
    static const char* names[] = {"active", "reconnecting", "disconnected"};
    return names[*v];
  }
  std::int64_t counter(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  // Fraction of successful samples of a series in [from, to].
  double availability(const std::string& series, TimeNs from, TimeNs to) const {
    auto it = series_.find(series);
    if (it == series_.end()) return 0.0;
    int n = 0, ok = 0;
    for (auto [t, v] : it->second)
      if (t >= from && t <= to) {
        ++n;
        ok += v != 0;
      }
    return n == 0 ? 0.0 : static_cast<double>(ok) / n;
  }
  bool signalled(const std::string& name, TimeNs from = 0, TimeNs to = k_time_never) const {
    for (auto& [t, s] : signals_)
      if (s == name && t >= from && t <= to) return true;
    return false;
  }
  bool logged(const std::string& text) const {
    for (const LogLine& l : logs_)
      if (l.text.find(text) != std::string::npos) return true;
    return false;
  }
  const std::vector<LogLine>& logs() const { return logs_; }
  const std::vector<std::string>& violations() const { return violations_; }
  const Registry& registry() const { return registry_; }
  std::uint64_t digest() const {
    Digest d;
    for (auto& s : slots_) d.add(s->name).add(s->node->state_digest());
    return d.value();
  }

  // WorldView
  TimeNs now() const override { return now_; }
  std::size_t node_count() const override { return slots_.size(); }
  std::string_view node_name(NodeId id) const override { return slots_[id]->name; }
  NodeId find(std::string_view name) const override {
    for (NodeId id = 0; id < slots_.size(); ++id)
      if (slots_[id]->name == name) return id;
    return k_no_node;
  }
  bool is_up(NodeId id) const override { return slots_[id]->up; }
  const Node& node(NodeId id) const override { return *slots_[id]->node; }

  DurationNs latency_ns = 1 * k_ms;

 private:
  enum class Kind { start, deliver, timer };
  struct Event {
    TimeNs time_ns;
    std::uint64_t seq;
    Kind kind;
    NodeId node;
    NodeId from;
    std::uint32_t epoch;
    Message msg;
    std::uint64_t tag;
    TimerId timer = 0;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
    }
  };
  class FakeCtx final : public Ctx {
   public:
    FakeCtx(FakeWorld& w, NodeId id) : w_(w), id_(id) {}
    TimeNs now() const override { return w_.now_; }
    NodeId self() const override { return id_; }
    NodeId lookup(std::string_view name) const override { return w_.find(name); }
    std::string_view name_of(NodeId id) const override { return w_.node_name(id); }
    void send(NodeId to, Message msg) override {
      if (w_.cuts_.count({id_, to})) return;
      w_.push(Event{w_.now_ + w_.latency_ns, 0, Kind::deliver, to, id_, w_.slots_[to]->epoch,
                    std::move(msg), 0});
    }
    TimerId set_timer(DurationNs after, std::uint64_t tag) override {
      TimerId t = w_.next_timer_++;
      w_.live_timers_.emplace(t, std::make_pair(id_, tag));
      Event ev{w_.now_ + after, 0, Kind::timer, id_, 0, w_.slots_[id_]->epoch, {}, tag};
      ev.timer = t;
      w_.push(std::move(ev));
      return t;
    }
    void cancel_timer(TimerId id) override { w_.live_timers_.erase(id); }
    void exit_process(const std::function<bool(std::uint64_t)>& keeps_timer) override {
      std::erase_if(w_.live_timers_, [&](const auto& t) {
        return t.second.first == id_ && !(keeps_timer && keeps_timer(t.second.second));
      });
    }
    std::int64_t random(std::int64_t lo, std::int64_t hi) override { return lo + (hi - lo) / 2; }
    std::int64_t timing(std::string_view name) const override {
      return w_.timings_.at(std::string(name));
    }
    bool mechanism(std::string_view name) const override {
      return w_.mechanisms_.at(std::string(name));
    }
    void log(LogLevel level, std::string_view text) override {
      if (level != LogLevel::debug)
        w_.logs_.push_back({w_.now_, std::string(w_.node_name(id_)), std::string(text)});
    }
    void signal(std::string_view name) override {
      w_.signals_.push_back({w_.now_, std::string(name)});
    }
    SeriesId intern(std::string_view name) override {
      auto it = std::find(w_.names_.begin(), w_.names_.end(), name);
      if (it != w_.names_.end()) return static_cast<SeriesId>(it - w_.names_.begin());
      w_.names_.emplace_back(name);
      return static_cast<SeriesId>(w_.names_.size() - 1);
    }
    void count(SeriesId m, std::int64_t delta) override { w_.counters_[w_.names_[m]] += delta; }
    void sample(SeriesId s, std::int64_t v) override {
      w_.series_[w_.names_[s]].push_back({w_.now_, v});
    }

   private:
    FakeWorld& w_;
    NodeId id_;
  };
  struct Slot {
    std::string name;
    std::unique_ptr<Node> node;
    std::unique_ptr<FakeCtx> ctx;
    bool up = true;
    std::uint32_t epoch = 0;
  };

  void push(Event ev) {
    ev.seq = seq_++;
    queue_.push(std::move(ev));
  }
  void dispatch(const Event& ev) {
    Slot& s = *slots_[ev.node];
    if (ev.kind != Kind::start && (!s.up || ev.epoch != s.epoch)) return;
    switch (ev.kind) {
      case Kind::start: s.node->on_start(*s.ctx); break;
      case Kind::deliver:
        if (cuts_.count({ev.from, ev.node})) return;
        if (on_deliver) on_deliver(ev.from, ev.node, ev.msg);
        s.node->on_message(*s.ctx, ev.from, ev.msg);
        break;
      case Kind::timer:
        if (live_timers_.erase(ev.timer) == 0) return;
        s.node->on_timer(*s.ctx, ev.tag);
        break;
    }
  }
  void check_invariants() {
    for (const InvariantDef& inv : registry_.invariants())
      if (auto v = inv.check(*this)) violations_.push_back(inv.name + ": " + *v);
  }

  Registry registry_;
  std::map<std::string, std::int64_t> timings_;
  std::map<std::string, bool> mechanisms_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::set<std::pair<NodeId, NodeId>> cuts_;
  std::map<TimerId, std::pair<NodeId, std::uint64_t>> live_timers_;  // node and tag
  TimerId next_timer_ = 1;
  std::uint64_t seq_ = 0;
  TimeNs now_ = 0;
  std::vector<std::string> names_;
  std::map<std::string, std::int64_t> counters_;
  std::map<std::string, std::vector<std::pair<TimeNs, std::int64_t>>> series_;
  std::vector<std::pair<TimeNs, std::string>> signals_;
  std::vector<LogLine> logs_;
  std::vector<std::string> violations_;
};

// The field report's setup: 2 agents, wordpress (db 1, web 2 linked to db, health check), an lb
// and one client at 20/s.
inline ScenarioSpec wordpress_spec() {
  ScenarioSpec s;
  s.name = "test";
  s.duration_ns = 5 * k_m;
  s.cluster.agents = 2;
  StackSpec st;
  st.name = "wordpress";
  st.services.push_back(ServiceSpec{"db", 1, {}, std::nullopt, {}, {}});
  st.services.push_back(ServiceSpec{"web", 2, {"db"}, HealthCheckSpec{2 * k_s, 3, 2}, {}, {}});
  st.load_balancer = LoadBalancerSpec{"lb", {"web"}};
  s.stacks.push_back(st);
  ClientSpec c;
  c.target = "wordpress/lb";
  c.interval_ns = 50 * k_ms;
  s.workload.push_back(c);
  return s;
}

}  // namespace stampede::testing
