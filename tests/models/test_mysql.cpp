// The Cattle store: transactions, the connection limit, TRUNCATE with and without foreign-key
// checks.
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/mysql/database.hpp"
#include "sim/core/state.hpp"

using namespace stampede::mysql;

TEST_CASE("a committed transaction applies all its writes, a rolled back one none") {
  Database db(10);
  Transaction t;
  RowId stack = t.insert("stack", Row{{"name", "wordpress"}});
  t.insert("service", Row{{"name", "web"}, {"stack_id", "1"}});
  t.update("stack", stack, "state", "active");  // refers to the row inserted above
  auto ids = db.commit(t);
  REQUIRE(ids == std::vector<RowId>{1, 1});
  CHECK(db.get("stack", 1, "state") == "active");
  CHECK(db.where("service", "name", "web") == std::vector<RowId>{1});

  Transaction r;
  r.insert("stack", Row{{"name", "other"}});
  r.erase("service", 1);
  db.rollback(r);
  CHECK(db.commit(r).empty());
  CHECK(db.table("stack")->size() == 1);
  CHECK(db.find("service", 1) != nullptr);
}

TEST_CASE("connections beyond max_connections fail with error 1040") {
  Database db(2);
  CHECK_FALSE(db.connect());
  CHECK_FALSE(db.connect());
  auto err = db.connect();
  REQUIRE(err);
  CHECK(err->code == 1040);
  CHECK(err->message == "Too many connections");
  db.disconnect();
  CHECK_FALSE(db.connect());
  db.drop_all_connections();
  CHECK(db.connections() == 0);
}

TEST_CASE("TRUNCATE of a referenced table fails with checks on and empties it with checks off") {
  Database db(10);
  Transaction t;
  t.insert("stack", Row{{"name", "wordpress"}});
  t.insert("service", Row{{"name", "web"}, {"stack_id", "1"}});
  t.insert("network", Row{{"name", "managed"}});
  db.commit(t);

  auto err = db.truncate({"service", "network"}, /*foreign_key_checks=*/true);
  REQUIRE(err);
  CHECK(err->code == 1701);
  CHECK(err->message.find("Cannot truncate a table referenced in a foreign key constraint") == 0);
  CHECK(db.table("service")->size() == 1);

  CHECK_FALSE(db.truncate({"service", "network"}, /*foreign_key_checks=*/false));
  CHECK(db.table("service")->empty());
  CHECK(db.table("network")->empty());
  CHECK(db.table("stack")->size() == 1);
  // AUTO_INCREMENT starts again at 1.
  Transaction again;
  again.insert("service", Row{{"name", "db"}});
  CHECK(db.commit(again) == std::vector<RowId>{1});

  // A table nothing refers to truncates with the checks on.
  CHECK_FALSE(db.truncate({"process_instance"}, true));
  CHECK(db.truncate({"nope"}, false)->code == 1146);
}

TEST_CASE("the store's digest is canonical") {
  Database a(5), b(5);
  Transaction ta, tb;
  ta.insert("host", Row{{"name", "agent-1"}, {"state", "active"}});
  tb.insert("host", Row{{"state", "active"}, {"name", "agent-1"}});
  a.commit(ta);
  b.commit(tb);
  CHECK(a.digest() == b.digest());
}

TEST_CASE(
    "the tables digest as the plain map of tables they stand for, and every write shows at the "
    "next digest of the copy written and of no other",
    "[mysql]") {
  // Database::Tables keeps each table's digest words until the table is written (DigestWords):
  // words that differ from what state::add folds in would move every run digest pinned before
  // the cache, and stale words would hide a write from the explorer's state hash.
  using stampede::Digest;
  Database::Tables tables;
  std::map<std::string, Database::TableState> plain;
  auto digest = [](const auto& t) {
    Digest d;
    stampede::state::add(d, t);
    return d.value();
  };
  auto same = [&] { return digest(tables) == digest(plain); };
  CHECK(same());
  for (const char* name : {"host", "service"}) {
    tables.add(name);
    plain[name];
  }
  CHECK(same());
  tables.write("host")->rows[3] = Row{{"name", "agent-1"}, {"state", "active"}};
  plain["host"].rows[3] = Row{{"name", "agent-1"}, {"state", "active"}};
  CHECK(same());
  CHECK(same());  // from the kept words
  // A copy shares the tables and their words; a write to it leaves the original's digest.
  Database::Tables copy = tables;
  const std::uint64_t before = digest(copy);
  copy.write("host")->rows[3]["state"] = "inactive";
  CHECK(digest(copy) != before);
  CHECK(same());
  plain["host"].rows[3]["state"] = "inactive";
  CHECK(digest(copy) == digest(plain));
  // A write to the original after its words were kept: the row, then the id counter.
  tables.write("host")->rows[3]["state"] = "inactive";
  CHECK(same());
  tables.write("service")->next_id = 7;
  CHECK_FALSE(same());
  plain["service"].next_id = 7;
  CHECK(same());
  // The digest before the tables is another (a node whose other state changed): the tables
  // fold in again from there rather than from the value they were last left with.
  auto after_one = [](const auto& t) {
    Digest d;
    d.add(std::uint64_t{1});
    stampede::state::add(d, t);
    return d.value();
  };
  CHECK(after_one(tables) == after_one(plain));
  CHECK(same());
}

