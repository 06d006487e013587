#pragma once
// Shared by the libFuzzer harnesses of fuzz/: the registry every parser checks names against,
// and a scratch file for the readers that take a path.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

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

}  // namespace stampede::fuzz
