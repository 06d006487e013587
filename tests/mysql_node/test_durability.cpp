// The db crashes and restarts: committed rows stay, connections go, clients come back.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace dbtest;

namespace {
// Commits one row at a time into `setting` (name = "k<n>") and remembers what was acknowledged.
struct Writer {
  std::vector<std::pair<std::string, RowId>> acked;
  std::vector<int> errors;
  bool busy = false;
  int next = 0;
  void tick(Ctx& ctx, TestServer& s) {
    if (busy || !s.client.connected()) return;
    busy = true;
    std::string name = fmt::format("k{}", next++);
    WriteBatch b;
    b.insert("setting", {{"name", name}, {"value", "1"}});
    s.client.commit(ctx, std::move(b), [this, name](Ctx&, const DbResult& r) {
      busy = false;
      if (r.ok()) {
        acked.emplace_back(name, r.ids.at(0));
      } else {
        errors.push_back(r.error->code);
      }
    });
  }
};
}  // namespace

TEST_CASE("committed writes survive a db crash and restart, and every client is served again",
          "[durability]") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    World w(options(seed));
    for (int i = 0; i < 3; ++i) w.add_server(50);
    Writer writer;
    w.servers[0]->tick = [&](Ctx& ctx, TestServer& s) { writer.tick(ctx, s); };
    w.k->at(5 * k_s + 37 * k_ms, StepKind::fault, [&] { w.k->crash(w.db_id); });
    w.k->at(8 * k_s, StepKind::fault, [&] { w.k->restart(w.db_id); });
    std::size_t acked_before_crash = 0;
    w.k->at(5 * k_s + 36 * k_ms, StepKind::check,
            [&] { acked_before_crash = writer.acked.size(); });
    w.run(30 * k_s);

    REQUIRE(acked_before_crash > 10);
    REQUIRE(writer.acked.size() > acked_before_crash + 10);  // writes resumed after the restart
    const Database& db = w.db->database();
    for (const auto& [name, id] : writer.acked) {
      CAPTURE(name);
      CHECK(db.get("setting", id, "name") == name);
    }
    // The writer's next borrow after the crash found every connection closed and could not make
    // one (the db was down): it lost the pool and opened all of it again once the db was back.
    CHECK(w.servers[0]->lost >= 1);
    CHECK(w.servers[0]->opened >= 2);
    CHECK(w.servers[0]->client.connected());
    CHECK(w.servers[0]->client.pool_size() == 50);
    CHECK(w.logs_containing(w.server_ids[0], "lost the database", LogLevel::info) >= 1);
    // The idle servers' next validation came after the restart: the borrow's test discarded
    // the 50 connections the crash had closed and made one, as dbcp does; they never lost the
    // pool.
    for (int i = 1; i < 3; ++i) {
      CAPTURE(i);
      CHECK(w.servers[i]->lost == 0);
      CHECK(w.servers[i]->opened == 1);
      CHECK(w.servers[i]->client.connected());
      CHECK(w.servers[i]->client.pool_size() == 1);
      CHECK(w.logs_containing(w.server_ids[i], "the database closed 50 pooled connections",
                              LogLevel::info) == 1);
      CHECK(w.logs_containing(w.server_ids[i], "failed validation: ERROR 2013",
                              LogLevel::debug) == 50);
    }
    // Nothing leaked: the db holds exactly what the pools hold.
    CHECK(db.connections() == 52);
    CHECK(w.logs_containing(w.db_id, "ready for connections", LogLevel::info) == 2);
  }
}

TEST_CASE("a db down for a minute is retried with a growing backoff until it is back",
          "[durability]") {
  World w(options(4));
  TestServer& s = w.add_server(50);
  w.k->at(2 * k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
  w.k->at(62 * k_s, StepKind::fault, [&] { w.k->restart(w.db_id); });
  w.run(61 * k_s);
  CHECK_FALSE(s.client.connected());
  REQUIRE(s.client.last_error());
  CHECK(s.client.last_error()->code == k_error_cannot_connect);
  CHECK(s.client.last_error()->message == "Can't connect to MySQL server on 'db' (111)");
  // The pool learns at its validation (5 s) that its connections are closed and that the db
  // refuses connects; each attempt is refused within a round trip and waits a backoff of 1, 2,
  // 4, 8, 16, 30 s: attempts near 5, 6, 8, 12, 20 and 36 s lose it.
  std::int64_t attempts = s.client.reconnects();
  CHECK(attempts == 6);
  w.run(150 * k_s);
  CHECK(s.client.connected());
  CHECK(w.db->database().connections() == 50);
}
