// The rancher/rancher issues of Rancher 1.1's HA as scenarios (scenarios/field-issues/): each
// shows its reporter's symptom as written, and the fix the thread asked for removes it.
#include <catch2/catch.hpp>
#include <string>

#include "tests/ha/ha_run.hpp"

using namespace stampede;
using namespace stampede::test;

TEST_CASE("rancher#5395: the one-minute host wait times out on a slow node, ten minutes do not",
          "[ha][field-issues]") {
  const std::string name = "field-issues/rancher-5395-host-wait-too-short";
  const char* timeout = "failed while waiting for 3 host(s) to be active";
  Run as_written = run(load(name), 1);
  INFO(failures(as_written.out));
  CHECK(as_written.out.passed);
  CHECK(timeline_count(as_written.out, "server-1", timeout) >= 1);
  // The reporter's request: wait about ten minutes (300 polls of 2 s).
  Run longer = run(load(name, {"cluster.timing.cm_wait_hosts_tries=300"}), 1);
  CHECK(timeline_count(longer.out, "server-1", timeout) == 0);
  CHECK(any_failed_containing(longer.out, timeout));
  CHECK(timeline_count(longer.out, "server-1", "done launching management stack") == 1);
  // The symptom needs the slow node: started 10 s apart, the hosts are all active in time.
  Run quick = run(load(name, {"cluster.timing.ha_server_start_interval=10s"}), 1);
  CHECK(timeline_count(quick.out, "server-1", timeout) == 0);
}
