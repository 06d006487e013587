#pragma once
// Results as CSV (RFC 4180): one row per run, one column per axis key and per metric name seen
// in the database, so a spreadsheet or pandas gets a flat table.
#include <string>

#include "analysis/results_db.hpp"

namespace stampede::analysis {

std::string results_csv(const ResultsDb& db);

}  // namespace stampede::analysis
