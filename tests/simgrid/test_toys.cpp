// The SimGrid engine on toy nodes: delivery time (latency plus size over bandwidth, shared links),
// timers and cancel, crash and restart, pause, clock skew, partitions, step order, stopping.
#include <catch2/catch.hpp>

#include "tests/simgrid/child.hpp"

using stampede::test::ChildResult;
using stampede::test::spawn_child;

static ChildResult toy(const std::string& name) {
  ChildResult r = spawn_child({"toy", name});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r;
}

TEST_CASE("a message takes the latency plus its size over the bandwidth", "[simgrid]") {
  ChildResult r = toy("delivery");
  // 3ms, plus 64 bytes at 1 Gbps (512ns); the pong comes back the same way.
  CHECK(r.one("echo") == "start@0,msg1@3000512");
  CHECK(r.one("sender") == "2@6001024");
  CHECK(r.one("delivered") == "2");
  CHECK(r.one("now") == "1000000000");
}

TEST_CASE("messages that cross a link at once share its bandwidth", "[simgrid]") {
  ChildResult r = toy("sharing");
  // 1.25 MB takes 10ms at 1 Gbps alone, 20ms when two share the receiver's link; plus 2ms.
  CHECK(r.one("alone") == "9@12000000");
  CHECK(r.one("shared") == "9@22000000,9@22000000");
}

TEST_CASE("a cancelled timer never fires, others fire at their time", "[simgrid]") {
  CHECK(toy("timers").one("fired") == "4@0,1@10000000,3@30000000");
}

TEST_CASE("a crash loses in-flight messages and volatile state, restart starts again",
          "[simgrid]") {
  ChildResult r = toy("crash");
  CHECK(r.one("starts") == "2");
  // The ping sent to the first incarnation is lost with it; the one after the restart is not.
  CHECK(r.one("victim") == "start@0,start@20000000,msg1@150000512");
  // The crash closed the connection: the sender reads it 50 ms later (and 320 ns for the FIN's
  // 40 bytes), and its next ping opens a new one.
  CHECK(r.one("sender") == "closed:1@60000320,2@200001024");
  CHECK(r.one("up_during") == "0");
  CHECK(r.one("up_after") == "1");
}

TEST_CASE("a paused node receives nothing until it resumes, then everything in order",
          "[simgrid]") {
  CHECK(toy("pause").one("sleeper") ==
        "start@0,msg10@102000000,msg11@102000000,msg12@102000000");
  CHECK(toy("pause-timer").one("fired") == "1@25000000");
}

TEST_CASE("clock skew shifts a node's clock, not when its timers fire", "[simgrid]") {
  CHECK(toy("skew").one("seen") == "15000000000");
}

TEST_CASE("a partition drops messages across it and in flight, and turns links off",
          "[simgrid]") {
  ChildResult r = toy("partition");
  // In flight at the cut (lost), sent across it (lost), sent after the heal (arrives), and a
  // ping over a one-way cut whose pong is lost.
  CHECK(r.one("r") == "start@0,msg4@50000512,msg1@80000512");
  CHECK(r.one("s") == "");
  CHECK(r.one("off_during") == "4");  // both hosts' up and down links
  CHECK(r.one("off_after") == "0");
  CHECK(r.one("off_oneway") == "2");  // r's up link and s's down link
}

TEST_CASE("faults run before the events of their instant, checks after them", "[simgrid]") {
  CHECK(toy("order").one("order") == "fault@10000000,timer@10000000,check@10000000");
}

TEST_CASE("an observer can stop the run", "[simgrid]") {
  ChildResult r = toy("stop");
  CHECK(r.one("steps") == "3");
  CHECK(r.one("now") == "2000000");
}

TEST_CASE("a second SimGrid engine in one process is refused", "[simgrid]") {
  CHECK(toy("twice").one("error").find("once per process") != std::string::npos);
}
