// ZooKeeper with forceSync=no, as Rancher 1.x's server image runs it (mechanism zk_force_sync_no,
// scenarios/known-bugs/zk-power-loss.yaml): a whole ensemble that loses power together forgets
// the writes of the last half minute, acknowledged ones included; a crash, or forceSync=yes,
// loses nothing. The page cache's rule (models/zookeeper/durable.hpp, PageCache) is checked on
// the txn log itself.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "models/zookeeper/durable.hpp"
#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

namespace {

zk::LoggedTxn txn(std::int64_t zxid) {
  return zk::LoggedTxn{zxid, std::make_shared<const zk::Txn>()};
}

}  // namespace

TEST_CASE("an unsynced txn log keeps what the flusher wrote (dirty 30 s, at a 5 s wake)",
          "[zookeeper][power]") {
  zk::PageCache cache;
  cache.force_sync = false;
  // Written at 1 s: old enough at 31 s, written at the flusher's wake at 35 s.
  CHECK(cache.on_disk_at(1 * k_s) == 35 * k_s);
  CHECK(cache.on_disk_at(5 * k_s) == 35 * k_s);
  CHECK(cache.on_disk_at(5 * k_s + 1) == 40 * k_s);
  zk::Disk disk;
  disk.append(txn(1), 1 * k_s, cache);
  disk.append(txn(2), 6 * k_s, cache);
  disk.append(txn(3), 20 * k_s, cache);
  disk.committed = 3;
  CHECK(disk.synced() == 0);
  // At 38 s the first is on disk (35 s), the second (40 s) and third (55 s) are not.
  zk::Disk lost_at_38 = disk;
  CHECK(lost_at_38.lose_unsynced(38 * k_s, cache) == 2);
  CHECK(lost_at_38.size() == 1);
  CHECK(lost_at_38.committed == 1);
  CHECK(lost_at_38.last_zxid() == 1);
  // An fsync writes the older dirty pages too: nothing is lost after one.
  zk::PageCache synced = cache;
  synced.force_sync = true;
  disk.append(txn(4), 21 * k_s, synced);
  CHECK(disk.synced() == 4);
  CHECK(disk.lose_unsynced(22 * k_s, cache) == 0);
  CHECK(disk.size() == 4);
}

TEST_CASE("a sync from the leader keeps the shared prefix's dirty marks and dirties the rest",
          "[zookeeper][power]") {
  zk::PageCache cache;
  cache.force_sync = false;
  zk::Disk disk;
  disk.append(txn(1), 0, cache);
  disk.append(txn(2), 1 * k_s, cache);
  const zk::History leader{txn(1), txn(3), txn(4)};
  CHECK(disk.assign(leader, 2 * k_s, cache) == 1);
  CHECK(disk.size() == 3);
  CHECK(disk.synced() == 0);
  // Txn 1 (written at 0) is on disk at 30 s; 3 and 4 (at 2 s) only at 35 s.
  CHECK(disk.lose_unsynced(32 * k_s, cache) == 2);
  CHECK(disk.last_zxid() == 1);
}

TEST_CASE("a whole ensemble powered off together forgets acknowledged writes with forceSync=no",
          "[zookeeper][power][scenario]") {
  Run on = run(load("known-bugs/zk-power-loss"), 1);
  INFO(failures(on.out));
  CHECK(any_failed_containing(on.out, "zk.acknowledged_write_kept"));
  CHECK_FALSE(any_failed_containing(on.out, "zk.committed_never_lost"));
  // Every server reports what its power loss took.
  for (const char* s : {"zookeeper-1", "zookeeper-2", "zookeeper-3"})
    CHECK(timeline_count(on.out, s, "the power loss took the txn log's last") == 1);

  Run off = run(load("known-bugs/zk-power-loss", {"cluster.mechanisms.zk_force_sync_no=false"}), 1);
  INFO(failures(off.out));
  CHECK(failed(off.out).empty());
  CHECK(timeline_count(off.out, "zookeeper-1", "the power loss took") == 0);
}

TEST_CASE("a crash of the whole ensemble loses nothing with forceSync=no: the page cache stays",
          "[zookeeper][power][scenario]") {
  Run crash = run(load("known-bugs/zk-power-loss",
                       {"faults=[{at: 40s, crash: zookeeper-*}, {at: 50s, restart: zookeeper-*}]"}),
                  1);
  INFO(failures(crash.out));
  CHECK(failed(crash.out).empty());
}
