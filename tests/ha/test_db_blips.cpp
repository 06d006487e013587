// Database blips at the moments the explorer found them harmful (issue 13's two model bugs):
// while the first server seeds the shared tables, and while writes are queued for a db that is
// down.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

TEST_CASE("a db blip during the seed: the seed commits whole, and a killed container is restarted",
          "[ha][regression]") {
  // The blip's EOF reaches server-1 while its seed is in flight. The seed used to be four writes
  // with the "seeded" marker last: the hosts' write was lost, the rest committed, and the other
  // servers (and server-1 after its next read) knew no host, so web/1, killed at 30 s, was never
  // restarted. The seed is now one transaction, and server-1 works only once the db took it.
  // Cattle's pool opens on demand, so server-1's first read of the tables waits for a new
  // connection for each of its 9 statements, and since each boot first runs Liquibase
  // (liquibase_changelog_lock) the seed leaves at 2.057 to 2.064 s (seeds 3, 1, 2): the blip is
  // put where its EOF reaches the seed's connection after the seed was lent it, a few
  // milliseconds apart for each seed (one moment for all three was 23 ms before the migration).
  // Earlier, it meets the first read instead, and the seed commits untouched.
  const std::pair<std::uint64_t, const char*> blips[] = {
      {1u, "2.064s"}, {2u, "2.064s"}, {3u, "2.062s"}};
  for (const auto& [seed, at] : blips) {
    const std::vector<std::string> sets = {
        fmt::format("faults=[{{at: {0}, crash: db}}, {{at: {0}, restart: db}}, "
                    "{{at: 30s, kill_container: wordpress/web/1}}]",
                    at),
        "expect=[{at: 29s, running: {service: wordpress/web, count: 2}}, "
        "{by: 60s, running: {service: wordpress/web, count: 2}}, "
        "{log: {node: server-*, contains: \"container wordpress/web/1 restarted\"}, by: 60s}, "
        "{never: service.scale_exceeded}]",
        "duration=70s"};
    Run r = run(load("ha-server-crash", sets), seed, LogLevel::info);
    INFO("seed " << seed << "\n" << failures(r.out));
    CHECK(r.out.passed);
    // The blip did hit the seed: server-1 saw it fail and seeded again after reading the tables.
    CHECK(timeline_count(r.out, "server-1", "the database did not take the seed") == 1);
    CHECK(timeline_count(r.out, "server-1", "seeded the store from the scenario's stacks") == 2);
  }
}

TEST_CASE("writes made while the db is down fail then, and none is kept for the db's return",
          "[ha][regression]") {
  // server-1's starts of web's two containers end as the db crashes (17 s: their commands, sent
  // over the Redis bus before the agents' sockets were up, get no answer and the processes fail
  // at about 17.1 s, and the failures' writes meet the db down; the crash was at 3 s before the
  // agent commands went over the bus, cattle_agent_commands_over_redis, when server-1 started
  // the containers then, and at 1 s on the eager boot the scenario ran before Cattle's, whose
  // migration holds the first 2 s). Its writes used to wait in the pool's queue for the db and
  // commit once it was back: with a later restart (14.3 s in the issue) such a kept write committed
  // after server-2 had reconciled the service, and server-1 then replayed its own process on top (3
  // containers for scale 2). Cattle runs each statement on the thread that decided it and throws
  // when the db is down; nothing resends it. Now each write fails while the db is down, and the
  // replay redoes the work from the db's state.
  Run r = run(load("known-bugs/ha-stale-lock-holder",
                   {"cluster.mechanisms.zk_stale_holder_check=true",
                    "faults=[{at: 17s, crash: db}, {at: 21s, restart: db}]"}),
              24, LogLevel::info);
  INFO(failures(r.out));
  CHECK(r.out.passed);
  std::size_t failed_while_down = 0;
  for (const TimelineEntry& e : r.out.timeline)
    if (e.node == "server-1" && e.text.find("write to the database failed") != std::string::npos) {
      CHECK(e.time_ns < 18 * k_s);  // at once, not when the query timeout (10 s) runs out
      ++failed_while_down;
    }
  CHECK(failed_while_down >= 1);
  // The outage of the issue, for several seeds, as the issue gives it (1 s to 14.3 s) and as
  // long again from server-1's start on Cattle's boot (3 s to 16.3 s): never more containers
  // than the scale.
  for (const char* faults : {"faults=[{at: 1s, crash: db}, {at: 14.3s, restart: db}]",
                             "faults=[{at: 3s, crash: db}, {at: 16.3s, restart: db}]"})
    for (std::uint64_t seed : {1u, 2u, 3u, 24u}) {
      Run o = run(load("known-bugs/ha-stale-lock-holder",
                       {"cluster.mechanisms.zk_stale_holder_check=true", faults}),
                  seed);
      INFO(faults << " seed " << seed << "\n" << failures(o.out));
      CHECK(o.out.passed);
    }
}
