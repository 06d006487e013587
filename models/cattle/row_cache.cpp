#include "models/cattle/row_cache.hpp"

#include <algorithm>

namespace stampede::cattle {

namespace {

template <class K, class V>
const std::vector<V>& ids_at(const std::map<K, std::vector<V>>& index, K key) {
  static const std::vector<V> none;
  auto it = index.find(key);
  return it == index.end() ? none : it->second;
}

}  // namespace

void RowCache::derive(Parsed<HostRow>& p) const {
  host_by_name_.clear();
  host_ids_.clear();
  hosts_active_ = 0;
  for (const auto& [id, row] : p.rows) {
    host_by_name_.emplace(row.name, id);  // the first wins
    host_ids_.push_back(id);
    hosts_active_ += row.state == HostState::active;
  }
}

void RowCache::derive(Parsed<InstanceRow>& p) const {
  instances_by_host_.clear();
  instances_by_service_.clear();
  for (const auto& [id, row] : p.rows) {
    instances_by_host_[row.host].push_back(id);
    instances_by_service_[row.service].push_back(id);
  }
}

void RowCache::derive(Parsed<ProcessRow>& p) const {
  processes_by_resource_.clear();
  for (const auto& [id, row] : p.rows) processes_by_resource_[row.resource_id].push_back(id);
}

std::optional<HostId> RowCache::host_named(const mysql::Database& db,
                                           std::string_view name) const {
  sync<HostRow>(db);
  auto it = host_by_name_.find(name);
  if (it == host_by_name_.end()) return std::nullopt;
  return it->second;
}

std::size_t RowCache::host_position(const mysql::Database& db, HostId host) const {
  sync<HostRow>(db);
  auto it = std::lower_bound(host_ids_.begin(), host_ids_.end(), host);
  if (it == host_ids_.end() || *it != host) return host_ids_.size();
  return static_cast<std::size_t>(it - host_ids_.begin());
}

const std::vector<InstanceId>& RowCache::instances_on(const mysql::Database& db,
                                                      HostId host) const {
  sync<InstanceRow>(db);
  return ids_at(instances_by_host_, host);
}

const std::vector<InstanceId>& RowCache::instances_of(const mysql::Database& db,
                                                      ServiceId service) const {
  sync<InstanceRow>(db);
  return ids_at(instances_by_service_, service);
}

const std::vector<ProcessId>& RowCache::processes_of(const mysql::Database& db,
                                                     std::int64_t resource_id) const {
  sync<ProcessRow>(db);
  return ids_at(processes_by_resource_, resource_id);
}

}  // namespace stampede::cattle
