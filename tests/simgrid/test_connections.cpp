// Connections on SimGrid (sim/simgrid/streams.cpp): what a crash, a refused connect, a loss of
// power, a close, a random drop, a duplicate and a partition tell the nodes, and FIFO whatever
// the message sizes. Each toy also runs on the kernel (connections_child.cpp); where sizes do not
// matter, both engines must give the same events in the same order at the same times, give or
// take what SimGrid adds for size over bandwidth.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

#include "tests/simgrid/child.hpp"

using stampede::test::ChildResult;
using stampede::test::spawn_child;

namespace {

ChildResult toy(const std::string& name) {
  ChildResult r = spawn_child({"conn", name});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r;
}

struct Seen {
  std::string what;
  long long at_ns = 0;
};

std::vector<Seen> parse(const std::string& list) {
  std::vector<Seen> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto at = item.rfind('@');
    out.push_back({item.substr(0, at), std::atoll(item.c_str() + at + 1)});
  }
  return out;
}

// The kernel gave the same events in the same order, each within 2 microseconds of SimGrid's:
// SimGrid adds size over bandwidth (512 ns for 64 bytes, 320 ns for a segment's 40 bytes of
// headers, more when transfers share a link), the kernel a nanosecond between two arrivals on
// one connection.
void same_as_kernel(const ChildResult& r, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    INFO(key << ": kernel " << r.one("kernel." + key) << ", simgrid " << r.one("simgrid." + key));
    const std::vector<Seen> k = parse(r.one("kernel." + key));
    const std::vector<Seen> s = parse(r.one("simgrid." + key));
    REQUIRE(k.size() == s.size());
    for (std::size_t i = 0; i < k.size(); ++i) {
      CHECK(k[i].what == s[i].what);
      CHECK(std::llabs(k[i].at_ns - s[i].at_ns) < 2000);
    }
  }
}

}  // namespace

