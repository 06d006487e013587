#pragma once
// Digests fold everything a run did into 64 bits. The mixing function is fixed here (never
// std::hash, whose values differ between standard libraries) so a digest is the same on every
// machine.
#include <cstdint>
#include <string>
#include <string_view>

namespace stampede {

inline constexpr std::uint64_t mix64(std::uint64_t x) {
  // splitmix64's finaliser: a bijection with good avalanche.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline constexpr std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Digest {
 public:
  Digest& add(std::uint64_t v) {
    state_ = mix64(state_ ^ v) + 0x632be59bd9b4e019ULL;
    return *this;
  }
  Digest& add_signed(std::int64_t v) { return add(static_cast<std::uint64_t>(v)); }
  Digest& add(std::string_view s) { return add(hash_bytes(s)); }
  std::uint64_t value() const { return state_; }
  // The digest whose value() is `value`: what a caller that remembered the value a run of adds
  // led to (from a known value) continues from, instead of adding them again
  // (mysql::Database::Tables, whose tables mostly stay as they were from one digest to the next).
  static Digest resumed(std::uint64_t value) {
    Digest d;
    d.state_ = value;
    return d;
  }

 private:
  std::uint64_t state_ = 0x2545f4914f6cdd1dULL;
};

// Sixteen lowercase hex digits.
std::string hex64(std::uint64_t v);

}  // namespace stampede
