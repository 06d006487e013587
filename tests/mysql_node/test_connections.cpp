// Pools against max_connections: who joins, who gets error 1040, and that a restarted client
// does not leak the connections of its previous life.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace dbtest;

TEST_CASE("three servers with pools of 50 fit in 151 connections and a fourth gets error 1040",
          "[connections]") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    World w(options(seed));
    for (int i = 0; i < 3; ++i) w.add_server(50, (i + 1) * k_s);
    TestServer& fourth = w.add_server(50, 5 * k_s);
    w.run(10 * k_s);
    for (int i = 0; i < 3; ++i) {
      CHECK(w.servers[i]->client.connected());
      CHECK(w.servers[i]->client.pool_size() == 50);
      CHECK(w.db->connections_of(w.server_ids[i]) == 50);
    }
    CHECK(fourth.client.state() == PoolState::refused);
    CHECK(fourth.refused == 1);
    REQUIRE(fourth.client.last_error());
    CHECK(fourth.client.last_error()->code == k_error_too_many_connections);
    CHECK(w.logs_containing(w.server_ids[3], "ERROR 1040 (08004): Too many connections",
                            LogLevel::notable) == 1);
    // The one connection it got before the limit was given back, so the others lose nothing.
    CHECK(fourth.client.pool_size() == 0);
    CHECK(w.db->connections_of(w.server_ids[3]) == 0);
    CHECK(w.db->database().connections() == 150);
    // 49 opens at most were refused: once it gave its one connection back, one of its opens
    // still in flight may have got through (and was given back too).
    CHECK(w.k->counter(k_metric_refused) >= 48);
    CHECK(w.k->counter(k_metric_refused) <= 49);
  }
}

TEST_CASE("with max_connections 120 the third server to join gets error 1040, and its query "
          "tries the pool again and is refused again",
          "[connections]") {
  World w(options(7), 120);
  w.add_server(50, 1 * k_s);
  w.add_server(50, 2 * k_s);
  TestServer& third = w.add_server(50, 3 * k_s);
  int answered = 0;
  std::optional<DbError> seen;
  third.tick = [&](Ctx& ctx, TestServer& s) {
    if (s.client.state() != PoolState::refused || answered > 0) return;
    s.client.select_id(ctx, "setting", 1, [&](Ctx&, const DbResult& r) {
      ++answered;
      seen = r.error;
    });
  };
  w.run(6 * k_s);
  CHECK(w.servers[0]->client.connected());
  CHECK(w.servers[1]->client.connected());
  CHECK(third.client.state() == PoolState::refused);
  // Once when it joined, once more when the query's borrow opened the pool again: a refused
  // pool is not given up (dbcp connects at every borrow that finds nothing idle).
  CHECK(w.logs_containing(w.server_ids[2], "Too many connections", LogLevel::notable) == 2);
  CHECK(w.db->database().connections() == 100);
  REQUIRE(answered == 1);
  REQUIRE(seen);
  CHECK(seen->code == k_error_too_many_connections);
}

TEST_CASE("a server that crashes and restarts gets its pool back without leaking connections",
          "[connections]") {
  World w(options(3));
  for (int i = 0; i < 3; ++i) w.add_server(50, (i + 1) * k_s);
  w.k->at(5 * k_s, StepKind::fault, [&] { w.k->crash(w.server_ids[0]); });
  w.k->at(6 * k_s, StepKind::fault, [&] { w.k->restart(w.server_ids[0]); });
  w.run(12 * k_s);
  // Its new session replaced the 50 connections its previous process left open.
  CHECK(w.servers[0]->boots == 2);
  CHECK(w.servers[0]->client.connected());
  CHECK(w.db->connections_of(w.server_ids[0]) == 50);
  CHECK(w.db->database().connections() == 150);
  CHECK(w.k->counter(k_metric_refused) == 0);
}

TEST_CASE("a request cut off from the db times out with error 2013 and the pool reopens after",
          "[connections]") {
  World w(options(5));
  TestServer& s = w.add_server(50);
  std::vector<int> codes;
  bool sent = false;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (sent || ctx.now() < 2 * k_s) return;
    sent = true;
    self.client.select_where(ctx, "host", "state", "active", [&](Ctx&, const DbResult& r) {
      codes.push_back(r.error ? r.error->code : 0);
    });
  };
  w.k->at(2 * k_s - k_ms, StepKind::fault, [&] {
    w.k->network().partition({{w.db_id}, {w.server_ids[0]}});
  });
  w.k->at(70 * k_s, StepKind::fault, [&] { w.k->network().heal_all(); });
  // The driver's read gives up after socketTimeout (db_socket_timeout, 60 s), not before.
  w.run(61 * k_s);
  CHECK(codes.empty());
  w.run(63 * k_s);
  REQUIRE(codes.size() == 1);
  CHECK(codes[0] == k_error_server_lost);
  CHECK_FALSE(s.client.connected());
  // The reopened pool's handshakes are cut off too, until the heal at 70 s; the next attempt
  // after their connect timeout (60 s) opens it.
  w.run(200 * k_s);
  CHECK(s.client.connected());
  CHECK(s.client.pool_size() == 50);
  CHECK(w.db->database().connections() == 50);
}

TEST_CASE("the same seed gives the same run", "[connections]") {
  auto once = [](std::uint64_t seed) {
    World w(options(seed), 120);
    for (int i = 0; i < 3; ++i) w.add_server(50, 0);
    w.k->at(3 * k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
    w.k->at(4 * k_s, StepKind::fault, [&] { w.k->restart(w.db_id); });
    w.run(20 * k_s);
    return w.k->digest();
  };
  CHECK(once(11) == once(11));
}
