// `stampede-simgrid`: the SimGrid engine built in (see simgrid_engine_factory in cli/app.hpp).
#include "cli/app.hpp"
#include "sim/simgrid/factory.hpp"

namespace stampede::cli {

EngineFactory simgrid_engine_factory(std::optional<std::string> platform) {
  return make_simgrid_factory(std::move(platform));
}

}  // namespace stampede::cli
