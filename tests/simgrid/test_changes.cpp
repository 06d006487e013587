// The SimGrid engine keeps the change log that the checks' caches read (sim/core/changes.hpp)
// under the same contract as the kernel's (tests/explore/test_census.cpp): a step at a node
// names that node, a fault or check step asks for a full read, and the agent census built on the
// log equals a full recount after every step of a run with crashes, restarts, a partition and a
// killed container.
#include <catch2/catch.hpp>

#include "tests/simgrid/child.hpp"

using stampede::test::ChildResult;
using stampede::test::spawn_child;

TEST_CASE("SimGrid's change log names each step's node, and the census stays exact on it",
          "[simgrid]") {
  ChildResult r = spawn_child({"census"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.one("passed") == "1");
  CHECK(r.one("log_broken") == "0");
  CHECK(std::stoi(r.one("node_steps")) > 500);
  CHECK(std::stoi(r.one("engine_steps")) >= 7);  // the scenario's seven faults at least
  // A node step reads "everything" only after an engine step ran in its middle: an engine that
  // kept no log would make every one of them a full read.
  CHECK(std::stoi(r.one("log_full_reads")) <= std::stoi(r.one("engine_steps")));
  CHECK(r.one("census_stale") == "0");
  CHECK(std::stoi(r.one("census_checked")) > 500);
  CHECK(std::stoi(r.one("census_seen")) >= 4);  // agents went down and came back: counts moved
}
