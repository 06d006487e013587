// The db and its client as typed models: today's wire numbers and timer tags, every state field
// reaching the digest, crash semantics, and the structured events beside their log lines.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace dbtest;

TEST_CASE("the mysql messages and the client's timer tags keep their numbers and layouts",
          "[state]") {
  // The numbers every recorded trace carries: a change here changes every HA run's steps.
  CHECK(DbOpen::k_type == 0x4D00);
  CHECK(DbClose::k_type == 0x4D01);
  CHECK(DbRequest::k_type == 0x4D02);
  CHECK(DbOpened::k_type == 0x4D03);
  CHECK(DbRefused::k_type == 0x4D04);
  CHECK(DbResponse::k_type == 0x4D05);
  CHECK(DbReset::k_type == 0x4D06);
  CHECK(db_type_name(0x4D05) == "db_response");
  CHECK(db_type_name(0x4D1F) == "db_?");
  const std::uint64_t prefix = 0x4D43ULL << 48;
  CHECK(timer_tag::encode(ConnectTimer{7}) == (prefix | (1ULL << 32) | 7));
  CHECK(timer_tag::encode(ReconnectTimer{7}) == (prefix | (2ULL << 32) | 7));
  CHECK(timer_tag::encode(ValidateTimer{7}) == (prefix | (3ULL << 32) | 7));
  CHECK(timer_tag::encode(RequestTimer{0xFFFFFFFFu}) == (prefix | (4ULL << 32) | 0xFFFFFFFFULL));
  CHECK(DbClient::owns_timer(timer_tag::encode(RequestTimer{1})));

  // A request: connection in a, request id in b, the size from its writes.
  auto body = std::make_shared<RequestBody>();
  body->kind = RequestKind::commit;
  body->batch.insert("host", Row{{"name", "h1"}, {"state", "active"}});
  Message m = wire::encode(DbRequest{connection_id(3, 2), 9, body});
  CHECK(m.a == connection_id(3, 2));
  CHECK(m.b == 9);
  CHECK(m.c == 0);
  CHECK(m.size_bytes == 128 + 32 + 16 * 2);
}

TEST_CASE("every field of the db's and a client's state reaches their digests", "[state]") {
  World w(options(4));
  TestServer& s = w.add_server(5);
  w.add_server(5, k_s);
  w.run(3 * k_s);
  REQUIRE(s.client.connected());

  const std::uint64_t db_digest = w.db->state_digest();
  std::unique_ptr<Node> same = w.db->clone();
  REQUIRE(same);
  CHECK(same->state_digest() == db_digest);
  REQUIRE(w.db->state_field_count() >= 2);
  for (std::size_t i = 0; i < w.db->state_field_count(); ++i) {
    std::unique_ptr<Node> copy = w.db->clone();
    INFO(copy->perturb_state_field(i));
    CHECK(copy->state_digest() != db_digest);
  }

  const std::uint64_t client_digest = s.client.digest();
  // 15 since the pool keeps how many connections it opens first (`initial`, cattle_pool_on_demand).
  REQUIRE(s.client.state_field_count() == 15);
  for (std::size_t i = 0; i < s.client.state_field_count(); ++i) {
    DbClient copy = s.client;
    INFO(copy.perturb_state_field(i));
    CHECK(copy.digest() != client_digest);
  }
}

TEST_CASE("a crash of the db keeps its rows and drops its connections", "[state]") {
  World w(options(6));
  TestServer& s = w.add_server(5);
  bool committed = false;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (committed || !self.client.connected()) return;
    committed = true;
    WriteBatch b;
    b.insert("setting", Row{{"name", "seeded"}, {"value", "true"}});
    self.client.commit(ctx, std::move(b), nullptr);
  };
  w.k->at(3 * k_s, StepKind::fault, [&] { w.k->crash(w.db_id); });
  w.run(2 * k_s);
  REQUIRE(w.db->database().connections() == 5);
  REQUIRE(w.db->database().table("setting")->size() == 1);
  w.run(3 * k_s + k_ms);
  CHECK(w.db->database().connections() == 0);
  CHECK(w.db->connections_of(w.server_ids[0]) == 0);
  CHECK(w.db->database().table("setting")->size() == 1);
}

TEST_CASE("a refused pool records mysql.too_many_connections beside its log line", "[state]") {
  World w(options(2), 8);
  w.add_server(5);
  w.add_server(5, k_s);
  w.run(3 * k_s);
  int refused = 0;
  int opened = 0;
  for (const auto& l : w.k->logs()) {
    if (l.event == "mysql.too_many_connections") {
      ++refused;
      CHECK(l.node == w.server_ids[1]);
      CHECK(l.text == "ERROR 1040 (08004): Too many connections");
      CHECK(l.fields == std::vector<std::pair<std::string, std::string>>{{"code", "1040"},
                                                                          {"connections", "5"}});
    }
    if (l.event == "mysql.pool_open") {
      ++opened;
      CHECK(l.text == "database pool of 5 connections open");
    }
  }
  CHECK(refused == 1);
  CHECK(opened == 1);
}

TEST_CASE(
    "a copy of a db client keeps its state while the original runs on, and a perturbed copy "
    "leaves the original",
    "[state]") {
  // The client's state is shared by its copies until one writes (Cow<Volatile>), as an HA
  // Cattle server's saved copies in the explorer hold it: a write that reached the shared state
  // would move the other side's digest, or make the run differ from one that made no copy.
  auto world = [](World& w) -> TestServer& {
    TestServer& s = w.add_server(5);
    s.tick = [](Ctx& ctx, TestServer& self) {
      self.client.select_all(ctx, "host", [](Ctx&, const DbResult&) {});
    };
    return s;
  };
  World w(options(4));
  World plain(options(4));
  TestServer& s = world(w);
  TestServer& p = world(plain);
  w.run(3 * k_s);
  REQUIRE(s.client.connected());
  const std::uint64_t before = s.client.digest();
  const DbClient saved = s.client;
  CHECK(saved.digest() == before);
  w.run(5 * k_s);  // the original borrows, gives back and validates its connections
  plain.run(5 * k_s);
  CHECK(s.client.digest() != before);
  CHECK(s.client.digest() == p.client.digest());
  CHECK(saved.digest() == before);

  const std::uint64_t now = s.client.digest();
  for (std::size_t i = 0; i < s.client.state_field_count(); ++i) {
    DbClient copy = s.client;
    INFO(copy.perturb_state_field(i));
    CHECK(s.client.digest() == now);
  }
  s.client = saved;  // as an explorer's restore assigns a saved server back
  CHECK(s.client.digest() == before);
  CHECK(saved.digest() == before);
}
