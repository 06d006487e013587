#pragma once
// The pieces of the `stampede` command, one file per subcommand; main.cpp wires them to CLI11.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/run/run.hpp"

namespace CLI {
class App;
}

namespace stampede {
struct TraceHeader;
}

namespace stampede::cli {

// Exit codes, as docs/scenario-contract.md fixes them.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_bad_input = 2;
inline constexpr int k_exit_internal = 3;

const Registry& registry();

// Checks for flag values that CLI11 would otherwise convert without a word: a seed is a whole
// number from 0 to 2^64-1 (CLI11 turns "-1" and a 20-digit overflow into 2^64-1), and a count is
// a whole number from 0 to `max` (CLI11 reads "-1" into an int as -1). Each returns the message
// CLI11 prints after the flag's name, or an empty string when the value is good.
std::string check_seed(const std::string& value);
std::string check_count(const std::string& value, long long max);

// A scenario argument: a path, or a name looked up under scenario_roots() in order (throws
// InputError naming every folder it looked in when none has it).
std::string resolve_scenario_path(const std::string& arg);
std::vector<std::string> scenario_roots();
std::string scenarios_dir();  // the first of scenario_roots() that exists: what `list` lists
std::string read_file(const std::string& path);  // throws InputError-style std::runtime_error
// The scenario a trace recorded (its text and --set flags), parsed. Errors name the trace file
// first: "TRACE:1:1: embedded scenario (recorded from FILE):LINE:COL: message", since the file
// named in the header may have changed or be gone, and the position is in the embedded text.
ScenarioSpec parse_trace_scenario(const std::string& trace_path, const TraceHeader& header);

// The SimGrid engine lives in a second binary, `stampede-simgrid`, built beside `stampede`:
// SimGrid brings ns-3's fifteen libraries and their static initialisers, which made every
// kernel run and even `--version` start ten times slower. `stampede` hands a SimGrid run or
// replay over to it (cli/simgrid_handover.cpp: exec with the same arguments, before anything is
// printed or written); `stampede-simgrid` builds the engine itself (cli/simgrid_linked.cpp).
// `platform`: the --platform file, if any. Throws InputError when the binary is missing.
EngineFactory simgrid_engine_factory(std::optional<std::string> platform);
// main() records its arguments here so that the hand-over can pass them on unchanged.
void remember_arguments(int argc, char** argv);
const std::vector<std::string>& remembered_arguments();

struct RunArgs {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::string engine = "kernel";
  std::string platform;
  std::string trace;
  std::vector<std::string> sets;
  bool quiet = false;
  std::string log_level = "notable";  // the timeline's lowest log level
};
int cmd_run(const RunArgs& args);

struct ReplayArgs {
  std::string trace;
  bool verbose = false;
  // --log: print the re-run's timeline at this lowest level ("notable", "info" or "debug"), every
  // line, as `run --log` prints it; empty: no timeline.
  std::string log_level;
  // --expect pass|fail: the exit status says whether the replay reached this verdict (following
  // the trace's schedule as far as it still exists), not whether it reproduced every step; the
  // regression corpus (tests/regressions) replays its bug traces with --expect pass.
  std::string expect;
  // --set KEY=VALUE: overrides appended to the trace's own (a mechanism switched on to show
  // that a fixed bug's recorded schedule now passes); the replay then follows the schedule.
  std::vector<std::string> sets;
};
// The log level a --log value names (notable, info, debug).
LogLevel log_level_from_name(const std::string& name);
int cmd_replay(const ReplayArgs& args);

// `markdown`: the table as docs/reference.md holds it (scripts/reference-tables.sh writes it there).
int cmd_list(const std::string& what, bool markdown = false);

// `explore` and `shrink` (cli/explore.cpp, cli/shrink.cpp) declare their own flags; `replay`
// hands explorer traces (engine "explore") to cmd_replay_explore.
struct ExploreCommands;
std::shared_ptr<ExploreCommands> add_explore_commands(CLI::App& app);
std::optional<int> run_explore_command(const ExploreCommands& commands);
int cmd_replay_explore(const ReplayArgs& args);
int cmd_shrink(const std::string& trace, const std::string& out, const std::string& budget);
DurationNs parse_budget_flag(const std::string& flag, const std::string& text);

}  // namespace stampede::cli
