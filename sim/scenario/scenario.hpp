#pragma once
// Reads and validates scenario YAML (docs/scenario-contract.md plus docs/scenarios.md) into
// the plain value ScenarioSpec. Every problem with the input is an InputError whose what() is one
// line, "FILE:LINE:COL: message" (1-based), or "--set KEY: message" when a --set flag caused it.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/time.hpp"

namespace stampede {

// One-line bad-input error: what() is "FILE:LINE:COL: message" (or "--set KEY: message" for flags).
class InputError : public std::runtime_error {
  using runtime_error::runtime_error;
};

// Parses YAML text. `file` is used in messages. Throws InputError on any problem.
ScenarioSpec parse_scenario(std::string_view yaml_text, const std::string& file,
                            const Registry& registry);

// Reads and parses a file; a file that cannot be read is an InputError "PATH:1:1: ...".
ScenarioSpec load_scenario(const std::string& path, const Registry& registry);

// Applies --set KEY=VALUE overrides (a dotted path into the scenario: cluster.zookeeper=5,
// random_faults.crash.mttf=5m, stacks.wordpress.services.web.scale=3, faults.0.at=30s) by editing
// the YAML tree and parsing the result, so every override is validated exactly like the file.
// VALUE is read as YAML ("{min: 1ms, max: 5ms}" works); a comma in it is not special here.
// source_text stays the original text: callers keep the overrides themselves.
ScenarioSpec parse_scenario_with_overrides(std::string_view yaml_text, const std::string& file,
                                           const std::vector<std::string>& overrides,
                                           const Registry& registry);

// "90s", "1.5m", "250ms", "2h", "10us", "5ns", "-5s", and a bare "0". Integer arithmetic only.
// Throws std::invalid_argument (what() says what was expected) on anything else.
DurationNs parse_duration(std::string_view text);

// A rate as the interval between two events: "20/s" -> 50ms, "3/m" -> 20s, "0.5/s" -> 2s,
// rounded to the nearest nanosecond. Throws std::invalid_argument.
DurationNs parse_rate_interval(std::string_view text);

// A memory size in whole MiB, rounded down: "2GiB" -> 2048, "512MiB", "1.5GiB" -> 1536,
// "4GB" -> 3814. Throws std::invalid_argument (what() says what was expected) on anything else,
// and on a size below 1MiB.
std::int64_t parse_memory_mib(std::string_view text);

// The candidate nearest to `word` by edit distance (a transposition counts as one edit), or ""
// when none is close enough to be a plausible misspelling. Ties go to the earlier candidate.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace stampede
