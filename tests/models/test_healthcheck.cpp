// Rancher 1.1's health-check rules, one function each (models/cattle/healthcheck.hpp cites the
// cattle v0.165.8 lines): the verdict from the checkers' reports, the strategies, the checkers'
// choice, the (re)initializing timeouts and the configuration entries.
#include <catch2/catch.hpp>

#include "models/cattle/healthcheck.hpp"
#include "models/cattle/protocol.hpp"

using namespace stampede;
using namespace stampede::cattle;

namespace {

HealthRow row(Health state, std::map<HostId, Health> checkers) {
  return HealthRow{state, 0, std::move(checkers), {}};
}

const HostId h1{1}, h2{2}, h3{3}, h4{4};

}  // namespace

TEST_CASE("a container is unhealthy only when all its checkers say so", "[healthcheck]") {
  using H = Health;
  auto r = row(H::healthy, {{h1, H::unhealthy}, {h2, H::healthy}, {h3, H::unhealthy}});
  CHECK_FALSE(determine_new_health(r, h1, H::unhealthy, false));
  r.checkers[h2] = H::unhealthy;
  CHECK(determine_new_health(r, h2, H::unhealthy, false) == H::unhealthy);
  // A checker that has not reported yet does not agree.
  auto fresh = row(H::healthy, {{h1, H::unhealthy}, {h2, H::none}});
  CHECK_FALSE(determine_new_health(fresh, h1, H::unhealthy, false));
  // One healthy report is enough to come back.
  CHECK(determine_new_health(row(H::unhealthy, {{h1, H::healthy}}), h1, H::healthy, false) ==
        H::healthy);
  CHECK(determine_new_health(row(H::reinitializing, {{h1, H::healthy}}), h1, H::healthy, false) ==
        H::healthy);
}

TEST_CASE("a removed checker's reconcile lets the others decide, and none left changes nothing",
          "[healthcheck]") {
  using H = Health;
  CHECK(determine_new_health(row(H::healthy, {{h2, H::unhealthy}}), h1, H::none, true) ==
        H::unhealthy);
  CHECK_FALSE(determine_new_health(row(H::healthy, {{h2, H::healthy}}), h1, H::none, true));
  CHECK_FALSE(determine_new_health(row(H::healthy, {}), h1, H::none, true));
}

TEST_CASE("an unhealthy report while (re)initializing is dropped", "[healthcheck]") {
  CHECK_FALSE(should_update(row(Health::initializing, {}), Health::unhealthy));
  CHECK_FALSE(should_update(row(Health::reinitializing, {}), Health::unhealthy));
  CHECK(should_update(row(Health::initializing, {}), Health::healthy));
  CHECK(should_update(row(Health::healthy, {}), Health::unhealthy));
}

TEST_CASE("the strategies pick the containers to replace", "[healthcheck]") {
  const InstanceId a{1}, b{2}, c{3};
  std::vector<std::pair<InstanceId, Health>> units = {
      {a, Health::unhealthy}, {b, Health::healthy}, {c, Health::initializing}};
  HealthCheckSpec spec;
  CHECK(units_to_recreate(spec, units) == std::vector<InstanceId>{a});
  spec.strategy = HealthCheckSpec::Strategy::none;
  CHECK(units_to_recreate(spec, units).empty());
  spec.strategy = HealthCheckSpec::Strategy::recreate_on_quorum;
  spec.quorum = 1;
  CHECK(units_to_recreate(spec, units) == std::vector<InstanceId>{a});
  // The initializing container does not count as healthy.
  spec.quorum = 2;
  CHECK(units_to_recreate(spec, units).empty());
}

TEST_CASE("up to three checkers, other hosts first, the own host only when alone",
          "[healthcheck]") {
  auto first = [](std::int64_t lo, std::int64_t) { return lo; };
  auto picked = pick_checkers({}, {h1, h2, h3, h4}, h1, first);
  CHECK(picked.size() == 3);
  CHECK(std::find(picked.begin(), picked.end(), h1) == picked.end());
  CHECK(pick_checkers({h2, h3}, {h1, h2, h3, h4}, h1, first) == std::vector<HostId>{h4});
  CHECK(pick_checkers({h2, h3, h4}, {h1, h2, h3, h4}, h1, first).empty());
  CHECK(pick_checkers({}, {h1}, h1, first) == std::vector<HostId>{h1});
  CHECK(pick_checkers({}, {h1, h2}, h1, first) == std::vector<HostId>{h2});
}

TEST_CASE("a container (re)initializing past its timeout is due for removal", "[healthcheck]") {
  HealthCheckSpec spec;
  HealthRow r{Health::initializing, 10 * k_s, {}, {}};
  CHECK_FALSE(init_timed_out(r, spec, 1000 * k_s));  // unset: never
  spec.initializing_timeout_ns = 60 * k_s;
  CHECK_FALSE(init_timed_out(r, spec, 69 * k_s));
  CHECK(init_timed_out(r, spec, 70 * k_s));
  r.state = Health::healthy;
  CHECK_FALSE(init_timed_out(r, spec, 1000 * k_s));
  r.state = Health::reinitializing;
  CHECK_FALSE(init_timed_out(r, spec, 1000 * k_s));
  spec.reinitializing_timeout_ns = 5 * k_s;
  CHECK(init_timed_out(r, spec, 15 * k_s));
}

TEST_CASE("a health config entry carries the instance, container and host", "[healthcheck]") {
  std::string e = health_entry(42, "shop/web/1", "agent-3");
  CHECK(e == "42:shop/web/1@agent-3");
  auto p = parse_health_entry(e);
  REQUIRE(p);
  CHECK(p->instance == 42);
  CHECK(p->container == "shop/web/1");
  CHECK(p->agent == "agent-3");
  CHECK_FALSE(parse_health_entry("x:shop/web/1@agent-3"));
  CHECK_FALSE(parse_health_entry("shop/web/1@agent-3"));
}
