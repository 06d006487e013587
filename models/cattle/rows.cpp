// The text form of the Cattle rows: the column names, and numbers and states as MySQL keeps them
// (decimal text, the states' names). Every conversion between a typed row and a text row is here.
#include "models/cattle/rows.hpp"

#include <charconv>

namespace stampede::cattle {

using mysql::Row;
using mysql::RowId;
using mysql::to_text;

namespace {

// The value of a column, or "" when the row lacks it (as Database::get reads it).
std::string_view column(const Row& row, const char* name) {
  auto it = row.find(name);
  return it == row.end() ? std::string_view{} : std::string_view(it->second);
}

// A number column; "" (absent) reads as 0, as Database::get_int reads it.
std::int64_t number(const Row& row, const char* name) {
  std::string_view text = column(row, name);
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// The state of an instance's service_expose_map row; absent while the map is there.
constexpr const char* k_expose_map_column = "expose_map_state";

std::optional<std::string> optional_text(const Row& row, const char* name) {
  auto it = row.find(name);
  if (it == row.end()) return std::nullopt;
  return it->second;
}

template <class E, std::size_t N>
E parse_enum(const std::array<std::string_view, N>& texts, std::string_view text) {
  return parse_state<E>(texts, text);
}

}  // namespace

Row to_row(const HostRow& r) {
  return Row{{"name", r.name}, {"state", std::string(to_text(r.state))},
             {"updated_ns", to_text(r.updated_ns)}};
}

Row to_row(const NetworkRow& r) {
  return Row{{"name", r.name}, {"kind", r.kind}, {"state", r.state}};
}

Row to_row(const StackRow& r) { return Row{{"name", r.name}, {"state", r.state}}; }

Row to_row(const ServiceRow& r) {
  Row row{{"name", r.name},
          {"stack_id", to_text(r.stack.value)},
          {"kind", std::string(to_text(r.kind))},
          {"state", r.state}};
  if (r.scale) row.emplace("scale", to_text(*r.scale));
  if (r.links) row.emplace("links", *r.links);
  if (r.targets) row.emplace("targets", *r.targets);
  return row;
}

Row to_row(const InstanceRow& r) {
  Row row{{"name", r.name},
          {"service_id", to_text(r.service.value)},
          {"index", to_text(r.index)},
          {"host_id", to_text(r.host.value)},
          {"network_id", to_text(r.network.value)},
          {"state", std::string(to_text(r.state))},
          {"updated_ns", to_text(r.updated_ns)}};
  if (r.expose_map_removed) row.emplace(k_expose_map_column, "removed");
  return row;
}

Row to_row(const ProcessRow& r) {
  Row row{{"process", r.process},
          {"resource_type", std::string(to_text(r.resource_type))},
          {"resource_id", to_text(r.resource_id)},
          {"phase", std::string(to_text(r.phase))},
          {"attempts", to_text(r.attempts)},
          {"start_ns", to_text(r.start_ns)}};
  if (r.last_run_ns != 0) row.emplace("last_run_ns", to_text(r.last_run_ns));
  if (r.exit_reason) row.emplace("exit_reason", *r.exit_reason);
  return row;
}

Row to_row(const SettingRow& r) { return Row{{"name", r.name}, {"value", r.value}}; }

Row to_row(const HealthcheckInstanceRow& r) {
  return Row{{"instance_id", to_text(r.instance.value)},
             {"health_state", std::string(to_text(r.state))},
             {"health_updated", to_text(r.updated_ns)}};
}

Row to_row(const HealthcheckHostMapRow& r) {
  return Row{{"healthcheck_instance_id", to_text(r.healthcheck_instance.value)},
             {"host_id", to_text(r.host.value)},
             {"instance_id", to_text(r.instance.value)},
             {"health_state", std::string(to_text(r.health))}};
}

void from_row(RowId id, const Row& row, HostRow& out) {
  out.id = HostId{id};
  out.name = column(row, "name");
  out.state = parse_host_state(column(row, "state"));
  out.updated_ns = number(row, "updated_ns");
}

void from_row(RowId id, const Row& row, NetworkRow& out) {
  out.id = NetworkId{id};
  out.name = column(row, "name");
  out.kind = column(row, "kind");
  out.state = column(row, "state");
}

void from_row(RowId id, const Row& row, StackRow& out) {
  out.id = StackId{id};
  out.name = column(row, "name");
  out.state = column(row, "state");
}

void from_row(RowId id, const Row& row, ServiceRow& out) {
  out.id = ServiceId{id};
  out.name = column(row, "name");
  out.stack = StackId{number(row, "stack_id")};
  out.kind = parse_enum<ServiceKind>(k_service_kind_text, column(row, "kind"));
  out.scale.reset();
  if (row.count("scale") != 0) out.scale = number(row, "scale");
  out.links = optional_text(row, "links");
  out.targets = optional_text(row, "targets");
  out.state = column(row, "state");
}

void from_row(RowId id, const Row& row, InstanceRow& out) {
  out.id = InstanceId{id};
  out.name = column(row, "name");
  out.service = ServiceId{number(row, "service_id")};
  out.index = number(row, "index");
  out.host = HostId{number(row, "host_id")};
  out.network = NetworkId{number(row, "network_id")};
  out.state = parse_instance_state(column(row, "state"));
  out.updated_ns = number(row, "updated_ns");
  out.expose_map_removed = column(row, k_expose_map_column) == "removed";
}

void from_row(RowId id, const Row& row, ProcessRow& out) {
  out.id = ProcessId{id};
  out.process = column(row, "process");
  out.resource_type = parse_enum<ResourceType>(k_resource_type_text, column(row, "resource_type"));
  out.resource_id = number(row, "resource_id");
  out.phase = parse_process_phase(column(row, "phase"));
  out.attempts = number(row, "attempts");
  out.start_ns = number(row, "start_ns");
  out.last_run_ns = number(row, "last_run_ns");
  out.exit_reason = optional_text(row, "exit_reason");
}

void from_row(RowId id, const Row& row, SettingRow& out) {
  out.id = SettingId{id};
  out.name = column(row, "name");
  out.value = column(row, "value");
}

void from_row(RowId id, const Row& row, HealthcheckInstanceRow& out) {
  out.id = HealthcheckInstanceId{id};
  out.instance = InstanceId{number(row, "instance_id")};
  out.state = parse_health(column(row, "health_state"));
  out.updated_ns = number(row, "health_updated");
}

void from_row(RowId id, const Row& row, HealthcheckHostMapRow& out) {
  out.id = HealthcheckHostMapId{id};
  out.healthcheck_instance = HealthcheckInstanceId{number(row, "healthcheck_instance_id")};
  out.host = HostId{number(row, "host_id")};
  out.instance = InstanceId{number(row, "instance_id")};
  out.health = parse_health(column(row, "health_state"));
}

namespace write {

void state(mysql::Transaction& txn, HostId host, HostState state, TimeNs now) {
  txn.update("host", host.value, "state", std::string(to_text(state)));
  txn.update("host", host.value, "updated_ns", to_text(now));
}

void state(mysql::Transaction& txn, InstanceId instance, InstanceState state, TimeNs now) {
  txn.update("instance", instance.value, "state", std::string(to_text(state)));
  txn.update("instance", instance.value, "updated_ns", to_text(now));
}

void host(mysql::Transaction& txn, InstanceId instance, HostId host) {
  txn.update("instance", instance.value, "host_id", to_text(host.value));
}

void leave_service(mysql::Transaction& txn, InstanceId instance) {
  txn.update("instance", instance.value, k_expose_map_column, "removed");
}

void phase(mysql::Transaction& txn, ProcessId pi, ProcessPhase phase) {
  txn.update("process_instance", pi.value, "phase", std::string(to_text(phase)));
}

void exit_reason(mysql::Transaction& txn, ProcessId pi, std::string_view why) {
  txn.update("process_instance", pi.value, "exit_reason", std::string(why));
}

void attempts(mysql::Transaction& txn, ProcessId pi, std::int64_t attempts, TimeNs last_run_ns) {
  txn.update("process_instance", pi.value, "attempts", to_text(attempts));
  txn.update("process_instance", pi.value, "last_run_ns", to_text(last_run_ns));
}

void health(mysql::Transaction& txn, HealthcheckInstanceId hci, Health health, TimeNs now) {
  txn.update("healthcheck_instance", hci.value, "health_state", std::string(to_text(health)));
  txn.update("healthcheck_instance", hci.value, "health_updated", to_text(now));
}

void reported(mysql::Transaction& txn, HealthcheckHostMapId map, Health health) {
  txn.update("healthcheck_instance_host_map", map.value, "health_state",
             std::string(to_text(health)));
}

}  // namespace write

}  // namespace stampede::cattle
