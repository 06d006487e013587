// sim/core: durations, digests, named random streams and the seeded chooser.
#include <catch2/catch.hpp>
#include <vector>

#include "sim/core/chooser.hpp"
#include "sim/core/cow.hpp"
#include "sim/core/digest.hpp"
#include "sim/core/random.hpp"
#include "sim/core/records.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/time.hpp"

using namespace stampede;

TEST_CASE("durations render with the largest readable unit", "[core]") {
  CHECK(format_duration(90 * k_s) == "1.5m");
  CHECK(format_duration(250 * k_ms) == "250ms");
  CHECK(format_duration(2 * k_h) == "2h");
  CHECK(format_duration(-5 * k_s) == "-5s");
  CHECK(format_duration(7) == "7ns");
  CHECK(format_duration(0) == "0ns");
}

TEST_CASE("a named stream gives the same numbers on every platform (pinned values)", "[core]") {
  // Pinned: Boost.Random's engines and distributions are specified to the bit, so these values
  // must never drift; a change here changes every digest.
  RandomStream s(42, "latency");
  std::vector<std::int64_t> got;
  for (int i = 0; i < 4; ++i) got.push_back(s.uniform_int(0, 1'000'000));
  CHECK(got == std::vector<std::int64_t>{295950, 984869, 419782, 128459});
  CHECK(derive_seed(42, "latency") == 0x130f9c42a231d3e3ULL);
}

TEST_CASE("streams with different names or seeds are independent", "[core]") {
  RandomStream a(1, "a"), b(1, "b"), c(2, "a");
  CHECK(a.next_u64() != b.next_u64());
  RandomStream a2(1, "a");
  CHECK(a2.next_u64() != c.next_u64());
}

TEST_CASE("exponential draws have roughly the requested mean", "[core]") {
  RandomStream s(7, "exp");
  double sum = 0;
  for (int i = 0; i < 20000; ++i) sum += static_cast<double>(s.exponential(1000 * k_ms));
  double mean = sum / 20000 / static_cast<double>(k_ms);
  CHECK(mean > 950.0);
  CHECK(mean < 1050.0);
}

TEST_CASE("the seeded chooser draws each kind of choice from its own stream", "[core]") {
  SeededChooser x(5), y(5);
  // Drawing latencies on x must not shift x's order choices relative to y's.
  for (int i = 0; i < 10; ++i) x.uniform(ChoiceKind::latency, 0, 100);
  for (int i = 0; i < 10; ++i) CHECK(x.pick(ChoiceKind::order, 1000) == y.pick(ChoiceKind::order, 1000));
  CHECK(x.pick(ChoiceKind::model, 1) == 0);
}

TEST_CASE(
    "a copy of the seeded chooser draws what the original would, and neither copy's "
    "draws move the other (its streams are copy-on-write)",
    "[core]") {
  // dfs saves a copy of its chooser with each snapshot and copies it back at each backtrack: a
  // draw that reached a shared stream would change what the restored run draws.
  SeededChooser a(9);
  for (int i = 0; i < 5; ++i) a.uniform(ChoiceKind::latency, 0, 1000);
  SeededChooser saved = a;
  std::vector<std::int64_t> first;
  for (int i = 0; i < 20; ++i) first.push_back(a.uniform(ChoiceKind::latency, 0, 1000));
  for (int i = 0; i < 20; ++i) a.pick(ChoiceKind::order, 7);
  SeededChooser again = saved;  // a restore
  std::vector<std::int64_t> second;
  for (int i = 0; i < 20; ++i) second.push_back(again.uniform(ChoiceKind::latency, 0, 1000));
  CHECK(second == first);
  // The saved copy itself has not moved either.
  CHECK(saved.uniform(ChoiceKind::latency, 0, 1000) == first[0]);
}

namespace {
struct Value {
  std::vector<int> items;
  std::int64_t n = 0;
  STAMPEDE_FIELDS(items, n)
};
}  // namespace

