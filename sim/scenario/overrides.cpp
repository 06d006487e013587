// --set KEY=VALUE: edits the YAML tree at a dotted path, then the edited tree is parsed like any
// file, so an override is validated by the same code and with the same messages as the file.
// The nodes an override adds are attributed to the flag, so their errors read "--set KEY: ...".
#include <fmt/format.h>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/sections.hpp"

namespace stampede::scenario_detail {
namespace {

[[noreturn]] void flag_error(const std::string& key, const std::string& message) {
  throw InputError("--set " + key + ": " + message);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// The element of a list that `segment` selects: the map whose `name` is `segment` (stacks,
// services), else the element at 0-based index `segment` (faults, expect, workload).
YAML::Node select_element(const YAML::Node& list, const std::string& segment,
                          const std::string& key, const std::string& path) {
  std::vector<std::string> names;
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (!it->IsMap()) continue;
    for (auto kv = it->begin(); kv != it->end(); ++kv) {
      if (!kv->first.IsScalar() || kv->first.Scalar() != "name" || !kv->second.IsScalar()) continue;
      if (kv->second.Scalar() == segment) return *it;
      names.push_back(kv->second.Scalar());
    }
  }
  if (all_digits(segment)) {
    std::size_t index = segment.size() > 9 ? list.size() : std::stoul(segment);
    if (index < list.size()) {
      std::size_t i = 0;
      for (auto it = list.begin(); it != list.end(); ++it, ++i)
        if (i == index) return *it;
    }
    flag_error(key, fmt::format("'{}' has {} entries, so there is no index {} (indices start at 0)",
                                path, list.size(), segment));
  }
  flag_error(key,
             fmt::format("no entry named '{}' in '{}'{}", segment, path, hint(segment, names)));
}

// A --set value as YAML, refused as the file would be (check_yaml) and with the flag named.
YAML::Node load_value(const std::string& key, const std::string& value) {
  if (auto p = check_yaml(value)) flag_error(key, fmt::format("bad value: {}", p->message));
  try {
    return YAML::Load(value);
  } catch (const YAML::Exception& e) {
    flag_error(key, fmt::format("bad value '{}': {}", value, e.msg));
  }
}

void apply_override(YAML::Node& root, const std::string& flag, Reader& reader) {
  std::size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0)
    flag_error(flag, "expected KEY=VALUE with a dotted KEY, e.g. cluster.agents=3");
  const std::string key = flag.substr(0, eq);
  const std::string value = flag.substr(eq + 1);
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    segments.push_back(key.substr(start, dot == std::string::npos ? dot : dot - start));
    if (segments.back().empty()) flag_error(key, "empty part in the dotted path");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  YAML::Node value_node = load_value(key, value);
  if (!root.IsMap()) flag_error(key, "the scenario is not a map of keys");

  // reset(), never operator=, to move `cur`: assigning to a node rewrites the tree.
  YAML::Node cur;
  cur.reset(root);
  std::string path;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    const bool last = i + 1 == segments.size();
    if (cur.IsNull()) {  // "timing:" written with no value: it becomes a map
      cur = YAML::Node(YAML::NodeType::Map);
      reader.attribute(cur, key);
    }
    if (cur.IsMap()) {
      bool found = false;
      for (auto it = cur.begin(); it != cur.end(); ++it) {
        if (!it->first.IsScalar() || it->first.Scalar() != seg) continue;
        YAML::Node child = it->second;
        if (last) {
          child = value_node;  // replaces the value in the tree
        } else {
          cur.reset(child);
        }
        found = true;
        break;
      }
      if (!found) {
        YAML::Node k(seg);
        YAML::Node v = last ? value_node : YAML::Node(YAML::NodeType::Map);
        cur.force_insert(k, v);
        reader.attribute(k, key);
        reader.attribute(v, key);
        cur.reset(v);
      }
    } else if (cur.IsSequence()) {
      YAML::Node element = select_element(cur, seg, key, path);
      if (last) {
        element = value_node;
      } else {
        cur.reset(element);
      }
    } else {
      flag_error(key,
                 fmt::format("'{}' is {}, not a map: it has no '{}'", path, describe(cur), seg));
    }
    path += (path.empty() ? "" : ".") + seg;
  }
  reader.attribute(value_node, key);
}

}  // namespace
}  // namespace stampede::scenario_detail

namespace stampede {

ScenarioSpec parse_scenario_with_overrides(std::string_view yaml_text, const std::string& file,
                                           const std::vector<std::string>& overrides,
                                           const Registry& registry) {
  using namespace scenario_detail;
  Reader reader(file);
  ScenarioSpec spec;
  // yaml-cpp throws its own exceptions from deep inside (bad subscripts, conversions); none may
  // escape as a crash or an "internal error": bad input is always exit 2 with one line.
  try {
    YAML::Node root = load_yaml(yaml_text, file);
    for (const std::string& o : overrides) apply_override(root, o, reader);
    spec = parse_tree(root, reader, registry);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    int col = e.mark.is_null() ? 1 : e.mark.column + 1;
    throw InputError(fmt::format("{}:{}:{}: {}", file, line, col, e.msg));
  }
  spec.source_file = file;
  spec.source_text = std::string(yaml_text);
  return spec;
}

}  // namespace stampede
