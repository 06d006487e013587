#include "analysis/trace_export.hpp"

#include <fmt/format.h>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "sim/core/digest.hpp"
#include "sim/core/spec.hpp"

namespace stampede::analysis {
namespace {

// Slices are drawn this long at most: a step takes no simulated time, so a slice shows the
// node's idle time up to its next step, capped so slices stay readable.
constexpr double k_max_slice_us = 1000.0;

}  // namespace

std::string kind_name(StepKind k) {
  switch (k) {
    case StepKind::start:
      return "start";
    case StepKind::deliver:
      return "deliver";
    case StepKind::timer:
      return "timer";
    case StepKind::fault:
      return "fault";
    case StepKind::check:
      return "check";
    case StepKind::resume:
      return "resume";
    case StepKind::connection:
      return "connection";
  }
  return "step";
}

std::string step_label(const TraceStep& s) {
  std::string k = kind_name(s.kind);
  if (s.kind == StepKind::deliver) return k + " " + s.message;
  return k;
}

std::map<std::size_t, std::string> fault_names(const Trace& t, const ExportOptions& o) {
  std::map<std::size_t, std::string> out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < t.steps.size(); ++i) {
    if (t.steps[i].kind != StepKind::fault) continue;
    while (next < o.fault_labels.size() && o.fault_labels[next].first < t.steps[i].time_ns) ++next;
    if (next < o.fault_labels.size() && o.fault_labels[next].first == t.steps[i].time_ns)
      out[i] = o.fault_labels[next++].second;
    else
      out[i] = "fault";
  }
  return out;
}

bool in_window(const TraceStep& s, const ExportOptions& o) {
  if (s.time_ns < o.from_ns || s.time_ns > o.to_ns) return false;
  if (s.index < o.from_step || s.index > o.to_step) return false;
  if (o.nodes.empty() || s.node.empty() || s.kind == StepKind::fault) return true;
  for (const auto& p : o.nodes)
    if (name_matches(p, s.node)) return true;
  return false;
}

std::vector<std::int64_t> infer_sends(const Trace& trace) {
  std::vector<std::int64_t> sends(trace.steps.size(), -1);
  std::map<std::string, std::int64_t> last_step;  // node -> position of its latest step so far
  for (std::size_t i = 0; i < trace.steps.size(); ++i) {
    const auto& s = trace.steps[i];
    // Steps come in time order, so the sender's latest step before this one is at or before
    // this instant.
    if (s.kind == StepKind::deliver && !s.from.empty()) {
      auto it = last_step.find(s.from);
      if (it != last_step.end()) sends[i] = it->second;
    }
    if (!s.node.empty()) last_step[s.node] = static_cast<std::int64_t>(i);
  }
  return sends;
}

namespace {

double to_us(TimeNs t) { return static_cast<double>(t) / 1000.0; }

// The Chrome trace's threads: one per node (tid 1, 2, ... in order of first step); tid 0 holds
// the faults.
struct NodeThreads {
  std::map<std::string, int> tids;
  std::vector<std::string> order;
};

NodeThreads node_threads(const Trace& trace) {
  NodeThreads th;
  for (const auto& s : trace.steps)
    if (!s.node.empty() && !th.tids.count(s.node)) {
      th.tids[s.node] = static_cast<int>(th.order.size()) + 1;
      th.order.push_back(s.node);
    }
  return th;
}

// Each step's node's next step (-1: none), for the slice lengths.
std::vector<std::int64_t> next_steps_on_node(const Trace& trace) {
  std::vector<std::int64_t> next_on_node(trace.steps.size(), -1);
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < trace.steps.size(); ++i) {
    const auto& n = trace.steps[i].node;
    if (n.empty()) continue;
    auto it = last.find(n);
    if (it != last.end()) next_on_node[it->second] = static_cast<std::int64_t>(i);
    last[n] = i;
  }
  return next_on_node;
}

