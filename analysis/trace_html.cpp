// `export --html`: a trace's window as one self-contained HTML page with a space-time diagram, in
// the manner of ShiViz and Maelstrom: lanes are nodes, time runs down, messages are arrows.
// The page holds its data as one JSON object and draws it with inline JavaScript into SVG; it
// fetches nothing, so it opens from a mail attachment or an air-gapped machine alike.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "analysis/trace_export.hpp"
#include "sim/core/digest.hpp"

namespace stampede::analysis {
namespace {

// The page's style and script. Colours the browser test counts in a screenshot: lanes are
// #3465a4, message arrows #cc0000 (both drawn with crisp edges, so those exact colours reach
// the pixels); faults are orange bands, the violation a magenta line.
constexpr const char* k_head = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>stampede trace</title>
<style>
body { font: 13px/1.35 system-ui, sans-serif; margin: 0; color: #222; background: #fff; }
header { padding: 6px 10px; border-bottom: 1px solid #ccc; background: #f6f6f6; }
header h1 { font-size: 15px; margin: 0 0 4px 0; }
header .verdict-fail { color: #b00; font-weight: bold; }
header .verdict-pass { color: #070; font-weight: bold; }
header input { width: 7em; }
#view { overflow: auto; }
#tip { position: fixed; display: none; max-width: 640px; background: #ffffe8; border: 1px solid #999;
       padding: 4px 6px; font: 12px/1.3 monospace; white-space: pre-wrap; pointer-events: none; z-index: 2; }
svg text { font: 11px system-ui, sans-serif; }
</style></head><body>
<header><h1 id="h"></h1><div id="sub"></div>
<div>time window <input id="from" title="from, seconds"> s to <input id="to" title="to, seconds"> s
<button id="apply">zoom to</button> <button id="zin">zoom in</button> <button id="zout">zoom out</button>
<button id="reset">whole window</button>
axis <select id="axis"><option value="order">step order</option><option value="time">simulated time</option></select>
<span id="range"></span></div>
<div>wheel: zoom around the pointer; drag: pan; hover a step for its log lines.</div></header>
<div id="view"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="tip"></div>
<script>
const D = )HTML";

constexpr const char* k_script = R"HTML(;
const NS = "http://www.w3.org/2000/svg";
const LANE = "#3465a4", ARROW = "#cc0000", FAULT = "#f57900", VIOL = "#cc00cc";
const KIND = {start: "#000", deliver: "#4e9a06", timer: "#75507b", fault: FAULT, check: "#555",
              resume: "#c4a000", connection: "#8f5902"};
const svg = document.getElementById("svg"), tip = document.getElementById("tip");
const sec = t => (t / 1e9).toFixed(6).replace(/0+$/, "").replace(/\.$/, "") + "s";
const logsAt = {};
for (const l of D.logs) (logsAt[l.l + "@" + l.t] = logsAt[l.l + "@" + l.t] || []).push(l.x);
let axis = "order", v0 = 0, v1 = 1;
function pos(k) { return axis === "order" ? k : D.steps[k].t; }
function full() {
  const n = D.steps.length;
  if (axis === "order") { v0 = -0.5; v1 = Math.max(n - 0.5, 0.5); }
  else { v0 = n ? D.steps[0].t : 0; v1 = n ? D.steps[n - 1].t : 1; if (v1 <= v0) v1 = v0 + 1e6; }
}
function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  (parent || svg).appendChild(e);
  return e;
}
function showTip(ev, text) { tip.textContent = text; tip.style.display = "block";
  tip.style.left = Math.min(ev.clientX + 12, innerWidth - 660) + "px"; tip.style.top = (ev.clientY + 12) + "px"; }
function hideTip() { tip.style.display = "none"; }
function stepText(s) {
  let t = "#" + s.i + "  " + sec(s.t) + "  " + (s.l >= 0 ? D.lanes[s.l] : "*") + "  " + s.x;
  if (s.f) t += "  (from " + s.f + ")";
  const logs = logsAt[s.l + "@" + s.t];
  if (logs) t += "\nlog lines of this node at this instant:\n  " + logs.join("\n  ");
  if (D.violation && D.violation.step === s.i) t += "\nviolated: " + D.violation.property + "\n" + D.violation.detail;
  return t;
}
function timeAt(k) {  // the simulated time at axis position k
  if (axis === "time") return k;
  const n = D.steps.length; if (!n) return 0;
  return D.steps[Math.max(0, Math.min(n - 1, Math.round(k)))].t;
}
function posOfTime(t, last) {  // the axis position of simulated time t
  if (axis === "time") return t;
  let k = 0; while (k < D.steps.length && (last ? D.steps[k].t <= t : D.steps[k].t < t)) k++;
  return last ? k - 0.5 : k - 0.5;
}
function draw() {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const laneW = 150, left = 70, top = 40;
  const W = Math.max(innerWidth - 20, left + D.lanes.length * laneW + 40);
  const H = Math.max(300, innerHeight - document.querySelector("header").offsetHeight - 24);
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  const y = p => top + (p - v0) / (v1 - v0) * (H - top - 20);
  const x = l => left + l * laneW + laneW / 2;
  const defs = el("defs", {});
  const m = el("marker", {id: "ah", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7,
                          markerHeight: 7, orient: "auto-start-reverse"}, defs);
  el("path", {d: "M0,0 L10,5 L0,10 z", fill: ARROW}, m);
  let lanes = 0, arrows = 0, steps = 0, faults = 0, viol = 0;
  D.lanes.forEach((name, l) => {
    el("line", {x1: x(l), x2: x(l), y1: top - 6, y2: H - 10, stroke: LANE, "stroke-width": 3,
                "shape-rendering": "crispEdges"});
    const t = el("text", {x: x(l), y: 14, "text-anchor": "middle", "font-weight": "bold"});
    t.textContent = name; lanes++;
  });
  const vis = k => { const p = pos(k); return p >= v0 && p <= v1; };
  for (const f of D.faults) {
    const p = pos(f.k); if (p < v0 || p > v1) continue;
    const g = el("g", {});
    el("line", {x1: left - 60, x2: W - 10, y1: y(p), y2: y(p), stroke: FAULT, "stroke-width": 2,
                "stroke-dasharray": "6,3"}, g);
    const t = el("text", {x: left - 58, y: y(p) - 3, fill: FAULT}, g); t.textContent = "fault: " + f.x;
    g.addEventListener("mousemove", ev => showTip(ev, "#" + f.i + "  " + sec(f.t) + "  fault: " + f.x +
      ((logsAt["-1@" + f.t] || []).length ? "\n  " + logsAt["-1@" + f.t].join("\n  ") : "")));
    g.addEventListener("mouseleave", hideTip);
    faults++;
  }
  if (D.violation) {
    let p = D.violation.k >= 0 ? pos(D.violation.k) : (axis === "time" ? D.violation.t : posOfTime(D.violation.t, true));
    if (p >= v0 && p <= v1) {
      const g = el("g", {});
      el("line", {x1: left - 60, x2: W - 10, y1: y(p), y2: y(p), stroke: VIOL, "stroke-width": 3}, g);
      const t = el("text", {x: left - 58, y: y(p) + 13, fill: VIOL, "font-weight": "bold"}, g);
      t.textContent = "violated: " + D.violation.property;
      g.addEventListener("mousemove", ev => showTip(ev, "violated at " + sec(D.violation.t) +
        (D.violation.step ? " (step " + D.violation.step + ")" : "") + ": " + D.violation.property + "\n" + D.violation.detail));
      g.addEventListener("mouseleave", hideTip);
      viol = 1;
    }
  }
  for (const [a, b, name] of D.msgs) {
    if (!vis(a) && !vis(b)) continue;
    const sa = D.steps[a], sb = D.steps[b];
    const ln = el("line", {x1: x(sa.l), y1: y(pos(a)), x2: x(sb.l), y2: y(pos(b)), stroke: ARROW,
                           "stroke-width": 2, "shape-rendering": "crispEdges", "marker-end": "url(#ah)"});
    ln.addEventListener("mousemove", ev => showTip(ev, name + "  " + D.lanes[sa.l] + " → " + D.lanes[sb.l] +
      "\nsent by step #" + sa.i + " at " + sec(sa.t) + ", delivered by #" + sb.i + " at " + sec(sb.t)));
    ln.addEventListener("mouseleave", hideTip);
    arrows++;
  }
  D.steps.forEach((s, k) => {
    if (s.l < 0 || !vis(k)) return;
    const c = el("circle", {cx: x(s.l), cy: y(pos(k)), r: 4, fill: KIND[s.k] || "#000"});
    if (D.violation && D.violation.step === s.i) { c.setAttribute("r", 7); c.setAttribute("fill", VIOL); }
    c.addEventListener("mousemove", ev => showTip(ev, stepText(s)));
    c.addEventListener("mouseleave", hideTip);
    steps++;
  });
  document.getElementById("range").textContent = "showing " + sec(timeAt(v0)) + " to " + sec(timeAt(v1));
  document.title = "lanes=" + lanes + " arrows=" + arrows + " steps=" + steps + " faults=" + faults + " violation=" + viol;
}
function zoom(f, c) { const w = (v1 - v0) * f; if (w < (axis === "order" ? 2 : 1000)) return;
  v0 = c - (c - v0) * f; v1 = v0 + w; draw(); }
document.getElementById("h").textContent = D.title;
document.getElementById("sub").innerHTML = "";
{ const sub = document.getElementById("sub"), v = document.createElement("span");
  v.className = D.passed ? "verdict-pass" : "verdict-fail"; v.textContent = D.passed ? "PASS" : "FAIL";
  sub.appendChild(v); sub.appendChild(document.createTextNode("  " + D.about)); }
document.getElementById("axis").addEventListener("change", e => { axis = e.target.value; full(); draw(); });
document.getElementById("reset").addEventListener("click", () => { full(); draw(); });
document.getElementById("zin").addEventListener("click", () => zoom(0.5, (v0 + v1) / 2));
document.getElementById("zout").addEventListener("click", () => zoom(2, (v0 + v1) / 2));
document.getElementById("apply").addEventListener("click", () => {
  const a = parseFloat(document.getElementById("from").value) * 1e9, b = parseFloat(document.getElementById("to").value) * 1e9;
  if (!(a < b)) return;
  v0 = posOfTime(a, false); v1 = posOfTime(b, true); if (v1 <= v0) v1 = v0 + 1; draw(); });
svg.addEventListener("wheel", ev => { ev.preventDefault();
  const r = svg.getBoundingClientRect(), H = r.height, frac = Math.max(0, Math.min(1, (ev.clientY - r.top - 40) / (H - 60)));
  zoom(ev.deltaY < 0 ? 0.8 : 1.25, v0 + frac * (v1 - v0)); }, {passive: false});
let drag = null;
svg.addEventListener("mousedown", ev => { drag = {y: ev.clientY, v0, v1}; });
addEventListener("mouseup", () => { drag = null; });
addEventListener("mousemove", ev => { if (!drag) return;
  const d = (ev.clientY - drag.y) / svg.getBoundingClientRect().height * (drag.v1 - drag.v0);
  v0 = drag.v0 - d; v1 = drag.v1 - d; draw(); });
addEventListener("resize", draw);
full(); draw();
</script></body></html>
)HTML";

// Lanes in order of first appearance among the window's steps.
std::vector<std::string> lanes_of(const Trace& trace, const std::vector<std::size_t>& shown) {
  std::vector<std::string> lanes;
  for (std::size_t i : shown) {
    const auto& n = trace.steps[i].node;
    if (!n.empty() && std::find(lanes.begin(), lanes.end(), n) == lanes.end()) lanes.push_back(n);
  }
  return lanes;
}

// The page's data: lanes, steps (position k in "steps"), messages as pairs of positions,
// faults, logs and the violation.
nlohmann::json page_data(const Trace& trace, const ExportOptions& options) {
  using nlohmann::json;
  std::vector<std::size_t> shown;
  for (std::size_t i = 0; i < trace.steps.size(); ++i)
    if (in_window(trace.steps[i], options)) shown.push_back(i);
  const auto lanes = lanes_of(trace, shown);
  std::map<std::string, int> lane_of;
  for (std::size_t l = 0; l < lanes.size(); ++l) lane_of[lanes[l]] = static_cast<int>(l);
  const auto sends = infer_sends(trace);
  const auto faults = fault_names(trace, options);
  std::map<std::size_t, std::size_t> pos_of;  // step position in the trace -> in the page
  json steps = json::array(), msgs = json::array(), fault_list = json::array();
  std::int64_t violation_pos = -1;
  for (std::size_t i : shown) {
    const auto& s = trace.steps[i];
    const std::size_t k = steps.size();
    pos_of[i] = k;
    const int lane = s.node.empty() ? -1 : lane_of.at(s.node);
    const std::string label = s.kind == StepKind::fault ? faults.at(i) : step_label(s);
    json js = {{"i", s.index}, {"t", s.time_ns}, {"l", lane}, {"k", kind_name(s.kind)},
               {"x", label}};
    if (!s.from.empty()) js["f"] = s.from;
    steps.push_back(js);
    if (s.kind == StepKind::fault)
      fault_list.push_back({{"k", k}, {"i", s.index}, {"t", s.time_ns}, {"x", label}});
    if (sends[i] >= 0 && pos_of.count(static_cast<std::size_t>(sends[i])) && lane >= 0)
      msgs.push_back({pos_of.at(static_cast<std::size_t>(sends[i])), k, s.message});
    if (options.violation && options.violation->step == s.index) violation_pos = static_cast<std::int64_t>(k);
  }
  const TimeNs t0 = shown.empty() ? 0 : trace.steps[shown.front()].time_ns;
  const TimeNs t1 = shown.empty() ? 0 : trace.steps[shown.back()].time_ns;
  json logs = json::array();
  for (const auto& l : options.logs) {
    if (l.time_ns < t0 || l.time_ns > t1) continue;
    auto it = lane_of.find(l.node);
    if (!l.node.empty() && it == lane_of.end()) continue;
    logs.push_back({{"t", l.time_ns}, {"l", l.node.empty() ? -1 : it->second}, {"x", l.text}});
  }
  json d = {{"title", fmt::format("{} (seed {}, engine {})", trace.header.scenario_file,
                                  trace.header.seed, trace.header.engine)},
            {"about", fmt::format("stampede {}; {} of {} steps shown, {} to {}; digest {}",
                                  trace.header.version, shown.size(), trace.steps.size(),
                                  format_duration(t0), format_duration(t1), hex64(trace.end.digest))},
            {"passed", trace.end.passed},
            {"lanes", lanes}, {"steps", steps}, {"msgs", msgs}, {"faults", fault_list},
            {"logs", logs}, {"violation", nullptr}};
  if (options.violation)
    d["violation"] = {{"step", options.violation->step}, {"t", options.violation->time_ns},
                      {"k", violation_pos}, {"property", options.violation->property},
                      {"detail", options.violation->detail}};
  return d;
}

}  // namespace

std::string to_html(const Trace& trace, const ExportOptions& options) {
  // "</" inside the data would end the script element early; JSON allows "<\/" for it.
  std::string data = page_data(trace, options).dump();
  std::string safe;
  safe.reserve(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '<' && i + 1 < data.size() && data[i + 1] == '/') {
      safe += "<\\/";
      ++i;
      continue;
    }
    safe += data[i];
  }
  return std::string(k_head) + safe + k_script;
}

}  // namespace stampede::analysis
