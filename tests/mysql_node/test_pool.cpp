// The pool's size and timeouts as Cattle v0.165.8 configures commons-dbcp 1.4: the socket and
// connect timeouts of its JDBC URL (60 s each), the wait for a connection of a pool at its
// maximum (1 s), growth on demand up to db_pool_max_active, the idle limit and the evictor.
#include <catch2/catch.hpp>

#include "world.hpp"

using namespace dbtest;

namespace {

// Requests sent together on `s`; records each answer's error (none for success) and when it came.
struct Burst {
  std::vector<std::optional<DbError>> errors;
  std::vector<TimeNs> at_ns;
  void send(Ctx& ctx, TestServer& s, int n) {
    for (int i = 0; i < n; ++i)
      s.client.select_where(ctx, "host", "state", "active", [this](Ctx& c, const DbResult& r) {
        errors.push_back(r.error);
        at_ns.push_back(c.now());
      });
  }
  int ok() const {
    int n = 0;
    for (const auto& e : errors) n += !e.has_value();
    return n;
  }
  // Answers that were dbcp's "Timeout waiting for idle object", each with when it came.
  std::vector<TimeNs> pool_timeouts() const {
    std::vector<TimeNs> t;
    for (std::size_t i = 0; i < errors.size(); ++i)
      if (errors[i] && errors[i]->code == k_error_pool_exhausted &&
          errors[i]->message ==
              "Cannot get a connection, pool error Timeout waiting for idle object")
        t.push_back(at_ns[i]);
    return t;
  }
};

// A server with a pool of `pool` that sends `n` requests at 2.5 s, while the db is paused from
// 2 s to 12 s: none is answered before 12 s, so every borrower finds the pool's connections busy.
struct StalledDb {
  World w;
  TestServer* s = nullptr;
  Burst burst;
  StalledDb(Kernel::Options o, int pool, int n) : w(std::move(o)) {
    s = &w.add_server(pool);
    bool sent = false;
    s->tick = [this, n, sent](Ctx& ctx, TestServer& self) mutable {
      if (sent || ctx.now() < 2500 * k_ms) return;
      sent = true;
      burst.send(ctx, self, n);
    };
    w.k->at(2 * k_s, StepKind::fault, [this] { w.k->pause(w.db_id, 10 * k_s); });
  }
};

}  // namespace

TEST_CASE("a statement the db never answers fails after db_socket_timeout, 60 s", "[pool]") {
  World w(options(5));
  TestServer& s = w.add_server(5);
  Burst burst;
  bool sent = false;
  s.tick = [&](Ctx& ctx, TestServer& self) {
    if (sent || ctx.now() < 3 * k_s) return;
    sent = true;
    burst.send(ctx, self, 1);
  };
  // Power loss: no FIN, no reset; the client learns only by its timeout.
  w.k->at(2 * k_s, StepKind::fault, [&] { w.k->power_off(w.db_id); });
  w.run(62 * k_s);
  CHECK(burst.errors.empty());  // the 10 s of the old single timer are long past
  CHECK(s.lost == 0);
  w.run(64 * k_s);
  REQUIRE(burst.errors.size() == 1);
  REQUIRE(burst.errors[0]);
  CHECK(burst.errors[0]->code == k_error_server_lost);
  CHECK(burst.at_ns[0] >= 63 * k_s);
  CHECK(burst.at_ns[0] < 63 * k_s + 200 * k_ms);
  CHECK(s.lost == 1);
}

TEST_CASE("a pool whose handshakes go unanswered gives up after db_connect_timeout, 60 s",
          "[pool]") {
  World w(options(6));
  TestServer& s = w.add_server(5, 2 * k_s);
  w.k->at(k_s, StepKind::fault, [&] { w.k->power_off(w.db_id); });
  w.run(61 * k_s);
  CHECK(s.lost == 0);
  CHECK(s.client.state() == PoolState::connecting);
  w.run(62 * k_s + 100 * k_ms);
  CHECK(s.lost == 1);
  REQUIRE(s.client.last_error());
  CHECK(s.client.last_error()->message == "Can't connect to MySQL server on 'db' (110)");
}

