// The `stampede` command as users meet it: exit codes, one-line errors for every class of bad
// input (no crash, no partial output), traces that replay, and replays that name a divergence.
#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/tmpdir.hpp"

namespace {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The test process's own folder, emptied when made and removed at exit (tests/tmpdir.hpp says
// why both matter).
std::string temp_dir() {
  static const TmpDir dir("cli-test");
  return dir.path.string();
}

Result stampede(const std::string& args) {
  std::string out = temp_dir() + "/out.txt", err = temp_dir() + "/err.txt";
  std::string cmd = fmt::format("cd '{}' && '{}' {} >'{}' 2>'{}'", SOURCE_DIR, STAMPEDE_BIN, args, out, err);
  int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string fixture(const std::string& name) { return std::string(FIXTURES) + "/" + name; }

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A bad-input error: exit 2, one line on stderr naming FILE:LINE:COL, nothing on stdout.
void require_input_error(const Result& r, const std::string& file, const std::string& needle) {
  INFO("stderr: " << r.err << "stdout: " << r.out);
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.out.empty());
  CHECK(std::regex_search(r.err, std::regex("^" + std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + R"(:\d+:\d+: )")));
  CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("a valid scenario runs and prints expectations, metrics, digest and verdict", "[cli]") {
  Result r = stampede("run " + fixture("valid.yaml"));
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("✓") != std::string::npos);
  CHECK(r.out.find("digest") != std::string::npos);
  CHECK(r.out.find("availability:wordpress/lb") != std::string::npos);
  CHECK(r.out.find("verdict   PASS") != std::string::npos);
}

TEST_CASE("faults can target the ZooKeeper model's own clients, zkclient-N and zkprobe", "[cli]") {
  const std::string path = temp_dir() + "/zk-clients.yaml";
  std::ofstream(path) << R"(name: zk-clients
duration: 30s
cluster:
  servers: 1
  zookeeper: 3
  timing: {zk_lock_clients: 1, zk_probe_interval: 100ms, zk_session_timeout: 4s}
faults:
  - {at: 5s, pause: {node: zkclient-1, for: 15s}}
  - {at: 6s, crash: zkprobe}
)";
  Result r = stampede("run " + path + " --log debug");
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  // The paused lock client's session expires: the fault reached it.
  CHECK(r.out.find("pause zkclient-1 for 15s") != std::string::npos);
  CHECK(r.out.find("Expiring session") != std::string::npos);
  CHECK(r.out.find("crash zkprobe") != std::string::npos);
}

namespace {

// Two HA servers without ZooKeeper or agents, the external db and one dbclient (commit every
// 3 s: a 2 s hold, 1 s idle), with the db's wait_timeout given as `wait_timeout_line`.
std::string db_client_scenario(const std::string& wait_timeout_line) {
  return R"(name: db-clients
duration: 30s
cluster:
  servers: 2
  database: {external: true)" +
         wait_timeout_line + R"(}
  zookeeper: 0
  agents: 0
  timing: {db_clients: 1, db_client_hold: 2s, db_client_idle: 1s, agent_ping_interval: 1h,
           process_replay_interval: 1h}
faults:
  - {at: 5s, crash: dbclient-1}
  - {at: 8s, restart: dbclient-1}
  - {at: 15s, pause: {node: dbclient-1, for: 8s}}
)";
}

}  // namespace

TEST_CASE("faults can target dbclient-N: a crash rolls back its open transaction, a pause idles it",
          "[cli]") {
  const std::string path = temp_dir() + "/db-clients.yaml";
  std::ofstream(path) << db_client_scenario(", wait_timeout: 3s");
  Result r = stampede("run " + path + " --log debug");
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  // Transaction 1 commits at 3 s; transaction 2 is open (held 4-6 s) when the crash comes: the db
  // reads the closed connection and rolls it back, so after the restart only row 1 is there.
  CHECK(r.out.find("crash dbclient-1") != std::string::npos);
  CHECK(r.out.find("connections of dbclient-1 closed by the client") != std::string::npos);
  CHECK(r.out.find("rows of dbclient-1 present: 1\n") != std::string::npos);
  CHECK(r.out.find("rows of dbclient-1 present: 1,3\n") != std::string::npos);
  // The pause outlasts the 3 s wait_timeout: the db closes the idle connection, and the resumed
  // client's next statement fails.
  CHECK(r.out.find("pause dbclient-1 for 8s") != std::string::npos);
  CHECK(r.out.find("host: 'dbclient-1' (Got timeout reading communication packets)") !=
        std::string::npos);
  CHECK(r.out.find("read failed: ERROR 2013") != std::string::npos);
}

TEST_CASE("database.wait_timeout is the db's idle limit, the same setting as db_wait_timeout",
          "[cli]") {
  const std::string keyed = temp_dir() + "/db-wait-key.yaml";
  const std::string timed = temp_dir() + "/db-wait-timing.yaml";
  const std::string plain = temp_dir() + "/db-wait-default.yaml";
  std::ofstream(keyed) << db_client_scenario(", wait_timeout: 3s");
  std::ofstream(plain) << db_client_scenario("");
  std::string with_timing = db_client_scenario("");
  with_timing.replace(with_timing.find("{db_clients: 1,"), 15,
                      "{db_clients: 1, db_wait_timeout: 3s,");
  std::ofstream(timed) << with_timing;
  Result a = stampede("run " + keyed);
  Result b = stampede("run " + timed);
  Result c = stampede("run " + plain + " --log debug");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  REQUIRE(c.code == 0);
  // The key and the timing give the same run; with neither, the 8 h default never closes the
  // paused client's connection.
  auto digest = [](const std::string& out) { return out.substr(out.find("digest")); };
  CHECK(digest(a.out) == digest(b.out));
  CHECK(digest(a.out) != digest(c.out));
  CHECK(c.out.find("Got timeout reading communication packets") == std::string::npos);
  // Both at once is refused.
  std::string both = db_client_scenario(", wait_timeout: 3s");
  both.replace(both.find("{db_clients: 1,"), 15, "{db_clients: 1, db_wait_timeout: 3s,");
  std::ofstream(timed) << both;
  Result d = stampede("run " + timed);
  CHECK(d.code == 2);
  CHECK((d.out + d.err).find("database.wait_timeout and the timing db_wait_timeout are the same "
                            "setting") !=
        std::string::npos);
}

