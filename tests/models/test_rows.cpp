// The typed Cattle rows: each converts to the text row Cattle's code has always written and back
// without loss, and the server's typed cache of a table follows every change of the table.
#include <catch2/catch.hpp>

#include "models/cattle/row_cache.hpp"
#include "models/cattle/rows.hpp"

using namespace stampede;
using namespace stampede::cattle;
using mysql::Row;

namespace {

template <class R>
void check_round_trip(const R& typed, const Row& text) {
  CHECK(to_row(typed) == text);
  R back = parse_row<R>(typed.id.value, text);
  CHECK(back.fields() == typed.fields());
}

}  // namespace

TEST_CASE("typed rows convert to the text rows the store keeps, column for column, and back",
          "[cattle][rows]") {
  check_round_trip(HostRow{HostId{3}, "agent-3", HostState::reconnecting, 42},
                   Row{{"name", "agent-3"}, {"state", "reconnecting"}, {"updated_ns", "42"}});
  check_round_trip(InstanceRow{InstanceId{7}, "wordpress/web/2", ServiceId{2}, 2, HostId{3},
                               NetworkId{1}, InstanceState::active, 5},
                   Row{{"name", "wordpress/web/2"}, {"service_id", "2"}, {"index", "2"},
                       {"host_id", "3"}, {"network_id", "1"}, {"state", "active"},
                       {"updated_ns", "5"}});
  // A service has a scale and links, a load balancer targets: absent columns stay absent.
  check_round_trip(ServiceRow{ServiceId{2}, "web", StackId{1}, ServiceKind::service, 4,
                              std::string("db"), std::nullopt, "active"},
                   Row{{"name", "web"}, {"stack_id", "1"}, {"kind", "service"}, {"scale", "4"},
                       {"links", "db"}, {"state", "active"}});
  check_round_trip(ServiceRow{ServiceId{3}, "lb", StackId{1}, ServiceKind::loadbalancer,
                              std::nullopt, std::nullopt, std::string("web"), "active"},
                   Row{{"name", "lb"}, {"stack_id", "1"}, {"kind", "loadbalancer"},
                       {"targets", "web"}, {"state", "active"}});
  ProcessRow p{ProcessId{9}, "instance.start", ResourceType::instance, 7, ProcessPhase::pending,
               1, 100, 0, std::nullopt};
  Row text{{"process", "instance.start"}, {"resource_type", "instance"}, {"resource_id", "7"},
           {"phase", "pending"}, {"attempts", "1"}, {"start_ns", "100"}};
  check_round_trip(p, text);
  // The last failed run's start (for the replay's wait) is written once there is one.
  p.last_run_ns = 250;
  text.emplace("last_run_ns", "250");
  check_round_trip(p, text);
  p.exit_reason = "done";
  text.emplace("exit_reason", "done");
  check_round_trip(p, text);
  CHECK(p.instance() == InstanceId{7});
  CHECK_FALSE(p.host().valid());  // the resource is an instance, not a host
}

TEST_CASE("the typed cache of a table follows every write, re-read and truncate",
          "[cattle][rows]") {
  mysql::Database db(10);
  RowCache cache;
  CHECK(cache.all<HostRow>(db).empty());
  mysql::Transaction t;
  write::insert(t, HostRow{HostId{}, "agent-1", HostState::active, 0});
  write::insert(t, InstanceRow{InstanceId{}, "s/web/1", ServiceId{1}, 1, HostId{1}, NetworkId{},
                               InstanceState::requested, 0});
  db.commit(t);
  REQUIRE(cache.find<HostRow>(db, HostId{1}) != nullptr);
  CHECK(cache.host_named(db, "agent-1") == HostId{1});
  CHECK(cache.instances_on(db, HostId{1}) == std::vector<InstanceId>{InstanceId{1}});

  mysql::Transaction u;
  write::state(u, HostId{1}, HostState::reconnecting, 7);
  write::host(u, InstanceId{1}, HostId{2});
  db.commit(u);
  CHECK(cache.find<HostRow>(db, HostId{1})->state == HostState::reconnecting);
  CHECK(cache.find<HostRow>(db, HostId{1})->updated_ns == 7);
  CHECK(cache.instances_on(db, HostId{1}).empty());
  CHECK(cache.instances_of(db, ServiceId{1}) == std::vector<InstanceId>{InstanceId{1}});

  db.replace_rows("host", {{5, to_row(HostRow{HostId{5}, "agent-5", HostState::active, 0})}});
  CHECK_FALSE(cache.host_named(db, "agent-1"));
  CHECK(cache.host_position(db, HostId{5}) == 0);
  REQUIRE_FALSE(db.truncate({"host"}, false));
  CHECK(cache.all<HostRow>(db).empty());
}

