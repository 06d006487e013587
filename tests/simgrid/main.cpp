// The test binary doubles as the child process that runs one SimGrid engine (see child.hpp).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/simgrid/child.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--child")
    return stampede::test::run_child(std::vector<std::string>(argv + 2, argv + argc));
  return Catch::Session().run(argc, argv);
}
