// The typed-model helpers of sim/core: field lists, state digests, message encoding and timer
// tags, each held to what its header promises.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "sim/core/state.hpp"
#include "sim/core/timer_tag.hpp"
#include "sim/core/wire.hpp"

namespace stampede {
namespace {

struct Inner {
  std::int64_t n = 0;
  std::string s;
  STAMPEDE_FIELDS(n, s)
};

enum class Colour : std::uint8_t { red, green };

struct Outer {
  bool flag = false;
  Colour colour = Colour::red;
  Inner inner;
  std::vector<std::int64_t> list;
  std::map<std::string, Inner> by_name;
  std::optional<std::int64_t> maybe;
  Untracked<std::uint64_t> timer_id;
  STAMPEDE_FIELDS(flag, colour, inner, list, by_name, maybe, timer_id)
};

class Names final : public Payload {
 public:
  void digest_into(Digest& d) const override { d.add(std::uint64_t{7}); }
};

constexpr ProtocolRange k_test{"test", 100, 104};

struct Ping {
  static constexpr std::uint32_t k_type = k_test.type(0);
  static constexpr std::string_view k_name = "ping";
  static constexpr std::uint32_t k_size_bytes = 64;
  std::int64_t seq = 0;
  bool urgent = false;
  std::shared_ptr<const Names> body;
  STAMPEDE_FIELDS(seq, urgent, body)
  bool valid() const { return seq > 0; }
};

struct Pong {
  static constexpr std::uint32_t k_type = k_test.type(1);
  static constexpr std::string_view k_name = "pong";
  Colour colour = Colour::red;
  STAMPEDE_FIELDS(colour)
};

struct Tick {
  static constexpr TimerKind k_kind{8, 3};
  static constexpr std::array<unsigned, 2> k_bits{32, 24};
  std::uint64_t host = 0;
  std::uint32_t seq = 0;
  STAMPEDE_FIELDS(host, seq)
};

struct Tock {
  static constexpr TimerKind k_kind{8, 4};
  static constexpr std::array<unsigned, 1> k_bits{56};
  std::uint64_t gen = 0;
  STAMPEDE_FIELDS(gen)
};

}  // namespace

TEST_CASE("field_name reads the names STAMPEDE_FIELDS wrote", "[typed]") {
  CHECK(field_name<Outer>(0) == "flag");
  CHECK(field_name<Outer>(2) == "inner");
  CHECK(field_name<Outer>(6) == "timer_id");
}

class Part {
 public:
  void digest_into(Digest& d) const { state::add(d, s_); }
  std::size_t state_field_count() const { return state::field_total(s_); }
  std::string perturb_state_field(std::size_t i) { return state::perturb_field(i, s_); }

 private:
  struct S {
    std::int64_t x = 0;
    std::int64_t y = 0;
    STAMPEDE_FIELDS(x, y)
  } s_;
};

struct WithPart {
  std::int64_t z = 0;
  Part part;
  STAMPEDE_FIELDS(z, part)
};

TEST_CASE("a component's own fields count as leaves of the struct that holds it", "[typed]") {
  WithPart w;
  REQUIRE(state::leaf_count(w) == 3);
  const std::uint64_t d0 = state::digest(w);
  for (std::size_t i = 0; i < 3; ++i) {
    WithPart copy = w;
    INFO(state::perturb(copy, i));
    CHECK(state::digest(copy) != d0);
  }
}

struct Forgot {
  std::int64_t a = 0;
  std::int64_t b = 0;
  STAMPEDE_FIELDS(a)
};

TEST_CASE("a member left out of the field list is caught at compile time", "[typed]") {
  static_assert(fields_cover_struct<Outer>());
  static_assert(fields_cover_struct<Inner>());
  static_assert(fields_cover_struct<Ping>());
  static_assert(!fields_cover_struct<Forgot>());
  SUCCEED("checked by static_assert");
}

TEST_CASE("every field of a state struct reaches its digest, untracked ones do not", "[typed]") {
  Outer base;
  base.by_name["a"] = Inner{1, "x"};
  const std::uint64_t d0 = state::digest(base);
  // Inner counts as two leaves; timer_id as none.
  REQUIRE(state::leaf_count(base) == 7);
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < state::leaf_count(base); ++i) {
    Outer copy = base;
    std::string name = state::perturb(copy, i);
    seen.push_back(name);
    CHECK(state::digest(copy) != d0);
  }
  CHECK(seen == std::vector<std::string>{"flag", "colour", "inner.n", "inner.s", "list",
                                         "by_name", "maybe"});
  Outer other = base;
  other.timer_id = 99;
  CHECK(state::digest(other) == d0);
}

