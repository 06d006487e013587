#pragma once
// Typed rows of the Cattle tables the model uses, and the one place (rows.cpp) that turns them
// into the text rows of the store and back. MySQL keeps every value as text (mysql::Row), and so
// do the wire messages to the external database; the server's handlers read and write these
// structs instead, through the row cache (row_cache.hpp) and the write helpers below, so that no
// handler names a column or parses a number.
//
// A column a row may lack in the store is a std::optional (a service's scale is absent from a
// load balancer's row), so that a row read and written back is the same text row, column for
// column.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "models/cattle/ids.hpp"
#include "models/cattle/states.hpp"
#include "models/mysql/database.hpp"
#include "sim/core/fields.hpp"
#include "sim/core/time.hpp"

namespace stampede::cattle {

// A service row is a service proper or a load balancer.
enum class ServiceKind : std::uint8_t { unknown, service, loadbalancer };
inline constexpr std::array<std::string_view, 3> k_service_kind_text = {"", "service",
                                                                        "loadbalancer"};
// The table of the resource a process instance works on.
enum class ResourceType : std::uint8_t { unknown, host, instance };
inline constexpr std::array<std::string_view, 3> k_resource_type_text = {"", "host", "instance"};

constexpr std::string_view to_text(ServiceKind k) {
  return k_service_kind_text[static_cast<std::size_t>(k)];
}
constexpr std::string_view to_text(ResourceType t) {
  return k_resource_type_text[static_cast<std::size_t>(t)];
}

struct HostRow {
  using IdType = HostId;
  static constexpr std::string_view k_table = "host";
  HostId id;
  std::string name;  // the agent's node name
  HostState state = HostState::unknown;
  TimeNs updated_ns = 0;
  STAMPEDE_FIELDS(id, name, state, updated_ns)
};

struct NetworkRow {
  using IdType = NetworkId;
  static constexpr std::string_view k_table = "network";
  NetworkId id;
  std::string name;
  std::string kind;   // "ipsec"
  std::string state;  // "active"
  STAMPEDE_FIELDS(id, name, kind, state)
};

struct StackRow {
  using IdType = StackId;
  static constexpr std::string_view k_table = "stack";
  StackId id;
  std::string name;
  std::string state;  // "active"
  STAMPEDE_FIELDS(id, name, state)
};

struct ServiceRow {
  using IdType = ServiceId;
  static constexpr std::string_view k_table = "service";
  ServiceId id;
  std::string name;
  StackId stack;
  ServiceKind kind = ServiceKind::unknown;
  std::optional<std::int64_t> scale;    // a service's
  std::optional<std::string> links;     // a service's: linked service names, comma-separated
  std::optional<std::string> targets;   // a load balancer's: target service names, likewise
  std::string state;                    // "active"
  STAMPEDE_FIELDS(id, name, stack, kind, scale, links, targets, state)
};

struct InstanceRow {
  using IdType = InstanceId;
  static constexpr std::string_view k_table = "instance";
  InstanceId id;
  std::string name;  // "wordpress/web/1": the container's name
  ServiceId service;
  std::int64_t index = 0;  // 1..scale within its service
  HostId host;             // none until placed
  NetworkId network;
  InstanceState state = InstanceState::unknown;
  TimeNs updated_ns = 0;
  // Cattle's service_expose_map row of the instance, removed when the service lets the instance
  // go (a removal that waits for its stop: healthcheck.cpp, remove_for_health). The service
  // counts only instances whose map is there (reconciler.cpp, instances_by_index). The column
  // is written only then, so the rows of every other run are what they were.
  bool expose_map_removed = false;
  STAMPEDE_FIELDS(id, name, service, index, host, network, state, updated_ns, expose_map_removed)
};

struct ProcessRow {
  using IdType = ProcessId;
  static constexpr std::string_view k_table = "process_instance";
  ProcessId id;
  std::string process;  // the definition's name, "instance.start" (process_defs.hpp)
  ResourceType resource_type = ResourceType::unknown;
  std::int64_t resource_id = 0;  // a HostId or an InstanceId, by resource_type
  ProcessPhase phase = ProcessPhase::unknown;
  std::int64_t attempts = 0;  // failed executions
  TimeNs start_ns = 0;
  TimeNs last_run_ns = 0;  // when the last failed execution started

  std::optional<std::string> exit_reason;  // written when the process ends
  STAMPEDE_FIELDS(id, process, resource_type, resource_id, phase, attempts, start_ns,
                  last_run_ns, exit_reason)

