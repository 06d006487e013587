// Flags of the study subcommands (sweep, merge, report, export-csv, export), kept out of
// main.cpp so that file only wires them in.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "analysis/errors.hpp"
#include "cli/app.hpp"
#include "cli/study.hpp"

namespace stampede::cli {

void add_study_commands(CLI::App& app, StudyCommands& c) {
  c.sweep_cmd = app.add_subcommand(
      "sweep", "Run a scenario over parameter points x seeds, store every run in SQLite");
  auto* s = c.sweep_cmd;
  s->add_option("SCENARIO", c.sweep.scenario, "a scenario file, or a name from `stampede list`")
      ->required();
  s->add_option("--seeds", c.sweep.seeds, "N (seeds 1..N) or A..B (default: the scenario's seed)");
  s->add_option("--set", c.sweep.sets, "an axis KEY=V1,V2,... (several: their cross product)")
      ->allow_extra_args(false);
  s->add_option("--jobs", c.sweep.jobs, "threads, one run each at a time (default: all cores)");
  s->add_option("--shard", c.sweep.shard,
                "run only slice K/N (K from 1; default from SLURM_ARRAY_TASK_ID/COUNT or "
                "JOB_COMPLETION_INDEX + STAMPEDE_SHARD_COUNT)");
  s->add_option("--db", c.sweep.db, "results database (SQLite)")->capture_default_str();
  s->add_flag("--quiet", c.sweep.quiet, "omit the closing table");

  c.merge_cmd = app.add_subcommand("merge", "Merge results databases (the shards of a sweep)");
  c.merge_cmd->add_option("DB", c.merge.sources, "results databases to merge")->required();
  c.merge_cmd->add_option("--into", c.merge.into, "the database to merge into")->required();

  c.report_cmd =
      app.add_subcommand("report", "Write a Markdown report with plots of a results database");
  c.report_cmd->add_option("DB", c.report.db, "a results database")->required();
  c.report_cmd->add_option("--out", c.report.out, "report folder")->capture_default_str();
  c.report_cmd->add_option("--availability", c.report.availability,
                           "metric to plot as availability (default: the first availability:*)");

  c.export_csv_cmd =
      app.add_subcommand("export-csv", "Write every run of a results database as CSV");
  c.export_csv_cmd->add_option("DB", c.export_csv.db, "a results database")->required();
  c.export_csv_cmd->add_option("--out", c.export_csv.out, "CSV file (default: stdout)");

  c.export_cmd = app.add_subcommand(
      "export", "Export a trace (run, SimGrid or explorer) as a Perfetto timeline, a DOT graph or "
                "an HTML space-time diagram");
  c.export_cmd->add_option("TRACE", c.export_trace.trace, "a .trace.jsonl file")->required();
  c.export_cmd->add_option("--perfetto", c.export_trace.perfetto,
                           "Chrome/Perfetto trace JSON file");
  c.export_cmd->add_option("--dot", c.export_trace.dot, "Graphviz happens-before graph file");
  c.export_cmd->add_option("--html", c.export_trace.html,
                           "one self-contained HTML page: lanes per node, messages as arrows, "
                           "faults and the violation marked, log lines on hover");
  c.export_cmd->add_option("--from", c.export_trace.from,
                           "leave out steps before this time (e.g. 12.5s) or step (step:300); "
                           "default: the whole trace, or the steps around its violation");
  c.export_cmd->add_option("--to", c.export_trace.to,
                           "leave out steps after this time (e.g. 60s) or step (step:500)");
  c.export_cmd->add_option("--nodes", c.export_trace.nodes,
                           "only these nodes' steps, as patterns, e.g. 'server-*,zk-1' (faults "
                           "stay)")
      ->delimiter(',');
}

std::optional<int> run_study_command(const StudyCommands& c) {
  try {
    if (*c.sweep_cmd) return cmd_sweep(c.sweep);
    if (*c.merge_cmd) return cmd_merge(c.merge);
    if (*c.report_cmd) return cmd_report(c.report);
    if (*c.export_csv_cmd) return cmd_export_csv(c.export_csv);
    if (*c.export_cmd) return cmd_export(c.export_trace);
  } catch (const analysis::BadInput& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return k_exit_bad_input;
  }
  return std::nullopt;
}

}  // namespace stampede::cli
