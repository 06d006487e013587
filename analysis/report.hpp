#pragma once
// `stampede report`: a Markdown report of a results database, with SVG plots drawn by gnuplot
// (run as a subprocess on scripts the report keeps beside the plots, so a user can restyle and
// re-run them). Per scenario: the per-point table, availability against the swept axis with 95%
// intervals and the analytic baseline where one applies, convergence-time distributions
// (empirical CDFs) and violation rates with Wilson intervals; and the study table
// (study_table.hpp): bootstrap intervals and the difference from a baseline point.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/results_db.hpp"

namespace stampede::analysis {

struct ReportOptions {
  std::string gnuplot = "gnuplot";  // the program to run; empty: write scripts, draw nothing
  std::string version;              // stampede's, printed in the report
  std::string availability_metric;  // empty: default_availability_metric (summary.hpp)
  std::string baseline;             // study_table.hpp find_baseline; empty: the first point
  std::uint64_t bootstrap_seed = 1;  // the root of the bootstrap's named streams
};

struct ReportFiles {
  std::string markdown;               // DIR/report.md
  std::vector<std::string> plots;     // SVG files drawn
  std::vector<std::string> warnings;  // e.g. gnuplot missing or failing
  std::string study_tables;           // each scenario's study table (Markdown), as in report.md
};

// Writes DIR/report.md, DIR/runs.csv and DIR/plots/*.{dat,gp,svg}. DIR is created if needed.
ReportFiles write_report(const ResultsDb& db, const std::string& out_dir,
                         const ReportOptions& options);

}  // namespace stampede::analysis