TEST_CASE("malformed YAML is one line with file:line:col and exit 2", "[cli][bad-input]") {
  require_input_error(stampede("run " + fixture("malformed.yaml")), fixture("malformed.yaml"), "");
}

TEST_CASE("an unknown key is named with the nearest valid spelling", "[cli][bad-input]") {
  require_input_error(stampede("run " + fixture("unknown-key.yaml")), fixture("unknown-key.yaml"),
                      "agents");
}

TEST_CASE("a value of the wrong type is named", "[cli][bad-input]") {
  require_input_error(stampede("run " + fixture("wrong-type.yaml")), fixture("wrong-type.yaml"),
                      "two");
}

TEST_CASE("a bad duration and a bad rate are named", "[cli][bad-input]") {
  require_input_error(stampede("run " + fixture("bad-duration.yaml")), fixture("bad-duration.yaml"),
                      "30 secs");
  require_input_error(stampede("run " + fixture("bad-rate.yaml")), fixture("bad-rate.yaml"),
                      "5/fortnight");
}

TEST_CASE("unknown node and container names are named", "[cli][bad-input]") {
  require_input_error(stampede("run " + fixture("unknown-node.yaml")), fixture("unknown-node.yaml"),
                      "server-9");
  require_input_error(stampede("run " + fixture("unknown-container.yaml")),
                      fixture("unknown-container.yaml"), "wordpress/web/3");
}

TEST_CASE("a set override on a path that does not exist names the flag, with a suggestion", "[cli][bad-input]") {
  Result r = stampede("run " + fixture("valid.yaml") + " --set cluster.agnets=3");
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("--set") != std::string::npos);
  CHECK(r.err.find("agents") != std::string::npos);
}

TEST_CASE("bad flags and a missing scenario file exit 2 with one line", "[cli][bad-input]") {
  Result r = stampede("run " + fixture("valid.yaml") + " --seed banana");
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  r = stampede("run /nonexistent/nothing.yaml");
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("/nonexistent/nothing.yaml:1:1:") == 0);
  r = stampede("frobnicate");
  CHECK(r.code == 2);
}

TEST_CASE("an unknown scenario name is one line naming every folder looked in, exit 2",
          "[cli][bad-input][lookup]") {
  Result r = stampede("run no-such-scenario");
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("no scenario named 'no-such-scenario'") != std::string::npos);
  CHECK(r.err.find(std::string(SOURCE_DIR) + "/scenarios") != std::string::npos);
  CHECK(r.err.find("share/stampede/scenarios") != std::string::npos);
}

TEST_CASE("a name finds a scenario in a subfolder of scenarios/, with or without the folder",
          "[cli][lookup]") {
  Result bare = stampede("run lease-lock --quiet");
  Result folder = stampede("run known-bugs/lease-lock --quiet");
  INFO(bare.err << folder.err);
  CHECK(bare.code == 0);
  CHECK(folder.code == 0);
  CHECK(bare.out.find("stampede run lease-lock") == 0);
  std::smatch a, b;
  REQUIRE(std::regex_search(bare.out, a, std::regex("digest +[0-9a-f]+")));
  REQUIRE(std::regex_search(folder.out, b, std::regex("digest +[0-9a-f]+")));
  CHECK(a.str() == b.str());
}

TEST_CASE("the field issues resolve like the known bugs, and `list` names both folders' scenarios",
          "[cli][lookup]") {
  Result bare = stampede("run rancher-5395-host-wait-too-short --quiet");
  Result folder = stampede("run field-issues/rancher-5395-host-wait-too-short --quiet");
  INFO(bare.err << folder.err);
  CHECK(bare.code == 0);
  CHECK(folder.code == 0);
  CHECK(bare.out.find("stampede run rancher-5395-host-wait-too-short") == 0);
  std::smatch a, b;
  REQUIRE(std::regex_search(bare.out, a, std::regex("digest +[0-9a-f]+")));
  REQUIRE(std::regex_search(folder.out, b, std::regex("digest +[0-9a-f]+")));
  CHECK(a.str() == b.str());
  // `stampede list` shows a subfolder's scenarios by the name they run under, folder included.
  Result list = stampede("list");
  CHECK(list.code == 0);
  CHECK(list.out.find("\nha-startup ") != std::string::npos);
  CHECK(list.out.find("\nfield-issues/rancher-5395-host-wait-too-short ") != std::string::npos);
  CHECK(list.out.find("\nknown-bugs/lease-lock ") != std::string::npos);
  CHECK(list.out.find(".hosts") == std::string::npos);
}

