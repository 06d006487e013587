// The results-database reader: the input is the file `report`, `export-csv` and `merge` open.
// Bad files must end in the analysis layer's BadInput.
#include "analysis/errors.hpp"
#include "analysis/results_db.hpp"
#include "fuzz/common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = stampede::fuzz::scratch_file(data, size, ".db");
  namespace an = stampede::analysis;
  try {
    an::ResultsDb db(path, an::ResultsDb::Mode::read_only);
    for (const auto& s : db.scenarios()) db.points(s.hash);
    db.runs();
  } catch (const an::BadInput&) {
  }
  return 0;
}
