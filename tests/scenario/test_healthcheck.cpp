// The health_check keys of Rancher's health checks: their values, their defaults, and one-line
// errors at the offending value.
#include <catch2/catch.hpp>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::error_of;
using stampede::test::parse;
using stampede::test::require_error;
using S = HealthCheckSpec::Strategy;

namespace {

// A scenario whose web service has the health check `hc` (on line 8).
std::string with_check(std::string_view hc) {
  return "name: h\nduration: 1m\ncluster: {agents: 3}\nstacks:\n  - name: s\n    services:\n"
         "      - name: web\n        health_check: " +
         std::string(hc) + "\n";
}

}  // namespace

TEST_CASE("health_check reads every Rancher key", "[healthcheck]") {
  ScenarioSpec s = parse(with_check(
      "{interval: 10s, response_timeout: 3s, healthy_threshold: 4, unhealthy_threshold: 5, "
      "strategy: recreateOnQuorum, quorum: 2, initializing_timeout: 1m, "
      "reinitializing_timeout: 30s}"));
  const HealthCheckSpec& h = *s.stacks[0].services[0].health_check;
  CHECK(h.interval_ns == 10 * k_s);
  CHECK(h.response_timeout_ns == 3 * k_s);
  CHECK(h.healthy_threshold == 4);
  CHECK(h.unhealthy_threshold == 5);
  CHECK(h.strategy == S::recreate_on_quorum);
  CHECK(h.quorum == 2);
  CHECK(h.initializing_timeout_ns == 60 * k_s);
  CHECK(h.reinitializing_timeout_ns == 30 * k_s);
}

TEST_CASE("health_check defaults are Rancher's: recreate, quorum 1, no timeouts", "[healthcheck]") {
  // The spec is kept in a variable: a reference into parse()'s temporary would dangle once the
  // declaration ends (AddressSanitizer found it).
  const ScenarioSpec spec = parse(with_check("{}"));
  const HealthCheckSpec& h = *spec.stacks[0].services[0].health_check;
  CHECK(h.strategy == S::recreate);
  CHECK(h.quorum == 1);
  CHECK(h.interval_ns == 2 * k_s);
  CHECK(h.response_timeout_ns == 0);
  CHECK(h.initializing_timeout_ns == 0);
  CHECK(h.reinitializing_timeout_ns == 0);
  CHECK(parse(with_check("{strategy: none}")).stacks[0].services[0].health_check->strategy ==
        S::none);
}

TEST_CASE("bad health_check values are refused at their position", "[healthcheck][errors]") {
  require_error(error_of(with_check("{strategy: recreateOnQuorom}")), "t.yaml:8:34: ",
                "unknown health check strategy 'recreateOnQuorom' (expected recreate, "
                "recreateOnQuorum or none) (did you mean 'recreateOnQuorum'?)");
  require_error(error_of(with_check("{quorum: 0}")), "t.yaml:8:32: ",
                "'quorum' must be at least 1, got 0");
  require_error(error_of(with_check("{response_timeout: -1s}")), "t.yaml:8:42: ",
                "'response_timeout' must be a duration above zero");
  require_error(error_of(with_check("{initializing_timeout: two}")), "t.yaml:8:46: ",
                "bad duration 'two'");
  require_error(error_of(with_check("{stratgy: none}")), "t.yaml:8:24: ",
                "unknown key 'stratgy' in health_check (did you mean 'strategy'?)");
}
