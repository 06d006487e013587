// expect: what must hold, in the forms at / during / by / always / never / eventually.
#include <fmt/format.h>

#include "sim/scenario/sections.hpp"

namespace stampede::scenario_detail {
namespace {

using Sign = Reader::Sign;

const std::vector<std::string> k_time_keys = {"at", "during", "by"};
const std::vector<std::string> k_what_keys = {"host_state", "running",    "availability",
                                              "log",        "event",      "always",
                                              "never",      "eventually"};
// Keys that only an `event:` expectation takes, beside its time.
const std::vector<std::string> k_event_keys = {"where", "node"};
const std::vector<std::string> k_host_states = {"active", "reconnecting", "disconnected"};

class ExpectParser {
 public:
  ExpectParser(const Reader& r, const Names& names, const Registry& registry,
               const ScenarioSpec& spec)
      : r_(r), names_(names), registry_(registry), spec_(spec) {}

  ExpectSpec parse(const YAML::Node& item) const {
    std::vector<std::string> allowed = k_time_keys;
    allowed.insert(allowed.end(), k_what_keys.begin(), k_what_keys.end());
    allowed.insert(allowed.end(), k_event_keys.begin(), k_event_keys.end());
    Fields f(r_, item, "expectation", "each expectation", allowed);
    ExpectSpec e;
    e.pos = r_.pos(item);
    e.text = compact(item);
    std::vector<std::string> whats = f.present(k_what_keys);
    if (whats.empty())
      r_.fail(item, fmt::format("an expectation needs one of {}", fmt::join(k_what_keys, ", ")));
    if (whats.size() > 1)
      r_.fail(f.key_node(whats[1]),
              fmt::format("an expectation checks one thing, got both '{}' and '{}'", whats[0],
                          whats[1]));
    std::vector<std::string> times = f.present(k_time_keys);
    if (times.size() > 1)
      r_.fail(
          f.key_node(times[1]),
          fmt::format("an expectation has one time, got both '{}' and '{}'", times[0], times[1]));
    const std::string& what = whats[0];
    const std::string time = times.empty() ? "" : times[0];
    YAML::Node v = *f.get(what);
    if (what != "event")
      for (const std::string& k : f.present(k_event_keys))
        r_.fail(f.key_node(k), fmt::format("'{}' belongs to an 'event' expectation, not '{}'", k,
                                           what));
    if (what == "event") {
      parse_event(f, v, e);
      event_time(f, what, time, e);
    } else if (what == "always" || what == "never") {
      parse_invariant(f, v, what, time, e);
    } else if (what == "eventually") {
      parse_eventually(f, v, what, time, e);
    } else if (what == "log") {
      parse_log(f, v, what, time, e);
    } else if (what == "availability") {
      parse_availability(f, v, time, e);
    } else {
      if (what == "host_state") {
        parse_host_state(v, e);
      } else {
        parse_running(v, e);
      }
      if (time.empty())
        r_.fail(item, fmt::format("a {} expectation needs a time: at, during or by", what));
      state_time(f, time, e, false);
    }
    return e;
  }

 private:
  void parse_invariant(const Fields& f, const YAML::Node& v, const std::string& what,
                       const std::string& time, ExpectSpec& e) const {
    if (!time.empty())
      r_.fail(f.key_node(time), fmt::format("'{}' is checked after every step of the whole run: "
                                            "it takes no '{}'",
                                            what, time));
    e.form = ExpectForm::always;
    e.what = ExpectWhat::invariant;
    e.negated = what == "never";
    e.subject = r_.string(v, what);
    if (!registry_.find_invariant(e.subject))
      r_.fail(v, fmt::format("unknown invariant '{}'{}", e.subject,
                             hint(e.subject, names_of(registry_.invariants()))));
  }

