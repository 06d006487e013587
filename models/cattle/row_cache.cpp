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

// Ids in id order: a row is put in its place (rows come in any order from the journal).
template <class V>
void insert_sorted(std::vector<V>& ids, V id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}
template <class V>
void erase_sorted(std::vector<V>& ids, V id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) ids.erase(it);
}

}  // namespace

void RowCache::link(const HostRow& r, bool fresh) const {
  host_by_name_[r.name].insert(r.id);
  ++names_version_;
  if (fresh) {
    auto at = std::lower_bound(host_ids_.begin(), host_ids_.end(), r.id);
    host_nodes_.insert(host_nodes_.begin() + (at - host_ids_.begin()), std::nullopt);
    host_ids_.insert(at, r.id);
  }
  if (r.state == HostState::active) insert_sorted(active_host_ids_, r.id);
}

void RowCache::unlink(const HostRow& r, bool gone) const {
  auto named = host_by_name_.find(r.name);
  if (named != host_by_name_.end()) {
    named->second.erase(r.id);
    if (named->second.empty()) host_by_name_.erase(named);
  }
  ++names_version_;
  if (gone) {
    auto at = std::lower_bound(host_ids_.begin(), host_ids_.end(), r.id);
    if (at != host_ids_.end() && *at == r.id) {
      host_nodes_.erase(host_nodes_.begin() + (at - host_ids_.begin()));
      host_ids_.erase(at);
    }
  }
  if (r.state == HostState::active) erase_sorted(active_host_ids_, r.id);
}

void RowCache::relink(HostRow& old, HostRow now) const {
  if (old.name != now.name) {
    // A renamed host: its agent is another node, and nodes may now name another host.
    unlink(old, false);
    old = std::move(now);
    link(old, false);
    auto at = std::lower_bound(host_ids_.begin(), host_ids_.end(), old.id);
    host_nodes_[static_cast<std::size_t>(at - host_ids_.begin())].reset();
    return;
  }
  if (old.state == HostState::active) erase_sorted(active_host_ids_, old.id);
  old = std::move(now);
  if (old.state == HostState::active) insert_sorted(active_host_ids_, old.id);
}

std::optional<HostId> RowCache::first_named(std::string_view name) const {
  auto it = host_by_name_.find(name);
  if (it == host_by_name_.end()) return std::nullopt;
  return *it->second.begin();
}

void RowCache::link(const InstanceRow& r, bool) const {
  insert_sorted(instances_by_host_[r.host], r.id);
  insert_sorted(instances_by_service_[r.service], r.id);
}

void RowCache::unlink(const InstanceRow& r, bool) const {
  erase_sorted(instances_by_host_[r.host], r.id);
  erase_sorted(instances_by_service_[r.service], r.id);
}

void RowCache::link(const ProcessRow& r, bool) const {
  insert_sorted(processes_by_resource_[r.resource_id], r.id);
}

void RowCache::unlink(const ProcessRow& r, bool) const {
  erase_sorted(processes_by_resource_[r.resource_id], r.id);
}

void RowCache::forget_all(Parsed<HostRow>&) const {
  host_by_name_.clear();
  ++names_version_;
  host_ids_.clear();
  host_nodes_.clear();
  active_host_ids_.clear();
}

void RowCache::forget_all(Parsed<InstanceRow>&) const {
  instances_by_host_.clear();
  instances_by_service_.clear();
}

void RowCache::forget_all(Parsed<ProcessRow>&) const { processes_by_resource_.clear(); }

std::optional<HostId> RowCache::host_named(const mysql::Database& db,
                                           std::string_view name) const {
  sync<HostRow>(db);
  return first_named(name);
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
