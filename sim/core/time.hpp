#pragma once
// Simulated time is an integer count of nanoseconds. Floating point never enters the core, so
// that two machines agree to the last digit on when every event happens.
#include <cstdint>
#include <string>

namespace stampede {

using TimeNs = std::int64_t;      // an instant, nanoseconds since the start of a run
using DurationNs = std::int64_t;  // a span, nanoseconds

inline constexpr DurationNs k_ns = 1;
inline constexpr DurationNs k_us = 1'000;
inline constexpr DurationNs k_ms = 1'000'000;
inline constexpr DurationNs k_s = 1'000'000'000;
inline constexpr DurationNs k_m = 60 * k_s;
inline constexpr DurationNs k_h = 60 * k_m;
inline constexpr TimeNs k_time_never = INT64_MAX;

// Renders a duration with the largest unit that keeps it readable ("90s", "1.5m", "250ms").
std::string format_duration(DurationNs d);

}  // namespace stampede