TEST_CASE("an installed stampede finds scenarios by name from any working directory",
          "[cli][lookup][install]") {
  // `cmake --install` into a fresh prefix puts the binary in PREFIX/bin and the scenarios in
  // PREFIX/share/stampede/scenarios; run from a folder with no scenarios/, the name must
  // resolve to the installed copy and nothing of the source tree.
  auto prefix = std::filesystem::path(temp_dir()) / "prefix";
  auto elsewhere = std::filesystem::path(temp_dir()) / "elsewhere";
  std::filesystem::remove_all(prefix);
  std::filesystem::create_directories(elsewhere);
  std::string install = fmt::format("'{}' --install '{}' --prefix '{}' >/dev/null", CMAKE_COMMAND,
                                    BUILD_DIR, prefix.string());
  REQUIRE(std::system(install.c_str()) == 0);
  REQUIRE(std::filesystem::exists(prefix / "share/stampede/scenarios/agent-partition.yaml"));
  std::string out = (elsewhere / "out.txt").string(), err = (elsewhere / "err.txt").string();
  std::string cmd = fmt::format("cd '{}' && '{}' run agent-partition --quiet >'{}' 2>'{}'",
                                elsewhere.string(), (prefix / "bin/stampede").string(), out, err);
  int status = std::system(cmd.c_str());
  INFO(slurp(err));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(out).find("verdict   PASS") != std::string::npos);
  cmd = fmt::format("cd '{}' && '{}' run no-such-scenario >'{}' 2>'{}'", elsewhere.string(),
                    (prefix / "bin/stampede").string(), out, err);
  status = std::system(cmd.c_str());
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(slurp(err).find((prefix / "share/stampede/scenarios").string()) != std::string::npos);
  CHECK(slurp(err).find(std::string(SOURCE_DIR)) == std::string::npos);
  std::filesystem::remove_all(prefix);
}

TEST_CASE("a recorded trace replays to the same digest and a tampered one names the step", "[cli][trace]") {
  std::string trace = temp_dir() + "/valid.trace.jsonl";
  Result run = stampede("run " + fixture("valid.yaml") + " --seed 3 --trace " + trace);
  REQUIRE(run.code == 0);
  REQUIRE(std::filesystem::exists(trace));
  CHECK_FALSE(std::filesystem::exists(trace + ".tmp"));
  Result replay = stampede("replay " + trace);
  INFO(replay.out << replay.err);
  CHECK(replay.code == 0);
  CHECK(replay.out.find("digest") != std::string::npos);

  // Change the rolling hash of step 40: the replay must stop there and name it.
  std::ifstream in(trace);
  std::string line, text;
  while (std::getline(in, line)) {
    if (line.rfind("{\"i\":40,", 0) == 0) {
      auto h = line.find("\"h\":\"");
      line[h + 5] = line[h + 5] == '0' ? '1' : '0';
    }
    text += line + "\n";
  }
  std::string tampered = temp_dir() + "/tampered.trace.jsonl";
  std::ofstream(tampered) << text;
  Result bad = stampede("replay " + tampered);
  CHECK(bad.code == 1);
  CHECK(bad.out.find("diverged at step 40") != std::string::npos);
}

// The lines of a printed timeline: from the line starting with `heading` to the next blank line.
std::vector<std::string> timeline_lines(const std::string& out, const std::string& heading) {
  std::vector<std::string> lines_out;
  std::istringstream in(out);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line.rfind(heading, 0) == 0;
      continue;
    }
    if (line.empty()) break;
    lines_out.push_back(line);
  }
  return lines_out;
}

TEST_CASE("replay --log info and debug print the model's log lines as run --log does", "[cli][trace]") {
  const std::string trace = temp_dir() + "/log.trace.jsonl";
  const std::string scenario =
      "scenarios/agent-partition.yaml --set duration=70s --set faults.1.at=65s --set faults.2.at=70s "
      "--set 'expect=[]'";
  for (const char* level : {"info", "debug"}) {
    Result run = stampede(fmt::format("run {} --log {} --trace {}", scenario, level, trace));
    REQUIRE(run.code == 0);
    Result replay = stampede(fmt::format("replay {} --log {}", trace, level));
    INFO(replay.out << replay.err);
    REQUIRE(replay.code == 0);
    const auto ran = timeline_lines(run.out, "timeline");
    const auto replayed = timeline_lines(replay.out, "timeline (the re-run's");
    CHECK(ran.size() > 20);
    CHECK(replayed == ran);
    // A line as `run` prints it: clock, node, text.
    CHECK(std::regex_search(replayed.front(), std::regex(R"(^  +\d+:\d\d\.\d\d\d  \S)")));
  }
  // Debug shows more than info, and plain replay no timeline at all.
  const auto debug = timeline_lines(stampede("replay " + trace + " --log debug").out, "timeline (");
  const auto info = timeline_lines(stampede("replay " + trace + " --log info").out, "timeline (");
  CHECK(debug.size() > info.size());
  CHECK(stampede("replay " + trace).out.find("timeline") == std::string::npos);
  Result bad = stampede("replay " + trace + " --log verbose");
  CHECK(bad.code == 2);
  CHECK(lines(bad.err) == 1);
}

TEST_CASE("a truncated trace is bad input, not a crash, and one of another version is followed "
          "with a warning",
          "[cli][bad-input][trace]") {
  std::string trace = temp_dir() + "/short.trace.jsonl";
  REQUIRE(stampede("run " + fixture("valid.yaml") + " --trace " + trace).code == 0);
  std::string text = slurp(trace);
  // Cut the file in the middle of a line, as a killed writer would.
  std::string cut = temp_dir() + "/cut.trace.jsonl";
  std::ofstream(cut) << text.substr(0, text.size() / 2);
  Result r = stampede("replay " + cut);
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find(cut + ":") == 0);

  // Another version's trace is not refused: its seed and scenario are re-run with a warning
  // (docs/scenarios.md, "Traces"); here nothing changed, so every step matches.
  const std::string mine = std::string("\"version\":\"") + STAMPEDE_VERSION + "\"";
  REQUIRE(text.find(mine) != std::string::npos);
  std::string other_text = text;
  other_text.replace(other_text.find(mine), mine.size(), "\"version\":\"0.0.0-other\"");
  std::string other = temp_dir() + "/other.trace.jsonl";
  std::ofstream(other) << other_text;
  r = stampede("replay " + other);
  CHECK(r.code == 0);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("warning: " + other + " was written by stampede 0.0.0-other") !=
        std::string::npos);
  CHECK(r.out.find("✓ reproduced all") != std::string::npos);

  r = stampede("replay " + fixture("valid.yaml"));  // not a trace at all
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
}

