#include "sim/simgrid/platform.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "sim/scenario/checked_yaml.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simgrid/time_convert.hpp"

namespace stampede::sg {

namespace sg4 = simgrid::s4u;

std::string host_map_path(const std::string& platform_file) {
  std::filesystem::path p(platform_file);
  p.replace_extension(".hosts.yaml");
  return p.string();
}

// A node of an empty document has a null mark (line -1): its place is the file's start.
static std::string where(const std::string& file, const YAML::Mark& m) {
  return fmt::format("{}:{}:{}", file, std::max(1, m.line + 1), std::max(1, m.column + 1));
}

void read_host_map(PlatformOptions& opts) {
  if (!opts.file) return;
  std::string path = host_map_path(*opts.file);
  if (!std::filesystem::exists(path)) return;
  if (std::filesystem::is_directory(path))
    throw InputError(fmt::format("{}:1:1: is a directory, not a hosts map", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}:1:1: cannot open the hosts map", path));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The scenario's loader: a second document, an unterminated quote, aliases and deep nesting
  // are refused with their position instead of being read silently (or without end).
  const YAML::Node root = load_checked_yaml(text, path, "hosts map");
  if (!root.IsMap())
    throw InputError(
        fmt::format("{}: expected a map with one key, hosts", where(path, root.Mark())));
  for (const auto& kv : root) {
    // A key that is a list or a map would make as<std::string>() throw yaml-cpp's own exception.
    if (!kv.first.IsScalar())
      throw InputError(fmt::format("{}: expected the key hosts", where(path, kv.first.Mark())));
    std::string key = kv.first.as<std::string>();
    if (key != "hosts") {
      std::string hint = suggest(key, {"hosts"});
      throw InputError(fmt::format("{}: unknown key '{}'{}", where(path, kv.first.Mark()), key,
                                   hint.empty() ? "" : " (did you mean 'hosts'?)"));
    }
    if (!kv.second.IsMap())
      throw InputError(fmt::format("{}: hosts is a map from node names to host names",
                                   where(path, kv.second.Mark())));
    for (const auto& e : kv.second) {
      if (!e.first.IsScalar())
        throw InputError(fmt::format("{}: expected a node name", where(path, e.first.Mark())));
      if (!e.second.IsScalar())
        throw InputError(fmt::format("{}: expected a host name", where(path, e.second.Mark())));
      const YAML::Mark m = e.second.Mark();
      const YAML::Mark k = e.first.Mark();
      opts.hosts[e.first.as<std::string>()] =
          HostMapEntry{e.second.as<std::string>(), SourcePos{path, m.line + 1, m.column + 1},
                       SourcePos{path, k.line + 1, k.column + 1}};
    }
  }
  opts.hosts_file = path;
}

namespace {

// "FILE:LINE:COL" of the element whose id is `id` in the platform's text, else "--platform FILE"
// (a cluster's links are named by SimGrid, not in the file).
std::string position_of_id(const std::string& file, const std::string& id) {
  std::ifstream in(file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::size_t at = line.find("id=\"" + id + "\"");
    if (at != std::string::npos) return fmt::format("{}:{}:{}", file, n, at + 1);
  }
  return "--platform " + file;
}

// SimGrid takes a negative latency or a bandwidth of 0 or less without a word; the first
// delivers messages before they were sent, the second never delivers them. Both are refused.
void check_links(const std::string& file) {
  for (const sg4::Link* l : sg4::Engine::get_instance()->get_all_links()) {
    const std::string name = l->get_name();
    if (l->get_latency() < 0)
      throw InputError(fmt::format("{}: link '{}' has a negative latency ({} s)",
                                   position_of_id(file, name), name, l->get_latency()));
    if (!(l->get_bandwidth() > 0))
      throw InputError(fmt::format("{}: link '{}' has a bandwidth of {} B/s: expected more than 0",
                                   position_of_id(file, name), name, l->get_bandwidth()));
  }
}

}  // namespace

void load_platform_file(const std::string& file) {
  if (!std::filesystem::exists(file))
    throw InputError(fmt::format("--platform {}: no such file", file));
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw InputError(fmt::format("--platform {}: is a directory, not a platform file", file));
  try {
    sg4::Engine::get_instance()->load_platform(file);
  } catch (const simgrid::ParseError& e) {
    // SimGrid says "Parse error at FILE:LINE: message"; it gives no column.
    std::string what = e.what();
    const std::string prefix = "Parse error at ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    auto colon = what.find(": ");
    std::replace(what.begin(), what.end(), '\n', ' ');
    if (colon != std::string::npos)
      throw InputError(what.substr(0, colon) + ":1" + what.substr(colon));
    throw InputError(fmt::format("--platform {}: {}", file, what));
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw InputError(fmt::format("--platform {}: {}", file, what));
  }
  check_links(file);
}

DurationNs representative_latency_ns(const LatencySpec& l) {
  switch (l.kind) {
    case LatencySpec::Kind::fixed: return l.fixed_ns;
    case LatencySpec::Kind::uniform: return (l.min_ns + l.max_ns) / 2;
    case LatencySpec::Kind::exponential: return l.mean_ns;
  }
  return l.fixed_ns;
}

sg4::Host* build_star_platform(const std::vector<std::string>& node_names,
                               const NetworkSpec& net, double bandwidth_bytes_per_s) {
  auto* zone = sg4::create_star_zone("stampede");
  const double half_latency_s = to_seconds(representative_latency_ns(net.latency)) / 2;
  for (const std::string& name : node_names) {
    const sg4::Host* host = zone->create_host(name, 1e9);
    const sg4::Link* link = zone->create_split_duplex_link("link:" + name, bandwidth_bytes_per_s)
                                ->set_latency(half_latency_s);
    zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr,
                    {{link, sg4::LinkInRoute::Direction::UP}}, true);
  }
  sg4::Host* controller = zone->create_host(k_controller_host, 1e9);
  zone->seal();
  return controller;
}

sg4::Host* add_controller_host() {
  auto* zone = sg4::create_star_zone("stampede-control");
  zone->set_parent(sg4::Engine::get_instance()->get_netzone_root());
  sg4::Host* h = zone->create_host(k_controller_host, 1e9);
  zone->seal();
  return h;
}

static std::vector<std::string> host_names() {
  std::vector<std::string> names;
  for (const sg4::Host* h : sg4::Engine::get_instance()->get_all_hosts())
    if (h->get_name() != k_controller_host) names.push_back(h->get_name());
  std::sort(names.begin(), names.end());
  return names;
}

sg4::Host* resolve_host(const PlatformOptions& opts, const std::string& node_name) {
  auto it = opts.hosts.find(node_name);
  const std::string& host = it != opts.hosts.end() ? it->second.host : node_name;
  sg4::Host* h = host == k_controller_host ? nullptr : sg4::Host::by_name_or_null(host);
  if (h != nullptr) return h;
  std::string hint = suggest(host, host_names());
  std::string did_you_mean = hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint);
  std::string platform = opts.file.value_or("(built)");
  if (it != opts.hosts.end()) {
    const SourcePos& p = it->second.pos;
    throw InputError(fmt::format("{}:{}:{}: no host '{}' in platform {}{}", p.file, p.line, p.col,
                                 host, platform, did_you_mean));
  }
  // An unmapped node whose name is misspelt in the map: point at the misspelling.
  std::vector<std::string> keys;
  for (const auto& [k, e] : opts.hosts) keys.push_back(k);
  std::string typo = suggest(node_name, keys);
  if (!typo.empty()) {
    const SourcePos& p = opts.hosts.at(typo).key_pos;
    throw InputError(fmt::format("{}:{}:{}: no node '{}' in the scenario (did you mean '{}'?)",
                                 p.file, p.line, p.col, typo, node_name));
  }
  throw InputError(fmt::format(
      "--platform {}: no host for node '{}': name a host '{}' or map the node in {}{}", platform,
      node_name, node_name, opts.file ? host_map_path(*opts.file) : "a host map", did_you_mean));
}