TEST_CASE("a typed message round-trips through the engine's Message", "[typed]") {
  Ping p{7, true, std::make_shared<const Names>()};
  Message m = wire::encode(p);
  CHECK(m.type == 100);
  CHECK(m.size_bytes == 64);
  CHECK(m.a == 7);
  CHECK(m.b == 1);
  CHECK(m.body != nullptr);
  Ping back = wire::decode<Ping>(m);
  CHECK(back.seq == 7);
  CHECK(back.urgent);
  CHECK(back.body == p.body);

  int pings = 0, pongs = 0;
  auto handler = wire::overloaded{[&](const Ping&) { ++pings; }, [&](const Pong& q) {
                                    pongs += q.colour == Colour::green ? 1 : 0;
                                  }};
  CHECK(wire::dispatch<Ping, Pong>(m, handler));
  CHECK(wire::dispatch<Ping, Pong>(wire::encode(Pong{Colour::green}), handler));
  Message other;
  other.type = 103;
  CHECK_FALSE(wire::dispatch<Ping, Pong>(other, handler));
  CHECK(pings == 1);
  CHECK(pongs == 1);
  CHECK(wire::name_of<Ping, Pong>(101) == "pong");
  CHECK(wire::name_of<Ping, Pong>(103).empty());
}

TEST_CASE("protocol blocks that overlap are found", "[typed]") {
  constexpr ProtocolRange ok[] = {{"a", 1, 10}, {"b", 10, 20}};
  constexpr ProtocolRange bad[] = {{"a", 1, 10}, {"b", 9, 20}};
  static_assert(ranges_disjoint(ok));
  static_assert(!ranges_disjoint(bad));
}

TEST_CASE("a timer tag keeps its kind in the top bits and its fields below", "[typed]") {
  std::uint64_t tag = timer_tag::encode(Tick{0xABCDEF12u, 0x123456u});
  CHECK(tag == ((std::uint64_t{3} << 56) | (std::uint64_t{0xABCDEF12u} << 24) | 0x123456u));
  auto back = timer_tag::decode<Tick>(tag);
  REQUIRE(back);
  CHECK(back->host == 0xABCDEF12u);
  CHECK(back->seq == 0x123456u);
  CHECK_FALSE(timer_tag::decode<Tock>(tag));
  int ticks = 0;
  CHECK(timer_tag::dispatch<Tock, Tick>(tag, wire::overloaded{[&](const Tick&) { ++ticks; },
                                                              [&](const Tock&) {}}));
  CHECK(ticks == 1);
}

TEST_CASE("timer structs of one kind, or of kinds one of which prefixes the other, are refused",
          "[typed]") {
  // dispatch static_asserts all_kinds_distinct: a second struct of a kind would never run
  // (until session 26 a Cattle server's placement-lock wait ran as its MigrationDone).
  STATIC_REQUIRE(timer_tag::all_kinds_distinct<Tick, Tock>());
  STATIC_REQUIRE_FALSE(timer_tag::kinds_distinct(TimerKind{8, 17}, TimerKind{8, 17}));
  STATIC_REQUIRE_FALSE(timer_tag::kinds_distinct(TimerKind{4, 1}, TimerKind{8, 0x1F}));
  STATIC_REQUIRE(timer_tag::kinds_distinct(TimerKind{4, 1}, TimerKind{8, 0x2F}));
  STATIC_REQUIRE(timer_tag::kinds_distinct(TimerKind{8, 17}, TimerKind{8, 19}));
}

}  // namespace stampede