// The metadata events naming the process and its threads.
nlohmann::json metadata_events(const Trace& trace, NodeThreads& th) {
  nlohmann::json events = nlohmann::json::array();
  events.push_back({{"ph", "M"},
                    {"name", "process_name"},
                    {"pid", 1},
                    {"tid", 0},
                    {"args",
                     {{"name", fmt::format("stampede seed {} ({})", trace.header.seed,
                                           trace.header.scenario_file)}}}});
  events.push_back({{"ph", "M"},
                    {"name", "thread_name"},
                    {"pid", 1},
                    {"tid", 0},
                    {"args", {{"name", "faults"}}}});
  for (const auto& n : th.order) {
    events.push_back({{"ph", "M"},
                      {"name", "thread_name"},
                      {"pid", 1},
                      {"tid", th.tids[n]},
                      {"args", {{"name", n}}}});
    events.push_back({{"ph", "M"},
                      {"name", "thread_sort_index"},
                      {"pid", 1},
                      {"tid", th.tids[n]},
                      {"args", {{"sort_index", th.tids[n]}}}});
  }
  return events;
}

// The arrow of a message from the step that sent it to the step that delivered it.
void add_flow(nlohmann::json& events, std::uint64_t flow_id, const TraceStep& from,
              const TraceStep& to, NodeThreads& th) {
  events.push_back({{"ph", "s"},
                    {"id", flow_id},
                    {"name", to.message},
                    {"cat", "message"},
                    {"pid", 1},
                    {"tid", th.tids[from.node]},
                    {"ts", to_us(from.time_ns)}});
  events.push_back({{"ph", "f"},
                    {"bp", "e"},
                    {"id", flow_id},
                    {"name", to.message},
                    {"cat", "message"},
                    {"pid", 1},
                    {"tid", th.tids[to.node]},
                    {"ts", to_us(to.time_ns)}});
}

nlohmann::json chrome_other_data(const Trace& trace) {
  return {{"version", trace.header.version},
          {"engine", trace.header.engine},
          {"seed", trace.header.seed},
          {"scenario", trace.header.scenario_file},
          {"digest", hex64(trace.end.digest)},
          {"verdict", trace.end.passed ? "pass" : "fail"},
          {"send_inference", "latest step of the sender at or before the delivery"}};
}

}  // namespace

std::string to_chrome_json(const Trace& trace, const ExportOptions& options) {
  using nlohmann::json;
  const auto sends = infer_sends(trace);
  const auto faults = fault_names(trace, options);
  NodeThreads th = node_threads(trace);
  const auto next_on_node = next_steps_on_node(trace);
  json events = metadata_events(trace, th);
  std::uint64_t flow_id = 0;
  for (std::size_t i = 0; i < trace.steps.size(); ++i) {
    const auto& s = trace.steps[i];
    if (!in_window(s, options)) continue;
    json args = {{"step", s.index}, {"time_ns", s.time_ns}, {"hash", hex64(s.rolling_hash)}};
    if (s.kind == StepKind::fault) {
      args["fault"] = faults.at(i);
      events.push_back({{"ph", "i"},
                        {"s", "g"},
                        {"name", faults.at(i)},
                        {"cat", "fault"},
                        {"pid", 1},
                        {"tid", s.node.empty() ? 0 : th.tids[s.node]},
                        {"ts", to_us(s.time_ns)},
                        {"args", args}});
      continue;
    }
    if (s.node.empty()) continue;
    double dur = 0.0;
    if (next_on_node[i] >= 0)
      dur = std::min(k_max_slice_us,
                     to_us(trace.steps[next_on_node[i]].time_ns) - to_us(s.time_ns));
    if (!s.from.empty()) args["from"] = s.from;
    if (!s.message.empty()) args["message"] = s.message;
    events.push_back({{"ph", "X"},
                      {"name", step_label(s)},
                      {"cat", kind_name(s.kind)},
                      {"pid", 1},
                      {"tid", th.tids[s.node]},
                      {"ts", to_us(s.time_ns)},
                      {"dur", dur},
                      {"args", args}});
    if (sends[i] >= 0 && in_window(trace.steps[sends[i]], options))
      add_flow(events, ++flow_id, trace.steps[sends[i]], s, th);
  }
  if (const auto& v = options.violation; v && v->time_ns >= options.from_ns &&
                                          v->time_ns <= options.to_ns)
    events.push_back({{"ph", "i"},
                      {"s", "g"},
                      {"name", "violated: " + v->property},
                      {"cat", "violation"},
                      {"pid", 1},
                      {"tid", 0},
                      {"ts", to_us(v->time_ns)},
                      {"args", {{"step", v->step}, {"detail", v->detail}}}});
  json doc = {{"traceEvents", events},
              {"displayTimeUnit", "ms"},
              {"otherData", chrome_other_data(trace)}};
  return doc.dump() + "\n";
}

