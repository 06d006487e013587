#pragma once
// The expectations a run failed, one line each, for a test's INFO when a check on the verdict
// fails: the scenario tests print them instead of a bare "passed == false".
#include <string>

#include "sim/run/run.hpp"

namespace stampede::test {

inline std::string failures(const RunOutcome& out) {
  std::string s;
  for (const auto& r : out.results)
    if (!r.passed) s += "  ✗ " + r.spec->text + " -- " + r.detail + "\n";
  return s;
}

}  // namespace stampede::test
