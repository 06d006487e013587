#pragma once
// One field list per struct. A struct that names its fields once, with STAMPEDE_FIELDS, can be
// digested, perturbed by tests, encoded as a message or packed into a timer tag by the generic
// code in state.hpp, wire.hpp and timer_tag.hpp, so that a field added later cannot be left out of
// one of them by accident.
#include <string_view>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

// Declares fields() (mutable and const: a std::tie of the named members) and field_names (the
// same names as one comma-separated string, for test failures and docs).
#define STAMPEDE_FIELDS(...)                                                 \
  auto fields() { return std::tie(__VA_ARGS__); }                            \
  auto fields() const { return std::tie(__VA_ARGS__); }                      \
  static constexpr const char* field_names() { return #__VA_ARGS__; }

namespace stampede {

template <class T>
concept HasFields = requires(T& t, const T& c) {
  t.fields();
  c.fields();
  T::field_names();
};

// Calls f(field) for each field of t, in declaration order.
template <HasFields T, class F>
void for_each_field(T& t, F&& f) {
  std::apply([&](auto&... field) { (f(field), ...); }, t.fields());
}

template <HasFields T, class F>
void for_each_field(const T& t, F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, t.fields());
}

// Whether the field list names every data member of T, in declaration order: the members it
// names, laid out as the compiler lays out a struct, take exactly sizeof(T). A member left out of
// the list (or listed out of order) makes T larger than that, so the check fails to compile where
// a state is digested or a message encoded, instead of silently leaving the member out.
template <HasFields T>
consteval bool fields_cover_struct() {
  using Tuple = decltype(std::declval<T&>().fields());
  std::size_t offset = 0;
  std::size_t align = 1;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto place = [&](std::size_t size, std::size_t a) {
      offset = (offset + a - 1) / a * a + size;
      if (a > align) align = a;
    };
    (void)place;  // a struct with no fields places nothing
    (place(sizeof(std::remove_reference_t<std::tuple_element_t<I, Tuple>>),
           alignof(std::remove_reference_t<std::tuple_element_t<I, Tuple>>)),
     ...);
  }(std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  if (offset == 0) return sizeof(T) == 1;  // an empty struct
  return (offset + align - 1) / align * align == sizeof(T);
}

// The name of field `i` of T (from field_names()), for messages.
template <HasFields T>
constexpr std::string_view field_name(std::size_t i) {
  std::string_view all = T::field_names();
  for (std::size_t k = 0; k < i; ++k) {
    auto comma = all.find(',');
    if (comma == std::string_view::npos) return "?";
    all.remove_prefix(comma + 1);
  }
  while (!all.empty() && all.front() == ' ') all.remove_prefix(1);
  auto end = all.find(',');
  return all.substr(0, end);
}

}  // namespace stampede
