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
#include <string>
#include <utility>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::analysis {

struct ExportOptions {
  TimeNs from_ns = 0;        // steps before this are left out
  TimeNs to_ns = INT64_MAX;  // steps after this are left out
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

}  // namespace stampede::analysis
