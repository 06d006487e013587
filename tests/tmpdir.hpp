#pragma once
// A fresh folder under the system temp folder, removed when the object goes: one per test, or
// one per test process as a function's static. Named stampede-WHO-PID-N: process ids are reused
// (Debian's pid_max is 32,768), so a folder an earlier process left under the same name is
// emptied first; a report another run had left there once failed a "no report is left" check.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

struct TmpDir {
  std::filesystem::path path;
  explicit TmpDir(const std::string& who = "analysis") {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("stampede-" + who + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};