  void parse_eventually(const Fields& f, const YAML::Node& v, const std::string& what,
                        const std::string& time, ExpectSpec& e) const {
    e.what = ExpectWhat::eventually;
    e.subject = r_.string(v, what);
    if (!registry_.find_signal(e.subject))
      r_.fail(v, fmt::format("unknown signal '{}'{}", e.subject,
                             hint(e.subject, names_of(registry_.signals()))));
    event_time(f, what, time, e);
  }

  void parse_log(const Fields& f, const YAML::Node& v, const std::string& what,
                 const std::string& time, ExpectSpec& e) const {
    Fields l(r_, v, "log", "'log'", {"node", "contains"});
    e.what = ExpectWhat::log;
    YAML::Node node = l.need("node");
    e.subject = r_.string(node, "node");
    if (auto err = names_.check_node(e.subject, true)) r_.fail(node, *err);
    YAML::Node contains = l.need("contains");
    e.value = r_.string(contains, "contains");
    if (e.value.empty()) r_.fail(contains, "'contains' needs some text to look for");
    event_time(f, what, time, e);
  }

  void parse_availability(const Fields& f, const YAML::Node& v, const std::string& time,
                          ExpectSpec& e) const {
    Fields a(r_, v, "availability", "'availability'", {"target", "at_least", "at_most"});
    e.what = ExpectWhat::availability;
    YAML::Node target = a.need("target");
    e.subject = r_.string(target, "target");
    if (e.subject != "api")
      if (auto err = names_.check_lb(e.subject)) r_.fail(target, *err);
    bool has_client = false;
    for (const ClientSpec& c : spec_.workload) has_client = has_client || c.target == e.subject;
    if (!has_client)
      r_.fail(target,
              e.subject == "api"
                  ? std::string("no API client: add `- api: {rate: 1/s}` under workload")
                  : fmt::format("no client sends requests to '{}': add one under workload",
                                e.subject));
    if (auto n = a.get("at_least")) e.at_least = r_.probability(*n, "at_least");
    if (auto n = a.get("at_most")) e.at_most = r_.probability(*n, "at_most");
    if (!e.at_least && !e.at_most) r_.fail(v, "availability needs at_least or at_most (or both)");
    if (e.at_least && e.at_most && *e.at_least > *e.at_most)
      r_.fail(*a.get("at_most"), "availability at_most is below at_least");
    if (time == "at")
      r_.fail(f.key_node("at"),
              "availability is measured over a window: use during: [A, B] "
              "(or by: T for the run's start to T)");
    state_time(f, time, e, true);
  }

  void parse_host_state(const YAML::Node& v, ExpectSpec& e) const {
    Fields h(r_, v, "host_state", "'host_state'", {"host", "is"});
    e.what = ExpectWhat::host_state;
    YAML::Node host = h.need("host");
    e.subject = r_.string(host, "host");
    if (auto err = names_.check_host(e.subject)) r_.fail(host, *err);
    YAML::Node is = h.need("is");
    e.value = r_.string(is, "is");
    bool known = false;
    for (const std::string& s : k_host_states) known = known || s == e.value;
    if (!known)
      r_.fail(is, fmt::format("unknown host state '{}'{}", e.value, hint(e.value, k_host_states)));
  }

  void parse_running(const YAML::Node& v, ExpectSpec& e) const {
    Fields rn(r_, v, "running", "'running'", {"service", "count"});
    e.what = ExpectWhat::running;
    YAML::Node service = rn.need("service");
    e.subject = r_.string(service, "service");
    if (auto err = names_.check_service(e.subject)) r_.fail(service, *err);
    e.count = r_.integer_in(rn.need("count"), "count", 0, 100'000'000);
  }

  TimeNs instant(const YAML::Node& n, std::string_view key) const {
    TimeNs t = r_.duration(n, key, Sign::non_negative);
    if (t > spec_.duration_ns)
      r_.fail(n, fmt::format("'{}: {}' is beyond the scenario's duration {}", key, n.Scalar(),
                             format_duration(spec_.duration_ns)));
    return t;
  }