namespace {

std::string dot_escape(const std::string& text) {
  std::string esc;
  for (char ch : text) {
    if (ch == '"' || ch == '\\') esc += '\\';
    if (ch == '\n') {
      esc += "\\n";
      continue;
    }
    esc += ch;
  }
  return esc;
}

}  // namespace

std::string to_dot(const Trace& trace, const ExportOptions& options) {
  enum class EdgeKind { program_order, message };
  struct EdgeProps {
    EdgeKind kind = EdgeKind::program_order;
    std::string label;
  };
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS,
                                      boost::no_property, EdgeProps>;
  const auto sends = infer_sends(trace);
  const auto faults = fault_names(trace, options);

  // Vertices are the steps inside the window, in step order.
  Graph g;
  std::vector<std::int64_t> vertex_of(trace.steps.size(), -1);
  std::vector<std::size_t> step_of;
  std::map<std::string, std::vector<std::size_t>> clusters;  // track -> vertices
  std::map<std::string, std::size_t> last_vertex;
  for (std::size_t i = 0; i < trace.steps.size(); ++i) {
    const auto& s = trace.steps[i];
    if (!in_window(s, options)) continue;
    const std::size_t v = boost::add_vertex(g);
    vertex_of[i] = static_cast<std::int64_t>(v);
    step_of.push_back(i);
    const std::string track = s.node.empty() ? "(faults)" : s.node;
    clusters[track].push_back(v);
    auto it = last_vertex.find(track);
    if (it != last_vertex.end()) boost::add_edge(it->second, v, EdgeProps{}, g);
    last_vertex[track] = v;
    if (sends[i] >= 0 && vertex_of[sends[i]] >= 0)
      boost::add_edge(static_cast<std::size_t>(vertex_of[sends[i]]), v,
                      EdgeProps{EdgeKind::message, s.message}, g);
  }
  // Edges only go forward in step order, so this cannot fail; it guards the inference above.
  std::vector<std::size_t> topo;
  boost::topological_sort(g, std::back_inserter(topo));

  std::string out = "digraph happens_before {\n  rankdir=TB;\n  node [shape=box, fontsize=10];\n";
  out += fmt::format("  label=\"{} seed {} ({} steps){}\";\n", dot_escape(trace.header.scenario_file),
                     trace.header.seed, step_of.size(),
                     options.violation ? fmt::format("\\nviolated at {:.6f}s: {}",
                                                     static_cast<double>(options.violation->time_ns) / 1e9,
                                                     dot_escape(options.violation->property))
                                       : "");
  int c = 0;
  for (const auto& [track, vs] : clusters) {
    out += fmt::format("  subgraph cluster_{} {{\n    label=\"{}\";\n", c++, track);
    for (auto v : vs) {
      const auto& s = trace.steps[step_of[v]];
      const std::string what = s.kind == StepKind::fault ? faults.at(step_of[v]) : step_label(s);
      const bool violated = options.violation && options.violation->step == s.index;
      std::string esc = dot_escape(what);
      if (violated) esc += "\\nviolated: " + dot_escape(options.violation->property);
      out += fmt::format("    s{} [label=\"#{} {}\\n{:.6f}s\"{}];\n", s.index, s.index, esc,
                         static_cast<double>(s.time_ns) / 1e9,
                         violated ? ", color=red, penwidth=3, fontcolor=red" : "");
    }
    out += "  }\n";
  }
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const auto& p = g[*e];
    const auto from = trace.steps[step_of[boost::source(*e, g)]].index;
    const auto to = trace.steps[step_of[boost::target(*e, g)]].index;
    if (p.kind == EdgeKind::program_order)
      out += fmt::format("  s{} -> s{};\n", from, to);
    else
      out += fmt::format("  s{} -> s{} [style=dashed, color=blue, label=\"{}\", fontsize=8];\n",
                         from, to, p.label);
  }
  return out + "}\n";
}

}  // namespace stampede::analysis
