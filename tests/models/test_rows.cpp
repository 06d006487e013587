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
