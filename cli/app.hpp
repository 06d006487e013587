#pragma once
// The pieces of the `stampede` command, one file per subcommand; main.cpp wires them to CLI11.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"

namespace stampede::cli {

// Exit codes, as SCENARIOS.md fixes them.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_bad_input = 2;
inline constexpr int k_exit_internal = 3;

const Registry& registry();

// A scenario argument: a path, or the name of a file under the scenarios folder.
std::string resolve_scenario_path(const std::string& arg);
std::string scenarios_dir();
std::string read_file(const std::string& path);  // throws InputError-style std::runtime_error

struct RunArgs {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::string engine = "kernel";
  std::string trace;
  std::vector<std::string> sets;
  bool quiet = false;
};
int cmd_run(const RunArgs& args);

struct ReplayArgs {
  std::string trace;
  bool verbose = false;
};
int cmd_replay(const ReplayArgs& args);

int cmd_list(const std::string& what);

}  // namespace stampede::cli
