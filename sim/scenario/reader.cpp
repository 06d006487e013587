#include "sim/scenario/reader.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "sim/scenario/scenario.hpp"

namespace stampede::scenario_detail {

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  return "a map";
}

namespace {

void set_flow(YAML::Node n) {
  if (n.IsMap() || n.IsSequence()) n.SetStyle(YAML::EmitterStyle::Flow);
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) set_flow(it->second);
  } else if (n.IsSequence()) {
    for (auto it = n.begin(); it != n.end(); ++it) set_flow(*it);
  }
}

std::string lowercase(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

std::string compact(const YAML::Node& n) {
  // A clone, because styles are set on the nodes themselves and the caller's tree is const.
  YAML::Node c = YAML::Clone(n);
  set_flow(c);
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << c;
  std::string s = out.c_str();
  // The emitter may break long flow collections over lines; a report wants one line.
  std::string line;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n') {
      line += s[i];
      continue;
    }
    while (i + 1 < s.size() && s[i + 1] == ' ') ++i;
    if (!line.empty() && line.back() != ' ') line += ' ';
  }
  return line;
}

void Reader::fail(const YAML::Node& at, const std::string& message) const {
  for (const auto& [node, key] : from_flags_)
    if (at.is(node)) throw InputError("--set " + key + ": " + message);
  SourcePos p = pos(at);
  if (at.IsNull())
    for (const auto& [value, key] : empty_values_)
      if (at.is(value)) p = pos(key);
  throw InputError(
      fmt::format("{}:{}:{}: {}", file_, p.line ? p.line : 1, p.col ? p.col : 1, message));
}

SourcePos Reader::pos(const YAML::Node& n) const {
  SourcePos p;
  p.file = file_;
  for (const auto& [node, key] : from_flags_)
    if (n.is(node)) return p;  // not in the file: line 0 = unknown
  YAML::Mark m = n.Mark();
  if (!m.is_null()) {
    p.line = m.line + 1;
    p.col = m.column + 1;
  }
  return p;
}

void Reader::note_empty_value(const YAML::Node& value, const YAML::Node& key) const {
  if (value.IsNull()) empty_values_.emplace_back(value, key);
}

void Reader::attribute(const YAML::Node& subtree, const std::string& key) {
  from_flags_.emplace_back(subtree, key);
  if (subtree.IsMap()) {
    for (auto it = subtree.begin(); it != subtree.end(); ++it) {
      attribute(it->first, key);
      attribute(it->second, key);
    }
  } else if (subtree.IsSequence()) {
    for (auto it = subtree.begin(); it != subtree.end(); ++it) attribute(*it, key);
  }
}

std::string Reader::string(const YAML::Node& n, std::string_view name) const {
  if (!n.IsScalar()) fail(n, fmt::format("expected a string for '{}', got {}", name, describe(n)));
  return n.Scalar();
}

std::int64_t Reader::integer(const YAML::Node& n, std::string_view name) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  }
  fail(n, fmt::format("expected an integer for '{}', got {}", name, describe(n)));
}

std::int64_t Reader::integer_in(const YAML::Node& n, std::string_view name, std::int64_t min,
                                std::int64_t max) const {
  std::int64_t v = integer(n, name);
  if (v < min) {
    if (min == 0) fail(n, fmt::format("'{}' must not be negative, got {}", name, v));
    fail(n, fmt::format("'{}' must be at least {}, got {}", name, min, v));
  }
  if (v > max) fail(n, fmt::format("'{}' must be at most {}, got {}", name, max, v));
  return v;
}

std::uint64_t Reader::unsigned_integer(const YAML::Node& n, std::string_view name) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  }
  fail(n, fmt::format("expected a non-negative integer for '{}', got {}", name, describe(n)));
}

double Reader::number(const YAML::Node& n, std::string_view name) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    double v = 0;
    // from_chars: locale-independent, unlike strtod.
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty() && std::isfinite(v)) return v;
  }
  fail(n, fmt::format("expected a number for '{}', got {}", name, describe(n)));
}

double Reader::probability(const YAML::Node& n, std::string_view name) const {
  double v = number(n, name);
  if (v < 0.0 || v > 1.0)
    fail(n, fmt::format("'{}' is a probability between 0 and 1, got {}", name, n.Scalar()));
  return v;
}