TEST_CASE("an indexed where() answers what a scan would, through every kind of write",
          "[mysql]") {
  Database db(10);
  // A scan of the rows, the answer where() gave before the indexes.
  auto scan = [&](std::string_view table, const std::string& column, std::string_view value) {
    std::vector<RowId> ids;
    for (const auto& [id, row] : *db.table(table))
      if (auto it = row.find(column); it != row.end() && it->second == value) ids.push_back(id);
    return ids;
  };
  auto same = [&] {
    for (const char* host : {"1", "2", "3"})
      CHECK(db.where("instance", "host_id", host) == scan("instance", "host_id", host));
    for (const char* name : {"agent-1", "agent-2"})
      CHECK(db.where("host", "name", name) == scan("host", "name", name));
  };
  Transaction t;
  t.insert("host", {{"name", "agent-1"}});
  t.insert("host", {{"name", "agent-2"}});
  for (int i = 0; i < 4; ++i) t.insert("instance", {{"host_id", i % 2 ? "1" : "2"}});
  db.commit(t);
  same();
  t.update("instance", 1, "host_id", "3");  // moves between values
  t.erase("instance", 2);
  t.put("instance", 9, {{"host_id", "1"}});
  t.put("host", 1, {{"name", "agent-2"}});  // replaces a whole row
  db.commit(t);
  same();
  CHECK(db.where("host", "name", "agent-2") == std::vector<RowId>{1, 2});
  db.replace_rows("instance", {{5, {{"host_id", "3"}}}, {7, {{"host_id", "3"}}}});
  same();
  CHECK(db.where("instance", "host_id", "3") == std::vector<RowId>{5, 7});
  REQUIRE_FALSE(db.truncate({"instance"}, false));
  same();
  CHECK(db.where("instance", "host_id", "3").empty());
}

TEST_CASE(
    "a copy of the store shares its tables until one side writes, and no write of either "
    "side shows in the other (copy-on-write)") {
  // The tables are shared between copies (Database::Tables): an explorer snapshot of a Cattle
  // server holds such a copy, and a write that reached it would come back at the next restore.
  Database a(5);
  Transaction seed;
  seed.insert("host", Row{{"name", "agent-1"}, {"state", "active"}});
  seed.insert("stack", Row{{"name", "wordpress"}});
  a.commit(seed);
  const std::uint64_t before = a.digest();
  const std::uint64_t stamp = a.stamp("host");

  // Every kind of write, each to a fresh copy: the original keeps its rows, digest and stamps.
  std::vector<std::function<void(Database&)>> writes = {
      [](Database& d) {
        Transaction t;
        t.update("host", 1, "state", "inactive");
        d.commit(t);
      },
      [](Database& d) {
        Transaction t;
        t.insert("host", Row{{"name", "agent-2"}});
        d.commit(t);
      },
      [](Database& d) {
        Transaction t;
        t.erase("host", 1);
        d.commit(t);
      },
      [](Database& d) {
        d.replace_rows("host", {{1, {{"name", "agent-9"}}}});
      },
      [](Database& d) { d.replace_rows("host", {}); },
      [](Database& d) { REQUIRE(!d.truncate({"host"}, false)); },
      [](Database& d) { d.raise_next_ids(1000); },
      [](Database& d) { d.add_table("cluster"); },
  };
  for (std::size_t i = 0; i < writes.size(); ++i) {
    INFO("write " << i);
    Database copy = a;
    CHECK(copy.digest() == before);
    writes[i](copy);
    CHECK(copy.digest() != before);
    CHECK(a.digest() == before);
    CHECK(a.stamp("host") == stamp);
    CHECK(a.get("host", 1, "name") == "agent-1");
    CHECK(a.where("host", "name", "agent-1") == std::vector<RowId>{1});
    CHECK(a.table("cluster") == nullptr);
    // And the other way: a write to the original (an assign back, then a step) leaves the copy
    // as it was when it was taken.
    Database kept = a;
    writes[i](a);
    CHECK(kept.digest() == before);
    CHECK(kept.get("host", 1, "name") == "agent-1");
    a = kept;
    CHECK(a.digest() == before);
  }
  // A read-back of the rows the copy already has writes nothing: the table stays shared, with
  // its stamp.
  Database same = a;
  same.replace_rows("host", {{1, {{"name", "agent-1"}, {"state", "active"}}}});
  CHECK(same.stamp("host") == stamp);
  CHECK(same.digest() == before);
}
