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

namespace {

std::error_code& ec_ignored() {
  static thread_local std::error_code ec;
  return ec;
}

int merge_into(const std::vector<std::unique_ptr<an::ResultsDb>>& sources, const std::string& into);

}  // namespace

int cmd_merge(const MergeArgs& args) {
  namespace fs = std::filesystem;
  std::vector<std::unique_ptr<an::ResultsDb>> sources;
  for (const auto& s : args.sources) {
    std::error_code ec;
    if (fs::exists(args.into) && fs::equivalent(s, args.into, ec))
      throw an::BadInput("--into " + args.into + ": is also a source; merge into a new file");
    sources.push_back(std::make_unique<an::ResultsDb>(s, an::ResultsDb::Mode::read_only));
  }
  // A target this merge creates is removed again if the merge fails, so no empty --into file is
  // left behind to be taken for a result.
  const bool created = !fs::exists(args.into);
  try {
    return merge_into(sources, args.into);
  } catch (...) {
    if (created)
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(args.into + suffix, ec_ignored());
    throw;
  }
}

namespace {

int merge_into(const std::vector<std::unique_ptr<an::ResultsDb>>& sources, const std::string& into) {
  an::ResultsDb target(into, an::ResultsDb::Mode::create_or_update);
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
  std::printf("%s: %zu run(s)\n", into.c_str(), target.run_count());
  return k_exit_ok;
}

}  // namespace

}  // namespace stampede::cli
