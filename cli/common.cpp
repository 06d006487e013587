#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cli/app.hpp"
#include "models/register.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::cli {

const Registry& registry() {
  static const Registry reg = [] {
    Registry r;
    register_models(r);
    return r;
  }();
  return reg;
}

std::string scenarios_dir() {
  // The scenarios of the working directory first (a checkout), then those of the source tree
  // this binary was built from.
  if (std::filesystem::is_directory("scenarios")) return "scenarios";
  return STAMPEDE_SOURCE_DIR "/scenarios";
}

std::string resolve_scenario_path(const std::string& arg) {
  if (std::filesystem::exists(arg)) return arg;
  if (arg.find('/') == std::string::npos && arg.find('.') == std::string::npos) {
    std::string p = scenarios_dir() + "/" + arg + ".yaml";
    if (std::filesystem::exists(p)) return p;
  }
  return arg;  // load_scenario reports it as missing
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ":1:1: cannot open the file (no such scenario?)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace stampede::cli
