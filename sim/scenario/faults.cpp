// faults: (scripted, in time order) and random_faults: (the seeded nemesis).
#include <fmt/format.h>

#include "sim/scenario/sections.hpp"

namespace stampede::scenario_detail {
namespace {

using Sign = Reader::Sign;

const std::vector<std::string> k_fault_keys = {
    "partition", "kill_container", "heal",     "crash",      "restart",
    "pause",     "clock_skew",     "truncate", "clean_state", "power_off", "power_on"};

void check_node(const Reader& r, const YAML::Node& n, const Names& names, std::string_view what) {
  std::string name = r.string(n, what);
  if (auto err = names.check_node(name, true)) r.fail(n, *err);
}

// A partition group: a list of node names and patterns, or one of them alone.
std::vector<std::string> parse_group(const Reader& r, const YAML::Node& n, const Names& names,
                                     std::string_view what) {
  std::vector<std::string> group = r.strings(n, what, true);
  if (group.empty()) r.fail(n, fmt::format("a partition group ({}) needs at least one node", what));
  if (n.IsScalar()) {
    check_node(r, n, names, what);
  } else {
    for (auto it = n.begin(); it != n.end(); ++it) check_node(r, *it, names, what);
  }
  return group;
}

void parse_partition(const Reader& r, const YAML::Node& n, const Names& names, FaultSpec& f) {
  if (n.IsMap()) {
    // Extension: {from: [...], to: [...]}, messages from `from` to `to` are lost.
    Fields p(r, n, "partition", "'partition'", {"from", "to"});
    f.kind = FaultKind::partition_oneway;
    f.groups.push_back(parse_group(r, p.need("from"), names, "from"));
    f.groups.push_back(parse_group(r, p.need("to"), names, "to"));
  } else {
    if (!n.IsSequence())
      r.fail(n, fmt::format("expected a list of groups for 'partition' (e.g. [[server-1], "
                            "[agent-*]]) or {{from: [...], to: [...]}}, got {}",
                            describe(n)));
    f.kind = FaultKind::partition;
    for (auto it = n.begin(); it != n.end(); ++it)
      f.groups.push_back(parse_group(r, *it, names, "partition"));
    if (f.groups.size() < 2)
      r.fail(n, "a partition needs at least two groups, e.g. [[server-1], [agent-*]]");
  }
  // A literal name in two groups would make the cut contradict itself.
  for (std::size_t a = 0; a < f.groups.size(); ++a)
    for (std::size_t b = a + 1; b < f.groups.size(); ++b)
      for (const std::string& x : f.groups[a])
        for (const std::string& y : f.groups[b])
          if (x == y) r.fail(n, fmt::format("'{}' is in two groups of the partition", x));
}

// Extension (HA): the operator removes a server's leftover state files.
void parse_clean_state(const Reader& r, const YAML::Node& v, const Names& names,
                       const ScenarioSpec& spec, FaultSpec& fault) {
  fault.kind = FaultKind::clean_state;
  fault.node = r.string(v, "clean_state");
  if (spec.cluster.servers == 1)
    r.fail(v, "clean_state removes a cluster manager's state files, and single mode "
              "(servers: 1) runs no cluster manager");
  bool known = false;
  std::vector<std::string> servers;
  for (int i = 1; i <= spec.cluster.servers; ++i) {
    servers.push_back(fmt::format("server-{}", i));
    known = known || servers.back() == fault.node;
  }
  if (!known) {
    if (auto err = names.check_node(fault.node, false)) r.fail(v, *err);
    r.fail(v, fmt::format("clean_state takes one server (server-1..server-{}), got '{}'{}",
                          spec.cluster.servers, fault.node, hint(fault.node, servers)));
  }
}

void parse_truncate(const Reader& r, const YAML::Node& v, FaultSpec& fault) {
  fault.kind = FaultKind::truncate;
  fault.tables = r.strings(v, "truncate", true);
  if (fault.tables.empty()) r.fail(v, "truncate needs at least one table");
  auto check_table = [&](const YAML::Node& t) {
    const std::string& s = t.Scalar();
    bool ok = !s.empty();
    for (char c : s) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!ok) r.fail(t, fmt::format("bad table name '{}': expected [a-z0-9_]+", s));
  };
  if (v.IsScalar()) {
    check_table(v);
  } else {
    for (auto it = v.begin(); it != v.end(); ++it) check_table(*it);
  }
}

FaultSpec parse_fault(const Reader& r, const YAML::Node& item, const Names& names,
                      const ScenarioSpec& spec) {
  std::vector<std::string> allowed = k_fault_keys;
  allowed.insert(allowed.begin(), "at");
  Fields f(r, item, "fault", "each fault", allowed);
  FaultSpec fault;
  fault.pos = r.pos(item);
  YAML::Node at = f.need("at");
  fault.at_ns = r.duration(at, "at", Sign::non_negative);
  if (fault.at_ns > spec.duration_ns)
    r.fail(at, fmt::format("fault at {} is beyond the scenario's duration {}", at.Scalar(),
                           format_duration(spec.duration_ns)));
  // Scripted faults read as a story; one out of order is almost always a typo.
  if (!spec.faults.empty() && fault.at_ns < spec.faults.back().at_ns)
    r.fail(at, fmt::format("faults must be in time order: this one at {} follows one at {}",
                           at.Scalar(), format_duration(spec.faults.back().at_ns)));
  std::vector<std::string> kinds = f.present(k_fault_keys);
  if (kinds.empty())
    r.fail(item, fmt::format("a fault needs one of {}", fmt::join(k_fault_keys, ", ")));
  if (kinds.size() > 1)
    r.fail(f.key_node(kinds[1]),
           fmt::format("a fault does one thing, got both '{}' and '{}' (write two faults)",
                       kinds[0], kinds[1]));
  const std::string& kind = kinds[0];
  YAML::Node v = *f.get(kind);
  if (kind == "crash" || kind == "restart" || kind == "power_off" || kind == "power_on") {
    fault.kind = kind == "crash"       ? FaultKind::crash
                 : kind == "restart"   ? FaultKind::restart
                 : kind == "power_off" ? FaultKind::power_off
                                       : FaultKind::power_on;
    check_node(r, v, names, kind);
    fault.node = v.Scalar();
  } else if (kind == "pause") {
    Fields p(r, v, "pause", "'pause'", {"node", "for"});
    fault.kind = FaultKind::pause;
    check_node(r, p.need("node"), names, "node");
    fault.node = p.need("node").Scalar();
    fault.for_ns = r.duration(p.need("for"), "for", Sign::positive);
  } else if (kind == "clock_skew") {
    Fields p(r, v, "clock_skew", "'clock_skew'", {"node", "by"});
    fault.kind = FaultKind::clock_skew;
    check_node(r, p.need("node"), names, "node");
    fault.node = p.need("node").Scalar();
    fault.skew_ns = r.duration(p.need("by"), "by", Sign::any);
  } else if (kind == "partition") {
    parse_partition(r, v, names, fault);
  } else if (kind == "heal") {
    fault.kind = FaultKind::heal;
    std::string what = r.string(v, "heal");
    if (what != "all") r.fail(v, fmt::format("heal takes 'all', got '{}'", what));
  } else if (kind == "kill_container") {
    fault.kind = FaultKind::kill_container;
    fault.container = r.string(v, "kill_container");
    if (auto err = names.check_container(fault.container)) r.fail(v, *err);
  } else if (kind == "clean_state") {
    parse_clean_state(r, v, names, spec, fault);
  } else {  // truncate
    parse_truncate(r, v, fault);
  }
  return fault;
}

}  // namespace