TEST_CASE(
    "a Cow value is shared by its copies until one writes, digests as the value itself "
    "and perturbs the value's own fields",
    "[core]") {
  Cow<Value> a(Value{{1, 2}, 3});
  Cow<Value> b = a;
  CHECK(b.shared());
  b.mut().items.push_back(4);
  CHECK(a->items == std::vector<int>{1, 2});
  CHECK(b->items == std::vector<int>{1, 2, 4});
  CHECK(!b.shared());
  CHECK(state::digest(a) == state::digest(Value{{1, 2}, 3}));
  CHECK(state::leaf_count(a) == state::leaf_count(Value{}));
  Cow<Value> c = a;
  CHECK(state::perturb(c, 1) == "n");
  CHECK(c->n == 4);
  CHECK(a->n == 3);
}

TEST_CASE(
    "a Cow value digests as the value itself again after a write, and from any digest before it",
    "[core]") {
  // The value keeps what it last digested to (in -> out) until mut(): a kept answer must never
  // outlive a write, nor serve a digest that reaches the value from another value.
  Cow<Value> a(Value{{1, 2}, 3});
  auto folded = [](std::uint64_t before, const auto& v) {
    Digest d = Digest::resumed(before);
    state::add(d, v);
    return d.value();
  };
  CHECK(folded(7, a) == folded(7, Value{{1, 2}, 3}));
  CHECK(folded(7, a) == folded(7, Value{{1, 2}, 3}));  // the kept answer
  CHECK(folded(8, a) == folded(8, Value{{1, 2}, 3}));  // another digest in
  Cow<Value> b = a;
  b.mut().n = 5;
  CHECK(folded(8, b) == folded(8, Value{{1, 2}, 5}));
  CHECK(folded(8, a) == folded(8, Value{{1, 2}, 3}));  // the copy's write left a's answer
  a.mut().items.push_back(9);
  CHECK(folded(8, a) == folded(8, Value{{1, 2, 9}, 3}));
}

TEST_CASE(
    "a copy of the recorder keeps its log lines, in order, while the original logs on "
    "across chunk boundaries",
    "[core]") {
  // The explorer's snapshots hold such copies: a line logged after the save must not reach them.
  Recorder rec;
  const std::size_t before = LogLines::k_chunk + 3;  // one full shared chunk and a tail
  for (std::size_t i = 0; i < before; ++i)
    rec.log(static_cast<TimeNs>(i), 0, LogLevel::info, std::to_string(i));
  const Recorder copy = rec;
  for (std::size_t i = before; i < 3 * LogLines::k_chunk; ++i)
    rec.log(static_cast<TimeNs>(i), 0, LogLevel::info, std::to_string(i));
  REQUIRE(copy.logs().size() == before);
  REQUIRE(rec.logs().size() == 3 * LogLines::k_chunk);
  std::size_t n = 0;
  for (const LogRecord& l : copy.logs()) {
    CHECK(l.text == std::to_string(n));
    CHECK(l.time_ns == static_cast<TimeNs>(n));
    ++n;
  }
  CHECK(n == before);
  n = 0;
  for (const LogRecord& l : rec.logs()) CHECK(l.text == std::to_string(n++));
  CHECK(rec.logs().back().text == std::to_string(3 * LogLines::k_chunk - 1));
}

TEST_CASE("digests depend on order and content", "[core]") {
  Digest a, b, c;
  a.add(1).add(2);
  b.add(2).add(1);
  c.add(1).add(2);
  CHECK(a.value() != b.value());
  CHECK(a.value() == c.value());
  CHECK(hex64(0xabc) == "0000000000000abc");
}

TEST_CASE("node name patterns match exact names, prefixes with * and all", "[core]") {
  CHECK(name_matches("agent-*", "agent-12"));
  CHECK_FALSE(name_matches("agent-*", "server-1"));
  CHECK(name_matches("all", "db"));
  CHECK(name_matches("server-1", "server-1"));
  CHECK_FALSE(name_matches("server-1", "server-10"));
}
