// Transactions are atomic, and reads see commits in the order they were acknowledged.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace dbtest;

TEST_CASE("a transaction applies all its writes or none", "[transactions]") {
  World w(options(2));
  TestServer& s = w.add_server(5);
  std::vector<DbResult> results;
  bool done = false;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (done || !self.client.connected()) return;
    done = true;
    auto keep = [&](Ctx&, const DbResult& r) { results.push_back(r); };
    // Later writes of a batch may refer to rows it inserts by the placeholder id it gave them.
    WriteBatch good;
    good.insert("stack", {{"name", "wordpress"}});
    RowId web = good.insert("service", {{"name", "web"}, {"state", "requested"}});
    good.update("service", web, "state", "active");
    RowId gone = good.insert("service", {{"name", "tmp"}});
    good.erase("service", gone);
    self.client.commit(ctx, good, keep);
    // A batch with one bad write: nothing of it may land.
    WriteBatch bad;
    bad.insert("stack", {{"name", "half"}});
    bad.insert("no_such_table", {{"x", "1"}});
    self.client.commit(ctx, bad, keep);
  };
  w.run(3 * k_s);
  REQUIRE(results.size() == 2);
  REQUIRE(results[0].ok());
  REQUIRE(results[0].ids.size() == 3);
  const Database& db = w.db->database();
  CHECK(db.get("stack", results[0].ids[0], "name") == "wordpress");
  CHECK(db.get("service", results[0].ids[1], "state") == "active");
  CHECK(db.find("service", results[0].ids[2]) == nullptr);
  REQUIRE(results[1].error);
  CHECK(results[1].error->code == k_error_no_such_table);
  CHECK(db.where("stack", "name", "half").empty());
  CHECK(db.table("stack")->size() == 1);
}

TEST_CASE("a reader on another server never sees half a transaction", "[transactions]") {
  World w(options(6));
  TestServer& writer = w.add_server(10);
  TestServer& reader = w.add_server(10);
  int batches = 0;
  bool busy = false;
  writer.tick = [&](Ctx& ctx, TestServer& s) {
    if (busy || !s.client.connected()) return;
    busy = true;
    WriteBatch b;
    for (int i = 0; i < 3; ++i)
      b.insert("instance", {{"kind", "triple"}, {"batch", to_text(batches)}});
    s.client.commit(ctx, std::move(b), [&](Ctx&, const DbResult& r) {
      busy = false;
      if (r.ok()) ++batches;
    });
  };
  int reads = 0;
  std::vector<std::string> broken;
  reader.tick = [&](Ctx& ctx, TestServer& s) {
    if (!s.client.connected()) return;
    s.client.select_where(ctx, "instance", "kind", "triple", [&](Ctx&, const DbResult& r) {
      if (!r.ok()) return;
      ++reads;
      std::map<std::string, int> per_batch;
      for (const auto& [id, row] : r.rows) ++per_batch[row.at("batch")];
      for (const auto& [b, n] : per_batch)
        if (n != 3) broken.push_back(fmt::format("batch {} seen with {} rows", b, n));
    });
  };
  w.k->at(4 * k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
  w.k->at(5 * k_s, StepKind::fault, [&] { w.k->restart(w.db_id); });
  // Reads in flight when the db crashed wait out db_query_timeout before the pool reopens.
  w.run(25 * k_s);
  CHECK(batches > 20);
  CHECK(reads > 50);
  CHECK(broken.empty());
}

TEST_CASE("reads see commits in the order they were acknowledged", "[transactions]") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    World w(options(seed));
    TestServer& writer = w.add_server(4);
    TestServer& reader = w.add_server(4);
    // The writer bumps one counter row, one commit after another. Before the first, it creates
    // the row.
    RowId row = 0;
    std::int64_t acked = 0;          // the highest value acknowledged
    std::vector<std::int64_t> seen;  // what the reader read, in the order its answers came
    std::vector<std::string> stale;
    bool busy = false;
    // Each commit is sent as soon as the previous one is acknowledged.
    std::function<void(Ctx&, DbClient&)> write_next = [&](Ctx& ctx, DbClient& client) {
      busy = true;
      WriteBatch b;
      std::int64_t next = acked + 1;
      if (row == 0) {
        b.insert("setting", {{"name", "counter"}, {"value", "0"}});
        next = 0;
      } else {
        b.update("setting", row, "value", to_text(next));
      }
      client.commit(ctx, std::move(b), [&, next](Ctx& c, const DbResult& r) {
        busy = false;
        if (!r.ok()) return;
        if (row == 0) row = r.ids.at(0);
        acked = next;
        write_next(c, writer.client);
      });
    };
    writer.tick = [&](Ctx& ctx, TestServer& s) {
      if (!busy && s.client.connected()) write_next(ctx, s.client);
    };
    reader.tick = [&](Ctx& ctx, TestServer& s) {
      if (!s.client.connected() || row == 0) return;
      std::int64_t floor = acked;  // acknowledged before this read was sent
      s.client.select_id(ctx, "setting", row, [&, floor](Ctx&, const DbResult& r) {
        if (!r.ok() || r.rows.empty()) return;
        std::int64_t v = std::stoll(r.rows[0].second.at("value"));
        if (v < floor) stale.push_back(fmt::format("read {} after {} was acknowledged", v, floor));
        seen.push_back(v);
      });
    };
    w.run(10 * k_s);
    REQUIRE(seen.size() > 50);
    CHECK(acked > 100);
    CHECK(stale.empty());
    // One connection per request and no reordering on the db: answers never go backwards here
    // because each read is sent after the previous one was answered (ticks are 100 ms apart).
    CHECK(std::is_sorted(seen.begin(), seen.end()));
  }
}

TEST_CASE("reads of a missing row or an unknown table", "[transactions]") {
  World w(options(1));
  TestServer& s = w.add_server(2);
  std::vector<DbResult> results;
  bool sent = false;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (sent || !self.client.connected()) return;
    sent = true;
    auto keep = [&](Ctx&, const DbResult& r) { results.push_back(r); };
    self.client.select_id(ctx, "host", 42, keep);
    self.client.select_where(ctx, "hosts", "state", "active", keep);
  };
  w.run(2 * k_s);
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok());
  CHECK(results[0].rows.empty());
  REQUIRE(results[1].error);
  CHECK(results[1].error->code == k_error_no_such_table);
}

TEST_CASE("a request the network duplicates is committed once", "[transactions]") {
  Kernel::Options o = options(9);
  o.network.duplicate = 0.5;
  World w(std::move(o));
  TestServer& s = w.add_server(3);
  int acked = 0;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (!self.client.connected()) return;
    WriteBatch b;
    b.insert("process_instance", {{"n", to_text(acked)}});
    self.client.commit(ctx, std::move(b), [&](Ctx&, const DbResult& r) { acked += r.ok(); });
  };
  w.run(5 * k_s);
  CHECK(acked > 30);
  CHECK(static_cast<int>(w.db->database().table("process_instance")->size()) == acked);
}
