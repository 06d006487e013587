// `stampede`: a SimGrid run or replay is handed over to `stampede-simgrid`, the same command
// built with the SimGrid engine, so that a kernel run never loads SimGrid and ns-3 (see
// simgrid_engine_factory in cli/app.hpp).
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <unistd.h>
#include <vector>

#include "cli/app.hpp"

namespace stampede::cli {

namespace {

// The folder this binary was started from, as the kernel has it: `stampede-simgrid` is
// installed (and built) beside it, whatever PATH or the working directory hold.
std::string own_folder() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("--engine simgrid: cannot read /proc/self/exe");
  std::string path(buf, static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/') + 1);
}

}  // namespace

EngineFactory simgrid_engine_factory(std::optional<std::string> /*platform*/) {
  const std::string target = own_folder() + "stampede-simgrid";
  std::vector<std::string> args = remembered_arguments();
  if (args.empty()) throw std::runtime_error("--engine simgrid: the arguments were not recorded");
  args[0] = target;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  execv(target.c_str(), argv.data());
  // execv returns only when it failed: the SimGrid binary is not beside this one.
  throw std::runtime_error(fmt::format(
      "--engine simgrid: cannot start {}: {} (build the stampede-simgrid target, or install it "
      "beside stampede)", target, std::strerror(errno)));
}

}  // namespace stampede::cli
