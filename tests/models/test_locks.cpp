// The in-memory lock manager and the process definitions.
#include <catch2/catch.hpp>

#include "models/cattle/lock_manager.hpp"
#include "models/cattle/process_defs.hpp"

using namespace stampede::cattle;

TEST_CASE("a lock has one holder and hands over to waiters in arrival order") {
  LockManager m;
  CHECK(m.try_acquire("instance:1", 10));
  CHECK(m.try_acquire("instance:1", 10));  // re-entrant for its holder
  CHECK_FALSE(m.try_acquire("instance:1", 11));
  CHECK_FALSE(m.try_acquire("instance:1", 12));
  CHECK(m.max_holders() == 1);
  m.give_up("instance:1", 11);
  CHECK(m.release("instance:1", 10) == std::optional<LockManager::Owner>(12));
  CHECK(m.holder("instance:1") == std::optional<LockManager::Owner>(12));
  CHECK_FALSE(m.release("instance:1", 99));  // not the holder
  CHECK_FALSE(m.release("instance:1", 12));
  CHECK_FALSE(m.holder("instance:1"));
  CHECK(m.max_holders() == 0);
}

TEST_CASE("process definitions follow Cattle's states") {
  const ProcessDef* start = find_process("instance.start");
  REQUIRE(start);
  CHECK(start->from == std::vector<std::string_view>{"stopped"});
  CHECK(start->done == "active");
  CHECK(find_process("host.reconnect")->done == "reconnecting");
  CHECK(find_process("nope") == nullptr);
}
