#pragma once
// Explicit model state. A node keeps what survives a crash (what is on disk) in one struct and
// what a crash loses in another, each listing its fields once with STAMPEDE_FIELDS. The digest,
// the crash (the volatile struct reset to its defaults), the restart and clone() all go through
// those lists, and tests/state perturbs every field of every model one at a time to prove that
// each reaches the digest.
//
//   struct Durable { std::int64_t done = 0; STAMPEDE_FIELDS(done) };
//   struct Volatile { std::int64_t mine = 0; bool waiting = false; STAMPEDE_FIELDS(mine, waiting) };
//   std::uint64_t state_digest() const override { return state::digest(durable_, volatile_); }
//   void on_crash() override { volatile_ = {}; }
//
// A component embedded in a node (a ZooKeeper client inside a server) keeps its own field lists
// and implements digest_into, state_field_count and perturb_state_field (the Component concept
// below), so that the node's digest and perturbation reach into it.
//
// A value that is not part of the state's identity (an engine-assigned timer id, a cache that is
// rebuilt from the state) is wrapped in Untracked<T>: it is copied with the state, but neither
// digested nor perturbed.
#include <bit>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/core/digest.hpp"
#include "sim/core/fields.hpp"

namespace stampede {

template <class T>
struct Untracked {
  T value{};
  Untracked() = default;
  Untracked(T v) : value(std::move(v)) {}  // NOLINT: implicit on purpose, as a plain field
  Untracked& operator=(T v) {
    value = std::move(v);
    return *this;
  }
  operator T&() { return value; }  // NOLINT
  operator const T&() const { return value; }  // NOLINT
  T* operator->() { return &value; }
  const T* operator->() const { return &value; }
};

namespace state {

template <class T> struct is_untracked : std::false_type {};
template <class T> struct is_untracked<Untracked<T>> : std::true_type {};

template <class T> struct is_sequence : std::false_type {};
template <class T, class A> struct is_sequence<std::vector<T, A>> : std::true_type {};
template <class T, class A> struct is_sequence<std::deque<T, A>> : std::true_type {};
template <class T, std::size_t N> struct is_sequence<boost::container::small_vector<T, N>>
    : std::true_type {};

template <class T> struct is_map : std::false_type {};
template <class K, class V, class C, class A> struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class T> struct is_set : std::false_type {};
template <class K, class C, class A> struct is_set<std::set<K, C, A>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_pair : std::false_type {};
template <class A, class B> struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T> struct is_shared : std::false_type {};
template <class T> struct is_shared<std::shared_ptr<T>> : std::true_type {};

// A type with a digest of its own (a class whose state is not a plain field list).
template <class T>
concept SelfDigesting = requires(const T& t, Digest& d) { t.digest_into(d); };

// A component embedded in a node (a client library a server links in: a ZooKeeper client, a
// database pool) whose state is its own field lists: it digests itself, and tests reach its
// fields through the same two calls a Node has.
template <class T>
concept Component = SelfDigesting<T> && requires(T& t, const T& c) {
  { c.state_field_count() } -> std::convertible_to<std::size_t>;
  { t.perturb_state_field(std::size_t{0}) } -> std::convertible_to<std::string>;
};

// Folds one value into d. Ordered containers only: an unordered one would make the digest
// depend on iteration order, so it does not compile.
template <class T>
void add(Digest& d, const T& v) {
  if constexpr (is_untracked<T>::value) {
    (void)v;  // not part of the state's identity
  } else if constexpr (std::is_same_v<T, bool>) {
    d.add(v ? 1u : 0u);
  } else if constexpr (std::is_enum_v<T>) {
    d.add(static_cast<std::uint64_t>(v));
  } else if constexpr (std::is_integral_v<T>) {
    d.add(static_cast<std::uint64_t>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    d.add(std::bit_cast<std::uint64_t>(static_cast<double>(v)));
  } else if constexpr (std::is_same_v<T, std::string>) {
    d.add(std::string_view(v));
  } else if constexpr (HasFields<T>) {
    static_assert(fields_cover_struct<T>(),
                  "STAMPEDE_FIELDS leaves out a member, or lists them out of declaration order");
    for_each_field(v, [&](const auto& f) { add(d, f); });
  } else if constexpr (SelfDigesting<T>) {
    v.digest_into(d);
  } else if constexpr (is_sequence<T>::value || is_set<T>::value) {
    d.add(static_cast<std::uint64_t>(v.size()));
    for (const auto& e : v) add(d, e);
  } else if constexpr (is_map<T>::value) {
    d.add(static_cast<std::uint64_t>(v.size()));
    for (const auto& [k, e] : v) {
      add(d, k);
      add(d, e);
    }
  } else if constexpr (is_optional<T>::value) {
    d.add(v ? 1u : 0u);
    if (v) add(d, *v);
  } else if constexpr (is_pair<T>::value) {
    add(d, v.first);
    add(d, v.second);
  } else if constexpr (is_shared<T>::value) {
    d.add(v ? 1u : 0u);
    if (v) add(d, *v);
  } else {
    static_assert(sizeof(T) == 0, "state::add: no digest for this field type");
  }
}

// The digest of one or more state structs, in order.
template <class... Parts>
std::uint64_t digest(const Parts&... parts) {
  Digest d;
  (add(d, parts), ...);
  return d.value();
}

// --- For tests: change one field at a time -------------------------------------------------

// How many separately perturbable fields v has: a struct with fields counts those of its fields;
// anything else (a number, a string, a container) is one.
template <class T>
std::size_t leaf_count(const T& v) {
  if constexpr (is_untracked<T>::value) {
    (void)v;
    return 0;
  } else if constexpr (Component<T>) {
    return v.state_field_count();
  } else if constexpr (HasFields<T>) {
    std::size_t n = 0;
    for_each_field(v, [&](const auto& f) { n += leaf_count(f); });
    return n;
  } else {
    (void)v;
    return 1;
  }
}

// Changes v to a different value of its type (a number by one, a string by a character, a
// container by an element, an optional by its presence). Types of a model's own provide
// `void perturb_for_test()`.
template <class T>
void change(T& v) {
  if constexpr (is_untracked<T>::value) {
    (void)v;  // never reached: an untracked value has no leaves
  } else if constexpr (std::is_same_v<T, bool>) {
    v = !v;
  } else if constexpr (std::is_enum_v<T>) {
    v = static_cast<T>(static_cast<std::underlying_type_t<T>>(v) + 1);
  } else if constexpr (std::is_arithmetic_v<T>) {
    v = static_cast<T>(v + 1);
  } else if constexpr (std::is_same_v<T, std::string>) {
    v += 'x';
  } else if constexpr (requires { v.perturb_for_test(); }) {
    v.perturb_for_test();
  } else if constexpr (is_sequence<T>::value) {
    v.emplace_back();
  } else if constexpr (is_set<T>::value) {
    typename T::key_type k{};
    if (!v.insert(k).second) v.erase(k);
  } else if constexpr (is_map<T>::value) {
    typename T::key_type k{};
    if (!v.try_emplace(k).second) v.erase(k);
  } else if constexpr (is_optional<T>::value) {
    if (v) v.reset(); else v.emplace();
  } else if constexpr (is_pair<T>::value) {
    change(v.first);
  } else {
    static_assert(sizeof(T) == 0, "state::change: no perturbation for this field type");
  }
}

// Perturbs leaf `i` (in leaf_count's order) of v; returns the leaf's field name.
template <class T>
std::string perturb(T& v, std::size_t i) {
  std::string name;
  if constexpr (Component<T>) {
    name = v.perturb_state_field(i);
  } else if constexpr (HasFields<T>) {
    std::size_t index = 0;
    std::size_t seen = 0;
    for_each_field(v, [&](auto& f) {
      std::size_t n = leaf_count(f);
      if (name.empty() && i >= seen && i < seen + n) {
        std::string inner = perturb(f, i - seen);
        name = std::string(field_name<T>(index)) + (inner.empty() ? "" : "." + inner);
      }
      seen += n;
      ++index;
    });
  } else {
    (void)i;
    change(v);
  }
  return name;
}

// The leaves of several parts together (a node's durable and volatile state).
template <class... Parts>
std::size_t field_total(const Parts&... parts) {
  return (std::size_t{0} + ... + leaf_count(parts));
}

// Perturbs leaf i of the parts taken together; returns "part#k.field".
template <class... Parts>
std::string perturb_field(std::size_t i, Parts&... parts) {
  std::string name;
  std::size_t seen = 0;
  std::size_t part = 0;
  auto one = [&](auto& p) {
    std::size_t n = leaf_count(p);
    if (name.empty() && i >= seen && i < seen + n)
      name = "part" + std::to_string(part) + "." + perturb(p, i - seen);
    seen += n;
    ++part;
  };
  (one(parts), ...);
  return name;
}

}  // namespace state
}  // namespace stampede