  // {event: NAME, where: {FIELD: VALUE}, node: PATTERN}: NAME and every FIELD must be
  // registered; the node pattern defaults to every node.
  void parse_event(const Fields& f, const YAML::Node& v, ExpectSpec& e) const {
    e.what = ExpectWhat::event;
    e.value = r_.string(v, "event");
    const EventDef* def = registry_.find_event(e.value);
    if (def == nullptr) {
      std::vector<std::string> known;
      for (const EventDef& d : registry_.events()) known.push_back(d.name);
      r_.fail(v, fmt::format("unknown event '{}'{} (`stampede list events` lists them)", e.value,
                             hint(e.value, known)));
    }
    e.subject = "all";
    if (auto node = f.get("node")) {
      e.subject = r_.string(*node, "node");
      if (auto err = names_.check_node(e.subject, true)) r_.fail(*node, *err);
    }
    auto where = f.get("where");
    if (!where) return;
    if (!where->IsMap())
      r_.fail(*where, fmt::format("expected a map of field: value for 'where', got {}",
                                  describe(*where)));
    for (auto it = where->begin(); it != where->end(); ++it) {
      std::string key = r_.string(it->first, "where");
      bool known = false;
      for (const std::string& fld : def->fields) known = known || fld == key;
      if (!known)
        r_.fail(it->first,
                fmt::format("event '{}' has no field '{}'{}; its fields: {}", e.value, key,
                            hint(key, def->fields), fmt::join(def->fields, ", ")));
      if (!it->second.IsScalar())
        r_.fail(it->second, fmt::format("expected a value for '{}', got {}", key,
                                        describe(it->second)));
      e.where.emplace_back(key, it->second.Scalar());
    }
  }

  // log and eventually are events: by T, or (no time) at any moment of the run.
  void event_time(const Fields& f, const std::string& what, const std::string& time,
                  ExpectSpec& e) const {
    if (time.empty()) {
      e.form = ExpectForm::always;
      return;
    }
    if (time != "by")
      r_.fail(f.key_node(time),
              fmt::format("'{}' is an event: it takes 'by', not '{}'", what, time));
    e.form = ExpectForm::by;
    e.at_ns = instant(*f.get("by"), "by");
  }

  // States: at T, during [A, B], by T; with `whole_run_ok`, no time means the whole run.
  void state_time(const Fields& f, const std::string& time, ExpectSpec& e,
                  bool whole_run_ok) const {
    if (time.empty()) {
      if (whole_run_ok) e.form = ExpectForm::always;
      return;
    }
    YAML::Node n = *f.get(time);
    if (time == "at" || time == "by") {
      e.form = time == "at" ? ExpectForm::at : ExpectForm::by;
      e.at_ns = instant(n, time);
      return;
    }
    e.form = ExpectForm::during;
    if (!n.IsSequence() || n.size() != 2)
      r_.fail(n, fmt::format("expected [FROM, TO] for 'during', got {}", describe(n)));
    e.from_ns = instant(n[0], "during");
    e.to_ns = instant(n[1], "during");
    if (e.from_ns > e.to_ns)
      r_.fail(n[1], fmt::format("the window ends ({}) before it starts ({})",
                                format_duration(e.to_ns), format_duration(e.from_ns)));
  }

  const Reader& r_;
  const Names& names_;
  const Registry& registry_;
  const ScenarioSpec& spec_;
};

}  // namespace

void parse_expect(const Reader& r, const YAML::Node& node, const Names& names,
                  const Registry& registry, ScenarioSpec& spec) {
  if (!node.IsSequence())
    r.fail(node, fmt::format("expected a list for 'expect', got {}", describe(node)));
  ExpectParser parser(r, names, registry, spec);
  for (auto it = node.begin(); it != node.end(); ++it) spec.expect.push_back(parser.parse(*it));
}

}  // namespace stampede::scenario_detail
