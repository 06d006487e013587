// What a client learns from its connection to the db, and what the pool does with it: a db that
// dies (2013 at once for a request outstanding, EOF for the idle connections), a connect to a db
// that is down (2003), the db's wait_timeout (a reset: 2006), the test on borrow that hides both
// from a pool's users, and a refused pool that is opened again at its next borrow.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace dbtest;

namespace {
// One select_where on `s` at `at`; records its error code (0 for success) and when it came.
struct Probe {
  std::vector<int> codes;
  std::vector<TimeNs> at_ns;
  void send(Ctx& ctx, TestServer& s) {
    s.client.select_where(ctx, "host", "state", "active", [this](Ctx& c, const DbResult& r) {
      codes.push_back(r.error ? r.error->code : 0);
      at_ns.push_back(c.now());
    });
  }
};
}  // namespace

TEST_CASE("a request outstanding when the db dies fails at once with 2013, not at its timeout",
          "[closed]") {
  World w(options(3));
  TestServer& s = w.add_server(5);
  Probe probe;
  bool sent = false;
  // Sent by the tick at 2 s, half a millisecond before the crash: the latency is at least 1 ms,
  // so the request is in flight when the db dies.
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (sent || ctx.now() < 2 * k_s) return;
    sent = true;
    probe.send(ctx, self);
  };
  w.k->at(2 * k_s + k_ms / 2, StepKind::fault, [&] { w.k->crash(w.db_id); });
  w.run(3 * k_s);
  REQUIRE(probe.codes.size() == 1);
  CHECK(probe.codes[0] == k_error_server_lost);
  // The db's EOF arrives one latency (at most 5 ms) after the crash, not db_socket_timeout (60 s).
  CHECK(probe.at_ns[0] < 2 * k_s + 10 * k_ms);
  CHECK(s.lost == 0);
  CHECK(w.logs_containing(w.server_ids[0], "the database closed", LogLevel::info) == 1);
}

TEST_CASE("a connect to a db whose process is down is refused with 2003 within a round trip",
          "[closed]") {
  World w(options(4));
  TestServer& s = w.add_server(5, 2 * k_s);
  w.k->at(k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
  w.run(2 * k_s + 20 * k_ms);
  CHECK(s.lost == 1);
  REQUIRE(s.client.last_error());
  CHECK(s.client.last_error()->code == k_error_cannot_connect);
  CHECK(s.client.last_error()->message == "Can't connect to MySQL server on 'db' (111)");
  CHECK(s.client.state() == PoolState::backoff);
}

TEST_CASE("the db frees a crashed client's connections as soon as it reads their EOF",
          "[closed]") {
  World w(options(5));
  w.add_server(50);
  w.add_server(50);
  w.k->at(2 * k_s, StepKind::fault, [&] { w.k->crash(w.server_ids[0]); });
  w.run(2 * k_s - k_ms);
  REQUIRE(w.db->database().connections() == 100);
  w.run(2 * k_s + 10 * k_ms);
  CHECK(w.db->connections_of(w.server_ids[0]) == 0);
  CHECK(w.db->database().connections() == 50);
}

TEST_CASE("a refused pool opens at its next borrow once the db has freed connections",
          "[closed]") {
  World w(options(6), 10);
  w.add_server(10);
  TestServer& late = w.add_server(5, k_s);
  Probe before;
  Probe after;
  late.tick = [&](Ctx& ctx, TestServer& s) {
    if (ctx.now() >= 3 * k_s && before.codes.empty()) before.send(ctx, s);
    if (ctx.now() >= 6 * k_s && after.codes.empty()) after.send(ctx, s);
  };
  w.k->at(5 * k_s, StepKind::fault, [&] { w.k->crash(w.server_ids[0]); });
  w.run(8 * k_s);
  // Refused when it joined, and again at the borrow before the crash freed anything.
  CHECK(late.refused == 2);
  REQUIRE(before.codes.size() == 1);
  CHECK(before.codes[0] == k_error_too_many_connections);
  // The crash closed the first server's ten: the next borrow opened the pool and was served.
  REQUIRE(after.codes.size() == 1);
  CHECK(after.codes[0] == 0);
  CHECK(late.opened == 1);
  CHECK(late.client.connected());
  CHECK(w.db->database().connections() == 5);
}

TEST_CASE("wait_timeout: the db resets idle connections, the pool's test on borrow discards "
          "them, and without it the statement fails with 2006",
          "[closed]") {
  for (bool test_on_borrow : {true, false}) {
    CAPTURE(test_on_borrow);
    // No idle validation, so that nothing touches the pool between its opening and the query.
    World w(options(7, {{std::string(k_wait_timeout), 3 * k_s},
                        {std::string(k_validation_interval), 3600 * k_s}},
                    {{std::string(k_test_on_borrow), test_on_borrow}}));
    TestServer& s = w.add_server(2);
    Probe probe;
    s.tick = [&](Ctx& ctx, TestServer& self) {
      if (ctx.now() >= 5 * k_s && probe.codes.empty()) probe.send(ctx, self);
    };
    w.run(4 * k_s);
    // Idle since their handshakes: both closed at 3 s, logged as MariaDB logs it.
    CHECK(w.db->database().connections() == 0);
    CHECK(w.logs_containing(w.db_id, "(Got timeout reading communication packets)",
                            LogLevel::info) == 2);
    CHECK(s.client.pool_size() == 2);  // the client does not know yet
    w.run(6 * k_s);
    REQUIRE(probe.codes.size() == 1);
    if (test_on_borrow) {
      // Both failed SELECT 1 with 2006 and were discarded; a new connection served the query.
      CHECK(probe.codes[0] == 0);
      CHECK(w.logs_containing(w.server_ids[0], "failed validation: ERROR 2006",
                              LogLevel::debug) == 2);
      CHECK(w.db->database().connections() == 1);
    } else {
      CHECK(probe.codes[0] == k_error_server_gone);
      CHECK(s.client.pool_size() == 1);  // the one it used is discarded, the other not yet
    }
    CHECK(s.lost == 0);
  }
}

TEST_CASE("after a db restart the pool's test on borrow replaces the closed connections, "
          "without it the first statement fails with 2013",
          "[closed]") {
  for (bool test_on_borrow : {true, false}) {
    CAPTURE(test_on_borrow);
    World w(options(8, {{std::string(k_validation_interval), 3600 * k_s}},
                    {{std::string(k_test_on_borrow), test_on_borrow}}));
    TestServer& s = w.add_server(5);
    Probe probe;
    s.tick = [&](Ctx& ctx, TestServer& self) {
      if (ctx.now() >= 4 * k_s && probe.codes.size() < 2 && self.client.pending() == 0)
        probe.send(ctx, self);
    };
    w.k->at(2 * k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
    w.k->at(3 * k_s, StepKind::fault, [&] { w.k->restart(w.db_id); });
    w.run(5 * k_s);
    REQUIRE(probe.codes.size() == 2);
    if (test_on_borrow) {
      CHECK(probe.codes == std::vector<int>{0, 0});
    } else {
      // The first borrow lends a connection holding the crash's EOF: the write goes out, the
      // read finds the EOF. The next one takes the next dead connection the same way.
      CHECK(probe.codes == std::vector<int>{k_error_server_lost, k_error_server_lost});
    }
    CHECK(s.lost == 0);
  }
}
