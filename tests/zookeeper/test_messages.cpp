// The ZooKeeper protocol's typed messages and timers keep the wire numbers and tag layouts that
// recorded traces depend on, and every message decodes to the struct it was encoded from.
#include <catch2/catch.hpp>

#include "models/zookeeper/messages.hpp"

using namespace stampede;
using namespace stampede::zk;

namespace {

template <class M>
void round_trip(const M& m, std::uint32_t type, std::uint32_t size_bytes) {
  INFO(M::k_name);
  Message msg = wire::encode(m);
  CHECK(msg.type == type);
  CHECK(msg.size_bytes == size_bytes);
  M back = wire::decode<M>(msg);
  CHECK(back.fields() == m.fields());
  CHECK(type_name(type) == M::k_name);
}

std::shared_ptr<const TxnBody> txn_body(std::int64_t zxid) {
  auto b = std::make_shared<TxnBody>();
  b->entry = LoggedTxn{zxid, std::make_shared<const Txn>()};
  return b;
}

}  // namespace

TEST_CASE("every ZooKeeper message keeps its type number and size, and decodes as encoded",
          "[messages]") {
  auto vote = std::make_shared<VoteBody>();
  vote->vote = Vote{2, 5, 1};
  vote->election_epoch = 3;
  round_trip(Notification{2, 5, 3, vote}, 0x5A00, 64);
  round_trip(FollowerInfo{7, 1, 9}, 0x5A01, 64);
  round_trip(AckEpoch{7, -1, 9}, 0x5A02, 64);
  round_trip(AckNewLeader{7, 2, 9}, 0x5A03, 64);
  round_trip(Ack{7, 0, 9}, 0x5A04, 64);
  round_trip(PingReply{7, std::make_shared<SessionList>()}, 0x5A05, 64);
  round_trip(Forward{7, txn_body(0)}, 0x5A06, 256);
  round_trip(Revalidate{7, 11, 4}, 0x5A07, 64);
  round_trip(LeaderInfo{7, 0, 2}, 0x5A08, 64);
  auto sync = std::make_shared<SyncBody>();
  sync->history = std::make_shared<const History>(History{LoggedTxn{1, nullptr}});
  round_trip(NewLeader{7, 1, 2, sync}, 0x5A09, 128 + 64);
  round_trip(UpToDate{7, 2, 3}, 0x5A0A, 64);
  round_trip(Proposal{7, 3, 9, txn_body(9)}, 0x5A0B, 256);
  round_trip(Commit{7, 4, 9}, 0x5A0C, 64);
  round_trip(Ping{7, 5}, 0x5A0D, 64);
  auto reval = std::make_shared<RevalidateBody>();
  reval->session = 11;
  round_trip(RevalidateReply{7, 6, 11, reval}, 0x5A0E, 64);
  round_trip(LearnerRefused{7}, 0x5A0F, 40);
  round_trip(ClientConnect{8, 0, 40 * k_s}, 0x5A40, 64);
  round_trip(ClientPing{8, 11}, 0x5A41, 64);
  round_trip(ClientRequest{8, 1, std::make_shared<RequestBody>()}, 0x5A42, 128);
  round_trip(ClientConnected{8, 11, 40 * k_s}, 0x5A43, 128);
  round_trip(ClientExpired{8, 11}, 0x5A44, 128);
  round_trip(ClientClosed{8}, 0x5A45, 64);
  round_trip(ClientPong{8}, 0x5A46, 128);
  round_trip(ClientResponse{8, 1, std::make_shared<ResponseBody>()}, 0x5A47, 128);
  round_trip(ClientWatch{8, std::make_shared<WatchBody>()}, 0x5A48, 128);
  round_trip(ProbeWrite{3}, 0x5A49, 64);
  round_trip(ProbeCommitted{3}, 0x5A4A, 64);
  CHECK(type_name(0x5A10) == "zk.unknown");
}

TEST_CASE("ZooKeeper timer tags keep their layout: prefix, kind, generation", "[messages]") {
  // prefix << 48 | kind << 32 | generation, as the tags were built by hand before.
  auto old_tag = [](std::uint64_t prefix, std::uint64_t kind, std::uint32_t gen) {
    return (prefix << 48) | (kind << 32) | gen;
  };
  CHECK(timer_tag::encode(PollTimer{7}) == old_tag(0x5A53, 1, 7));
  CHECK(timer_tag::encode(ConnectTimer{0xFFFFFFFF}) == old_tag(0x5A53, 6, 0xFFFFFFFF));
  CHECK(timer_tag::encode(FlushVotesTimer{}) == old_tag(0x5A53, 7, 0));
  CHECK(timer_tag::encode(ClientReconnectTimer{3}) == old_tag(0x5A43, 4, 3));
  CHECK(timer_tag::encode(IdleDoneTimer{2}) == old_tag(0x5A4C, 2, 2));
  CHECK(timer_tag::encode(ProbeNextTimer{}) == old_tag(0x5A50, 1, 0));
  CHECK(timer_tag::encode(ProbeDeadlineTimer{9}) == old_tag(0x5A50, 2, 9));
  // A tag decodes only as its own kind.
  std::uint64_t t = timer_tag::encode(FinalizeTimer{5});
  CHECK_FALSE(timer_tag::decode<PollTimer>(t).has_value());
  REQUIRE(timer_tag::decode<FinalizeTimer>(t).has_value());
  CHECK(timer_tag::decode<FinalizeTimer>(t)->gen == 5);
}