TEST_CASE("list prints the registered names", "[cli]") {
  Result r = stampede("list invariants");
  CHECK(r.code == 0);
  CHECK(r.out.find("service.scale_exceeded") != std::string::npos);
  r = stampede("list timings");
  CHECK(r.code == 0);
  CHECK(r.out.find("agent_ping_interval") != std::string::npos);
  r = stampede("list scenarios");
  CHECK(r.code == 0);
  CHECK(r.out.find("agent-partition") != std::string::npos);
  // A subfolder's scenarios, by the name `stampede run` takes, and no platform host map.
  CHECK(r.out.find("field-issues/rancher-6334") != std::string::npos);
  CHECK(r.out.find("known-bugs/lease-lock") != std::string::npos);
  CHECK(r.out.find("does not load") == std::string::npos);
}

TEST_CASE("docs/reference.md names every timing, mechanism, invariant, metric, signal and event",
          "[cli][docs]") {
  std::string page = slurp(std::string(SOURCE_DIR) + "/docs/reference.md");
  REQUIRE(!page.empty());
  for (const char* what : {"timings", "mechanisms", "invariants", "metrics", "signals", "events"}) {
    Result r = stampede(std::string("list ") + what);
    REQUIRE(r.code == 0);
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      std::string name = line.substr(0, line.find(' '));
      INFO(what << ": " << name);
      CHECK(page.find("`" + name + "`") != std::string::npos);
    }
  }
}

TEST_CASE("docs/reference.md holds the current tables (scripts/reference-tables.sh rewrites them)",
          "[cli][docs]") {
  std::string page = slurp(std::string(SOURCE_DIR) + "/docs/reference.md");
  for (const char* what :
       {"timings", "mechanisms", "invariants", "metrics", "signals", "events", "logs"}) {
    Result r = stampede(std::string("list ") + what + " --markdown");
    REQUIRE(r.code == 0);
    REQUIRE(r.out.rfind("| name |", 0) == 0);
    INFO("the " << what << " table differs from `stampede list " << what
                << " --markdown`: run scripts/reference-tables.sh build/cli/stampede");
    CHECK(page.find("\n" + r.out + "\n") != std::string::npos);
  }
}

TEST_CASE("the README is a short path: under 200 lines, its first commands make demo and make test",
          "[cli][docs]") {
  std::string readme = slurp(std::string(SOURCE_DIR) + "/README.md");
  CHECK(lines(readme) < 200);
  auto block = readme.find("```sh\n");
  REQUIRE(block != std::string::npos);
  auto end = readme.find("```", block + 6);
  std::string first = readme.substr(block + 6, end - block - 6);
  CHECK(first.rfind("make demo ", 0) == 0);
  CHECK(first.find("\nmake test ") != std::string::npos);
  CHECK(lines(first) == 2);
  CHECK(block < readme.find("## "));  // on the first screen, before any section
}

TEST_CASE("a SimGrid run's trace replays on SimGrid to the same digest", "[cli][trace][simgrid]") {
  std::string trace = temp_dir() + "/simgrid.trace.jsonl";
  Result run = stampede("run " + fixture("valid.yaml") + " --engine simgrid --trace " + trace);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  CHECK(run.out.find("engine simgrid") != std::string::npos);
  Result replay = stampede("replay " + trace);
  INFO(replay.out << replay.err);
  CHECK(replay.code == 0);
  CHECK(replay.out.find("engine simgrid") != std::string::npos);
  CHECK(replay.out.find("✓ reproduced all") != std::string::npos);
}

