// The scenario parser with --set overrides: the input is a scenario's text, then optionally a
// line "#--set" and one KEY=VALUE override per line. Bad input must end in InputError (exit 2 in
// the binary) naming FILE:LINE:COL or the flag; any other exception, a crash, a sanitizer report or a hang is a finding.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/common.hpp"
#include "sim/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = input.find("\n#--set\n");
  const std::string_view text = input.substr(0, cut);
  std::vector<std::string> overrides;
  if (cut != std::string_view::npos) {
    std::string_view rest = input.substr(cut + 8);
    while (!rest.empty() && overrides.size() < 16) {
      const std::size_t nl = rest.find('\n');
      // A command-line argument cannot hold a NUL byte: such a flag reaches no user.
      if (rest.substr(0, nl).find('\0') == std::string_view::npos)
        overrides.emplace_back(rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
  }
  try {
    stampede::parse_scenario_with_overrides(text, "fuzz.yaml", overrides,
                                            stampede::fuzz::registry());
  } catch (const stampede::InputError& e) {
    stampede::fuzz::expect_located(e, "fuzz.yaml");
  }
  return 0;
}
