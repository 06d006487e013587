// The Cattle store: transactions, the connection limit, TRUNCATE with and without foreign-key
// checks.
#include <catch2/catch.hpp>

#include "models/mysql/database.hpp"

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
