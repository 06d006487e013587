// The `stampede` command: flags and subcommands (CLI11), exit codes, one-line errors.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <algorithm>
#include <exception>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "cli/study.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

using namespace stampede::cli;

namespace {

// `stampede run SCENARIO [flags]`, its flags read into `run`.
CLI::App* add_run_command(CLI::App& app, RunArgs& run) {
  CLI::App* cmd = app.add_subcommand("run", "Run a scenario once and print its verdict");
  cmd->add_option("SCENARIO", run.scenario, "a scenario file, or a name from `stampede list`")
      ->required();
  cmd->add_option("--seed", run.seed, "root seed (default: the scenario's seed)")
      ->check(CLI::Validator([](std::string& v) { return check_seed(v); }, "SEED"));
  cmd->add_option("--engine", run.engine, "engine: kernel (fast) or simgrid (network-accurate)")
      ->check(CLI::IsMember({"kernel", "simgrid"}))
      ->capture_default_str();
  cmd->add_option("--platform", run.platform,
                  "a SimGrid platform file (v4.1) for --engine simgrid; nodes map to hosts "
                  "through FILE.hosts.yaml beside it");
  cmd->add_option("--trace", run.trace, "write every step to a JSON Lines trace");
  cmd->add_option("--set", run.sets, "override KEY=VALUE (dotted path into the scenario)")
      ->allow_extra_args(false);
  cmd->add_flag("--quiet", run.quiet, "omit the timeline");
  cmd->add_option("--log", run.log_level,
                  "lowest log level in the timeline: notable (default, 40 lines at most), "
                  "info or debug (every line)")
      ->check(CLI::IsMember({"notable", "info", "debug"}))
      ->capture_default_str();
  return cmd;
}

// An error is one line: a value that holds a line break (a YAML block, a trace field) is shown
// with the break written as \n.
std::string one_line(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\\n";
    else if (c != '\r') out += c;
  }
  return out;
}

// CLI11 reads a first word that is not a command as a stray argument and says "A subcommand is
// required", which misleads: name the word, the commands, and the nearest one.
std::optional<int> check_command_word(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return std::nullopt;
  const std::string word = argv[1];
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  if (std::find(names.begin(), names.end(), word) != names.end()) return std::nullopt;
  const std::string hint = stampede::suggest(word, names);
  std::fprintf(stderr, "stampede: unknown command '%s': expected one of %s%s\n", word.c_str(),
               fmt::format("{}", fmt::join(names, ", ")).c_str(),
               hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint).c_str());
  return k_exit_bad_input;
}

// `replay TRACE [--verbose] [--log LEVEL] [--expect pass|fail] [--set KEY=VALUE]`.
CLI::App* add_replay_command(CLI::App& app, ReplayArgs& replay) {
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Re-execute a trace step by step; after a code change or from another version, "
                "follow its schedule as far as it exists and report the verdict");
  replay_cmd->add_option("TRACE", replay.trace, "a .trace.jsonl file")->required();
  replay_cmd->add_flag("--verbose", replay.verbose, "print every step as it is compared");
  replay_cmd->add_option("--log", replay.log_level,
                         "print the re-run's timeline, every line, as `run --log` does: its "
                         "lowest log level, notable, info or debug")
      ->check(CLI::IsMember({"notable", "info", "debug"}));
  replay_cmd->add_option("--expect", replay.expect,
                         "pass or fail: exit 0 when the replay, following the trace's schedule "
                         "as far as it still exists, reaches this verdict (a fixed bug's trace "
                         "must now pass)")
      ->check(CLI::IsMember({"pass", "fail"}));
  replay_cmd->add_option("--set", replay.sets,
                         "override KEY=VALUE after the trace's own overrides (a mechanism "
                         "switched on or off); the replay then follows the schedule")
      ->allow_extra_args(false);
  return replay_cmd;
}

}  // namespace

int main(int argc, char** argv) {
  remember_arguments(argc, argv);
  CLI::App app{"stampede: deterministic simulation and model checking of HA control planes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("stampede ") + STAMPEDE_VERSION);

  RunArgs run;
  CLI::App* run_cmd = add_run_command(app, run);

  ReplayArgs replay;
  CLI::App* replay_cmd = add_replay_command(app, replay);

  std::string what = "scenarios";
  CLI::App* list_cmd = app.add_subcommand("list", "List scenarios or the names scenarios may use");
  list_cmd->add_option("WHAT", what, "scenarios|invariants|metrics|timings|mechanisms|signals|events|logs")
      ->check(CLI::IsMember({"scenarios", "invariants", "metrics", "timings", "mechanisms",
                             "signals", "events", "logs"}));
  bool markdown = false;
  list_cmd->add_flag("--markdown", markdown, "print a name table as Markdown (the tables of docs/reference.md)");

  StudyCommands study;  // sweep, merge, report, export-csv, export
  add_study_commands(app, study);
  auto explore_cmds = add_explore_commands(app);  // explore, shrink

  if (auto rc = check_command_word(app, argc, argv)) return *rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "stampede: %s (see stampede --help)\n", one_line(e.what()).c_str());
    return k_exit_bad_input;
  }

  try {
    if (*run_cmd) return cmd_run(run);
    if (*replay_cmd) return cmd_replay(replay);
    if (*list_cmd) return cmd_list(what, markdown);
    if (auto rc = run_study_command(study)) return *rc;
    if (auto rc = run_explore_command(*explore_cmds)) return *rc;
  } catch (const stampede::InputError& e) {
    std::fprintf(stderr, "%s\n", one_line(e.what()).c_str());
    return k_exit_bad_input;
  } catch (const stampede::TraceError& e) {
    std::fprintf(stderr, "%s\n", one_line(e.what()).c_str());
    return k_exit_bad_input;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stampede: internal error: %s\n", one_line(e.what()).c_str());
    return k_exit_internal;
  }
  return k_exit_internal;
}
