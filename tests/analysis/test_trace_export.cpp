#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "analysis/trace_export.hpp"
#include "cli_helpers.hpp"
#include "tests/tmpdir.hpp"

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

namespace {

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// The step numbers of a DOT's vertices ("s123 [label=...").
std::vector<long> dot_vertices(const std::string& dot) {
  std::vector<long> out;
  std::istringstream in(dot);
  std::string line;
  while (std::getline(in, line)) {
    auto p = line.find_first_not_of(' ');
    if (p == std::string::npos || line[p] != 's' || line.find(" [label=") == std::string::npos)
      continue;
    out.push_back(std::stol(line.substr(p + 1)));
  }
  return out;
}

}  // namespace

TEST_CASE("a window of steps, time and nodes bounds the DOT of a long run") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  REQUIRE(stampede_cmd(std::string("run ") + SOURCE_DIR +
                           "/scenarios/server-stop.yaml --quiet --trace t.jsonl", d).rc == 0);
  Cmd c = stampede_cmd("export t.jsonl --dot all.dot", d);
  REQUIRE(c.rc == 0);
  CHECK(count_of(read_text(tmp / "all.dot"), " -> ") > 30000);  // the whole run: unreadable

  c = stampede_cmd("export t.jsonl --from step:1000 --to step:1400 --dot w.dot --perfetto w.json", d);
  INFO(c.out << c.err);
  REQUIRE(c.rc == 0);
  const std::string w = read_text(tmp / "w.dot");
  const auto vs = dot_vertices(w);
  CHECK(vs.size() == 401);
  CHECK(*std::min_element(vs.begin(), vs.end()) == 1000);
  CHECK(*std::max_element(vs.begin(), vs.end()) == 1400);
  // Program order and messages: at most two edges into each step.
  CHECK(count_of(w, " -> ") <= 2 * 401);
  CHECK(count_of(w, "style=dashed") > 20);
  const auto trace = nlohmann::json::parse(read_text(tmp / "w.json"));
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X") CHECK((e["args"]["step"] >= 1000 && e["args"]["step"] <= 1400));

  // Nodes: only server-* lanes (and the faults) remain, and a time window cuts further.
  c = stampede_cmd("export t.jsonl --from 30s --to 40s --nodes 'server-*,agent-1' --dot n.dot", d);
  INFO(c.out << c.err);
  REQUIRE(c.rc == 0);
  const std::string n = read_text(tmp / "n.dot");
  std::smatch m;
  std::string rest = n;
  int clusters = 0;
  while (std::regex_search(rest, m, std::regex("label=\"([^\"]+)\";\n"))) {
    const std::string label = m[1];
    if (label.find(" seed ") == std::string::npos) {
      ++clusters;
      CHECK((label.rfind("server-", 0) == 0 || label == "agent-1" || label == "(faults)"));
    }
    rest = m.suffix();
  }
  CHECK(clusters >= 2);
  CHECK(dot_vertices(n).size() < dot_vertices(read_text(tmp / "all.dot")).size() / 10);
}

TEST_CASE("a run trace with a failed expectation is drawn around the violation by default") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  const Cmd r = stampede_cmd(std::string("run ") + SOURCE_DIR +
                                 "/scenarios/agent-partition.yaml --quiet --set duration=110s --set faults.2.at=110s "
                                 "--set 'expect=[{at: 100s, host_state: {host: agent-1, is: "
                                 "active}}]' --trace t.jsonl",
                             d);
  REQUIRE(r.rc == 1);
  Cmd c = stampede_cmd("export t.jsonl --dot v.dot --perfetto v.json", d);
  INFO(c.out << c.err);
  REQUIRE(c.rc == 0);
  CHECK(c.out.find("around the violation at step") != std::string::npos);
  const std::string dot = read_text(tmp / "v.dot");
  const auto vs = dot_vertices(dot);
  CHECK(vs.size() == 221);  // 200 steps before it, 20 after
  CHECK(count_of(dot, "color=red, penwidth=3") == 1);
  CHECK(dot.find("violated at 100.000000s: {at: 100s") != std::string::npos);
  const auto trace = nlohmann::json::parse(read_text(tmp / "v.json"));
  int marks = 0;
  for (const auto& e : trace["traceEvents"])
    if (e.value("cat", "") == "violation") {
      ++marks;
      CHECK(e["ts"] == 100e6);
    }
  CHECK(marks == 1);
  // --from gives the whole rest of the run instead.
  c = stampede_cmd("export t.jsonl --from 0s --dot all.dot", d);
  REQUIRE(c.rc == 0);
  CHECK(c.out.find("around the violation") == std::string::npos);
  CHECK(dot_vertices(read_text(tmp / "all.dot")).size() > 1000);
}

