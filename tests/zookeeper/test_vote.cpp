// The vote order of FastLeaderElection, and what ZOOKEEPER-1419 broke in it.
#include <catch2/catch.hpp>
#include <vector>

#include "models/zookeeper/vote.hpp"

using stampede::zk::total_order_predicate;
using stampede::zk::Vote;

namespace {
std::vector<Vote> all_votes() {
  std::vector<Vote> out;
  for (std::int64_t id = 1; id <= 5; ++id)
    for (std::int64_t epoch = 0; epoch <= 2; ++epoch)
      for (std::int64_t zxid :
           {std::int64_t{0}, (std::int64_t{1} << 32) + 3, std::int64_t{2} << 32})
        out.push_back(Vote{id, zxid, epoch});
  return out;
}
}  // namespace

TEST_CASE("votes compare by epoch, then zxid, then server id", "[vote]") {
  CHECK(total_order_predicate(Vote{1, 0, 2}, Vote{5, 100, 1}, true));    // epoch first
  CHECK(total_order_predicate(Vote{1, 100, 1}, Vote{5, 50, 1}, true));   // then zxid
  CHECK(total_order_predicate(Vote{5, 100, 1}, Vote{1, 100, 1}, true));  // then id
  CHECK_FALSE(total_order_predicate(Vote{3, 100, 1}, Vote{3, 100, 1}, true));
}

TEST_CASE("the correct order is a strict total order", "[vote]") {
  auto votes = all_votes();
  for (const Vote& a : votes) {
    CHECK_FALSE(total_order_predicate(a, a, true));
    for (const Vote& b : votes) {
      if (a == b) continue;
      // Exactly one of the two beats the other.
      CHECK(total_order_predicate(a, b, true) != total_order_predicate(b, a, true));
      for (const Vote& c : votes)
        if (total_order_predicate(a, b, true) && total_order_predicate(b, c, true))
          CHECK(total_order_predicate(a, c, true));
    }
  }
}

TEST_CASE("ZOOKEEPER-1419: the buggy order lets two votes beat each other", "[vote][1419]") {
  // Server 1 has moved to epoch 1 without logging a txn of it; server 5 is still in epoch 0.
  Vote high_epoch{1, 0, 1};
  Vote high_id{5, 0, 0};
  CHECK(total_order_predicate(high_epoch, high_id, false));
  CHECK(total_order_predicate(high_id, high_epoch, false));  // the id tie-break ignores epochs
  CHECK(total_order_predicate(high_epoch, high_id, true));
  CHECK_FALSE(total_order_predicate(high_id, high_epoch, true));
}
