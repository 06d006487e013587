#pragma once
// The server's typed copy of the store's tables: each table is parsed from its text rows
// (rows.cpp) when it is first read, and kept, with the look-ups the handlers make (a host by its
// name, a host's and a service's instances, a resource's processes). The store tells a change by
// its table stamps (Database::stamp); at the next read after one, only the rows the store's
// journal names since the copy's stamp are parsed again (Database::changed_since), and the whole
// table only when the journal does not reach back that far. Parsing the whole process table at
// each read after a write made a wave of 1,000 host activations cost O(hosts^2) (issue 15).
//
// A cache, not state: it is rebuilt from the store and never digested. A reference into it is
// good until the next write to that table: a handler that commits copies what it still needs.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "models/cattle/rows.hpp"
#include "models/mysql/database.hpp"
#include "sim/core/message.hpp"

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
  // The node of this host's agent (the node named as the host; k_no_node when there is none or
  // no such host). `resolve` maps a node name to its id (Ctx::lookup): it is asked once per
  // host and name, as a world's node names are fixed before its run starts (sim/kernel/
  // kernel.cpp, Kernel::add_node). Hashing the host's name at every ping and push cost a
  // growing share of each step at thousands of agents (issue 15).
  template <class Resolve>
  NodeId node_of(const mysql::Database& db, HostId host, const Resolve& resolve) const {
    sync<HostRow>(db);
    auto it = std::lower_bound(host_ids_.begin(), host_ids_.end(), host);
    if (it == host_ids_.end() || *it != host) return k_no_node;
    std::optional<NodeId>& node = host_nodes_[static_cast<std::size_t>(it - host_ids_.begin())];
    if (!node) {
      const HostRow& row = std::get<Parsed<HostRow>>(tables_).rows.at(host);
      node = resolve(std::string_view(row.name));
    }
    return *node;
  }
  // The host named as this node (the lowest id of that name), as host_named(name_of(node))
  // gives it. The answer is kept per node until a host row gains, loses or changes a name, so
  // that a pong, a hello or a report from an agent is not a look-up by name.
  template <class NameOf>
  std::optional<HostId> host_of_node(const mysql::Database& db, NodeId node,
                                     const NameOf& name_of) const {
    if (node == k_no_node) return std::nullopt;
    sync<HostRow>(db);
    if (node >= node_hosts_.size()) node_hosts_.resize(std::size_t{node} + 1);
    NodeHost& known = node_hosts_[node];
    if (known.names_version != names_version_) {
      known.host = first_named(name_of(node));
      known.names_version = names_version_;
    }
    return known.host;
  }
  // How many hosts are active: the convergence check asks after most agent and server steps, and
  // a count over the host table there made a step cost O(hosts) (issue 15).
  std::int64_t hosts_active(const mysql::Database& db) const {
    sync<HostRow>(db);
    return static_cast<std::int64_t>(active_host_ids_.size());
  }
  // The active hosts, in id order: the health checks' config push and checker choice walk them
  // at every host that comes back, and a pass over the host table there made a wave of
  // reconnecting hosts cost O(hosts^2) table walks (issue 15).
  const std::vector<HostId>& active_hosts(const mysql::Database& db) const {
    sync<HostRow>(db);
    return active_host_ids_;
  }
  // How many hosts come before this one in id order (the number of hosts if it is not one).
  std::size_t host_position(const mysql::Database& db, HostId host) const;
  // Instances by host and by service, processes by resource id: in id order.
  const std::vector<InstanceId>& instances_on(const mysql::Database& db, HostId host) const;
  const std::vector<InstanceId>& instances_of(const mysql::Database& db, ServiceId service) const;
  const std::vector<ProcessId>& processes_of(const mysql::Database& db,
                                             std::int64_t resource_id) const;
  // How many times a table was parsed whole (first reads, re-reads, truncates, a journal that
  // did not reach back): tests check that writes are taken row by row.
  std::uint64_t full_parses() const { return full_parses_; }

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
    if (p.stamp == now) return p;
    changed_.clear();
    if (p.stamp != 0 &&
        db.changed_since(R::k_table, p.stamp, [this](mysql::RowId id) { changed_.push_back(id); })) {
      std::sort(changed_.begin(), changed_.end());
      changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
      for (mysql::RowId id : changed_) reparse(p, id, db.find(R::k_table, id));
    } else {
      ++full_parses_;
      p.rows.clear();
      forget_all(p);
      if (const mysql::Table* t = db.table(R::k_table))
        for (const auto& [id, row] : *t) {
          auto it = p.rows.emplace_hint(p.rows.end(), typename R::IdType{id},
                                        parse_row<R>(id, row));
          link(it->second, true);
        }
    }
    p.stamp = now;
    return p;
  }
  // Takes row `id` again from the store (`row`, or nullptr when it is gone).
  template <class R>
  void reparse(Parsed<R>& p, mysql::RowId id, const mysql::Row* row) const {
    auto it = p.rows.find(typename R::IdType{id});
    if (it == p.rows.end()) {
      if (row != nullptr)
        link(p.rows.emplace(typename R::IdType{id}, parse_row<R>(id, *row)).first->second, true);
      return;
    }
    if (row == nullptr) {
      unlink(it->second, true);
      p.rows.erase(it);
      return;
    }
    relink(it->second, parse_row<R>(id, *row));
  }
  // A row changed in place: it leaves the look-ups and enters them again.
  template <class R>
  void relink(R& old, R now) const {
    unlink(old, false);
    old = std::move(now);
    link(old, false);
  }
  // A host row changed in place: its name's look-ups stay unless the name changed (most changes
  // are of its state), so the nodes' hosts stay known across state changes.
  void relink(HostRow& old, HostRow now) const;
  // The look-ups kept beside a table: a row enters them (`fresh`: a row new to the copy) or
  // leaves them (`gone`: the row left the copy); a change of a row leaves and enters again.
  void link(const HostRow& r, bool fresh) const;
  void unlink(const HostRow& r, bool gone) const;
  void link(const InstanceRow& r, bool fresh) const;
  void unlink(const InstanceRow& r, bool gone) const;
  void link(const ProcessRow& r, bool fresh) const;
  void unlink(const ProcessRow& r, bool gone) const;
  template <class R>
  void link(const R&, bool) const {}
  template <class R>
  void unlink(const R&, bool) const {}
  // The host of this name with the lowest id, from host_by_name_ (synced by the caller).
  std::optional<HostId> first_named(std::string_view name) const;
  // Empties the look-ups of R's table before the whole table is parsed again.
  void forget_all(Parsed<HostRow>&) const;
  void forget_all(Parsed<InstanceRow>&) const;
  void forget_all(Parsed<ProcessRow>&) const;
  template <class R>
  void forget_all(Parsed<R>&) const {}

  mutable std::tuple<Parsed<HostRow>, Parsed<NetworkRow>, Parsed<StackRow>, Parsed<ServiceRow>,
                     Parsed<InstanceRow>, Parsed<ProcessRow>, Parsed<SettingRow>,
                     Parsed<HealthcheckInstanceRow>, Parsed<HealthcheckHostMapRow>>
      tables_;
  mutable std::uint64_t full_parses_ = 0;
  mutable std::vector<mysql::RowId> changed_;  // sync's scratch list of changed rows
  // The hosts of each name: the lowest id is the one host_named gives.
  mutable std::map<std::string, std::set<HostId>, std::less<>> host_by_name_;
  mutable std::vector<HostId> host_ids_;         // in id order
  // The node of each host's agent, beside host_ids_ (empty until node_of resolves it).
  mutable std::vector<std::optional<NodeId>> host_nodes_;
  // Bumped whenever a host row gains, loses or changes a name: it says which of node_hosts_'
  // answers are still good.
  mutable std::uint64_t names_version_ = 1;
  struct NodeHost {
    std::uint64_t names_version = 0;  // the names_version_ it was resolved at (0: never)
    std::optional<HostId> host;
  };
  mutable std::vector<NodeHost> node_hosts_;  // by NodeId
  mutable std::vector<HostId> active_host_ids_;  // the active ones, in id order
  mutable std::map<HostId, std::vector<InstanceId>> instances_by_host_;
  mutable std::map<ServiceId, std::vector<InstanceId>> instances_by_service_;
  mutable std::map<std::int64_t, std::vector<ProcessId>> processes_by_resource_;
};

}  // namespace stampede::cattle