namespace {

// Everything a cache offers, written out, for comparing a cache kept up to date write by write
// with one that parses the store afresh.
std::string cache_view(const RowCache& c, const mysql::Database& db) {
  std::string s;
  for (const auto& [id, r] : c.all<HostRow>(db))
    s += "h" + std::to_string(id.value) + r.name + std::string(to_text(r.state)) + " ";
  for (const auto& [id, r] : c.all<InstanceRow>(db))
    s += "i" + std::to_string(id.value) + "@" + std::to_string(r.host.value) + " ";
  for (const auto& [id, r] : c.all<ProcessRow>(db))
    s += "p" + std::to_string(id.value) + ":" + std::to_string(r.resource_id) + " ";
  s += "| active " + std::to_string(c.hosts_active(db));
  for (std::int64_t h = 0; h <= 6; ++h) {
    s += " | host " + std::to_string(h) + " pos " +
         std::to_string(c.host_position(db, HostId{h})) + " on";
    for (InstanceId i : c.instances_on(db, HostId{h})) s += " " + std::to_string(i.value);
    s += " procs";
    for (ProcessId p : c.processes_of(db, h)) s += " " + std::to_string(p.value);
  }
  for (std::int64_t v = 0; v <= 3; ++v) {
    s += " | service " + std::to_string(v);
    for (InstanceId i : c.instances_of(db, ServiceId{v})) s += " " + std::to_string(i.value);
  }
  for (int n = 1; n <= 4; ++n) {
    auto h = c.host_named(db, "agent-" + std::to_string(n));
    s += " | agent-" + std::to_string(n) + "=" + (h ? std::to_string(h->value) : "none");
  }
  // The agents' nodes: node n is named agent-n (n from 1 to 4); no node is named agent-0.
  std::vector<std::string> node_names = {"agent-0", "agent-1", "agent-2", "agent-3", "agent-4"};
  auto resolve = [](std::string_view name) {
    return name.size() == 7 && name[6] >= '1' && name[6] <= '4'
               ? static_cast<NodeId>(name[6] - '0')
               : k_no_node;
  };
  for (std::int64_t h = 0; h <= 8; ++h) {
    NodeId node = c.node_of(db, HostId{h}, resolve);
    s += " | node of " + std::to_string(h) + "=" +
         (node == k_no_node ? std::string("none") : std::to_string(node));
  }
  for (NodeId n = 0; n <= 4; ++n) {
    auto h = c.host_of_node(db, n, [&](NodeId m) { return std::string_view(node_names[m]); });
    s += " | host of node " + std::to_string(n) + "=" + (h ? std::to_string(h->value) : "none");
  }
  return s;
}

}  // namespace

TEST_CASE("the typed cache taken row by row from the store's journal equals a fresh parse",
          "[cattle][rows]") {
  mysql::Database db(10);
  RowCache kept;
  std::uint64_t x = 12345;
  auto next = [&x](std::uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int64_t>((x >> 33) % n);
  };
  const HostState states[] = {HostState::active, HostState::reconnecting, HostState::activating};
  int compared = 0;
  for (int round = 0; round < 600; ++round) {
    mysql::Transaction t;
    for (int w = next(4); w >= 0; --w) switch (next(8)) {
        case 0:  // hosts of names that repeat: host_named gives the lowest id of a name
          write::insert(t, HostRow{HostId{}, "agent-" + std::to_string(1 + next(4)),
                                   states[next(3)], 0});
          break;
        case 1: write::state(t, HostId{1 + next(6)}, states[next(3)], round); break;
        case 2:
          write::insert(t, InstanceRow{InstanceId{}, "s/web/1", ServiceId{next(4)}, 1,
                                       HostId{next(7)}, NetworkId{}, InstanceState::requested, 0});
          break;
        case 3: write::host(t, InstanceId{1 + next(12)}, HostId{next(7)}); break;
        case 4:
          write::insert(t, ProcessRow{ProcessId{}, "host.activate", ResourceType::host, next(7),
                                      ProcessPhase::pending, 1, 0, 0, std::nullopt});
          break;
        case 5: t.erase(std::string(ProcessRow::k_table), 1 + next(30)); break;
        case 6:  // a renamed host: its agent's node changes, and so may the host of two nodes
          t.update(std::string(HostRow::k_table), 1 + next(6), "name",
                   "agent-" + std::to_string(next(5)));
          break;
        default: t.erase(std::string(HostRow::k_table), 1 + next(8)); break;
      }
    db.commit(t);
    // Now and then a re-read of a whole table: the journal starts again there.
    if (round % 150 == 149) db.replace_rows("host", {});
    // The kept cache is read after most commits, and sometimes only after several.
    if (next(3) == 0) continue;
    RowCache fresh;
    REQUIRE(cache_view(kept, db) == cache_view(fresh, db));
    ++compared;
  }
  CHECK(compared > 300);
  // Three tables parsed whole at first, the host table again after each of its 4 re-reads: every
  // other change was taken row by row.
  CHECK(kept.full_parses() <= 3 + 4 + 2);
  CHECK(kept.all<ProcessRow>(db).size() > 20);
}