TEST_CASE("the stampede binary does not load SimGrid, and hands a SimGrid run to stampede-simgrid",
          "[cli][simgrid][startup]") {
  // SimGrid and the ns-3 libraries it brings are not among the binary's dynamic dependencies.
  REQUIRE(std::system(fmt::format("readelf -d '{}' >'{}/needed.txt'", STAMPEDE_BIN,
                                   temp_dir()).c_str()) == 0);
  std::string needed = slurp(temp_dir() + "/needed.txt");
  REQUIRE(needed.find("NEEDED") != std::string::npos);
  CHECK(needed.find("simgrid") == std::string::npos);
  CHECK(needed.find("ns3") == std::string::npos);
  // Alone in a folder, the binary still runs the kernel, and says what is missing for SimGrid.
  std::string alone = temp_dir() + "/alone";
  std::filesystem::create_directories(alone);
  std::filesystem::copy_file(STAMPEDE_BIN, alone + "/stampede",
                             std::filesystem::copy_options::overwrite_existing);
  std::string out = temp_dir() + "/alone.out", err = temp_dir() + "/alone.err";
  auto run_alone = [&](const std::string& args) {
    int status = std::system(fmt::format("'{}/stampede' run '{}' --quiet {} >'{}' 2>'{}'", alone,
                                         fixture("valid.yaml"), args, out, err).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(run_alone("") == 0);
  CHECK(run_alone("--engine simgrid") == 3);
  std::string message = slurp(err);
  CHECK(lines(message) == 1);
  CHECK(message.find(alone + "/stampede-simgrid") != std::string::npos);
  CHECK(slurp(out).empty());
}

TEST_CASE("a platform without the simgrid engine, or a missing platform file, is bad input",
          "[cli][bad-input][simgrid]") {
  Result r = stampede("run " + fixture("valid.yaml") + " --platform scenarios/platforms/two-zones.xml");
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  r = stampede("run " + fixture("valid.yaml") + " --engine simgrid --platform /nonexistent.xml");
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("/nonexistent.xml") != std::string::npos);
}

namespace {

// A bad flag value: exit 2, one line on stderr naming the flag (or the word), nothing on stdout.
void require_flag_error(const Result& r, const std::string& flag, const std::string& needle) {
  INFO("stderr: " << r.err << "stdout: " << r.out);
  CHECK(r.code == 2);
  CHECK(lines(r.err) == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find(flag) != std::string::npos);
  CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("an unknown command is named with the commands and the nearest one", "[cli][bad-input]") {
  require_flag_error(stampede("rnu " + fixture("valid.yaml")), "unknown command 'rnu'",
                     "did you mean 'run'?");
  require_flag_error(stampede("frobnicate"), "unknown command 'frobnicate'", "run, replay");
}

TEST_CASE("a negative or overflowing seed is refused, not wrapped to 2^64-1", "[cli][bad-input]") {
  for (const char* seed : {"-1", "99999999999999999999", "18446744073709551616", "1e3"})
    require_flag_error(stampede(fmt::format("run {} --seed {}", fixture("valid.yaml"), seed)),
                       "--seed", "expected a seed");
  Result ok = stampede("run " + fixture("valid.yaml") + " --quiet --seed 18446744073709551615");
  CHECK(ok.code != 2);
  CHECK(ok.out.find("seed 18446744073709551615") != std::string::npos);
}

TEST_CASE("explore refuses negative counts and a sweep refuses an absurd --jobs", "[cli][bad-input]") {
  for (const char* flag : {"--depth", "--max-faults", "--max-steps", "--runs", "--delay-bound"})
    require_flag_error(stampede(fmt::format("explore {} {} -1", fixture("valid.yaml"), flag)), flag,
                       "expected a whole number");
  require_flag_error(stampede("explore " + fixture("valid.yaml") + " --seed -5"), "--seed",
                     "expected a seed");
  const std::string db = temp_dir() + "/jobs.db";
  require_flag_error(stampede(fmt::format("sweep {} --jobs 100000 --db {}", fixture("valid.yaml"),
                                          db)),
                     "--jobs 100000", "expected N from 1 to 512");
  CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("an unwritable --trace is bad input naming the path, and leaves nothing", "[cli][bad-input][trace]") {
  Result r = stampede("run " + fixture("valid.yaml") + " --trace /nonexistent-dir/x.trace.jsonl");
  require_flag_error(r, "/nonexistent-dir/x.trace.jsonl", "cannot write the trace");
}

TEST_CASE("run --trace stopped by SIGTERM or SIGINT leaves no FILE.tmp, and a stale one is replaced",
          "[cli][trace]") {
  for (const char* sig : {"TERM", "INT"}) {
    const std::string trace = temp_dir() + "/killed-" + sig + ".trace.jsonl";
    // The HA hour runs for seconds, so the signal lands while the trace is being written.
    std::string cmd = fmt::format(
        "cd '{}' && ('{}' run bench/scenarios/ha-cluster.yaml --quiet --trace '{}' >/dev/null "
        "2>&1 & p=$!; for i in $(seq 100); do [ -s '{}.tmp' ] && break; sleep 0.05; done; "
        "kill -{} $p; wait $p; echo $? > '{}.rc')",
        SOURCE_DIR, STAMPEDE_BIN, trace, trace, sig, trace, trace);
    REQUIRE(std::system(cmd.c_str()) == 0);
    INFO(sig);
    CHECK(std::stoi(slurp(trace + ".rc")) > 128);  // ended by the signal
    CHECK_FALSE(std::filesystem::exists(trace + ".tmp"));
    CHECK_FALSE(std::filesystem::exists(trace));
  }
  const std::string trace = temp_dir() + "/stale.trace.jsonl";
  { std::ofstream(trace + ".tmp") << "half a trace from a killed run\n"; }
  Result r = stampede("run " + fixture("valid.yaml") + " --quiet --trace " + trace);
  CHECK(r.code == 0);
  CHECK_FALSE(std::filesystem::exists(trace + ".tmp"));
  CHECK(slurp(trace).find("\"trace\":\"stampede\"") != std::string::npos);
  CHECK(slurp(trace).find("half a trace") == std::string::npos);
}

TEST_CASE("a trace whose header names its kind or engine with a number is bad input", "[cli][bad-input][trace]") {
  const std::string trace = temp_dir() + "/typed.trace.jsonl";
  REQUIRE(stampede("run " + fixture("valid.yaml") + " --quiet --trace " + trace).code == 0);
  const std::string text = slurp(trace);
  for (const std::string field : {"\"engine\":\"kernel\"", "\"trace\":\"stampede\""}) {
    std::string bad = text;
    REQUIRE(bad.find(field) != std::string::npos);
    bad.replace(bad.find(field), field.size(), field.substr(0, field.find(':') + 1) + "5");
    const std::string path = temp_dir() + "/mistyped.trace.jsonl";
    { std::ofstream(path, std::ios::trunc) << bad; }
    for (const char* cmd : {"replay ", "shrink "}) {
      Result r = stampede(cmd + path);
      INFO(cmd << field);
      require_input_error(r, path, "mistyped field");
    }
  }
}

TEST_CASE("what yaml-cpp would take but a scenario must not hold is one line with its position",
          "[cli][bad-input]") {
  // An unclosed quote would swallow every key after it, and the run would pass with no
  // expectations.
  require_input_error(stampede("run " + fixture("unterminated-quote.yaml")),
                      fixture("unterminated-quote.yaml"), "never closed");
  require_input_error(stampede("run " + fixture("two-documents.yaml")),
                      fixture("two-documents.yaml"), "a second YAML document");
  require_input_error(stampede("run " + fixture("anchor.yaml")), fixture("anchor.yaml"),
                      "anchors and aliases are not part of the scenario format");
  std::string deep = temp_dir() + "/deep.yaml";
  { std::ofstream(deep) << "name: deep\nduration: 1s\ncluster: " << std::string(100, '[')
                        << std::string(100, ']') << "\n"; }
  require_input_error(stampede("run " + deep), deep, "nesting deeper than 32 levels");
}

TEST_CASE("aliases in a --set value are refused before they expand", "[cli][bad-input]") {
  // Nine levels of nine aliases are 9^9 nodes once walked: refused from the text, at once.
  std::string bomb = "[&a0 [x,x,x,x,x,x,x,x,x]";
  for (int i = 1; i < 9; ++i) {
    bomb += fmt::format(", &a{} [*a{}", i, i - 1);
    for (int k = 1; k < 9; ++k) bomb += fmt::format(",*a{}", i - 1);
    bomb += "]";
  }
  bomb += "]";
  Result r = stampede("run " + fixture("valid.yaml") + " --set 'description=" + bomb + "'");
  require_flag_error(r, "--set description", "anchors and aliases");
}

TEST_CASE("an error whose value spans lines is still one line", "[cli][bad-input]") {
  std::string path = temp_dir() + "/multiline.yaml";
  { std::ofstream(path) << "name: |\n  two\n  lines\nduration: 1s\n"; }
  Result r = stampede("run " + path);
  require_input_error(r, path, "bad name");
  CHECK(r.err.find("two\\nlines") != std::string::npos);
}

TEST_CASE("a platform whose zones have no zoneRoute is bad input naming the hosts, not a segfault",
          "[cli][bad-input][simgrid]") {
  // No route at all in the Full zone (SimGrid indexed an empty table), then a zone left out of
  // the only zoneRoute (SimGrid followed null gateways).
  for (const auto& [platform, to] : {std::pair{"no-zone-route.xml", "host b-1 (zone 'zone-b')"},
                                     std::pair{"missing-zone-route.xml", "host c-1 (zone 'zone-c')"}}) {
    Result r = stampede("run " + fixture("valid.yaml") + " --engine simgrid --platform " +
                        fixture(platform));
    require_flag_error(r, "--platform " + fixture(platform), "no route from host a-1 (zone 'zone-a') to " + std::string(to));
    CHECK(r.err.find("expected a zoneRoute") != std::string::npos);
  }
}

namespace {

// A results database from a two-run sweep, then changed by a line of Python's sqlite3 (or by
// overwriting its pages with garbage when `python` is empty).
std::string bad_db(const std::string& name, const std::string& python) {
  const std::string db = temp_dir() + "/" + name + ".db";
  std::filesystem::remove(db);
  REQUIRE(stampede(fmt::format("sweep {} --seeds 2 --quiet --db {}", fixture("valid.yaml"), db)).code == 0);
  const std::string change =
      python.empty()
          ? "d=bytearray(open(p,'rb').read())\nfor i in range(4096,len(d),7): d[i]=0x5a\n"
            "open(p,'wb').write(d)"
          : "c=sqlite3.connect(p,isolation_level=None)\n" + python + "\nc.close()";
  const std::string script = fmt::format(
      "import sqlite3\np='{}'\nc=sqlite3.connect(p)\nc.execute('PRAGMA journal_mode=DELETE')\n"
      "c.close()\n{}\n",
      db, change);
  { std::ofstream(temp_dir() + "/bad_db.py", std::ios::trunc) << script; }
  REQUIRE(std::system(("/usr/bin/python3 " + temp_dir() + "/bad_db.py").c_str()) == 0);
  return db;
}

}  // namespace

TEST_CASE("a results database with a table or column missing, or corrupted pages, is refused untouched by sweep, report and merge",
          "[cli][bad-input][db]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {bad_db("no-column", "c.execute('ALTER TABLE runs DROP COLUMN wall_s')"), "table runs has no column wall_s"},
      {bad_db("no-table", "c.execute('DROP TABLE metrics')"), "table metrics is missing"},
      // Found by fuzz/fuzz_results_db (fuzz/corpus/results_db/issue16-schema-without-version.db):
      // the schema row's SELECT failed to prepare, an internal error, exit 3.
      {bad_db("no-version", "c.execute('DROP TABLE stampede_schema')\n"
                            "c.execute('CREATE TABLE stampede_schema (v INTEGER)')"),
       "table stampede_schema has no column version"},
      {bad_db("corrupted", ""), "the results database is corrupted"}};
  for (const auto& [db, needle] : cases) {
    const std::string before = slurp(db);
    const std::string into = temp_dir() + "/into.db", out = temp_dir() + "/bad-report";
    for (const std::string& cmd :
         {fmt::format("sweep {} --seeds 3 --quiet --db {}", fixture("valid.yaml"), db),
          fmt::format("report {} --out {}", db, out), fmt::format("merge {} --into {}", db, into)}) {
      INFO(cmd);
      require_flag_error(stampede(cmd), db, needle);
      CHECK(slurp(db) == before);
      CHECK_FALSE(std::filesystem::exists(into));
      CHECK_FALSE(std::filesystem::exists(out));
    }
    CHECK(stampede(fmt::format("report {} --out {}", db, out)).err.find("schema version") == std::string::npos);
  }
}

TEST_CASE("a results database locked by another process is one line after 10 s, and no report is left",
          "[cli][bad-input][db]") {
  // A sound database (the Python line changes nothing), held by a writer for 14 s.
  const std::string good = bad_db("locked", "pass");
  const std::string out = temp_dir() + "/locked-report";
  const std::string cmd = fmt::format(
      "/usr/bin/python3 -c \"import sqlite3,time\nc=sqlite3.connect('{}',isolation_level=None)\n"
      "c.execute('BEGIN EXCLUSIVE')\nc.execute('DELETE FROM metrics')\nopen('{}.held','w')\n"
      "time.sleep(14)\" & for i in $(seq 100); do [ -e '{}.held' ] && break; sleep 0.1; done",
      good, good, good);
  REQUIRE(std::system(cmd.c_str()) == 0);
  Result r = stampede(fmt::format("report {} --out {}", good, out));
  require_flag_error(r, good, "locked by another process");
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("report --availability of a metric no run recorded is refused with the nearest name, before any file",
          "[cli][bad-input][db]") {
  const std::string db = bad_db("availability", "pass");
  const std::string out = temp_dir() + "/availability-report";
  Result r = stampede(fmt::format("report {} --availability availability:wordpress/lbb --out {}", db, out));
  require_flag_error(r, "--availability availability:wordpress/lbb",
                     "did you mean 'availability:wordpress/lb'?");
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(stampede(fmt::format("report {} --availability availability:wordpress/lb --out {}", db, out)).code == 0);
}

TEST_CASE("a timing that would livelock at 0 is refused with its lower bound, and each default is in range",
          "[cli][bad-input][limits]") {
  // The timings that livelocked at 0 (issue 16: a run that never ended while its memory grew).
  for (const char* timing :
       {"agent_ping_interval", "process_replay_interval", "agent_connection_timeout",
        "agent_reconnect_delay", "zk_tick_time", "zk_finalize_wait", "db_validation_interval",
        "cm_heartbeat_interval", "cm_loop_interval", "docker_restart_backoff",
        "db_reconnect_backoff_min", "healthcheck_cleanup_interval", "db_eviction_interval"}) {
    const std::string flag = fmt::format("--set cluster.timing.{}", timing);
    Result r = stampede(fmt::format("run {} --quiet {}=0", fixture("valid.yaml"), flag));
    INFO(timing);
    require_flag_error(r, flag, "must be at least 1ms, got 0ns");
  }
  // 1ms is accepted, and every default lies in its printed range.
  CHECK(stampede("run " + fixture("valid.yaml") + " --quiet --set cluster.timing.agent_ping_interval=1ms")
            .code == 0);
  Result list = stampede("list timings --markdown");
  REQUIRE(list.code == 0);
  CHECK(list.out.find("| `agent_ping_interval` | 5s | 1ms..10000h |") != std::string::npos);
}

TEST_CASE("a count past what the engine can run is refused with its upper bound, before any node is built",
          "[cli][bad-input][limits]") {
  for (const auto& [set, needle] :
       {std::pair{"cluster.timing.lease_lock_clients=4294967297", "at most 1000"},
        std::pair{"cluster.timing.zk_lock_clients=100000000", "at most 1000"},
        std::pair{"cluster.timing.db_clients=1001", "at most 1000"},
        std::pair{"cluster.timing.db_pool_max_active=100001", "at most 100000"},
        std::pair{"cluster.timing.db_pool_max_active=0", "at least 1"},
        std::pair{"cluster.timing.zk_init_limit=0", "at least 1"},
        std::pair{"cluster.timing.zk_max_session_timeout=1000000", "at most 1000"},
        std::pair{"cluster.timing.agent_ping_instances_every=0", "at least 1"},
        std::pair{"cluster.timing.cm_wait_hosts_tries=1000001", "at most 1000000"},
        std::pair{"cluster.timing.lock_wait=10001h", "at most 10000h"}}) {
    INFO(set);
    const std::string key = std::string(set).substr(0, std::string(set).find('='));
    require_flag_error(stampede(fmt::format("run {} --quiet --set {}", fixture("valid.yaml"), set)),
                       "--set " + key, needle);
  }
}

TEST_CASE("a sweep of 10^9 points or 10^8 runs is refused before it allocates or writes anything",
          "[cli][bad-input][sweep]") {
  const std::string db = temp_dir() + "/huge.db";
  std::string axes;
  for (const char* t : {"lock_wait", "agent_ping_timeout", "agent_reply_timeout"}) {
    std::string values;
    for (int i = 1; i <= 1000; ++i) values += fmt::format("{}{}s", i == 1 ? "" : ",", i);
    axes += fmt::format(" --set cluster.timing.{}={}", t, values);
  }
  Result r = stampede(fmt::format("sweep {} --db {}{}", fixture("valid.yaml"), db, axes));
  require_flag_error(r, "--set cluster.timing.agent_ping_timeout", "more than 10000 points");
  CHECK_FALSE(std::filesystem::exists(db));
  r = stampede(fmt::format("sweep {} --db {} --seeds 100000 --set cluster.agents=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101",
                           fixture("valid.yaml"), db));
  require_flag_error(r, "--seeds 100000", "more than 10000000 runs");
  CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("a directory given as a scenario or a trace is called a directory, not empty",
          "[cli][bad-input]") {
  const std::string dir = temp_dir() + "/a-folder";
  std::filesystem::create_directories(dir);
  for (const char* cmd : {"run", "replay", "sweep"}) {
    INFO(cmd);
    Result r = stampede(fmt::format("{} {}", cmd, dir));
    require_input_error(r, dir, "is a directory");
  }
}

TEST_CASE("an invalid scenario embedded in a trace is reported in the trace, not at the on-disk file's position",
          "[cli][bad-input][trace]") {
  const std::string good = temp_dir() + "/embedded-good.jsonl", bad = temp_dir() + "/embedded-bad.jsonl";
  REQUIRE(stampede(fmt::format("run {} --quiet --trace {}", fixture("valid.yaml"), good)).code == 0);
  std::string text = slurp(good);
  const std::size_t at = text.find("duration: ");
  REQUIRE(at != std::string::npos);
  text = text.substr(0, at + 10) + "x" + text.substr(at + 10);  // "duration: x10m": not a duration
  std::ofstream(bad) << text;
  const std::string before = slurp(bad);
  Result r = stampede("replay " + bad);
  require_input_error(r, bad, "embedded scenario (recorded from ");
  CHECK(r.err.find("bad duration") != std::string::npos);
  CHECK(slurp(bad) == before);
}

TEST_CASE("a platform link with a negative latency or no bandwidth is refused at its line",
          "[cli][bad-input][simgrid]") {
  const std::string source = slurp(std::string(SOURCE_DIR) + "/scenarios/platforms/two-zones.xml");
  const std::string hosts = slurp(std::string(SOURCE_DIR) + "/scenarios/platforms/two-zones.hosts.yaml");
  for (const auto& [from, to, needle] :
       {std::tuple{"latency=\"10ms\"", "latency=\"-10ms\"", "negative latency"},
        std::tuple{"bandwidth=\"1Mbps\"", "bandwidth=\"0Mbps\"", "expected more than 0"}}) {
    std::string text = source;
    text.replace(text.find(from), std::string(from).size(), to);
    const std::string xml = temp_dir() + "/bad-link.xml";
    std::ofstream(xml) << text;
    std::ofstream(temp_dir() + "/bad-link.hosts.yaml") << hosts;
    Result r = stampede(fmt::format("run scenarios/platforms/zone-bandwidth.yaml --quiet --engine simgrid --platform {}", xml));
    INFO(to);
    require_input_error(r, xml, needle);
    CHECK(r.err.find("'inter-zone'") != std::string::npos);
  }
}

// Found by fuzz/fuzz_platform (corpus entries fuzz/corpus/platform/issue16-*): the hosts map was
// read with YAML::LoadFile, so a list as a key escaped as yaml-cpp's "bad conversion" (exit 3),
// an empty file was placed at line 0, column 0, and a second document or an unterminated quote
// was read silently. It is now loaded like a scenario.
TEST_CASE("a bad platform hosts map is one line at its FILE:LINE:COL, exit 2",
          "[cli][bad-input][simgrid]") {
  const std::string xml = temp_dir() + "/bad-hosts.xml";
  const std::string hosts = temp_dir() + "/bad-hosts.hosts.yaml";
  std::ofstream(xml) << slurp(std::string(SOURCE_DIR) + "/scenarios/platforms/two-zones.xml");
  for (const auto& [text, at, needle] :
       {std::tuple{"", ":1:1: ", "expected a map with one key, hosts"},
        std::tuple{"? [hosts]\n: x\n", ":1:3: ", "expected the key hosts"},
        std::tuple{"hosts:\n  ? [server-1]\n  : a-1\n", ":2:5: ", "expected a node name"},
        std::tuple{"hosts: {server-1: a-1}\n---\nhosts: {agent-1: b-1}\n", ":2:1: ",
                   "a second YAML document: a hosts map is one document"},
        std::tuple{"hosts: {server-1: \"a-1}\nagent-1: b-1\n", ":1:19: ",
                   "string that is never closed"},
        std::tuple{"hosts: {server-1: &h a-1, agent-1: *h}\n", ":1:",
                   "not part of the hosts map format"},
        std::tuple{"hosts: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
                   ":1:", "no hosts map key is that deep"}}) {
    std::ofstream(hosts) << text;
    const std::string before = slurp(hosts);
    Result r = stampede(fmt::format(
        "run scenarios/platforms/zone-bandwidth.yaml --quiet --engine simgrid --platform {}", xml));
    INFO(text);
    require_input_error(r, hosts, needle);
    CHECK(r.err.rfind(hosts + at, 0) == 0);
    // Issue 16: the hosts map's errors name the hosts map, never a scenario.
    CHECK(r.err.find("scenario") == std::string::npos);
    CHECK(slurp(hosts) == before);
  }
}

// Found by fuzz/fuzz_scenario (corpus entry fuzz/corpus/scenario/issue16-ipv4-long-part-overflow):
// a part of a bridge address longer than three characters kept accumulating its characters into
// an int after the check had failed, a signed overflow (UBSan) before the error was raised.
TEST_CASE("a bridge address with a long non-numeric part is one line at its FILE:LINE:COL, exit 2",
          "[cli][bad-input][ha]") {
  std::string text = slurp(std::string(SOURCE_DIR) + "/scenarios/ha-wrong-bridge.yaml");
  const std::string good = "bridge_address: \"172.17.0.1\"";
  const std::size_t at = text.find(good);
  REQUIRE(at != std::string::npos);
  // The error points at the value: the key's line, the column after `  bridge_address: `.
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  text.replace(at, good.size(), "bridge_address: \"172.17.0" + std::string(200, ',') + ".1\"");
  const std::string path = temp_dir() + "/bridge-overflow.yaml";
  std::ofstream(path) << text;
  Result r = stampede("run " + path + " --quiet");
  require_input_error(r, path, "expected an IPv4 address like 172.17.0.1 for 'bridge_address'");
  CHECK(r.err.rfind(path + ":" + std::to_string(line) + ":19: ", 0) == 0);
}

// Found by fuzz/fuzz_trace (corpus entries fuzz/corpus/trace/issue16-number-out-of-range.jsonl
// and issue16-float-step-index.jsonl): a number past a double's range is nlohmann's out_of_range,
// not a parse_error, and escaped the trace reader as an internal error, exit 3; a step index
// written as a float past an integer's range was converted with a static_cast (undefined, UBSan).
TEST_CASE("a trace line holding a number out of range or a float index is one line at its FILE:LINE:COL, exit 2",
          "[cli][bad-input][trace]") {
  const std::string good = temp_dir() + "/range-good.jsonl", bad = temp_dir() + "/range-bad.jsonl";
  REQUIRE(stampede(fmt::format("run {} --quiet --trace {}", fixture("valid.yaml"), good)).code == 0);
  for (const auto& [step, needle] :
       {std::pair{"{\"i\":1e400}", "a number out of range"},
        std::pair{"{\"i\":2.5e107,\"t\":0,\"k\":\"start\",\"n\":\"agent-1\",\"h\":\"0000000000000000\"}",
                  "'i' must be an integer from 0 to 18446744073709551615, got 2.5e+107"}}) {
    std::istringstream in(slurp(good));
    std::string text, line;
    for (int n = 1; std::getline(in, line); ++n) text += (n == 3 ? std::string(step) : line) + "\n";
    std::ofstream(bad, std::ios::trunc) << text;
    const std::string before = slurp(bad);
    Result r = stampede("replay " + bad);
    INFO(step);
    require_input_error(r, bad, needle);
    CHECK(r.err.rfind(bad + ":3:1: ", 0) == 0);
    CHECK(slurp(bad) == before);
  }
}
