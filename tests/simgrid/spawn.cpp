// Starting the test binary again as a child, and reading what it prints.
#include <array>
#include <cstdio>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/simgrid/child.hpp"

namespace stampede::test {

static std::string self_path() {
  std::array<char, 4096> buf{};
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("cannot find the test binary");
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

static std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ChildResult spawn_child(const std::vector<std::string>& args) {
  std::string cmd = quote(self_path()) + " --child";
  for (const std::string& a : args) {
    cmd += ' ';  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on " " + string
    cmd += quote(a);
  }
  cmd += " 2>&1";
  ChildResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed");
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) r.output += buf.data();
  int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::size_t start = 0;
  while (start < r.output.size()) {
    std::size_t end = r.output.find('\n', start);
    if (end == std::string::npos) end = r.output.size();
    std::string line = r.output.substr(start, end - start);
    auto eq = line.find('=');
    if (eq != std::string::npos) r.values[line.substr(0, eq)].push_back(line.substr(eq + 1));
    start = end + 1;
  }
  return r;
}

}  // namespace stampede::test
