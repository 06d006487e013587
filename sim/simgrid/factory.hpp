#pragma once
// Building the SimGrid engine for a run: the factory run_scenario takes (RunConfig::make_engine).
#include <memory>
#include <optional>
#include <string>

#include "sim/run/run.hpp"

namespace stampede {

// A SimgridEngine on a platform built from the scenario (one host per node, a star whose links
// carry the scenario's latency and 1 Gbps).
std::unique_ptr<Engine> make_simgrid_engine(const ScenarioSpec& spec, const Registry& registry,
                                            const RunConfig& config, Chooser& chooser);

// The factory for `--engine simgrid [--platform FILE.xml]`. With a platform file, nodes run on
// the hosts that FILE.hosts.yaml maps them to (`hosts: {server-1: zone-a-1, ...}`), or on the
// host of their own name. Bad input (platform, map, a missing host) throws InputError when the
// engine is built or the world is added to it.
EngineFactory make_simgrid_factory(std::optional<std::string> platform_file);

}  // namespace stampede
