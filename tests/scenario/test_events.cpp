// The `event:` expectation form: a registered event name, fields the event has, an optional node
// pattern and `by`; everything else is a one-line error with the position.
#include <catch2/catch.hpp>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::error_of;
using stampede::test::parse;
using stampede::test::require_error;
using stampede::test::tiny_with;

TEST_CASE("an event expectation reads its name, fields, node and time", "[events]") {
  ScenarioSpec s = parse(tiny_with(
      "expect:\n  - {event: cattle.host_state_changed, where: {host: agent-1, to: reconnecting},"
      " node: server-*, by: 50s}\n  - {event: cattle.host_state_changed}\n"));
  REQUIRE(s.expect.size() == 2);
  const ExpectSpec& e = s.expect[0];
  CHECK(e.what == ExpectWhat::event);
  CHECK(e.value == "cattle.host_state_changed");
  CHECK(e.subject == "server-*");
  CHECK(e.form == ExpectForm::by);
  CHECK(e.at_ns == 50 * k_s);
  REQUIRE(e.where.size() == 2);
  CHECK(e.where[0] == std::pair<std::string, std::string>{"host", "agent-1"});
  CHECK(e.where[1] == std::pair<std::string, std::string>{"to", "reconnecting"});
  // No node: any node; no time: any moment of the run.
  CHECK(s.expect[1].subject == "all");
  CHECK(s.expect[1].form == ExpectForm::always);
}

TEST_CASE("a bad event expectation is one line naming the position", "[events]") {
  require_error(error_of(tiny_with("expect:\n  - {event: cattle.host_stat_changed}\n")),
                "t.yaml:14:13: ",
                "unknown event 'cattle.host_stat_changed' (did you mean 'cattle.host_state_changed'?)");
  require_error(
      error_of(tiny_with("expect:\n  - {event: cattle.host_state_changed, where: {hots: a}}\n")),
      "t.yaml:14:48: ", "event 'cattle.host_state_changed' has no field 'hots' (did you mean 'host'?)");
  require_error(
      error_of(tiny_with("expect:\n  - {event: cattle.host_state_changed, where: [a]}\n")),
      "t.yaml:14:47: ", "expected a map of field: value for 'where'");
  require_error(error_of(tiny_with("expect:\n  - {event: cattle.host_state_changed, at: 5s}\n")),
                "t.yaml:14:40: ", "'event' is an event: it takes 'by', not 'at'");
  require_error(
      error_of(tiny_with("expect:\n  - {log: {node: all, contains: x}, where: {host: a}}\n")),
      "t.yaml:14:37: ", "'where' belongs to an 'event' expectation, not 'log'");
  require_error(
      error_of(tiny_with("expect:\n  - {event: cattle.host_state_changed, node: agnet-1}\n")),
      "t.yaml:14:46: ", "agnet-1");
}

TEST_CASE("an event expectation may name the lease-lock model's nodes", "[events]") {
  const std::string base =
      "name: l\nduration: 1m\ncluster:\n  agents: 0\n  timing: {lease_lock_clients: 2}\n"
      "expect:\n";
  CHECK(error_of(base + "  - {event: cattle.host_state_changed, node: lease-lock}\n") ==
        "(no error)");
  CHECK(error_of(base + "  - {event: cattle.host_state_changed, node: lease-client-2}\n") ==
        "(no error)");
  require_error(error_of(base + "  - {event: cattle.host_state_changed, node: lease-client-3}\n"),
                "t.yaml:7:46: ", "the cluster has lease-client-1..lease-client-2");
}
