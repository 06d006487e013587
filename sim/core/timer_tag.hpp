#pragma once
// Typed timers. The engine hands a timer's 64-bit tag back to the node unchanged; a model packs
// a typed timer into it with one helper instead of shifting bits by hand:
//
//   struct PingTimeout {
//     static constexpr TimerKind k_kind{8, 2};              // the top 8 bits hold kind 2
//     static constexpr std::array<unsigned, 2> k_bits{32, 24};  // host slot, sequence
//     std::uint64_t host_slot = 0;
//     std::uint64_t seq = 0;
//     STAMPEDE_FIELDS(host_slot, seq)
//   };
//   ctx.set_timer(after, timer_tag::encode(PingTimeout{slot, seq}));
//   timer_tag::dispatch<PingTimeout, ReplayTick>(tag, handler);
//
// The kind sits in the tag's top bits; the fields, most significant first, fill the low bits
// (together at most 64 bits). encode decodes what it encoded and fails an assertion, which
// names the seed and step, when a value does not fit its bits: never a silent truncation.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "sim/core/assert.hpp"
#include "sim/core/fields.hpp"

namespace stampede {

// The top `bits` of a tag, holding `value`: which timer of a node (or of a protocol) this is.
struct TimerKind {
  unsigned bits = 0;
  std::uint64_t value = 0;
};

namespace timer_tag {

template <class T>
concept TimerStruct = HasFields<T> && requires {
  { T::k_kind } -> std::convertible_to<TimerKind>;
  T::k_bits;
};

constexpr std::uint64_t low_mask(unsigned bits) {
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

template <TimerStruct T>
constexpr unsigned field_bits() {
  unsigned sum = 0;
  for (unsigned b : T::k_bits) sum += b;
  return sum;
}

template <TimerStruct T>
constexpr void check_layout() {
  static_assert(T::k_kind.bits <= 64 && field_bits<T>() + T::k_kind.bits <= 64,
                "a timer's kind and fields take at most 64 bits");
  static_assert(std::tuple_size_v<decltype(std::declval<T&>().fields())> == T::k_bits.size(),
                "one width in k_bits per field");
  static_assert(fields_cover_struct<T>(),
                "STAMPEDE_FIELDS leaves out a member, or lists them out of declaration order");
  static_assert(T::k_kind.bits == 0 || T::k_kind.value <= low_mask(T::k_kind.bits),
                "the kind does not fit its bits");
}

// Decodes tag as a T, or nullopt when its top bits hold another kind.
template <TimerStruct T>
std::optional<T> decode(std::uint64_t tag) {
  check_layout<T>();
  constexpr unsigned kb = T::k_kind.bits;
  if (kb > 0 && (tag >> (64 - kb)) != T::k_kind.value) return std::nullopt;
  T t;
  unsigned shift = field_bits<T>();
  std::size_t i = 0;
  for_each_field(t, [&](auto& f) {
    unsigned bits = T::k_bits[i++];
    shift -= bits;
    using F = std::remove_cvref_t<decltype(f)>;
    f = static_cast<F>((tag >> shift) & low_mask(bits));
  });
  return t;
}

[[noreturn]] void does_not_fit(std::string_view field, std::uint64_t value, unsigned bits);

template <TimerStruct T>
std::uint64_t encode(const T& t) {
  check_layout<T>();
  constexpr unsigned kb = T::k_kind.bits;
  std::uint64_t tag = kb > 0 ? T::k_kind.value << (64 - kb) : 0;
  unsigned shift = field_bits<T>();
  std::size_t i = 0;
  for_each_field(t, [&](const auto& f) {
    unsigned bits = T::k_bits[i];
    shift -= bits;
    auto v = static_cast<std::uint64_t>(f);
    // The round trip, field by field: what does not come back did not fit.
    if ((v & low_mask(bits)) != v || static_cast<std::remove_cvref_t<decltype(f)>>(v) != f)
      does_not_fit(field_name<T>(i), v, bits);
    tag |= v << shift;
    ++i;
  });
  return tag;
}

// Whether two kinds can be told apart: neither's bits are a prefix of the other's.
constexpr bool kinds_distinct(TimerKind a, TimerKind b) {
  if (a.bits > b.bits) return kinds_distinct(b, a);
  return (b.value >> (b.bits - a.bits)) != a.value;
}

// Whether every pair of the kinds can be told apart.
template <TimerStruct... Ts>
constexpr bool all_kinds_distinct() {
  constexpr std::array<TimerKind, sizeof...(Ts)> kinds{Ts::k_kind...};
  for (std::size_t i = 0; i < kinds.size(); ++i)
    for (std::size_t j = i + 1; j < kinds.size(); ++j)
      if (!kinds_distinct(kinds[i], kinds[j])) return false;
  return true;
}

// Calls handler(*decode<T>(tag)) for the first T among Ts whose kind the tag has; false when none.
// Two structs of one kind would make the later one unreachable, so the kinds must differ.
template <TimerStruct... Ts, class Handler>
bool dispatch(std::uint64_t tag, Handler&& handler) {
  static_assert(all_kinds_distinct<Ts...>(), "two timer structs share a kind");
  return ([&] {
    if (auto t = decode<Ts>(tag)) {
      handler(*t);
      return true;
    }
    return false;
  }() || ...);
}

}  // namespace timer_tag
}  // namespace stampede
