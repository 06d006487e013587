#pragma once
// What the explorer tests share: the registry with every model (the lease-lock model included),
// reading a file, and running the stampede binary.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/lease_lock/register.hpp"
#include "models/register.hpp"
#include "tests/tmpdir.hpp"

namespace stampede::test {

inline const Registry& explore_registry() {
  static const Registry reg = [] {
    Registry r;
    register_models(r);
    if (!r.find_timing("lease_lock_clients")) register_lease_lock(r);
    return r;
  }();
  return reg;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliResult {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// Runs the stampede binary (STAMPEDE_BIN) with `args`, as a shell would.
inline CliResult run_cli(const std::string& args) {
  std::string cmd = fmt::format("{} {} 2>&1", STAMPEDE_BIN, args);
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A path in the test process's own folder (tests/tmpdir.hpp), PREFIX-NAME. The process id in
// the folder's name keeps two test runs on one machine (two checkouts, or a test run while
// another is going) from writing each other's traces, and the folder goes at exit with every
// trace written there, the ones the CLI names after a given path (NAME.shrunk...) among them.
inline std::string temp_path(const std::string& prefix, const std::string& name) {
  static const TmpDir dir("explore-test");
  return dir / (prefix + "-" + name);
}

}  // namespace stampede::test