TEST_CASE("a crashed process's peer reads closed one latency after the crash, after what was "
          "in flight, and the trace has the connection step",
          "[simgrid][connections]") {
  ChildResult r = toy("crash");
  // b's message left before the crash and arrives; the FIN follows 3 ms after the crash.
  CHECK(r.one("simgrid.a") == "5@3000512,closed:1@4000320");
  CHECK(r.one("simgrid.steps") == "0<1:closed@4000320");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE("a closed event waits for a larger message its process sent before it crashed",
          "[simgrid][connections]") {
  ChildResult r = toy("crash-big");
  // c's 1.25 MB takes 10 ms on the wire: its FIN, due at 4 ms, comes right after it.
  CHECK(r.one("simgrid.a") == "5@3001024,closed:1@4000960,6@13001152,closed:2@13001152");
}

TEST_CASE("a connect to a host whose process is down is refused one round trip later",
          "[simgrid][connections]") {
  ChildResult r = toy("refused");
  CHECK(r.one("simgrid.a") == "refused:1@8000640");
  CHECK(r.one("simgrid.b") == "");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE("a loss of power is silent, unlike a crash, after power on, a send on the old "
          "connection is reset and the next one opens a new connection",
          "[simgrid][connections]") {
  ChildResult r = toy("power");
  // Nothing at 8 ms (a crash would have closed the connection then); the send at 20 ms meets
  // b's host, which no longer has the connection, and a reads the reset a round trip later.
  CHECK(r.one("simgrid.a") == "closed:1@26000832");
  CHECK(r.one("simgrid.b") == "1@3000512,3@33000512");
  same_as_kernel(r, {"a", "b", "steps"});
  // What a host that loses power had in flight is lost with it, and nobody is told.
  ChildResult lost = toy("power-in-flight");
  CHECK(lost.one("simgrid.a") == "");
  same_as_kernel(lost, {"a", "b"});
}

TEST_CASE("closing a connection tells the peer one latency later, after what was sent on it",
          "[simgrid][connections]") {
  ChildResult r = toy("close");
  CHECK(r.one("simgrid.b") == "1@3000832,closed:0@3000832");
  CHECK(r.one("simgrid.a") == "");
  same_as_kernel(r, {"a", "b", "steps"});
  // What was already on the wire arrives even if the sender's host loses power behind it.
  ChildResult off = toy("power-after-close");
  CHECK(off.one("simgrid.b") == "1@3000832,closed:0@3000832");
  same_as_kernel(off, {"a", "b", "steps"});
}

TEST_CASE("a random drop resets a stream's connection, both ends read closed",
          "[simgrid][connections]") {
  ChildResult r = toy("drop");
  CHECK(r.one("simgrid.a") == "closed:1@6000832");
  CHECK(r.one("simgrid.b") == "closed:0@3000512");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE("a random duplicate happens to datagrams only", "[simgrid][connections]") {
  ChildResult r = toy("duplicate");
  // Three 64-byte transfers share the link: 1536 ns.
  CHECK(r.one("simgrid.b") == "1@3001536,2@3001536,2@3001536");
  same_as_kernel(r, {"a", "b"});
}

TEST_CASE("a partition is silent and keeps the connection", "[simgrid][connections]") {
  ChildResult r = toy("partition");
  CHECK(r.one("simgrid.b") == "1@3000512,3@33000512");
  CHECK(r.one("simgrid.a") == "");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE(
    "tcp_retransmit: what a 2 s partition cuts off arrives at the first retransmission "
    "after the heal, in order, on SimGrid as on the kernel",
    "[simgrid][connections]") {
  ChildResult r = toy("retransmit");
  // Lost at 13 ms, retransmitted every 206 ms doubling (200 ms + the round trip): the expiry at
  // 3103 ms is the first after the heal at 2005 ms; 4, sent after the heal, waits behind.
  CHECK(r.one("kernel.b") == "1@3000000,2@3106000000,3@3106000001,4@3106000002");
  CHECK(r.one("simgrid.a") == "");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE(
    "tcp_retransmit: a FIN sent after the heal waits behind the data still held, on "
    "SimGrid as on the kernel",
    "[simgrid][connections]") {
  ChildResult r = toy("retransmit-fin");
  CHECK(r.one("kernel.b") == "1@3000000,2@634000000,closed:0@634000001");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE(
    "tcp_retransmit: a 1000 s partition times the connection out, on SimGrid as on the "
    "kernel",
    "[simgrid][connections]") {
  ChildResult r = toy("retransmit-timeout");
  // The 16th expiry, 930.738 s after the loss at 13 ms (924.6 s for an RTO of 200 ms), finds
  // the 15th retransmission unanswered: a reads closed; b's half-open end is reset by a's next
  // send after the heal, which is lost.
  CHECK(r.one("kernel.a") == "closed:1@930751000000");
  CHECK(r.one("kernel.b") == "1@3000000,closed:0@1010003000000");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE("a FIN lost on a cut link leaves a dead connection, which the first send after the "
          "heal finds reset",
          "[simgrid][connections]") {
  ChildResult r = toy("lost-fin");
  // Without the lost FIN counted, a would wait for it forever and every send would vanish.
  CHECK(r.one("simgrid.a") == "closed:1@26000832");
  CHECK(r.one("simgrid.b") == "3@33000512");
  same_as_kernel(r, {"a", "b", "steps"});
}

TEST_CASE("messages on a connection arrive in the order they were sent, whatever their sizes",
          "[simgrid][connections]") {
  ChildResult r = toy("fifo");
  // Alone, the 64-byte and the empty message and the FIN would arrive 10 ms before the 1.25 MB
  // message; they wait for it.
  CHECK(r.one("simgrid.b") == "1@13000832,2@13000832,3@13000832,closed:0@13000832");
  CHECK(r.one("kernel.b") == "1@3000000,2@3000001,3@3000002,closed:0@3000003");
}
