// Every scenario under scenarios/ runs on SimGrid, meets its expectations, and gives the same
// digest twice (in two processes: SimGrid runs once per process).
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/simgrid/child.hpp"

using stampede::test::ChildResult;
using stampede::test::spawn_child;

static std::vector<std::string> scenario_files() {
  // The top folder and field-issues/ (known-bugs/ fail on purpose).
  std::vector<std::string> files;
  const std::string root = SCENARIOS_DIR;
  for (const std::string& dir : {root, root + "/field-issues"})
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST_CASE("every scenario meets its expectations on SimGrid, with the same digest twice",
          "[simgrid][scenarios]") {
  std::vector<std::string> files = scenario_files();
  REQUIRE(!files.empty());
  for (const std::string& f : files) {
    SECTION(std::filesystem::path(f).filename().string()) {
      ChildResult first = spawn_child({"scenario", f});
      INFO(first.output);
      CHECK(first.status == 0);
      CHECK(first.one("passed") == "1");
      CHECK(first.values.count("failed") == 0);
      ChildResult second = spawn_child({"scenario", f});
      CHECK(second.one("digest") == first.one("digest"));
      CHECK(second.one("steps") == first.one("steps"));
    }
  }
}
