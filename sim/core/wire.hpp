#pragma once
// Typed messages over the engine's Message. A protocol declares one struct per message kind:
//
//   struct PingReply {
//     static constexpr std::uint32_t k_type = cattle::k_protocol.type(2);
//     static constexpr std::string_view k_name = "pong";
//     static constexpr std::uint32_t k_size_bytes = 64;
//     std::int64_t seq = 0;
//     bool lists_containers = false;
//     std::shared_ptr<const NamesPayload> containers;  // the body
//     STAMPEDE_FIELDS(seq, lists_containers, containers)
//     bool valid() const { return seq > 0 && lists_containers == (containers != nullptr); }
//   };
//
// wire::encode puts the numeric fields (integers, enums, bools) into the Message's a, b and c in
// order and a shared_ptr to a Payload into its body; wire::decode reverses it. A message struct
// may state what every instance must satisfy in `bool valid() const`: encode and decode assert
// it, so a handler never acts on a message that breaks its protocol. Handlers dispatch with
// wire::dispatch<A, B, C>(msg, overloaded handler) and never read a, b or c themselves. A
// protocol that is not carried by a TCP connection declares `static constexpr Transport
// k_transport = Transport::datagram;` in each of its structs (sim/core/message.hpp).
#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <typeinfo>

#include "sim/core/assert.hpp"
#include "sim/core/fields.hpp"
#include "sim/core/message.hpp"

namespace stampede {

// A protocol's block of message types: [first, end). Every protocol's block is declared in one
// table (models/protocols.hpp), which checks at compile time that no two overlap.
struct ProtocolRange {
  std::string_view name;
  std::uint32_t first = 0;
  std::uint32_t end = 0;
  // The type number of the n-th message kind of this protocol (n from 0); a number outside the
  // block does not compile.
  consteval std::uint32_t type(std::uint32_t n) const {
    if (first + n >= end) throw "message type outside its protocol's range";
    return first + n;
  }
  constexpr bool contains(std::uint32_t t) const { return t >= first && t < end; }
};

template <std::size_t N>
consteval bool ranges_disjoint(const ProtocolRange (&r)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (r[i].first >= r[i].end) return false;
    for (std::size_t j = i + 1; j < N; ++j)
      if (r[i].first < r[j].end && r[j].first < r[i].end) return false;
  }
  return true;
}

namespace wire {

template <class T> struct payload_of { using type = void; };
template <class P> struct payload_of<std::shared_ptr<const P>> { using type = P; };

template <class T>
constexpr bool is_body = std::is_base_of_v<Payload, typename payload_of<T>::type>;
template <class T>
constexpr bool is_number = std::is_integral_v<T> || std::is_enum_v<T>;

template <class T>
concept MessageStruct = HasFields<T> && requires {
  { T::k_type } -> std::convertible_to<std::uint32_t>;
  { T::k_name } -> std::convertible_to<std::string_view>;
};

template <MessageStruct T>
constexpr void check_layout() {
  constexpr auto counts = [] {
    int numbers = 0, bodies = 0, other = 0;
    using Tuple = decltype(std::declval<T&>().fields());
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((is_number<std::remove_cvref_t<std::tuple_element_t<I, Tuple>>>  ? ++numbers
        : is_body<std::remove_cvref_t<std::tuple_element_t<I, Tuple>>> ? ++bodies
                                                                        : ++other),
       ...);
    }(std::make_index_sequence<std::tuple_size_v<Tuple>>{});
    struct C { int numbers, bodies, other; };
    return C{numbers, bodies, other};
  }();
  static_assert(counts.numbers <= 3, "a message carries at most three numeric fields (a, b, c)");
  static_assert(counts.bodies <= 1, "a message carries at most one body");
  static_assert(counts.other == 0, "message fields are numbers, enums, bools or one Payload body");
  static_assert(fields_cover_struct<T>(),
                "STAMPEDE_FIELDS leaves out a member, or lists them out of declaration order");
}

template <MessageStruct T>
std::uint32_t size_of(const T& m) {
  if constexpr (requires { m.size_bytes(); }) return m.size_bytes();
  else if constexpr (requires { T::k_size_bytes; }) return T::k_size_bytes;
  else return 128;
}

template <MessageStruct T>
bool satisfies_contract(const T& m) {
  if constexpr (requires { m.valid(); }) return m.valid();
  else return true;
}

[[noreturn]] void contract_failed(std::string_view message_name, std::string_view where);

template <MessageStruct T>
Message encode(const T& m) {
  check_layout<T>();
  if (!satisfies_contract(m)) contract_failed(T::k_name, "sent");
  Message out;
  out.type = T::k_type;
  out.size_bytes = size_of(m);
  if constexpr (requires { T::k_transport; }) out.transport = T::k_transport;
  std::int64_t* slots[3] = {&out.a, &out.b, &out.c};
  int next = 0;
  for_each_field(m, [&](const auto& f) {
    using F = std::remove_cvref_t<decltype(f)>;
    if constexpr (is_body<F>) out.body = f;
    else *slots[next++] = static_cast<std::int64_t>(f);
  });
  return out;
}

template <MessageStruct T>
T decode(const Message& msg) {
  check_layout<T>();
  STAMPEDE_ASSERT(msg.type == T::k_type, "decoded a message as the wrong type");
  T m;
  const std::int64_t slots[3] = {msg.a, msg.b, msg.c};
  int next = 0;
  for_each_field(m, [&](auto& f) {
    using F = std::remove_cvref_t<decltype(f)>;
    if constexpr (is_body<F>) {
      using P = typename payload_of<F>::type;
      if (msg.body == nullptr) return;
      // Payload types are final: comparing the dynamic type is the dynamic_cast, without its
      // search of the class hierarchy.
      STAMPEDE_ASSERT(typeid(*msg.body) == typeid(P), "a message body of the wrong type");
      f = std::static_pointer_cast<const P>(msg.body);
    } else if constexpr (std::is_same_v<F, bool>) {
      f = slots[next++] != 0;
    } else {
      f = static_cast<F>(slots[next++]);
    }
  });
  if (!satisfies_contract(m)) contract_failed(T::k_name, "received");
  return m;
}

// Calls handler(decode<M>(msg)) for the M among Ms whose type msg has; false when none has it.
template <MessageStruct... Ms, class Handler>
bool dispatch(const Message& msg, Handler&& handler) {
  return ((msg.type == Ms::k_type ? (handler(decode<Ms>(msg)), true) : false) || ...);
}

// The name of the message type among Ms, or "" when none has it.
template <MessageStruct... Ms>
constexpr std::string_view name_of(std::uint32_t type) {
  std::string_view name;
  ((type == Ms::k_type ? (name = Ms::k_name, true) : false) || ...);
  return name;
}

// An overload set from lambdas, for dispatch: wire::overloaded{[&](const Ping& p) {...}, ...}.
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace wire
}  // namespace stampede