bool Reader::boolean(const YAML::Node& n, std::string_view name) const {
  if (n.IsScalar()) {
    std::string s = lowercase(n.Scalar());
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  fail(n, fmt::format("expected true or false for '{}', got {}", name, describe(n)));
}

DurationNs Reader::duration(const YAML::Node& n, std::string_view name, Sign sign) const {
  if (!n.IsScalar())
    fail(n, fmt::format("expected a duration for '{}', got {}", name, describe(n)));
  DurationNs d = 0;
  try {
    d = parse_duration(n.Scalar());
  } catch (const std::invalid_argument& e) {
    fail(n, fmt::format("bad duration '{}': {}", n.Scalar(), e.what()));
  }
  if (sign == Sign::positive && d <= 0)
    fail(n, fmt::format("'{}' must be a duration above zero, got '{}'", name, n.Scalar()));
  if (sign == Sign::non_negative && d < 0)
    fail(n, fmt::format("'{}' must not be negative, got '{}'", name, n.Scalar()));
  return d;
}

DurationNs Reader::rate_interval(const YAML::Node& n, std::string_view name) const {
  if (!n.IsScalar()) fail(n, fmt::format("expected a rate for '{}', got {}", name, describe(n)));
  try {
    return parse_rate_interval(n.Scalar());
  } catch (const std::invalid_argument& e) {
    fail(n, fmt::format("bad rate '{}': {}", n.Scalar(), e.what()));
  }
}

std::int64_t Reader::memory_mib(const YAML::Node& n, std::string_view name) const {
  if (!n.IsScalar())
    fail(n, fmt::format("expected a memory size for '{}', got {}", name, describe(n)));
  try {
    return parse_memory_mib(n.Scalar());
  } catch (const std::invalid_argument& e) {
    fail(n, fmt::format("bad memory size '{}' for '{}': {}", n.Scalar(), name, e.what()));
  }
}

std::vector<std::string> Reader::strings(const YAML::Node& n, std::string_view name,
                                         bool scalar_ok) const {
  if (scalar_ok && n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail(n, fmt::format("expected a list for '{}', got {}", name, describe(n)));
  std::vector<std::string> out;
  for (auto it = n.begin(); it != n.end(); ++it) out.push_back(string(*it, name));
  return out;
}

std::string Reader::identifier(const YAML::Node& n, std::string_view name) const {
  std::string s = string(n, name);
  bool ok = !s.empty();
  for (char c : s) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok)
    fail(n, fmt::format("bad {} '{}': expected lowercase letters, digits and '-' ([a-z0-9-]+)",
                        name, s));
  return s;
}

std::vector<std::pair<YAML::Node, YAML::Node>> Reader::entries(const YAML::Node& map,
                                                               std::string_view name) const {
  std::vector<std::pair<YAML::Node, YAML::Node>> out;
  if (map.IsNull()) return out;
  if (!map.IsMap()) fail(map, fmt::format("expected a map for '{}', got {}", name, describe(map)));
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar())
      fail(it->first,
           fmt::format("expected a name as a key in '{}', got {}", name, describe(it->first)));
    for (const auto& [k, v] : out)
      if (k.Scalar() == it->first.Scalar())
        fail(it->first, fmt::format("duplicate key '{}' in {}", k.Scalar(), name));
    note_empty_value(it->second, it->first);
    out.emplace_back(it->first, it->second);
  }
  return out;
}

Fields::Fields(const Reader& reader, const YAML::Node& map, std::string context,
               std::string_view for_what, std::vector<std::string> allowed)
    : reader_(reader), map_(map), context_(std::move(context)) {
  if (!map.IsMap())
    reader.fail(map, fmt::format("expected a map for {}, got {}", for_what, describe(map)));
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node k = it->first;
    if (!k.IsScalar())
      reader.fail(k, fmt::format("expected a key name in {}, got {}", context_, describe(k)));
    const std::string& key = k.Scalar();
    bool known = false;
    for (const std::string& a : allowed) known = known || a == key;
    if (!known) {
      std::string near = suggest(key, allowed);
      reader.fail(
          k, fmt::format("unknown key '{}' in {}{}", key, context_,
                         near.empty() ? fmt::format(" (valid keys: {})", fmt::join(allowed, ", "))
                                      : fmt::format(" (did you mean '{}'?)", near)));
    }
    if (find(key)) reader.fail(k, fmt::format("duplicate key '{}' in {}", key, context_));
    reader.note_empty_value(it->second, k);
    entries_.push_back(Entry{key, k, it->second});
  }
}

const Fields::Entry* Fields::find(std::string_view key) const {
  for (const Entry& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

std::optional<YAML::Node> Fields::get(std::string_view key) const {
  if (const Entry* e = find(key)) return e->value;
  return std::nullopt;
}

std::optional<YAML::Node> Fields::section(std::string_view key) const {
  const Entry* e = find(key);
  if (!e || e->value.IsNull()) return std::nullopt;
  return e->value;
}

YAML::Node Fields::need(std::string_view key) const {
  if (const Entry* e = find(key)) return e->value;
  reader_.fail(map_, fmt::format("missing required key '{}' in {}", key, context_));
}

YAML::Node Fields::key_node(std::string_view key) const {
  const Entry* e = find(key);
  return e ? e->key_node : map_;
}

std::vector<std::string> Fields::present(const std::vector<std::string>& keys) const {
  std::vector<std::string> out;
  for (const Entry& e : entries_)
    for (const std::string& k : keys)
      if (e.key == k) out.push_back(k);
  return out;
}

}  // namespace stampede::scenario_detail