  HostId host() const {
    return resource_type == ResourceType::host ? HostId{resource_id} : HostId{};
  }
  InstanceId instance() const {
    return resource_type == ResourceType::instance ? InstanceId{resource_id} : InstanceId{};
  }
};

struct SettingRow {
  using IdType = SettingId;
  static constexpr std::string_view k_table = "setting";
  SettingId id;
  std::string name;
  std::string value;
  STAMPEDE_FIELDS(id, name, value)
};

// Health checks (healthcheck.hpp): Cattle's two tables. The health of a checked container is
// kept here, on its healthcheck_instance row, where Cattle keeps it on the instance row
// (instance.health_state and health_updated): the model writes an instance's state while another
// server may judge its health, and a column of its own keeps the two writes apart; and a run
// without health checks keeps its instance rows as they were. The tables exist only in a store
// of a scenario with a health check (healthcheck.cpp, add_health_tables).
struct HealthcheckInstanceRow {
  using IdType = HealthcheckInstanceId;
  static constexpr std::string_view k_table = "healthcheck_instance";
  HealthcheckInstanceId id;
  InstanceId instance;
  Health state = Health::none;  // instance.health_state
  TimeNs updated_ns = 0;        // instance.health_updated
  STAMPEDE_FIELDS(id, instance, state, updated_ns)
};

// One checker of a container: the host whose network agent checks it, and its last report.
struct HealthcheckHostMapRow {
  using IdType = HealthcheckHostMapId;
  static constexpr std::string_view k_table = "healthcheck_instance_host_map";
  HealthcheckHostMapId id;
  HealthcheckInstanceId healthcheck_instance;
  HostId host;
  InstanceId instance;
  Health health = Health::none;  // none until the checker first reports
  STAMPEDE_FIELDS(id, healthcheck_instance, host, instance, health)
};

// The text row of a typed row (its id is the store's key, not a column), and back.
mysql::Row to_row(const HostRow& r);
mysql::Row to_row(const NetworkRow& r);
mysql::Row to_row(const StackRow& r);
mysql::Row to_row(const ServiceRow& r);
mysql::Row to_row(const InstanceRow& r);
mysql::Row to_row(const ProcessRow& r);
mysql::Row to_row(const SettingRow& r);
mysql::Row to_row(const HealthcheckInstanceRow& r);
mysql::Row to_row(const HealthcheckHostMapRow& r);
void from_row(mysql::RowId id, const mysql::Row& row, HostRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, NetworkRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, StackRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, ServiceRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, InstanceRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, ProcessRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, SettingRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, HealthcheckInstanceRow& out);
void from_row(mysql::RowId id, const mysql::Row& row, HealthcheckHostMapRow& out);

template <class R>
R parse_row(mysql::RowId id, const mysql::Row& row) {
  R out;
  from_row(id, row, out);
  return out;
}

// Writes, as transactions of the store. Each writes the columns Cattle's code writes, in the
// order it writes them (the order is part of what goes over the wire to the external database).
namespace write {

// Inserts a row (its id is ignored) and returns the placeholder id the transaction gives it
// (mysql::Transaction::insert); commit turns it into the real one.
template <class R>
typename R::IdType insert(mysql::Transaction& txn, const R& row) {
  return typename R::IdType{txn.insert(std::string(R::k_table), to_row(row))};
}
// A resource's new state, then the time of the change.
void state(mysql::Transaction& txn, HostId host, HostState state, TimeNs now);
void state(mysql::Transaction& txn, InstanceId instance, InstanceState state, TimeNs now);
void host(mysql::Transaction& txn, InstanceId instance, HostId host);
void phase(mysql::Transaction& txn, ProcessId pi, ProcessPhase phase);
void exit_reason(mysql::Transaction& txn, ProcessId pi, std::string_view why);
void attempts(mysql::Transaction& txn, ProcessId pi, std::int64_t attempts, TimeNs last_run_ns);
// The instance leaves its service: its expose map is removed.
void leave_service(mysql::Transaction& txn, InstanceId instance);
// A container's new health, then the time of the change.
void health(mysql::Transaction& txn, HealthcheckInstanceId hci, Health health, TimeNs now);
// A checker's report.
void reported(mysql::Transaction& txn, HealthcheckHostMapId map, Health health);

}  // namespace write

}  // namespace stampede::cattle
