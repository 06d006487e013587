// One --set KEY=VALUE flag on a fixed valid scenario (the input is the flag): the values users
// type on the command line, YAML and all.
#include <string>

#include "fuzz/common.hpp"
#include "sim/scenario/scenario.hpp"

namespace {
constexpr const char* k_scenario = R"(name: tiny
duration: 30s
cluster:
  servers: 3
  agents: 2
  database: {external: true}
  timing: {agent_ping_interval: 5s}
stacks:
  - name: wordpress
    services:
      - {name: db, scale: 1}
      - {name: web, scale: 2, links: [db]}
    load_balancer: {name: lb, targets: [web]}
workload:
  - client: {target: wordpress/lb, rate: 5/s}
faults:
  - {at: 10s, kill_container: wordpress/web/1}
expect:
  - {at: 25s, running: {service: wordpress/web, count: 2}}
)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string flag(reinterpret_cast<const char*>(data), size);
  // A command-line argument cannot hold a NUL byte: such an input reaches no user.
  if (flag.find('\0') != std::string::npos) return 0;
  try {
    stampede::parse_scenario_with_overrides(k_scenario, "fuzz.yaml", {flag},
                                            stampede::fuzz::registry());
  } catch (const stampede::InputError& e) {
    stampede::fuzz::expect_located(e, "fuzz.yaml");
  }
  return 0;
}
