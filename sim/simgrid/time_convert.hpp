#pragma once
// The only place where stampede's integer nanoseconds meet SimGrid's double seconds. Everything
// outside sim/simgrid sees TimeNs; SimGrid dates are converted on the way in and rounded to the
// nearest nanosecond on the way out.
#include <cmath>

#include "sim/core/time.hpp"

namespace stampede::sg {

inline double to_seconds(TimeNs t_ns) { return static_cast<double>(t_ns) * 1e-9; }

inline TimeNs to_ns(double t_s) { return static_cast<TimeNs>(std::llround(t_s * 1e9)); }

// Scripted faults run a quarter of a nanosecond before their instant and checks a quarter after
// it: SimGrid then orders them before and after every other event of that instant (the kernel's
// "faults first, checks last"), while every clock reading still rounds to the instant itself.
inline constexpr double k_before_s = 0.25e-9;
inline constexpr double k_after_s = 0.25e-9;
// run_until(T) runs SimGrid to T + 0.4 ns: every event that rounds to T (checks included) runs,
// nothing of T + 1 ns does.
inline constexpr double k_until_slack_s = 0.4e-9;
// SimGrid's timing precision (surf/precision, 1e-9 s by default) would merge the offsets above
// into one date; 1e-11 s keeps them apart and is still many ulps of a double at a day.
inline constexpr const char* k_precision_cfg = "surf/precision:1e-11";

}  // namespace stampede::sg
