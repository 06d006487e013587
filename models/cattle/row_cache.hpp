#pragma once
// The server's typed copy of the store's tables: each table is parsed from its text rows
// (rows.cpp) when it is first read after a change, and kept, with the look-ups the handlers make
// (a host by its name, a host's and a service's instances, a resource's processes), until the
// table changes again. The store tells a change by its table stamps (Database::stamp).
//
// A cache, not state: it is rebuilt from the store and never digested. A reference into it is
// good until the next write to that table: a handler that commits copies what it still needs.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "models/cattle/rows.hpp"
#include "models/mysql/database.hpp"

namespace stampede::cattle {

class RowCache {
 public:
  template <class R>
  using Map = std::map<typename R::IdType, R>;

  // Every row of R's table, in id order.
  template <class R>
  const Map<R>& all(const mysql::Database& db) const {
    return sync<R>(db).rows;
  }
  // The row with this id, or nullptr.
  template <class R>
  const R* find(const mysql::Database& db, typename R::IdType id) const {
    const Map<R>& rows = all<R>(db);
    auto it = rows.find(id);
    return it == rows.end() ? nullptr : &it->second;
  }
  // The host of this name with the lowest id.
  std::optional<HostId> host_named(const mysql::Database& db, std::string_view name) const;
  // How many hosts are active: the convergence check asks after most agent and server steps, and
  // a count over the host table there made a step cost O(hosts) (issue 15).
  std::int64_t hosts_active(const mysql::Database& db) const {
    sync<HostRow>(db);
    return hosts_active_;
  }
  // How many hosts come before this one in id order (the number of hosts if it is not one).
  std::size_t host_position(const mysql::Database& db, HostId host) const;
  // Instances by host and by service, processes by resource id: in id order.
  const std::vector<InstanceId>& instances_on(const mysql::Database& db, HostId host) const;
  const std::vector<InstanceId>& instances_of(const mysql::Database& db, ServiceId service) const;
  const std::vector<ProcessId>& processes_of(const mysql::Database& db,
                                             std::int64_t resource_id) const;

 private:
  template <class R>
  struct Parsed {
    std::uint64_t stamp = 0;    // the table's stamp when it was parsed (stamps start at 1)
    std::uint64_t checked = 0;  // the whole store's stamp when that was last checked
    Map<R> rows;
  };
  template <class R>
  Parsed<R>& sync(const mysql::Database& db) const {
    Parsed<R>& p = std::get<Parsed<R>>(tables_);
    // Most look-ups come between two writes: one comparison tells that nothing changed.
    if (p.checked == db.stamp()) return p;
    p.checked = db.stamp();
    std::uint64_t now = db.stamp(R::k_table);
    if (p.stamp != now) {
      p.stamp = now;
      p.rows.clear();
      if (const mysql::Table* t = db.table(R::k_table))
        for (const auto& [id, row] : *t)
          p.rows.emplace_hint(p.rows.end(), typename R::IdType{id}, parse_row<R>(id, row));
      derive(p);
    }
    return p;
  }
  // The look-ups kept beside a table, rebuilt with it.
  void derive(Parsed<HostRow>& p) const;
  void derive(Parsed<InstanceRow>& p) const;
  void derive(Parsed<ProcessRow>& p) const;
  template <class R>
  void derive(Parsed<R>&) const {}

  mutable std::tuple<Parsed<HostRow>, Parsed<NetworkRow>, Parsed<StackRow>, Parsed<ServiceRow>,
                     Parsed<InstanceRow>, Parsed<ProcessRow>, Parsed<SettingRow>>
      tables_;
  mutable std::map<std::string, HostId, std::less<>> host_by_name_;
  mutable std::vector<HostId> host_ids_;  // in id order
  mutable std::int64_t hosts_active_ = 0;
  mutable std::map<HostId, std::vector<InstanceId>> instances_by_host_;
  mutable std::map<ServiceId, std::vector<InstanceId>> instances_by_service_;
  mutable std::map<std::int64_t, std::vector<ProcessId>> processes_by_resource_;
};

}  // namespace stampede::cattle
