// Faults anywhere in time (issue 17): injected faults drawn over simulated time and aimed by
// pattern, the liveness mode's settle window, and swarm counterexamples that replay and shrink.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/explore/explore_registry.hpp"

using namespace stampede;

namespace {

test::CliResult sh(const std::string& args) { return test::run_cli(args); }
std::string tmp(const std::string& name) { return test::temp_path("explore-time", name); }

const std::string k_service = std::string(TESTS_DIR) + "/scenarios/agent-crash-service.yaml";
const std::string k_lease = std::string(SCENARIOS_DIR) + "/known-bugs/lease-lock.yaml";

// The injected faults of an explorer trace: (node, time) of every step of kind "fault".
std::vector<std::pair<std::string, std::int64_t>> faults_of(const std::string& path) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.value("k", "") == "fault") out.emplace_back(j.value("n", ""), j.value("t", 0LL));
  }
  return out;
}

const std::string k_flags =
    "--max-faults 1 --faults crash,restart --fault-targets 'agent-*' --fault-rate 1 "
    "--settle 60s --fault-phase 110s --max-delay 5ms --quiet";

}  // namespace

TEST_CASE("an agent crash during service is found with agent_resync off, aimed at agents") {
  std::string trace = tmp("acs.trace.jsonl");
  auto r = sh(fmt::format("explore {} {} --runs 50 --set cluster.mechanisms.agent_resync=false "
                          "--out {}", k_service, k_flags, trace));
  INFO(r.out);
  REQUIRE(r.code == 1);
  CHECK(r.out.find("{at: 175s, running: {service: wordpress/web, count: 2}} violated") !=
        std::string::npos);
  auto faults = faults_of(trace);
  REQUIRE(!faults.empty());
  for (const auto& [node, t] : faults) {
    CHECK(node.rfind("agent-", 0) == 0);  // --fault-targets
    // The containers start at 1.002 s: the crash that matters comes after they exist.
    CHECK(t > 1'002'000'000);
    CHECK(t < 110'000'000'000);  // within the fault phase
  }
  CHECK(sh("replay " + trace).code == 0);
  std::filesystem::remove(trace);
}

TEST_CASE("the correct model passes the same search: every crash is undone before the window") {
  auto r = sh(fmt::format("explore {} {} --runs 40", k_service, k_flags));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("no violation found in 40 runs") != std::string::npos);
  // Without the liveness mode a crash may stay in force to the end: a false alarm.
  auto plain = sh(fmt::format("explore {} --max-faults 1 --faults crash --fault-targets 'agent-*' "
                              "--fault-rate 1 --max-delay 5ms --quiet --runs 40 --out {}",
                              k_service, tmp("plain.trace.jsonl")));
  CHECK(plain.code == 1);
}

TEST_CASE("fault flags are checked: rate and instants exclude each other, not with dfs") {
  CHECK(sh(fmt::format("explore {} --fault-rate 1 --fault-instants 2", k_lease)).code == 2);
  CHECK(sh(fmt::format("explore {} --strategy dfs --fault-instants 2", k_lease)).code == 2);
  CHECK(sh(fmt::format("explore {} --fault-phase 5s", k_lease)).code == 2);
  CHECK(sh(fmt::format("explore {} --settle 1h", k_lease)).code == 2);
}

TEST_CASE("a swarm counterexample records its subset, so it replays and shrinks") {
  std::string trace = tmp("swarm.trace.jsonl");
  std::string shrunk = tmp("swarm.shrunk.trace.jsonl");
  auto r = sh(fmt::format("explore {} --swarm --max-faults 2 --runs 2000 --quiet --out {}",
                          k_lease, trace));
  INFO(r.out);
  REQUIRE(r.code == 1);
  CHECK(r.out.find("(null)") == std::string::npos);
  auto rep = sh("replay " + trace);
  INFO(rep.out);
  CHECK(rep.code == 0);
  CHECK(rep.out.find("verdict FAIL as recorded") != std::string::npos);
  auto s = sh(fmt::format("shrink {} --out {}", trace, shrunk));
  INFO(s.out);
  CHECK(s.code == 0);
  CHECK(s.out.find("(13 steps)") != std::string::npos);
  CHECK(sh("replay " + shrunk).code == 0);
  std::filesystem::remove(trace);
  std::filesystem::remove(shrunk);
}
