#pragma once
// The study subcommands: sweep, merge, report, export-csv and export (trace pictures). Their
// logic lives in analysis/; these files read flags and the environment and print.
#include <optional>
#include <string>
#include <vector>

namespace stampede::cli {

struct SweepArgs {
  std::string scenario;
  std::string seeds;              // "N" or "A..B"; empty: each point's scenario seed
  std::vector<std::string> sets;  // KEY=V1,V2,...
  int jobs = 0;                   // 0: one per hardware thread
  std::string shard;              // "K/N"; empty: from the environment, else the whole sweep
  std::string db = "results.db";
  bool quiet = false;  // no closing table
};
int cmd_sweep(const SweepArgs& args);

struct MergeArgs {
  std::vector<std::string> sources;
  std::string into;
};
int cmd_merge(const MergeArgs& args);

struct ReportArgs {
  std::string db;
  std::string out = "report";
  std::string availability;  // the metric plotted as availability; empty: first availability:*
};
int cmd_report(const ReportArgs& args);

struct ExportCsvArgs {
  std::string db;
  std::string out;  // empty or "-": stdout
};
int cmd_export_csv(const ExportCsvArgs& args);

struct ExportArgs {
  std::string trace;
  std::string perfetto;
  std::string dot;
  std::string html;
  std::string from;  // a duration or "step:N"; steps before it are left out
  std::string to;
  std::vector<std::string> nodes;  // patterns (sim/core/spec.hpp name_matches); empty: all
};
int cmd_export(const ExportArgs& args);

}  // namespace stampede::cli

namespace CLI {
class App;
}

namespace stampede::cli {

// The study subcommands' flags, registered on the main CLI11 app by add_study_commands.
struct StudyCommands {
  SweepArgs sweep;
  MergeArgs merge;
  ReportArgs report;
  ExportCsvArgs export_csv;
  ExportArgs export_trace;
  CLI::App* sweep_cmd = nullptr;
  CLI::App* merge_cmd = nullptr;
  CLI::App* report_cmd = nullptr;
  CLI::App* export_csv_cmd = nullptr;
  CLI::App* export_cmd = nullptr;
};
void add_study_commands(CLI::App& app, StudyCommands& c);
// Runs the study subcommand that was given, if any. Bad input (analysis::BadInput) is printed
// as one line and gives exit 2.
std::optional<int> run_study_command(const StudyCommands& c);

}  // namespace stampede::cli
