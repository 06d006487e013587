#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "cli/app.hpp"
#include "models/register.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

namespace stampede::cli {

const Registry& registry() {
  static const Registry reg = [] {
    Registry r;
    register_models(r);
    return r;
  }();
  return reg;
}

namespace {

bool is_name(const std::string& arg) {
  // A name is what `stampede list` prints, or a subfolder's file without its extension
  // (known-bugs/lease-lock); anything absolute, relative to '.' or with an extension is a path.
  if (arg.empty() || arg.front() == '/' || arg.front() == '.') return false;
  std::string ext = std::filesystem::path(arg).extension().string();
  return ext != ".yaml" && ext != ".yml";
}

void add_root(std::vector<std::string>& roots, const std::filesystem::path& dir) {
  std::string s = dir.lexically_normal().string();
  if (std::find(roots.begin(), roots.end(), s) == roots.end()) roots.push_back(s);
}

// NAME.yaml directly under root, else (for a name without a folder) under one of root's
// subfolders, taken in name order so the answer does not depend on the file system's order.
std::optional<std::string> find_in(const std::string& root, const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path direct = fs::path(root) / (name + ".yaml");
  if (fs::is_regular_file(direct, ec)) return direct.string();
  if (name.find('/') != std::string::npos) return std::nullopt;
  std::vector<fs::path> subdirs;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory(ec)) subdirs.push_back(e.path());
  std::sort(subdirs.begin(), subdirs.end());
  for (const fs::path& d : subdirs)
    if (fs::is_regular_file(d / (name + ".yaml"), ec)) return (d / (name + ".yaml")).string();
  return std::nullopt;
}

}  // namespace

std::string check_seed(const std::string& value) {
  static const std::string k_max = "18446744073709551615";
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || value.size() > k_max.size() ||
      (value.size() == k_max.size() && value > k_max))
    return fmt::format("'{}': expected a seed, a whole number from 0 to {}", value, k_max);
  return {};
}

std::string check_count(const std::string& value, long long max) {
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || value.size() > 18 || std::stoll(value) > max)
    return fmt::format("'{}': expected a whole number from 0 to {}", value, max);
  return {};
}

std::vector<std::string> scenario_roots() {
  // The working directory's scenarios/ first (a checkout), then an installation's share folder:
  // the one beside the running binary (PREFIX/bin/stampede reads PREFIX/share/stampede/scenarios,
  // wherever the prefix was moved), then the one of the prefix it was configured with.
  std::vector<std::string> roots{"scenarios"};
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) add_root(roots, exe.parent_path().parent_path() / "share/stampede/scenarios");
  add_root(roots, STAMPEDE_INSTALL_SCENARIOS_DIR);
  return roots;
}

std::string scenarios_dir() {
  for (const std::string& root : scenario_roots())
    if (std::filesystem::is_directory(root)) return root;
  return "scenarios";
}

std::string resolve_scenario_path(const std::string& arg) {
  // A path that does not exist is left to load_scenario, which names it in its one-line error.
  if (std::filesystem::exists(arg) || !is_name(arg)) return arg;
  const std::vector<std::string> roots = scenario_roots();
  for (const std::string& root : roots)
    if (auto found = find_in(root, arg)) return *found;
  std::vector<std::string> shown;
  for (const std::string& root : roots)
    shown.push_back(std::filesystem::absolute(root).lexically_normal().string());
  const bool subfolders = arg.find('/') == std::string::npos;
  throw InputError(fmt::format("stampede: no scenario named '{}': looked for {}.yaml in {}{}", arg,
                               arg, fmt::join(shown, ", "),
                               subfolders ? " (and their subfolders)" : ""));
}

namespace {
std::vector<std::string>& arguments() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void remember_arguments(int argc, char** argv) { arguments().assign(argv, argv + argc); }
const std::vector<std::string>& remembered_arguments() { return arguments(); }

std::string read_file(const std::string& path) {
  // A directory opens as an empty stream on Linux: it would be reported as an empty scenario.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ":1:1: is a directory, not a scenario file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ":1:1: cannot open the file (no such scenario?)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ScenarioSpec parse_trace_scenario(const std::string& trace_path, const TraceHeader& header) {
  try {
    return parse_scenario_with_overrides(header.scenario_text, header.scenario_file,
                                         header.overrides, registry());
  } catch (const InputError& e) {
    const std::string what = e.what();
    const std::string file = header.scenario_file + ":";
    if (what.rfind(file, 0) == 0)
      throw InputError(fmt::format("{}:1:1: embedded scenario (recorded from {}):{}", trace_path,
                                   header.scenario_file, what.substr(file.size())));
    throw InputError(fmt::format("{}:1:1: recorded {}", trace_path, what));
  }
}

}  // namespace stampede::cli
