#pragma once
// A fresh folder per test under the system temp folder, removed at the end of the test.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

struct TmpDir {
  std::filesystem::path path;
  TmpDir() {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("stampede-analysis-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};
