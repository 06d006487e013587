// The trace reader (sim/trace and the explorer's header), then the scenario the trace embeds,
// as `replay` reads them. A bad trace must end in TraceError at the trace's FILE:LINE:COL, a bad
// embedded scenario in InputError at its recorded file's (cli/common.cpp then places it in the
// trace).
#include "fuzz/common.hpp"
#include "sim/explore/trace_io.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = stampede::fuzz::scratch_file(data, size, ".jsonl");
  stampede::Trace t;
  try {
    if (stampede::explore::is_explore_trace(path))
      t = stampede::explore::read_explore_trace(path, STAMPEDE_VERSION).trace;
    else
      t = stampede::read_trace(path, STAMPEDE_VERSION);
  } catch (const stampede::TraceError& e) {
    stampede::fuzz::expect_located(e, path);
    return 0;
  }
  try {
    stampede::parse_scenario_with_overrides(t.header.scenario_text, t.header.scenario_file,
                                            t.header.overrides, stampede::fuzz::registry());
  } catch (const stampede::InputError& e) {
    stampede::fuzz::expect_located(e, t.header.scenario_file);
  }
  return 0;
}
