#include "sim/simgrid/factory.hpp"

#include "sim/simgrid/simgrid_engine.hpp"

namespace stampede {

static std::unique_ptr<Engine> build(const ScenarioSpec& spec, const Registry& registry,
                                     const RunConfig& config, Chooser& chooser,
                                     const std::optional<std::string>& platform_file) {
  SimgridEngine::Options opts;
  static_cast<EngineOptions&>(opts) = engine_options(spec, registry, config);
  opts.platform.file = platform_file;
  // The map beside the platform file first, then the scenario's `cluster.platform_hosts`,
  // which wins for the nodes it names.
  sg::read_host_map(opts.platform);
  for (const auto& [node, h] : spec.cluster.platform_hosts)
    opts.platform.hosts[node] = sg::HostMapEntry{h.host, h.pos, h.key_pos};
  return std::make_unique<SimgridEngine>(std::move(opts), &chooser);
}

std::unique_ptr<Engine> make_simgrid_engine(const ScenarioSpec& spec, const Registry& registry,
                                            const RunConfig& config, Chooser& chooser) {
  return build(spec, registry, config, chooser, std::nullopt);
}

EngineFactory make_simgrid_factory(std::optional<std::string> platform_file) {
  return [platform_file](const ScenarioSpec& spec, const Registry& registry,
                         const RunConfig& config, Chooser& chooser) {
    return build(spec, registry, config, chooser, platform_file);
  };
}

}  // namespace stampede
