#include "sim/trace/trace.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stampede {

using json = nlohmann::json;

static std::string hex_or_fail(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string())
    throw TraceError(fmt::format("{}: expected a string field '{}'", where, key));
  return j[key].get<std::string>();
}

static std::uint64_t parse_hex(const std::string& s, const std::string& where, const char* key) {
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw TraceError(fmt::format("{}: '{}' must be 16 hex digits, got '{}'", where, key, s));
  return std::stoull(s, nullptr, 16);
}

// The header line: the format, the version and engine that wrote it (which must be the ones
// expected here), the scenario and the seed.
static TraceHeader read_header(const json& j, const std::string& where,
                               const std::string& expected_version,
                               const std::vector<std::string>& engines) {
  TraceHeader h;
  if (j.value("trace", "") != "stampede")
    throw TraceError(where + ": not a stampede trace (the first line has no \"trace\": \"stampede\")");
  h.format = j.at("format").get<int>();
  if (h.format != k_trace_format)
    throw TraceError(fmt::format("{}: trace format {} is not supported (this stampede reads {})",
                                 where, h.format, k_trace_format));
  h.version = j.at("version").get<std::string>();
  if (h.version != expected_version)
    throw TraceError(fmt::format(
        "{}: trace written by stampede {}, this is {}: re-record it with this version", where,
        h.version, expected_version));
  h.engine = j.at("engine").get<std::string>();
  if (std::find(engines.begin(), engines.end(), h.engine) == engines.end())
    throw TraceError(fmt::format("{}: engine '{}' is not read here (expected {})", where,
                                 h.engine, fmt::join(engines, " or ")));
  h.platform = j.value("platform", "");
  if (j.contains(h.engine)) h.extension_json = j.at(h.engine).dump();
  h.scenario_file = j.at("scenario_file").get<std::string>();
  h.scenario_text = j.at("scenario").get<std::string>();
  h.overrides = j.at("overrides").get<std::vector<std::string>>();
  h.seed = j.at("seed").get<std::uint64_t>();
  return h;
}

static TraceStep read_step(const json& j, const std::string& where, int line_no) {
  TraceStep s;
  s.index = j.at("i").get<std::uint64_t>();
  s.line = line_no;
  s.time_ns = j.at("t").get<std::int64_t>();
  auto kind = step_kind_from_name(j.at("k").get<std::string>());
  if (!kind) throw TraceError(where + ": unknown step kind '" + j.at("k").get<std::string>() + "'");
  s.kind = *kind;
  s.node = j.value("n", "");
  s.from = j.value("f", "");
  s.message = j.value("m", "");
  s.rolling_hash = parse_hex(hex_or_fail(j, "h", where), where, "h");
  if (j.contains("c")) s.choice = j.at("c").get<std::int64_t>();
  return s;
}

// The kernel writes steps in order; the SimGrid engine's actors can report a step after a
// later one began, so order by index and require every index from 1 to N exactly once.
static void check_step_order(Trace& t, const std::string& path, int line_no) {
  std::stable_sort(t.steps.begin(), t.steps.end(),
                   [](const TraceStep& a, const TraceStep& b) { return a.index < b.index; });
  for (std::size_t k = 0; k < t.steps.size(); ++k)
    if (t.steps[k].index != k + 1)
      throw TraceError(fmt::format("{}:{}:1: step {} is {}: steps must number 1 to N once each",
                                   path, t.steps[k].line, t.steps[k].index,
                                   t.steps[k].index <= k ? "repeated" : "missing its predecessor"));
  if (t.end.steps != t.steps.size())
    throw TraceError(fmt::format("{}:{}:1: the end record counts {} steps but the trace holds {}",
                                 path, line_no, t.end.steps, t.steps.size()));
}

Trace read_trace(const std::string& path, const std::string& expected_version,
                 const std::vector<std::string>& engines) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw TraceError(fmt::format("{}:1:1: is a directory, not a trace file", path));
  std::ifstream in(path);
  if (!in) throw TraceError(fmt::format("{}:1:1: cannot open the trace file", path));
  Trace t;
  std::string line;
  int line_no = 0;
  bool have_header = false, have_end = false;
  while (std::getline(in, line)) {
    ++line_no;
    std::string where = fmt::format("{}:{}:1", path, line_no);
    if (line.empty()) continue;
    if (have_end) throw TraceError(where + ": unexpected line after the end record");
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      throw TraceError(fmt::format("{}:{}:{}: not valid JSON (a truncated or edited trace?)", path,
                                   line_no, e.byte == 0 ? 1 : e.byte));
    }
    if (!j.is_object()) throw TraceError(where + ": expected a JSON object");
    try {
      if (!have_header) {
        t.header = read_header(j, where, expected_version, engines);
        have_header = true;
        continue;
      }
      if (j.contains("end")) {
        t.end.steps = j.at("steps").get<std::uint64_t>();
        t.end.digest = parse_hex(hex_or_fail(j, "digest", where), where, "digest");
        t.end.passed = j.at("verdict").get<std::string>() == "pass";
        have_end = true;
        continue;
      }
      t.steps.push_back(read_step(j, where, line_no));
    } catch (const json::exception& e) {
      throw TraceError(fmt::format("{}: missing or mistyped field ({})", where, e.what()));
    }
  }
  if (!have_header) throw TraceError(fmt::format("{}:1:1: empty trace: no header line", path));
  if (!have_end)
    throw TraceError(fmt::format("{}:{}:1: truncated trace: no end record after step {}", path,
                                 line_no + 1, t.steps.size()));
  check_step_order(t, path, line_no);
  return t;
}

