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

TEST_CASE("committed writes survive a db crash and restart, and every client reconnects",
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
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(w.servers[i]->lost >= 1);
      CHECK(w.servers[i]->opened >= 2);
      CHECK(w.servers[i]->client.connected());
      CHECK(w.servers[i]->client.pool_size() == 50);
    }
    CHECK(db.connections() == 150);
    CHECK(w.logs_containing(w.db_id, "ready for connections", LogLevel::info) == 2);
    CHECK(w.logs_containing(w.server_ids[1], "lost the database", LogLevel::info) >= 1);
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
  // Each attempt waits connect_timeout (10 s) plus a backoff of 1, 2, 4, 8 s...: few attempts.
  std::int64_t attempts = s.client.reconnects();
  CHECK(attempts >= 3);
  CHECK(attempts <= 6);
  w.run(150 * k_s);
  CHECK(s.client.connected());
  CHECK(w.db->database().connections() == 50);
}
