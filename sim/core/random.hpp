#pragma once
// Named random streams. Every stream is derived from (root seed, stream name), so adding a stream
// never shifts the numbers another stream gives. Engines and distributions are Boost.Random's:
// unlike std:: distributions they give the same numbers with every standard library.
#include <boost/random/mersenne_twister.hpp>
#include <cstdint>
#include <string_view>

#include "sim/core/time.hpp"

namespace stampede {

std::uint64_t derive_seed(std::uint64_t root_seed, std::string_view stream_name);

class RandomStream {
 public:
  RandomStream() : RandomStream(0, "default") {}
  RandomStream(std::uint64_t root_seed, std::string_view name);

  std::uint64_t next_u64() { return engine_(); }
  // Uniform integer in [lo, hi], both inclusive.
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);
  // Uniform in [0, 1).
  double unit();
  bool bernoulli(double p);
  // Exponentially distributed duration with the given mean, rounded to whole nanoseconds.
  DurationNs exponential(DurationNs mean_ns);

 private:
  boost::random::mt19937_64 engine_;
  // uniform_int's bucket for the last range it drew from that is not a power of two: derived
  // from the range alone, so a copy of the stream may keep it.
  std::uint64_t bucket_range_ = 0;  // 0: none yet (a range of one value is never drawn)
  std::uint64_t bucket_ = 0;
};

}  // namespace stampede
