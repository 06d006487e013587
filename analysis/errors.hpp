#pragma once
#include <stdexcept>

namespace stampede::analysis {

// Bad input to a sweep, a results database or a report: what() is one line naming the flag or
// file and what was expected. The CLI prints it and exits 2.
class BadInput : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace stampede::analysis
