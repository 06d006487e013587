// The explicit state of the Cattle-side nodes (models/agent, models/app, models/cattle): every
// field that their Durable and Volatile lists name reaches the state digest, and a crash resets
// the volatile part only.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "models/agent/agent.hpp"
#include "models/app/api_client.hpp"
#include "models/app/client.hpp"
#include "models/app/load_balancer.hpp"
#include "models/cattle/server.hpp"

using namespace stampede;

namespace {

// Perturbs each field of a copy of `node` and requires the digest to change.
void check_every_field_digested(const Node& node) {
  const std::uint64_t d0 = node.state_digest();
  REQUIRE(node.state_field_count() > 0);
  for (std::size_t i = 0; i < node.state_field_count(); ++i) {
    std::unique_ptr<Node> copy = node.clone();
    REQUIRE(copy);
    std::string name = copy->perturb_state_field(i);
    INFO("field " << i << ": " << name);
    CHECK_FALSE(name.empty());
    CHECK(copy->state_digest() != d0);
  }
}

}  // namespace

TEST_CASE("every field of the agent and the app nodes reaches their digest", "[state]") {
  check_every_field_digested(agent::Agent(agent::AgentConfig{}));
  check_every_field_digested(app::LoadBalancer(app::LoadBalancerConfig{}));
  check_every_field_digested(app::Client(app::ClientConfig{"wordpress/lb", k_s}));
  check_every_field_digested(app::ApiClient(app::ApiClientConfig{{"server-1"}, k_s}));
}

TEST_CASE("every field of a single-mode Cattle server reaches its digest", "[state]") {
  cattle::ServerConfig config;
  config.agents = {"agent-1"};
  check_every_field_digested(cattle::CattleServer(config));
}

TEST_CASE("every field of an HA Cattle server reaches its digest", "[state]") {
  // No clone in HA: a fresh server per field (the embedded clients count once they are
  // state::Components).
  cattle::ServerConfig config;
  config.manager = cm::Config{};
  const cattle::CattleServer base(config);
  REQUIRE(base.state_field_count() > 0);
  for (std::size_t i = 0; i < base.state_field_count(); ++i) {
    cattle::CattleServer s(config);
    std::string name = s.perturb_state_field(i);
    INFO("field " << i << ": " << name);
    CHECK_FALSE(name.empty());
    CHECK(s.state_digest() != base.state_digest());
  }
}

TEST_CASE("an HA Cattle server is not cloned", "[state]") {
  // Its client libraries hold callbacks bound to the server itself (server.hpp, clone).
  cattle::ServerConfig config;
  config.manager = cm::Config{};
  CHECK(cattle::CattleServer(config).clone() == nullptr);
}
