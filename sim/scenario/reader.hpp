#pragma once
// Internal to sim/scenario: reading typed values out of a yaml-cpp tree with one-line
// "FILE:LINE:COL: message" errors, and knowing which nodes a --set flag put there so that their
// errors name the flag instead of a position in a file that never held them.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/spec.hpp"
#include "sim/core/time.hpp"

namespace stampede::scenario_detail {

// "'two'", "a list", "a map", "nothing": what a value turned out to be, for messages.
std::string describe(const YAML::Node& n);

// The value as one line of flow-style YAML ("{at: 100s, running: {service: a/b, count: 1}}").
std::string compact(const YAML::Node& n);

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const;
  SourcePos pos(const YAML::Node& n) const;

  // Every node of `subtree` came from the flag `--set KEY` (key = the dotted path).
  void attribute(const YAML::Node& subtree, const std::string& key);
  // `value` is the empty value of `key` ("agents:" with nothing after it). yaml-cpp marks such a
  // value where the next token starts, often the next line, so errors point at the key instead.
  void note_empty_value(const YAML::Node& value, const YAML::Node& key) const;

  // Scalars, each failing with "expected ... for 'NAME', got ...".
  std::string string(const YAML::Node& n, std::string_view name) const;
  std::int64_t integer(const YAML::Node& n, std::string_view name) const;
  std::int64_t integer_in(const YAML::Node& n, std::string_view name, std::int64_t min,
                          std::int64_t max) const;
  std::uint64_t unsigned_integer(const YAML::Node& n, std::string_view name) const;
  double number(const YAML::Node& n, std::string_view name) const;
  double probability(const YAML::Node& n, std::string_view name) const;  // in [0, 1]
  bool boolean(const YAML::Node& n, std::string_view name) const;
  enum class Sign { positive, non_negative, any };
  DurationNs duration(const YAML::Node& n, std::string_view name, Sign sign) const;
  DurationNs rate_interval(const YAML::Node& n, std::string_view name) const;
  // A memory size ("2GiB") in whole MiB.
  std::int64_t memory_mib(const YAML::Node& n, std::string_view name) const;
  // A list of strings; a single string is taken as a list of one when `scalar_ok`.
  std::vector<std::string> strings(const YAML::Node& n, std::string_view name,
                                   bool scalar_ok) const;
  // [a-z0-9-]+: names that become parts of node and container names.
  std::string identifier(const YAML::Node& n, std::string_view name) const;

  // The entries of a map whose keys are names, not schema keys (timing, mechanisms, ...).
  std::vector<std::pair<YAML::Node, YAML::Node>> entries(const YAML::Node& map,
                                                         std::string_view name) const;

 private:
  std::string file_;
  std::vector<std::pair<YAML::Node, std::string>> from_flags_;
  mutable std::vector<std::pair<YAML::Node, YAML::Node>> empty_values_;  // (value, key)
};

// The entries of one map of the schema, checked on construction: it is a map, no key is
// repeated, and every key is one `allowed` (else "unknown key 'scle' in service (did you mean
// 'scale'?)").
class Fields {
 public:
  // `for_what` completes "expected a map for ...": "'cluster'", "each service".
  Fields(const Reader& reader, const YAML::Node& map, std::string context,
         std::string_view for_what, std::vector<std::string> allowed);

  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The value, or nullopt when the key is absent. A key written with no value gives a null node.
  std::optional<YAML::Node> get(std::string_view key) const;
  // As get, but a null value counts as absent (for optional sections: "faults:" with nothing).
  std::optional<YAML::Node> section(std::string_view key) const;
  // The value; an absent key fails with "missing required key 'KEY' in CONTEXT".
  YAML::Node need(std::string_view key) const;
  // The key node of an entry that is present (for errors about the key itself).
  YAML::Node key_node(std::string_view key) const;
  const YAML::Node& node() const { return map_; }
  // The present keys among `keys`, in file order.
  std::vector<std::string> present(const std::vector<std::string>& keys) const;

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  const Entry* find(std::string_view key) const;

  const Reader& reader_;
  YAML::Node map_;
  std::string context_;
  std::vector<Entry> entries_;
};

}  // namespace stampede::scenario_detail