void parse_faults(const Reader& r, const YAML::Node& node, const Names& names, ScenarioSpec& spec) {
  if (!node.IsSequence())
    r.fail(node, fmt::format("expected a list for 'faults', got {}", describe(node)));
  for (auto it = node.begin(); it != node.end(); ++it) {
    spec.faults.push_back(parse_fault(r, *it, names, spec));
  }
}

namespace {

RandomCrashSpec parse_crash_entry(const Reader& r, const YAML::Node& n, const Names& names,
                                  bool list_form) {
  std::vector<std::string> keys = {"targets", "mttf", "mttr"};
  if (list_form) keys.push_back("how");
  Fields c(r, n, "random_faults.crash", list_form ? "each entry of 'crash'" : "'crash'", keys);
  RandomCrashSpec crash;
  check_node(r, c.need("targets"), names, "targets");
  crash.targets = c.need("targets").Scalar();
  crash.mttf_ns = r.duration(c.need("mttf"), "mttf", Sign::positive);
  crash.mttr_ns = r.duration(c.need("mttr"), "mttr", Sign::positive);
  if (auto how = c.get("how")) {
    const std::string h = r.string(*how, "how");
    if (h == "crash") {
      crash.how = RandomFailureHow::crash;
    } else if (h == "power_off") {
      crash.how = RandomFailureHow::power_off;
    } else {
      r.fail(*how, fmt::format("unknown failure '{}' for 'how': expected crash or power_off{}", h,
                               hint(h, {"crash", "power_off"})));
    }
  }
  return crash;
}

}  // namespace

void parse_random_faults(const Reader& r, const YAML::Node& node, const Names& names,
                         ScenarioSpec& spec) {
  Fields f(r, node, "random_faults", "'random_faults'", {"crash", "partition"});
  if (auto n = f.section("crash")) {
    if (n->IsSequence()) {
      // Extension: one entry per class of targets. A class named twice would draw the same
      // numbers twice (its streams are named after its targets), so it is refused.
      for (auto it = n->begin(); it != n->end(); ++it) {
        RandomCrashSpec c = parse_crash_entry(r, *it, names, true);
        for (const RandomCrashSpec& other : spec.random_faults.crash_classes)
          if (other.targets == c.targets)
            r.fail(*it, fmt::format("targets '{}' are in two entries of random_faults.crash "
                                    "(give each class of nodes one entry)",
                                    c.targets));
        spec.random_faults.crash_classes.push_back(c);
      }
      if (spec.random_faults.crash_classes.empty())
        r.fail(*n, "random_faults.crash: an empty list (write at least one {targets, mttf, mttr})");
    } else {
      spec.random_faults.crash = parse_crash_entry(r, *n, names, false);
    }
  }
  if (auto n = f.section("partition")) {
    Fields p(r, *n, "random_faults.partition", "'partition'", {"mtbf", "duration"});
    RandomPartitionSpec part;
    part.mtbf_ns = r.duration(p.need("mtbf"), "mtbf", Sign::positive);
    part.duration_ns = r.duration(p.need("duration"), "duration", Sign::positive);
    spec.random_faults.partition = part;
  }
}

}  // namespace stampede::scenario_detail
