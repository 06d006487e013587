#pragma once
// Traces as pictures: Chrome trace event JSON (opens in ui.perfetto.dev and chrome://tracing)
// and a Graphviz DOT happens-before graph.
//
// A trace records each delivery's receiver, sender and message, but not the step that sent it.
// Both exports infer the send as the latest step of the sender at or before the delivery's
// instant (and before it in step order): nodes send only while they take a step, and a message
// takes a non-negative time in flight. With latencies longer than the sender's step spacing, the
// inferred step may be later than the true one; it is never after the delivery, so the graph
// stays acyclic.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::analysis {

// A model's log line, for the HTML page's hover (the trace holds none: `export` re-runs it).
struct ExportLog {
  TimeNs time_ns = 0;
  std::string node;  // empty: a fault or a failed expectation
  std::string text;
};

// The first violated property of the run, marked on every picture.
struct ExportViolation {
  std::uint64_t step = 0;  // the trace's step index (1-based); 0 when only its instant is known
  TimeNs time_ns = 0;
  std::string property;
  std::string detail;
};

struct ExportOptions {
  // The window: a step is drawn when its instant and its index are both inside, and its node
  // matches one of `nodes` (sim/core/spec.hpp name_matches; empty: every node). Fault steps and
  // steps of no node pass the node filter. A message is drawn only when both its ends are.
  TimeNs from_ns = 0;        // steps before this are left out
  TimeNs to_ns = INT64_MAX;  // steps after this are left out
  std::uint64_t from_step = 0;
  std::uint64_t to_step = UINT64_MAX;
  std::vector<std::string> nodes;
  std::vector<ExportLog> logs;               // in time order
  std::optional<ExportViolation> violation;
  // Descriptions of the scripted faults, in time order, matched to the trace's fault steps (which
  // record no description) by instant and order. Random faults stay "fault".
  std::vector<std::pair<TimeNs, std::string>> fault_labels;
};

// For each step (by position in trace.steps): the position of its inferred send step, or -1.
std::vector<std::int64_t> infer_sends(const Trace& trace);

// Chrome trace event format, "traceEvents" array: a metadata event naming each node's track
// (one thread per node, in order of first appearance; faults on track 0), a complete ("X")
// slice per step, an instant ("i") per fault, and a flow ("s"/"f" pair, one id per message)
// from the inferred send to each delivery. Timestamps are simulated microseconds.
std::string to_chrome_json(const Trace& trace, const ExportOptions& options);

// A DOT digraph: one vertex per step, one cluster per node (faults in their own), program-order
// edges between a node's consecutive steps, and dashed send -> receive edges labelled with the
// message. Built on Boost.Graph, which also checks that it is acyclic.
std::string to_dot(const Trace& trace, const ExportOptions& options);

// The trace format's kind names (sim/trace writes the same), kept here so analysis/ needs no
// engine library.
std::string kind_name(StepKind k);
// A step's short label ("deliver Vote", "timer") and the faults' descriptions per step position
// (matched to ExportOptions::fault_labels by instant and order; random faults stay "fault").
std::string step_label(const TraceStep& s);
std::map<std::size_t, std::string> fault_names(const Trace& t, const ExportOptions& o);

// Whether step `s` is inside the options' window.
bool in_window(const TraceStep& s, const ExportOptions& options);

// One self-contained HTML page (inline CSS and JavaScript, nothing fetched at view time) with a
// space-time diagram of the window: one lane per node, a dot per step, an arrow per message
// from its inferred send to its delivery, faults as bands across the lanes, the violation
// marked, each step's log lines on hover, and zoom by time (wheel, drag, or a from/to range).
// The page writes a summary of what it drew into document.title ("lanes=N arrows=N ...") for
// tests and scripts.
std::string to_html(const Trace& trace, const ExportOptions& options);

}  // namespace stampede::analysis
