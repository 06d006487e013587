// The ping monitor's timeout timer (models/cattle/timers.hpp): an HA host, whose row id carries
// its server's index from bit 40 up, comes back from the timer as the same host.
#include <catch2/catch.hpp>
#include <cstdint>

#include "models/cattle/timers.hpp"

using namespace stampede;
using namespace stampede::cattle;

namespace {

// An HA row id as ha.cpp hands them out: (index << 40) | (boot << 28) | n.
constexpr std::int64_t ha_id(std::int64_t index, std::int64_t boot, std::int64_t n) {
  return (index << 40) | (boot << 28) | n;
}

// The tag the ping monitor set before the typed timer: `host id << 24 | seq` in the 56 bits
// below the kind byte.
constexpr std::uint64_t legacy_tag(std::int64_t host, std::uint64_t seq) {
  std::uint64_t payload = (static_cast<std::uint64_t>(host) << 24) | seq;
  return (std::uint64_t{2} << 56) | (payload & ((std::uint64_t{1} << 56) - 1));
}

}  // namespace

TEST_CASE("an HA host id survives the ping timeout timer's round trip", "[cattle][timers]") {
  HostSlots slots;
  const std::int64_t hosts[] = {ha_id(1, 1, 1), ha_id(1, 1, 2), ha_id(3, 2, 7)};
  for (std::int64_t host : hosts) {
    std::uint64_t tag = timer_tag::encode(PingTimeout{slots.slot_of(HostId{host}), 0xabcdef});
    auto back = timer_tag::decode<PingTimeout>(tag);
    REQUIRE(back);
    CHECK(slots.host_of(back->host_slot) == HostId{host});
    CHECK(back->seq == 0xabcdef);
    // The packing it replaces lost the host: what came back named another host.
    CHECK(static_cast<std::int64_t>((legacy_tag(host, 0xabcdef) & ((std::uint64_t{1} << 56) - 1)) >>
                                    24) != host);
  }
  // A host keeps its slot; the slots stay small.
  CHECK(slots.slot_of(HostId{hosts[1]}) == 2);
  CHECK(slots.hosts.size() == 3);
  CHECK_FALSE(slots.host_of(0));
  CHECK_FALSE(slots.host_of(4));
}

TEST_CASE("single-mode ping timers keep the tags they always had", "[cattle][timers]") {
  // Single mode puts the host's own (small) id in the slot: the tag is the old one bit for bit,
  // so single-mode traces replay step for step.
  for (std::int64_t host : {1, 2, 3, 200})
    for (std::uint64_t seq : {1u, 77u, 0xffffffu})
      CHECK(timer_tag::encode(PingTimeout{static_cast<std::uint64_t>(host), seq}) ==
            legacy_tag(host, seq));
  CHECK(timer_tag::encode(PingTick{}) == std::uint64_t{1} << 56);
  CHECK(timer_tag::encode(AgentReply{42}) == ((std::uint64_t{6} << 56) | 42));
  CHECK(timer_tag::encode(ServiceLockWait{ha_id(3, 2, 7)}) ==
        ((std::uint64_t{9} << 56) | static_cast<std::uint64_t>(ha_id(3, 2, 7))));
}
