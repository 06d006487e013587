// Durations, rates and memory sizes as users write them. Parsed with integer arithmetic (a
// 128-bit intermediate) so that "1.5m" is exactly 90'000'000'000ns on every machine.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sim/scenario/scenario.hpp"

namespace stampede {
namespace {

__extension__ using Wide = __int128;  // GCC/Clang; only an intermediate, never stored

constexpr const char* k_duration_help = "expected a number and a unit ns/us/ms/s/m/h, e.g. 90s";
constexpr const char* k_rate_help = "expected a count per unit ns/us/ms/s/m/h, e.g. 20/s or 3/m";
constexpr const char* k_memory_help =
    "expected a number and a unit MiB/GiB/TiB (or MB/GB/TB), e.g. 2GiB or 4096MiB";

// The size of a unit in nanoseconds, 0 when `u` is not a unit.
DurationNs unit_ns(std::string_view u) {
  if (u == "ns") return k_ns;
  if (u == "us") return k_us;
  if (u == "ms") return k_ms;
  if (u == "s") return k_s;
  if (u == "m") return k_m;
  if (u == "h") return k_h;
  return 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// An unsigned decimal "123" or "1.25" as mantissa / 10^scale. Consumes the longest prefix of
// `text` that is one; false when there is none or it has too many digits to be exact.
struct Decimal {
  Wide mantissa = 0;
  int scale = 0;
};

bool read_decimal(std::string_view& text, Decimal& out) {
  std::size_t i = 0, digits = 0;
  out = Decimal{};
  while (i < text.size() && is_digit(text[i])) {
    out.mantissa = out.mantissa * 10 + (text[i] - '0');
    ++i;
    if (++digits > 24) return false;
  }
  if (digits == 0) return false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t frac = 0;
    while (i < text.size() && is_digit(text[i])) {
      out.mantissa = out.mantissa * 10 + (text[i] - '0');
      ++out.scale;
      ++i;
      if (++frac > 12 || ++digits > 24) return false;
    }
    if (frac == 0) return false;  // "1.s" is more likely a typo than a number
  }
  text.remove_prefix(i);
  return true;
}

Wide pow10(int n) {
  Wide p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// The size of a memory unit in bytes, 0 when `u` is not one. Binary units are what a node's
// memory is sold in; decimal ones are what `free --si` and cloud price lists print.
Wide unit_bytes(std::string_view u) {
  constexpr Wide k_kib = 1024;
  if (u == "MiB") return k_kib * k_kib;
  if (u == "GiB") return k_kib * k_kib * k_kib;
  if (u == "TiB") return k_kib * k_kib * k_kib * k_kib;
  if (u == "MB") return pow10(6);
  if (u == "GB") return pow10(9);
  if (u == "TB") return pow10(12);
  return 0;
}

}  // namespace

DurationNs parse_duration(std::string_view text) {
  if (text == "0" || text == "-0") return 0;
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && rest.front() == '-') {
    negative = true;
    rest.remove_prefix(1);
  }
  Decimal d;
  if (!read_decimal(rest, d)) throw std::invalid_argument(k_duration_help);
  DurationNs unit = unit_ns(rest);
  if (unit == 0) throw std::invalid_argument(k_duration_help);
  Wide scaled = d.mantissa * unit;
  Wide div = pow10(d.scale);
  if (scaled % div != 0) throw std::invalid_argument("finer than a nanosecond");
  Wide ns = scaled / div;
  if (ns > INT64_MAX / 2) throw std::invalid_argument("too long");
  return static_cast<DurationNs>(negative ? -ns : ns);
}

DurationNs parse_rate_interval(std::string_view text) {
  std::string_view rest = text;
  Decimal d;
  if (!read_decimal(rest, d) || rest.size() < 2 || rest.front() != '/')
    throw std::invalid_argument(k_rate_help);
  rest.remove_prefix(1);
  DurationNs unit = unit_ns(rest);
  if (unit == 0) throw std::invalid_argument(k_rate_help);
  if (d.mantissa == 0) throw std::invalid_argument("a rate must be more than zero");
  // interval = unit / (mantissa / 10^scale), rounded half up.
  Wide num = static_cast<Wide>(unit) * pow10(d.scale);
  Wide interval = (2 * num + d.mantissa) / (2 * d.mantissa);
  if (interval < 1) throw std::invalid_argument("faster than one event per nanosecond");
  if (interval > INT64_MAX / 2) throw std::invalid_argument("too slow");
  return static_cast<DurationNs>(interval);
}

std::int64_t parse_memory_mib(std::string_view text) {
  std::string_view rest = text;
  Decimal d;
  if (!read_decimal(rest, d)) throw std::invalid_argument(k_memory_help);
  Wide unit = unit_bytes(rest);
  if (unit == 0) throw std::invalid_argument(k_memory_help);
  // Whole MiB, rounded down: "4GB" (4e9 bytes) is 3814MiB, as a kernel would count it.
  Wide bytes = d.mantissa * unit / pow10(d.scale);
  Wide mib = bytes / (Wide{1024} * 1024);
  if (mib < 1) throw std::invalid_argument("less than 1MiB");
  if (mib > (Wide{1} << 40)) throw std::invalid_argument("too large");
  return static_cast<std::int64_t>(mib);
}

}  // namespace stampede
