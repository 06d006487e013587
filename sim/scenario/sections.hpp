#pragma once
// Internal to sim/scenario: one parser per section of a scenario, sharing a Reader for errors.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

#include "sim/core/registry.hpp"
#include "sim/core/spec.hpp"
#include "sim/scenario/names.hpp"
#include "sim/scenario/reader.hpp"

namespace stampede::scenario_detail {

// Text to a tree; malformed YAML becomes an InputError "FILE:LINE:COL: message", and so does
// what check_yaml refuses.
// `what` names the file's kind in the messages of check_yaml.
YAML::Node load_yaml(std::string_view text, const std::string& file,
                     std::string_view what = "scenario");

// What yaml-cpp would accept but a scenario (or a --set value) must not hold: an anchor or alias,
// nesting deeper than 32, a second document, a quoted string never closed. Lines and columns
// count from 1.
struct YamlProblem {
  int line = 1;
  int col = 1;
  std::string message;
};
std::optional<YamlProblem> check_yaml(std::string_view text, std::string_view what = "scenario");

// The whole scenario from its tree (the file's, or the file's edited by --set flags).
ScenarioSpec parse_tree(const YAML::Node& root, const Reader& reader, const Registry& registry);

void parse_cluster(const Reader& r, const YAML::Node& node, const Registry& registry,
                   ClusterSpec& out);
void parse_stacks(const Reader& r, const YAML::Node& node, std::vector<StackSpec>& out);
// Clients' targets are checked against `names` by check_workload, once every name is known.
void parse_workload(const Reader& r, const YAML::Node& node, std::vector<ClientSpec>& out);
void check_workload(const Reader& r, const YAML::Node& node, const Names& names);
void parse_faults(const Reader& r, const YAML::Node& node, const Names& names, ScenarioSpec& spec);
void parse_random_faults(const Reader& r, const YAML::Node& node, const Names& names,
                         ScenarioSpec& spec);
void parse_expect(const Reader& r, const YAML::Node& node, const Names& names,
                  const Registry& registry, ScenarioSpec& spec);

// Candidates for suggestions: the names of a registry list.
template <class Defs>
std::vector<std::string> names_of(const Defs& defs) {
  std::vector<std::string> out;
  for (const auto& d : defs) out.push_back(d.name);
  return out;
}

// " (did you mean 'X'?)", or a short list of what is valid, or "" when there is nothing valid.
std::string hint(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace stampede::scenario_detail