TEST_CASE("a pool grows past its boot size for borrowers that find every connection busy",
          "[pool]") {
  StalledDb t(options(7), 5, 20);
  t.w.run(11 * k_s);
  // Five requests went out on the pool's connections; the other fifteen made a connection each,
  // whose handshakes wait in the paused db's backlog.
  CHECK(t.burst.errors.empty());
  CHECK(t.s->client.pool_size() == 5);
  t.w.run(14 * k_s);
  CHECK(t.burst.ok() == 20);
  CHECK(t.s->client.pool_size() == 20);
  CHECK(t.w.db->connections_of(t.w.server_ids[0]) == 20);
  CHECK(t.w.k->counter(k_metric_refused) == 0);
}

TEST_CASE("a connection given back when db_pool_max_idle are idle is closed", "[pool]") {
  StalledDb t(options(8, {{"db_pool_max_idle", 8}}), 5, 20);
  t.w.run(14 * k_s);
  CHECK(t.burst.ok() == 20);
  CHECK(t.s->client.pool_size() == 8);
  CHECK(t.w.db->connections_of(t.w.server_ids[0]) == 8);
}

TEST_CASE("borrowers past db_pool_max_active wait db_pool_max_wait, 1 s, and get dbcp's error",
          "[pool]") {
  StalledDb t(options(9, {{"db_pool_max_active", 10}}), 5, 20);
  t.w.run(14 * k_s);
  // Five on the pool's connections and five on new ones; the other ten found the pool at its
  // maximum and gave up after 1 s, long before the db came back.
  CHECK(t.burst.ok() == 10);
  std::vector<TimeNs> timeouts = t.burst.pool_timeouts();
  REQUIRE(timeouts.size() == 10);
  for (TimeNs at : timeouts) {
    CHECK(at >= 3500 * k_ms);
    CHECK(at < 3600 * k_ms);
  }
  CHECK(t.s->client.pool_size() == 10);
}

TEST_CASE("with db_pool_grow off the pool stays at its boot size and borrowers time out",
          "[pool]") {
  StalledDb t(options(10, {}, {{"db_pool_grow", false}}), 5, 20);
  t.w.run(14 * k_s);
  CHECK(t.burst.ok() == 5);
  CHECK(t.burst.pool_timeouts().size() == 15);
  CHECK(t.s->client.pool_size() == 5);
  CHECK(t.w.db->connections_of(t.w.server_ids[0]) == 5);
}

TEST_CASE("the evictor closes the connections idle past db_min_evictable_idle, three a run",
          "[pool]") {
  // An idle pool of 10 whose only use is its own validation query every 5 s. Lent last-returned
  // first (lifo), that query takes the same connection each time, so the nine others stay idle
  // from the pool's opening; with fifo it would go round all ten and none would ever be evicted.
  World w(options(11));
  TestServer& s = w.add_server(10);
  w.run(299 * k_s);
  CHECK(s.client.pool_size() == 10);
  // Runs every 60 s after the opening; the fifth, at 300 s, finds the three longest idle past
  // 300 s, and so do the next two.
  w.run(301 * k_s);
  CHECK(s.client.pool_size() == 7);
  w.run(361 * k_s);
  CHECK(s.client.pool_size() == 4);
  w.run(600 * k_s);
  CHECK(s.client.pool_size() == 1);
  CHECK(w.db->connections_of(w.server_ids[0]) == 1);
  CHECK(s.lost == 0);
  CHECK(w.logs_containing(w.server_ids[0], "evicted 3 idle connections", LogLevel::debug) == 3);
  // db_min_evictable_idle 0 evicts nothing, as dbcp's minEvictableIdleTimeMillis <= 0.
  World never(options(11, {{"db_min_evictable_idle", 0}}));
  TestServer& kept = never.add_server(10);
  never.run(600 * k_s);
  CHECK(kept.client.pool_size() == 10);
}
