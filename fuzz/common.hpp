#pragma once
// Shared by the libFuzzer harnesses of fuzz/: the registry every parser checks names against,
// and a scratch file for the readers that take a path.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "models/register.hpp"
#include "sim/core/registry.hpp"

namespace stampede::fuzz {

inline const Registry& registry() {
  static const Registry reg = [] {
    Registry r;
    register_models(r);
    return r;
  }();
  return reg;
}

// Writes the input to a file of this process (the readers take paths) and returns its path.
inline std::string scratch_file(const std::uint8_t* data, std::size_t size, const char* ext) {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    return std::string(t ? t : "/tmp");
  }();
  const std::string path = dir + "/stampede-fuzz-" + std::to_string(::getpid()) + ext;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// The promise every reader makes (docs/fuzzing.md): a bad input is reported at a place the
// user can find, "FILE:LINE:COL: message" with LINE and COL >= 1, or "--set KEY: message" for a
// command-line override. Anything else (an empty message, a bare library message such as
// yaml-cpp's or nlohmann's) is a finding: the harness aborts so libFuzzer and the replay driver
// report the input.
inline bool located(std::string_view what, std::string_view file) {
  if (what.substr(0, 6) == "--set ") return what.find(": ", 6) != std::string_view::npos;
  if (what.substr(0, file.size()) != file || what.substr(file.size(), 1) != ":") return false;
  std::string_view rest = what.substr(file.size() + 1);
  for (int field = 0; field < 2; ++field) {
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || rest.substr(0, digits).find_first_not_of('0') == std::string_view::npos ||
        rest.substr(digits, 1) != ":")
      return false;
    rest = rest.substr(digits + 1);
  }
  return rest.substr(0, 1) == " " && rest.size() > 1;
}

inline void expect_located(const std::exception& e, std::string_view file) {
  if (located(e.what(), file)) return;
  std::fprintf(stderr, "fuzz: an error without FILE:LINE:COL (file %.*s): %s\n",
               static_cast<int>(file.size()), file.data(), e.what());
  std::abort();
}

}  // namespace stampede::fuzz
