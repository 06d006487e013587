#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "analysis/trace_export.hpp"
#include "cli_helpers.hpp"
#include "tmpdir.hpp"

using namespace stampede;
using namespace stampede::analysis;

namespace {

TraceStep step(std::uint64_t i, TimeNs t, StepKind k, std::string node, std::string from = "",
               std::string msg = "") {
  TraceStep s;
  s.index = i;
  s.time_ns = t;
  s.kind = k;
  s.node = std::move(node);
  s.from = std::move(from);
  s.message = std::move(msg);
  return s;
}

// A 62-second cut of agent-partition with its three faults, as a trace.
std::string make_trace(const TmpDir& tmp) {
  const Cmd c = stampede_cmd(std::string("run ") + SOURCE_DIR +
                                 "/scenarios/agent-partition.yaml --quiet --set duration=62s "
                                 "--set faults.1.at=61s --set faults.2.at=62s --set 'expect=[]' "
                                 "--trace t.jsonl",
                             tmp.path.string());
  REQUIRE(c.rc == 0);
  return tmp / "t.jsonl";
}

}  // namespace

TEST_CASE("sends are inferred as the sender's latest step at or before the delivery") {
  Trace t;
  t.steps = {step(1, 0, StepKind::start, "a"),
             step(2, 0, StepKind::start, "b"),
             step(3, 5, StepKind::timer, "a"),
             step(4, 7, StepKind::deliver, "b", "a", "ping"),
             step(5, 9, StepKind::deliver, "a", "b", "pong"),
             step(6, 9, StepKind::deliver, "a", "c", "x"),
             step(7, 10, StepKind::fault, "")};
  auto sends = infer_sends(t);
  CHECK(sends == std::vector<std::int64_t>{-1, -1, -1, 2, 3, -1, -1});
  const std::string dot = to_dot(t, {});
  CHECK(dot.find("s3 -> s4 [style=dashed") != std::string::npos);
  CHECK(dot.find("s4 -> s5 [style=dashed") != std::string::npos);
  CHECK(dot.find("s1 -> s3;") != std::string::npos);  // program order of a
  CHECK(dot.find("subgraph cluster_") != std::string::npos);
}

TEST_CASE("the Chrome trace JSON has a track per node, slices, fault instants and flows") {
  TmpDir tmp;
  const std::string trace = make_trace(tmp);
  const Cmd c = stampede_cmd("export t.jsonl --perfetto t.json --dot t.dot", tmp.path.string());
  INFO(c.err);
  REQUIRE(c.rc == 0);
  const auto doc = nlohmann::json::parse(read_text(tmp / "t.json"));
  REQUIRE(doc.contains("traceEvents"));
  REQUIRE(doc["traceEvents"].is_array());
  std::map<int, std::string> threads;
  std::map<std::uint64_t, double> flow_start;
  std::set<std::string> faults;
  std::size_t slices = 0, flows_ended = 0;
  double last_ts = 0;
  for (const auto& e : doc["traceEvents"]) {
    REQUIRE(e.contains("ph"));
    REQUIRE(e["pid"] == 1);
    const std::string ph = e["ph"];
    if (ph == "M") {
      if (e["name"] == "thread_name") threads[e["tid"]] = e["args"]["name"];
      continue;
    }
    REQUIRE(e["ts"].is_number());
    REQUIRE(threads.count(e["tid"].get<int>()));  // every event is on a named track
    if (ph == "X") {
      ++slices;
      CHECK(e["dur"].get<double>() >= 0.0);
      CHECK(e["ts"].get<double>() >= last_ts);  // slices come in time order
      last_ts = e["ts"];
    } else if (ph == "i") {
      faults.insert(e["name"].get<std::string>());
    } else if (ph == "s") {
      flow_start[e["id"]] = e["ts"];
    } else if (ph == "f") {
      REQUIRE(flow_start.count(e["id"]));  // a flow ends only after it started
      CHECK(flow_start[e["id"]] <= e["ts"].get<double>());
      ++flows_ended;
    } else {
      FAIL("unexpected phase " << ph);
    }
  }
  std::set<std::string> names;
  for (const auto& [_, n] : threads) names.insert(n);
  for (const char* n : {"server-1", "agent-1", "agent-2", "client-1", "faults"})
    CHECK(names.count(n) == 1);
  CHECK(slices > 1000);
  CHECK(flows_ended == flow_start.size());
  CHECK(flows_ended > 1000);
  CHECK(faults == std::set<std::string>{"partition [server-1] | [agent-*]",
                                        "kill_container wordpress/web/1", "heal all"});
  // The simulated run ends at 62 s, in microseconds.
  CHECK(last_ts <= 62e6);
  CHECK(last_ts > 61e6);

  const std::string dot = read_text(tmp / "t.dot");
  CHECK(dot.rfind("digraph happens_before {", 0) == 0);
  CHECK(dot.find("label=\"server-1\"") != std::string::npos);
  CHECK(dot.find("[style=dashed") != std::string::npos);
}

TEST_CASE("export refuses bad input with one line and exit 2") {
  TmpDir tmp;
  { std::ofstream(tmp / "junk.jsonl") << "not a trace\n"; }
  Cmd c = stampede_cmd("export junk.jsonl --perfetto out.json", tmp.path.string());
  CHECK(c.rc == 2);
  CHECK(count_lines(c.err) == 1);
  CHECK_FALSE(std::filesystem::exists(tmp / "out.json"));
  make_trace(tmp);
  c = stampede_cmd("export t.jsonl", tmp.path.string());
  CHECK(c.rc == 2);
  c = stampede_cmd("export t.jsonl --dot w.dot --from 61s --to 62s", tmp.path.string());
  CHECK(c.rc == 0);
  CHECK(read_text(tmp / "w.dot").find("#1 start") == std::string::npos);  // before the window
}
