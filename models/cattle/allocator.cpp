// Cattle 1.1's allocator (allocator.hpp says what and where from): the decision as pure
// functions, then the server's side, which builds the candidates from its tables and runs it when
// an instance.create needs a host.
#include "models/cattle/allocator.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "models/cattle/names.hpp"
#include "models/cattle/server.hpp"
#include "models/cattle/states.hpp"

namespace stampede::cattle {

namespace alloc {

std::string lower_text(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

namespace {

std::string_view symbol(Op op) {
  // AffinityConstraintDefinition.java lines 5-8, the label symbols.
  switch (op) {
    case Op::soft_ne: return "_soft_ne";
    case Op::soft_eq: return "_soft";
    case Op::ne: return "_ne";
    case Op::eq: return "";
  }
  return "";
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// One label of the service as constraints (AllocatorServiceImpl.java:239-272): the key's prefix
// says the kind, its suffix the operator; the value is split at commas, and for host and
// container labels each part at '=' into key and value.
void label_constraints(std::string_view label_key, std::string_view label_value,
                       std::string_view stack, std::string_view service,
                       std::vector<Constraint>& out) {
  static constexpr std::pair<std::string_view, Kind> k_prefixes[] = {
      {"io.rancher.scheduler.affinity:container_label", Kind::container_label},
      {"io.rancher.scheduler.affinity:container", Kind::container},
      {"io.rancher.scheduler.affinity:host_label", Kind::host_label}};
  std::string key = lower_text(label_key);
  std::string value = lower_text(label_value);
  // evaluateMacros (lines 289-322), after the value was lowercased.
  replace_all(value, "${stack_name}", stack);
  replace_all(value, "${project_name}", stack);
  replace_all(value, "${service_name}", service);
  for (const auto& [prefix, kind] : k_prefixes) {
    if (!key.starts_with(prefix)) continue;
    std::string_view suffix = std::string_view(key).substr(prefix.size());
    const Op ops[] = {Op::soft_ne, Op::soft_eq, Op::ne, Op::eq};
    const Op* op = std::find_if(std::begin(ops), std::end(ops),
                                [&](Op o) { return symbol(o) == suffix; });
    if (op == std::end(ops)) return;  // an unknown suffix gives no constraint (lines 346-348)
    std::string_view rest = value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view part = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (part.empty()) continue;
      Constraint c{kind, *op, "", std::string(part), {}};
      auto eq = part.find('=');
      if (kind != Kind::container && eq != std::string_view::npos) {
        c.key = std::string(part.substr(0, eq));
        c.value = std::string(part.substr(eq + 1));
      }
      out.push_back(std::move(c));
    }
    return;
  }
}

bool has_label(const std::map<std::string, std::string>& labels, const std::string& key,
               const std::string& value) {
  auto it = labels.find(key);
  return !key.empty() && it != labels.end() && it->second == value;
}

bool ports_free(const Constraint& c, const Candidate& candidate) {
  // PortsConstraint.matches (lines 27-46): the same public port and protocol taken on the host.
  for (const Resident& r : candidate.residents)
    for (const PortSpec& used : r.ports)
      for (const PortSpec& wanted : c.ports)
        if (wanted.public_port != 0 && wanted.public_port == used.public_port &&
            wanted.protocol == used.protocol)
          return false;
  return true;
}

}  // namespace

std::string Constraint::describe() const {
  switch (kind) {
    case Kind::ports: {
      // PortsConstraint.toString (lines 58-70).
      std::vector<std::string> ps;
      for (const PortSpec& p : ports) ps.push_back(fmt::format("{}/{}", p.public_port, p.protocol));
      return fmt::format("host needs ports {} available", fmt::join(ps, ", "));
    }
    case Kind::host_label:  // HostAffinityConstraint.toString (lines 70-73)
      return fmt::format("needs host with label {}{}: {}", key, symbol(op), value);
    case Kind::container:  // ContainerAffinityConstraint.toString (lines 66-69)
      return fmt::format("needs container with label {}{}", value, symbol(op));
    case Kind::container_label:
      // ContainerLabelAffinityConstraint has no toString: Cattle prints the object's default
      // (the class name and a hash code, as rancher/rancher#5032 shows); the model names the
      // class and the label instead.
      return fmt::format("ContainerLabelAffinityConstraint {}{}: {}", key, symbol(op), value);
  }
  return "";
}

std::map<std::string, std::string> container_labels(const ServiceSpec& service,
                                                    std::string_view stack) {
  std::map<std::string, std::string> labels;
  for (const auto& [k, v] : service.labels) labels[lower_text(k)] = lower_text(v);
  labels["io.rancher.stack.name"] = lower_text(stack);
  labels["io.rancher.stack_service.name"] = lower_text(fmt::format("{}/{}", stack, service.name));
  return labels;
}

std::vector<Constraint> constraints_for(const ServiceSpec& service, std::string_view stack,
                                        bool ports, bool affinity) {
  std::vector<Constraint> out;
  Constraint published{Kind::ports, Op::eq, "", "", {}};
  for (const PortSpec& p : service.ports)
    if (p.public_port != 0) published.ports.push_back(p);
  if (ports && !published.ports.empty()) out.push_back(std::move(published));
  if (affinity)
    for (const auto& [k, v] : service.labels) label_constraints(k, v, stack, service.name, out);
  std::stable_partition(out.begin(), out.end(), [](const Constraint& c) { return c.hard(); });
  return out;
}

bool matches(const Constraint& c, const Candidate& candidate) {
  bool want = c.op == Op::eq || c.op == Op::soft_eq;
  switch (c.kind) {
    case Kind::ports:
      return ports_free(c, candidate);
    case Kind::host_label:
      // HostAffinityConstraint.matches (lines 31-63).
      return has_label(candidate.labels, c.key, c.value) == want;
    case Kind::container_label: {
      // ContainerLabelAffinityConstraint.matches (lines 31-49), through
      // AllocatorDaoImpl.hostHasContainerLabel (lines 505-529).
      bool found = false;
      std::string key = lower_text(c.key), value = lower_text(c.value);
      for (const Resident& r : candidate.residents) found = found || has_label(r.labels, key, value);
      return found == want;
    }
    case Kind::container: {
      // ContainerAffinityConstraint.matches (lines 32-59): a container of that name.
      bool found = false;
      for (const Resident& r : candidate.residents) found = found || lower_text(r.name) == c.value;
      return found == want;
    }
  }
  return true;
}

void order(std::vector<Candidate>& candidates, bool spread) {
  std::sort(candidates.begin(), candidates.end(), [spread](const Candidate& a, const Candidate& b) {
    if (a.compute_free != b.compute_free)
      return spread ? a.compute_free > b.compute_free : a.compute_free < b.compute_free;
    return a.host < b.host;
  });
}

Decision allocate(const std::vector<Candidate>& candidates, std::vector<Constraint> constraints,
                  bool drop_soft) {
  Decision d;
  if (candidates.empty()) {
    d.error = "Scheduling failed: No candidates available";
    return d;
  }
  for (;;) {
    // Each candidate's failed constraints; the first candidate with none wins.
    std::vector<std::vector<std::size_t>> failed_sets;
    for (const Candidate& c : candidates) {
      std::vector<std::size_t> failed;
      for (std::size_t i = 0; i < constraints.size(); ++i)
        if (!matches(constraints[i], c)) failed.push_back(i);
      if (failed.empty()) {
        d.host = c.host;
        return d;
      }
      failed_sets.push_back(std::move(failed));
    }
    // The weakest set: fewest hard, then fewest soft; the first such, as Java's stable sort.
    auto weight = [&](const std::vector<std::size_t>& set) {
      std::size_t hard = 0;
      for (std::size_t i : set) hard += constraints[i].hard();
      return std::pair(hard, set.size() - hard);
    };
    const auto& weakest = *std::min_element(
        failed_sets.begin(), failed_sets.end(),
        [&](const auto& a, const auto& b) { return weight(a) < weight(b); });
    auto soft = std::find_if(weakest.begin(), weakest.end(),
                             [&](std::size_t i) { return !constraints[i].hard(); });
    if (!drop_soft || soft == weakest.end()) {
      std::vector<std::string> texts;
      for (std::size_t i : weakest) texts.push_back(constraints[i].describe());
      d.error = fmt::format("Scheduling failed: {}", fmt::join(texts, ", "));
      return d;
    }
    d.dropped.push_back(constraints[*soft].describe());
    constraints.erase(constraints.begin() + static_cast<std::ptrdiff_t>(*soft));
  }
}

}  // namespace alloc

// --- The server's side ------------------------------------------------------------------------

const ServiceSpec* CattleServer::service_spec(ServiceId sid, std::string* stack_name) const {
  const ServiceRow* service = row<ServiceRow>(sid);
  const StackRow* stack = service ? row<StackRow>(service->stack) : nullptr;
  if (stack == nullptr) return nullptr;
  if (stack_name) *stack_name = stack->name;
  for (const StackSpec& st : config_.stacks) {
    if (st.name != stack->name) continue;
    for (const ServiceSpec& sv : st.services)
      if (sv.name == service->name) return &sv;
  }
  return nullptr;
}

std::vector<alloc::Candidate> CattleServer::alloc_candidates(InstanceId placing,
                                                             bool residents) const {
  std::vector<alloc::Candidate> out;
  for (const auto& [hid, host] : rows<HostRow>()) {
    if (host.state != HostState::active) continue;
    alloc::Candidate c;
    c.host = hid;
    c.compute_free = alloc::k_host_compute_units;
    if (auto it = config_.host_labels.find(host.name); it != config_.host_labels.end())
      for (const auto& [k, v] : it->second) c.labels[alloc::lower_text(k)] = alloc::lower_text(v);
    for (InstanceId iid : cache_.instances_on(store(), hid)) {
      if (iid == placing) continue;
      --c.compute_free;  // until its purge, which the model does not have
      const InstanceRow& other = *row<InstanceRow>(iid);
      if (!residents || other.state == InstanceState::removed) continue;
      std::string stack;
      const ServiceSpec* spec = service_spec(other.service, &stack);
      alloc::Resident r{other.name, {}, {}};
      if (spec) r.labels = alloc::container_labels(*spec, stack);
      // Ports are held by starting, restarting and running instances (AllocatorDaoImpl.java:446).
      bool holds = other.state == InstanceState::activating ||
                   other.state == InstanceState::starting || other.state == InstanceState::active;
      if (spec && holds) r.ports = spec->ports;
      c.residents.push_back(std::move(r));
    }
    out.push_back(std::move(c));
  }
  return out;
}

HostId CattleServer::allocate(Ctx& ctx, InstanceId iid, std::string& why) {
  const InstanceRow* instance = row<InstanceRow>(iid);
  std::string stack;
  const ServiceSpec* spec = instance ? service_spec(instance->service, &stack) : nullptr;
  std::vector<alloc::Constraint> constraints;
  if (spec) constraints = alloc::constraints_for(*spec, stack, cfg_.alloc_ports, cfg_.alloc_affinity);
  std::vector<alloc::Candidate> candidates = alloc_candidates(iid, !constraints.empty());
  alloc::order(candidates, cfg_.alloc_spread);
  alloc::Decision d = alloc::allocate(candidates, std::move(constraints), cfg_.alloc_soft);
  std::string container = instance ? instance->name : std::string();
  for (const std::string& dropped : d.dropped)
    ctx.log(LogLevel::info,
            fmt::format("allocating {}: no host meets the soft constraint '{}': dropped",
                        container, dropped));
  why = d.error;
  return d.host;
}

}  // namespace stampede::cattle
