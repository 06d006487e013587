#pragma once
// Runs the stampede binary for the CLI-level tests of sweeps, reports and exports.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

struct Cmd {
  int rc = -1;
  std::string out;
  std::string err;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `line` is a shell command line run in `dir`; the test controls it.
inline Cmd shell_cmd(const std::string& line, const std::string& dir) {
  const std::string out = dir + "/cmd.out";
  const std::string err = dir + "/cmd.err";
  const std::string full = "cd '" + dir + "' && " + line + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(full.c_str());
  Cmd c;
  c.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  c.out = read_text(out);
  c.err = read_text(err);
  return c;
}

inline Cmd stampede_cmd(const std::string& args, const std::string& dir) {
  return shell_cmd(std::string(STAMPEDE_BIN) + " " + args, dir);
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char ch : s) n += ch == '\n';
  return n;
}
