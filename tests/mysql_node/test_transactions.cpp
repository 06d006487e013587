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
  // Reads in flight when the db crashed fail at once (the db's EOF); the next borrows find the
  // db down, lose the pool, and open it again after the backoff.
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

TEST_CASE("a transaction across requests is invisible until its COMMIT, and a rollback leaves "
          "nothing",
          "[transactions]") {
  World w(options(3));
  TestServer& s = w.add_server(2);
  TestServer& reader = w.add_server(2);
  std::vector<std::string> log;
  std::int64_t kept = 0;
  std::int64_t dropped = 0;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (!self.client.connected()) return;
    const TimeNs now = ctx.now();
    auto note = [&](std::string what) {
      return [&log, what](Ctx&, const DbResult& r) {
        // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive of its inlined
        // memcpy) on " " + std::to_string(code) here.
        std::string line = what;
        line += ' ';
        line += r.ok() ? std::string("ok") : std::to_string(r.error->code);
        log.push_back(std::move(line));
      };
    };
    if (now == k_s) {
      WriteBatch a;
      RowId stack = a.insert("stack", {{"name", "kept"}});
      a.insert("service", {{"name", "web"}, {"stack_id", "-1"}});
      (void)stack;
      kept = self.client.begin(ctx, std::move(a), note("begin kept"));
      WriteBatch b;
      b.insert("stack", {{"name", "dropped"}});
      dropped = self.client.begin(ctx, std::move(b), note("begin dropped"));
    } else if (now == 2 * k_s) {
      // The COMMIT's own writes follow the transaction's, their placeholders renumbered.
      WriteBatch more;
      RowId svc = more.insert("service", {{"name", "db"}});
      more.update("service", svc, "state", "active");
      self.client.finish(ctx, kept, true, std::move(more), note("commit"));
      self.client.finish(ctx, dropped, false, WriteBatch{}, note("rollback"));
    }
  };
  std::vector<std::size_t> stacks_seen;
  reader.tick = [&](Ctx& ctx, TestServer& self) {
    if (!self.client.connected() || ctx.now() != 1500 * k_ms) return;
    self.client.select_all(ctx, "stack", [&](Ctx&, const DbResult& r) {
      stacks_seen.push_back(r.rows.size());
    });
  };
  w.run(3 * k_s);
  CHECK(log == std::vector<std::string>{"begin kept ok", "begin dropped ok", "commit ok",
                                        "rollback ok"});
  REQUIRE(stacks_seen.size() == 1);
  CHECK(stacks_seen[0] == 0);  // both transactions open at 1.5 s: nothing visible
  const Database& db = w.db->database();
  CHECK(db.where("stack", "name", "kept").size() == 1);
  CHECK(db.where("stack", "name", "dropped").empty());
  REQUIRE(db.where("service", "name", "db").size() == 1);
  CHECK(db.get("service", db.where("service", "name", "db").front(), "state") == "active");
  CHECK(db.where("service", "name", "web").size() == 1);
  // Both connections went back to the pool.
  CHECK(s.client.pending() == 0);
}

TEST_CASE("a db crash with a transaction open: its COMMIT fails at once with 2013, the "
          "committed row stays and the open one is gone",
          "[transactions]") {
  World w(options(4));
  TestServer& s = w.add_server(2);
  std::int64_t txn = 0;
  std::vector<int> codes;
  TimeNs commit_failed_ns = 0;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    const TimeNs now = ctx.now();
    auto keep = [&](Ctx& c, const DbResult& r) {
      codes.push_back(r.error ? r.error->code : 0);
      commit_failed_ns = c.now();
    };
    if (now == k_s) {
      WriteBatch committed;
      committed.insert("setting", {{"name", "committed"}});
      self.client.commit(ctx, std::move(committed), keep);
      WriteBatch open;
      open.insert("setting", {{"name", "uncommitted"}});
      txn = self.client.begin(ctx, std::move(open), keep);
    } else if (now == 4 * k_s) {
      self.client.finish(ctx, txn, true, WriteBatch{}, keep);
    }
  };
  w.k->at(2 * k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
  w.k->at(3 * k_s, StepKind::fault, [&] { w.k->restart(w.db_id); });
  w.run(5 * k_s);
  REQUIRE(codes.size() == 3);
  CHECK(codes[0] == 0);
  CHECK(codes[1] == 0);
  // The connection held the crash's EOF: the COMMIT's read found it, with no round trip.
  CHECK(codes[2] == k_error_server_lost);
  CHECK(commit_failed_ns == 4 * k_s);
  const Database& db = w.db->database();
  CHECK(db.where("setting", "name", "committed").size() == 1);
  CHECK(db.where("setting", "name", "uncommitted").empty());
}

TEST_CASE("appending a batch renumbers its placeholders after the first batch's", "[transactions]") {
  WriteBatch a;
  RowId first = a.insert("stack", {{"name", "a"}});
  WriteBatch b;
  RowId second = b.insert("service", {{"name", "b"}});
  b.update("service", second, "state", "active");
  b.update("service", 7, "state", "gone");  // a real id stays as it is
  a.append(b);
  REQUIRE(a.writes().size() == 4);
  CHECK(first == -1);
  CHECK(a.writes()[1].id == -2);
  CHECK(a.writes()[2].id == -2);
  CHECK(a.writes()[3].id == 7);
  // A later insert of the combined batch gets the next placeholder.
  CHECK(a.insert("stack", {{"name", "c"}}) == -3);
}
