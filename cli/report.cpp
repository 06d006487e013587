// `stampede report DB [--out DIR]` and `stampede export-csv DB [--out FILE]`.
#include "analysis/report.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "analysis/csv.hpp"
#include "analysis/errors.hpp"
#include "analysis/results_db.hpp"
#include "cli/app.hpp"
#include "cli/study.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::cli {
namespace an = stampede::analysis;

int cmd_report(const ReportArgs& args) {
  // Opened (and validated) before the report folder is created.
  an::ResultsDb db(args.db, an::ResultsDb::Mode::read_only);
  if (!args.availability.empty()) {
    // A metric no run recorded would plot nothing and say nothing: refused before any file.
    std::set<std::string> names;
    for (const an::RunRow& r : db.runs())
      for (const an::MetricRow& m : r.metrics) names.insert(m.name);
    if (!names.count(args.availability)) {
      const std::string hint =
          suggest(args.availability, std::vector<std::string>(names.begin(), names.end()));
      throw an::BadInput("--availability " + args.availability + ": no run in " + args.db +
                         " recorded that metric" +
                         (hint.empty() ? std::string(" (see stampede list metrics)")
                                       : " (did you mean '" + hint + "'?)"));
    }
  }
  an::ReportOptions options;
  options.version = STAMPEDE_VERSION;
  options.availability_metric = args.availability;
  // A report folder this command creates is removed again if the report fails (a database
  // locked or corrupted past its first pages), so no half-written report is left behind.
  const bool created = !std::filesystem::exists(args.out);
  an::ReportFiles files;
  try {
    files = an::write_report(db, args.out, options);
  } catch (...) {
    std::error_code ec;
    if (created) std::filesystem::remove_all(args.out, ec);
    throw;
  }
  for (const auto& w : files.warnings) std::fprintf(stderr, "report: warning: %s\n", w.c_str());
  std::printf("report    %s\n", files.markdown.c_str());
  for (const auto& p : files.plots) std::printf("plot      %s\n", p.c_str());
  std::printf("csv       %s\n", (std::filesystem::path(args.out) / "runs.csv").c_str());
  return k_exit_ok;
}

int cmd_export_csv(const ExportCsvArgs& args) {
  an::ResultsDb db(args.db, an::ResultsDb::Mode::read_only);
  const std::string csv = an::results_csv(db);
  if (args.out.empty() || args.out == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
    return k_exit_ok;
  }
  // Written aside and renamed, so a failed export never leaves a partial file under the name.
  const std::string tmp = args.out + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << csv;
    if (!out) throw an::BadInput(args.out + ": cannot write the CSV file");
  }
  std::filesystem::rename(tmp, args.out);
  return k_exit_ok;
}

}  // namespace stampede::cli