// A name any scenario may have (a map is shared by the scenarios run on one platform, so it may
// list more clients or agents than this one has): only other names are typos.
static bool is_node_name_shape(const std::string& name) {
  if (name == "db" || name.find('/') != std::string::npos) return true;
  for (const char* group : {"server-", "agent-", "zookeeper-", "redis-", "client-"}) {
    std::string g(group);
    if (name.size() > g.size() && name.compare(0, g.size(), g) == 0 &&
        name.find_first_not_of("0123456789", g.size()) == std::string::npos)
      return true;
  }
  return false;
}

void check_host_map(const PlatformOptions& opts, const std::vector<std::string>& node_names) {
  for (const auto& [node, entry] : opts.hosts) {
    if (std::find(node_names.begin(), node_names.end(), node) != node_names.end()) continue;
    if (is_node_name_shape(node)) continue;
    std::string hint = suggest(node, node_names);
    const SourcePos& p = entry.key_pos;
    throw InputError(fmt::format("{}:{}:{}: no node '{}' in the scenario{}", p.file, p.line, p.col,
                                 node,
                                 hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
}

namespace {

// Asks SimGrid for every route between the hosts, in this (forked) process, which exits 0 when
// all were found. Before each question it writes the pair's index to `fd`, so that the parent
// knows which pair a crash was on. SimGrid's own crash report is silenced: the parent says it.
[[noreturn]] void probe_routes(int fd, const std::vector<std::pair<sg4::Host*, sg4::Host*>>& pairs) {
  std::signal(SIGSEGV, SIG_DFL);
  std::signal(SIGBUS, SIG_DFL);
  std::signal(SIGABRT, SIG_DFL);
  const int devnull = ::open("/dev/null", O_WRONLY);
  ::dup2(devnull, STDOUT_FILENO);
  ::dup2(devnull, STDERR_FILENO);
  try {
    for (std::uint32_t i = 0; i < pairs.size(); ++i) {
      if (::write(fd, &i, sizeof i) != sizeof i) ::_exit(3);
      std::vector<sg4::Link*> route;
      double latency_s = 0;
      pairs[i].first->route_to(pairs[i].second, route, &latency_s);
    }
  } catch (...) {
    ::_exit(1);
  }
  ::_exit(0);
}

}  // namespace

void check_routes(const std::string& file, const std::vector<sg4::Host*>& host_of_node) {
  std::vector<std::pair<sg4::Host*, sg4::Host*>> pairs;
  for (sg4::Host* a : host_of_node)
    for (sg4::Host* b : host_of_node)
      if (a != b) pairs.emplace_back(a, b);
  if (pairs.empty()) return;
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("cannot create a pipe to probe the routes");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("cannot fork to probe the platform's routes");
  if (pid == 0) {
    ::close(fds[0]);
    probe_routes(fds[1], pairs);
  }
  ::close(fds[1]);
  std::uint32_t last = 0, i = 0;
  while (::read(fds[0], &i, sizeof i) == sizeof i) last = i;
  ::close(fds[0]);
  int status = 0;
  // Only an interrupted wait is retried: any other failure would loop forever.
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error("cannot wait for the platform's route probe");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const sg4::Host* a = pairs.at(last).first;
  const sg4::Host* b = pairs.at(last).second;
  throw InputError(fmt::format(
      "--platform {}: SimGrid finds no route from host {} (zone '{}') to host {} (zone '{}'): "
      "expected a zoneRoute between their zones, or a route in the zone that holds both",
      file, a->get_name(), a->get_englobing_zone()->get_name(), b->get_name(),
      b->get_englobing_zone()->get_name()));
}

LinkStates::LinkStates(std::vector<sg4::Host*> host_of_node) {
  std::map<const sg4::Link*, std::size_t> index;  // look-ups only; uses_ keeps the order
  for (NodeId a = 0; a < host_of_node.size(); ++a)
    for (NodeId b = 0; b < host_of_node.size(); ++b) {
      if (host_of_node[a] == host_of_node[b]) continue;
      std::vector<sg4::Link*> route;
      double latency_s = 0;
      host_of_node[a]->route_to(host_of_node[b], route, &latency_s);
      for (sg4::Link* l : route) {
        auto [it, fresh] = index.emplace(l, uses_.size());
        if (fresh) uses_.push_back(Use{l, {}});
        uses_[it->second].pairs.emplace_back(a, b);
      }
    }
}

void LinkStates::sync(const Network& net) {
  for (Use& u : uses_) {
    bool needed = std::any_of(u.pairs.begin(), u.pairs.end(),
                              [&](const auto& p) { return net.reachable(p.first, p.second); });
    if (needed && !u.link->is_on()) u.link->turn_on();
    if (!needed && u.link->is_on()) u.link->turn_off();
  }
}

std::size_t LinkStates::links_off() const {
  return static_cast<std::size_t>(
      std::count_if(uses_.begin(), uses_.end(), [](const Use& u) { return !u.link->is_on(); }));
}

}  // namespace stampede::sg