TEST_CASE("export reads the explorer's counterexamples and shrunk traces, with their faults and violation") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  const std::string lease = std::string(SOURCE_DIR) + "/scenarios/known-bugs/lease-lock.yaml";
  REQUIRE(stampede_cmd("explore " + lease + " --strategy dfs --quiet --out cex.jsonl", d).rc == 1);
  REQUIRE(stampede_cmd("shrink cex.jsonl --out small.jsonl", d).rc == 0);
  for (const char* t : {"cex.jsonl", "small.jsonl"}) {
    Cmd c = stampede_cmd(fmt::format("export {} --dot x.dot --perfetto x.json --html x.html", t), d);
    INFO(t << c.out << c.err);
    REQUIRE(c.rc == 0);
    const std::string dot = read_text(tmp / "x.dot");
    CHECK(dot.find("violated: {never: lease_lock.stale_write}") != std::string::npos);
    CHECK(count_of(dot, "color=red, penwidth=3") == 1);
    const std::string html = read_text(tmp / "x.html");
    CHECK(html.find("\"property\":\"{never: lease_lock.stale_write}\"") != std::string::npos);
  }

  // replay --log of an explorer trace prints the re-run's log lines.
  Cmd info = stampede_cmd("replay cex.jsonl --log info", d);
  Cmd debug = stampede_cmd("replay cex.jsonl --log debug", d);
  REQUIRE(info.rc == 0);
  CHECK(count_lines(info.out) > count_lines(stampede_cmd("replay cex.jsonl", d).out) + 5);
  CHECK(count_lines(debug.out) >= count_lines(info.out));
}

TEST_CASE("bad window flags are one line and exit 2, before any file is written") {
  TmpDir tmp;
  make_trace(tmp);
  for (const char* flags :
       {"--from step:x", "--from step:", "--to 12", "--from step:-3", "--from 10s --to 5s",
        "--from step:50 --to step:10", "--nodes 'nosuch-*'", "--to soon"}) {
    Cmd c = stampede_cmd(fmt::format("export t.jsonl {} --dot o.dot", flags), tmp.path.string());
    INFO(flags << ": " << c.err);
    CHECK(c.rc == 2);
    CHECK(count_lines(c.err) == 1);
    CHECK(c.err.find("export --") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(tmp / "o.dot"));
  }
}

TEST_CASE("export re-runs a SimGrid trace on SimGrid, and its re-run matches the trace") {
  TmpDir tmp;
  const std::string d = tmp.path.string();
  REQUIRE(stampede_cmd(std::string("run ") + SOURCE_DIR +
                           "/scenarios/agent-partition.yaml --engine simgrid --quiet "
                           "--set duration=62s --set faults.1.at=61s --set faults.2.at=62s "
                           "--set 'expect=[]' --trace sg.jsonl",
                       d).rc == 0);
  const Cmd c = stampede_cmd("export sg.jsonl --from 61s --dot sg.dot --html sg.html", d);
  INFO(c.out << c.err);
  REQUIRE(c.rc == 0);
  CHECK(c.err.find("warning") == std::string::npos);  // the log lines cover the whole trace
  CHECK(count_of(read_text(tmp / "sg.dot"), "style=dashed") > 20);
  const std::string html = read_text(tmp / "sg.html");
  CHECK(html.find("engine simgrid") != std::string::npos);
  CHECK(html.find("\"logs\":[{") != std::string::npos);  // the SimGrid re-run's log lines
}