TraceWriter::TraceWriter(std::string path, TraceHeader header)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp") {
  out_.open(tmp_path_, std::ios::trunc);
  if (!out_)
    throw TraceError(fmt::format("{}: cannot write the trace ({}): expected a file in an "
                                 "existing, writable folder",
                                 path_, std::strerror(errno)));
  json h = {{"trace", "stampede"},         {"format", header.format},
            {"version", header.version},   {"engine", header.engine},
            {"scenario_file", header.scenario_file}, {"seed", header.seed},
            {"overrides", header.overrides}, {"scenario", header.scenario_text}};
  if (!header.platform.empty()) h["platform"] = header.platform;
  out_ << h.dump() << '\n';
}

TraceWriter::~TraceWriter() {
  if (!committed_) {
    out_.close();
    std::remove(tmp_path_.c_str());
  }
}

void TraceWriter::on_world(const WorldView& world) { world_ = &world; }

void TraceWriter::on_step(const StepInfo& s) {
  // Written by hand: this runs once per step and nlohmann's DOM would dominate the run's time.
  out_ << "{\"i\":" << s.index << ",\"t\":" << s.time_ns << ",\"k\":\"" << step_kind_name(s.kind)
       << '"';
  if (s.node != k_no_node) {
    out_ << ",\"n\":" << json(std::string(world_->node_name(s.node))).dump();
    if (s.kind == StepKind::deliver) {
      out_ << ",\"f\":" << json(std::string(world_->node_name(s.from))).dump() << ",\"m\":"
           << json(std::string(world_->node(s.node).message_name(s.msg_type))).dump();
    }
  }
  out_ << ",\"h\":\"" << hex64(s.rolling_hash) << "\"}\n";
}

void TraceWriter::commit(const TraceEnd& end) {
  json e = {{"end", true},
            {"steps", end.steps},
            {"digest", hex64(end.digest)},
            {"verdict", end.passed ? "pass" : "fail"}};
  out_ << e.dump() << '\n';
  out_.close();
  if (!out_) throw std::runtime_error(fmt::format("{}: writing the trace failed", tmp_path_));
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    throw std::runtime_error(fmt::format("{}: cannot rename the trace into place", path_));
  committed_ = true;
}

std::string describe_step(const TraceStep& s) {
  std::string text = fmt::format("step {} at {} ({} ns): {}", s.index, format_duration(s.time_ns),
                                 s.time_ns, step_kind_name(s.kind));
  if (!s.node.empty()) text += " " + s.node;
  if (!s.from.empty()) text += " <- " + s.from + " " + s.message;
  return text;
}

ReplayComparer::ReplayComparer(const Trace& trace, bool verbose) : trace_(trace), verbose_(verbose) {}

void ReplayComparer::on_step(const StepInfo& step) {
  if (diverged_) return;
  TraceStep got;
  got.index = step.index;
  got.time_ns = step.time_ns;
  got.kind = step.kind;
  if (step.node != k_no_node) got.node = std::string(world_->node_name(step.node));
  if (step.kind == StepKind::deliver) {
    got.from = std::string(world_->node_name(step.from));
    got.message = std::string(world_->node(step.node).message_name(step.msg_type));
  }
  got.rolling_hash = step.rolling_hash;
  if (step.index > trace_.steps.size()) {
    diverged_ = true;
    divergence_ = fmt::format("the replay goes on past the trace's last step {}: {}",
                              trace_.steps.size(), describe_step(got));
    return;
  }
  const TraceStep& want = trace_.steps[step.index - 1];
  ++compared_;
  if (verbose_) std::printf("%s  %s\n", describe_step(got).c_str(), hex64(got.rolling_hash).c_str());
  if (want.rolling_hash != got.rolling_hash) {
    diverged_ = true;
    divergence_ = fmt::format("diverged at step {}: recorded {} (hash {}), replay did {} (hash {})",
                              step.index, describe_step(want), hex64(want.rolling_hash),
                              describe_step(got), hex64(got.rolling_hash));
  }
}

}  // namespace stampede
