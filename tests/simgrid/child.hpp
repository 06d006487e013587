#pragma once
// SimGrid runs once per process: every test that runs the SimGrid engine does it in a child
// process, the test binary itself started again as `test_simgrid --child MODE ARGS...`. The child
// prints `key=value` lines that the test reads back.
#include <map>
#include <string>
#include <vector>

namespace stampede::test {

// The child side: runs MODE and returns its exit status.
int run_child(const std::vector<std::string>& args);
// `--child conn NAME`: one connection toy on the kernel and on SimGrid (connections_child.cpp).
int run_connection_toy(const std::string& name);

struct ChildResult {
  int status = -1;  // the child's exit status
  std::string output;
  std::map<std::string, std::vector<std::string>> values;  // key -> every value printed for it
  std::string one(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() || it->second.empty() ? "<none>" : it->second.front();
  }
};

// The parent side: runs this binary as a child with these arguments.
ChildResult spawn_child(const std::vector<std::string>& args);

}  // namespace stampede::test
