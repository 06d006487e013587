// The per-environment placement lock (mechanism cattle_allocator_lock, models/cattle/
// placement_lock.cpp) on the kernel: the exact hosts and servers of scenarios/ha-alloc-lock.yaml's
// scripted race for seeds 1 to 8, which the SimGrid engine need not reproduce, and single mode,
// where the lock changes nothing.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

// The info-level timeline lines "container SERVICE created on AGENT" of the run, by any server:
// the hosts, in order, and the servers that placed them.
struct Placements {
  std::vector<std::string> hosts;
  std::vector<std::string> servers;
};

Placements placements(const RunOutcome& out, const std::string& container) {
  Placements p;
  const std::string needle = "container " + container + " created on ";
  for (const TimelineEntry& e : out.timeline)
    if (auto at = e.text.find(needle); at != std::string::npos) {
      p.hosts.push_back(e.text.substr(at + needle.size()));
      p.servers.push_back(e.node);
    }
  return p;
}

}  // namespace

TEST_CASE(
    "the placement lock puts two servers' simultaneous replacements on different hosts, for "
    "every seed",
    "[ha][allocator]") {
  // Goal: the scenario scripts the race (ha-alloc-lock.yaml says how), so for each seed two
  // different servers place the two replacements at once; with the lock each reads the other's
  // placement before it places, without it both place from stale copies onto agent-3.
  using Hosts = std::vector<std::string>;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    Run on = run(load("ha-alloc-lock"), seed, LogLevel::info);
    INFO(failures(on.out));
    CHECK(on.out.passed);
    // The first placements at start-up, then the replacements after the cut at 90 s.
    Placements http = placements(on.out, "edge/http/1");
    Placements proxy = placements(on.out, "edge/proxy/1");
    CHECK(http.hosts == Hosts{"agent-1", "agent-3"});
    CHECK(proxy.hosts == Hosts{"agent-2", "agent-4"});
    REQUIRE(http.servers.size() == 2);
    REQUIRE(proxy.servers.size() == 2);
    CHECK(proxy.servers[1] == "server-2");
    CHECK(http.servers[1] != "server-2");

    Run off = run(load("ha-alloc-lock", {"cluster.mechanisms.cattle_allocator_lock=false"}), seed,
                  LogLevel::info);
    CHECK_FALSE(off.out.passed);
    CHECK(any_failed_containing(off.out, "host.port_conflict"));
    CHECK(placements(off.out, "edge/http/1").hosts == Hosts{"agent-1", "agent-3"});
    CHECK(placements(off.out, "edge/proxy/1").hosts == Hosts{"agent-2", "agent-3"});
  }
}

TEST_CASE("the placement lock changes nothing in single mode", "[allocator]") {
  // Goal: a single-mode placement is one atomic step of the server, so the run is the same step
  // for step with the mechanism on or off.
  for (const char* name : {"alloc-ports", "alloc-spread"}) {
    const std::uint64_t seed = load(name).seed;
    Run on = run(load(name), seed);
    Run off = run(load(name, {"cluster.mechanisms.cattle_allocator_lock=false"}), seed);
    INFO(name);
    CHECK(on.out.digest == off.out.digest);
  }
}
