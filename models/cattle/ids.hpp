#pragma once
// Typed row ids of Cattle's tables: a host id cannot be passed where an instance id is expected.
// Each is the table's row id (mysql::RowId) in a struct of its own; the number itself appears
// only where a row is read from or written to the store, in timers and messages (which carry
// plain integers) and in logs. An id digests as its number (one field), so the state digests do
// not change with the types.
#include <compare>
#include <cstdint>
#include <fmt/format.h>

#include "sim/core/fields.hpp"

namespace stampede::cattle {

template <class Tag>
struct Id {
  std::int64_t value = 0;
  STAMPEDE_FIELDS(value)

  constexpr Id() = default;
  constexpr explicit Id(std::int64_t v) : value(v) {}
  // Whether the id names a row (0 is "none", as in a column that refers to nothing).
  constexpr bool valid() const { return value != 0; }
  friend constexpr auto operator<=>(Id, Id) = default;
  friend constexpr bool operator==(Id, Id) = default;
};

using HostId = Id<struct HostTag>;
using InstanceId = Id<struct InstanceTag>;
using ServiceId = Id<struct ServiceTag>;
using StackId = Id<struct StackTag>;
using NetworkId = Id<struct NetworkTag>;
using ProcessId = Id<struct ProcessTag>;
using SettingId = Id<struct SettingTag>;
using HealthcheckInstanceId = Id<struct HealthcheckInstanceTag>;
using HealthcheckHostMapId = Id<struct HealthcheckHostMapTag>;

}  // namespace stampede::cattle

// Logs print an id as its number.
template <class Tag>
struct fmt::formatter<stampede::cattle::Id<Tag>> : fmt::formatter<std::int64_t> {
  auto format(stampede::cattle::Id<Tag> id, format_context& ctx) const {
    return fmt::formatter<std::int64_t>::format(id.value, ctx);
  }
};
