#pragma once
// Integer fields of a trace's JSON lines, read by sim/trace and the explorer's header
// (sim/explore/trace_io.cpp). nlohmann's get<integer>() converts a floating-point value with a
// static_cast, which is undefined past the type's range ("i": 1e107 was found by
// fuzz/fuzz_trace), and wraps a negative value into an unsigned one: a field read here must hold
// an integer that fits its type, or the trace is refused at its line.
#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "sim/trace/trace.hpp"

namespace stampede::trace_json {

template <class T>
T integer(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto s = v.get<std::int64_t>();
    if (std::in_range<T>(s)) return static_cast<T>(s);
  }
  throw TraceError(fmt::format("{}: '{}' must be an integer from {} to {}, got {}", where, key,
                               std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                               v.dump()));
}

// An optional integer field: `fallback` when the line does not have it.
template <class T>
T integer_or(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  return j.contains(key) ? integer<T>(j, key, where) : fallback;
}

}  // namespace stampede::trace_json
