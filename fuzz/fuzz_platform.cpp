// The platform loader's own part: FILE.hosts.yaml, the node-to-host map read beside a SimGrid
// platform (sim/simgrid/platform.cpp). SimGrid's XML parser runs in a process-wide engine that
// cannot be built again for each input, so the XML is not fuzzed in-process here; its checks
// (routes, links) are tested through the binary in tests/cli.
#include "fuzz/common.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simgrid/platform.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = stampede::fuzz::scratch_file(data, size, ".hosts.yaml");
  stampede::sg::PlatformOptions opts;
  // read_host_map reads FILE.hosts.yaml beside FILE.xml.
  opts.file = path.substr(0, path.size() - std::string(".hosts.yaml").size()) + ".xml";
  try {
    stampede::sg::read_host_map(opts);
  } catch (const stampede::InputError& e) {
    stampede::fuzz::expect_located(e, path);
  }
  return 0;
}
