// `stampede merge A.db B.db ... --into C.db`: the shards of a sweep into one results database.
// Every source is opened and validated before the target is touched; each source is merged in
// one transaction, so a merge that dies leaves each source either wholly merged or not at all.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "analysis/errors.hpp"
#include "analysis/results_db.hpp"
#include "cli/app.hpp"
#include "cli/study.hpp"

namespace stampede::cli {
namespace an = stampede::analysis;

int cmd_merge(const MergeArgs& args) {
  namespace fs = std::filesystem;
  std::vector<std::unique_ptr<an::ResultsDb>> sources;
  for (const auto& s : args.sources) {
    std::error_code ec;
    if (fs::exists(args.into) && fs::equivalent(s, args.into, ec))
      throw an::BadInput("--into " + args.into + ": is also a source; merge into a new file");
    sources.push_back(std::make_unique<an::ResultsDb>(s, an::ResultsDb::Mode::read_only));
  }
  an::ResultsDb target(args.into, an::ResultsDb::Mode::create_or_update);
  an::MergeStats total;
  for (const auto& src : sources) {
    const an::MergeStats st = target.merge_from(*src);
    std::printf("%s: %zu run(s) added, %zu already present", src->path().c_str(), st.added,
                st.already_present);
    if (st.conflicting)
      std::printf(
          ", %zu with another digest for the same scenario, point and seed (kept the "
          "first; were they run by another stampede version?)",
          st.conflicting);
    std::printf("\n");
    total.added += st.added;
    total.conflicting += st.conflicting;
  }
  std::printf("%s: %zu run(s)\n", args.into.c_str(), target.run_count());
  return k_exit_ok;
}

}  // namespace stampede::cli
