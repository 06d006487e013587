// `stampede list`: the scenarios on disk and every name a scenario may use.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "cli/app.hpp"
#include "sim/scenario/scenario.hpp"

namespace stampede::cli {

static constexpr std::size_t k_description_width = 76;

static void list_scenarios() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(scenarios_dir(), ec))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    try {
      ScenarioSpec s = load_scenario(f, registry());
      // One line each: descriptions run long, and `stampede run NAME` is what the list is for.
      std::string d = s.description;
      while (!d.empty() && std::isspace(static_cast<unsigned char>(d.back()))) d.pop_back();
      if (d.size() > k_description_width) d = d.substr(0, k_description_width - 3) + "...";
      std::printf("%-24s %s\n", s.name.c_str(), d.c_str());
    } catch (const std::exception& e) {
      std::printf("%-24s (does not load: %s)\n", f.c_str(), e.what());
    }
  }
}

int cmd_list(const std::string& what) {
  const Registry& r = registry();
  if (what == "scenarios") {
    list_scenarios();
  } else if (what == "invariants") {
    for (const auto& i : r.invariants()) std::printf("%-28s %s\n", i.name.c_str(), i.description.c_str());
  } else if (what == "metrics") {
    for (const auto& m : r.metrics()) std::printf("%-28s %s\n", m.name.c_str(), m.description.c_str());
    std::printf("%-28s %s\n", "availability:STACK/LB", "fraction of client requests that succeeded");
    std::printf("%-28s %s\n", "availability:zookeeper",
                "fraction of the ZooKeeper probe's writes that committed in time (zk_probe_interval)");
    std::printf("%-28s %s\n", "convergence_time", "seconds from the last fault until every service is at scale and every host active");
    std::printf("%-28s %s\n", "faults_injected", "scripted and random faults applied");
    std::printf("%-28s %s\n", "steps", "engine steps (starts, deliveries, timers, faults, checks)");
    std::printf("%-28s %s\n", "messages_delivered", "messages delivered to live nodes");
    std::printf("%-28s %s\n", "simulated_time", "simulated seconds");
    std::printf("%-28s %s\n", "wall_time", "wall-clock seconds the run took (printed by run)");
  } else if (what == "timings") {
    for (const auto& t : r.timings()) {
      std::string v = t.unit == TimingUnit::duration ? format_duration(t.default_value)
                                                     : std::to_string(t.default_value);
      std::printf("%-40s %-8s %s  [source: %s]\n", t.name.c_str(), v.c_str(), t.description.c_str(),
                  t.source.c_str());
    }
  } else if (what == "mechanisms") {
    for (const auto& m : r.mechanisms()) std::printf("%-28s %s\n", m.name.c_str(), m.description.c_str());
  } else if (what == "signals") {
    for (const auto& s : r.signals()) std::printf("%-36s %s\n", s.name.c_str(), s.description.c_str());
  } else if (what == "events") {
    for (const auto& e : r.events())
      std::printf("%-36s {%s}  %s\n", e.name.c_str(), fmt::format("{}", fmt::join(e.fields, ", ")).c_str(),
                  e.description.c_str());
  } else if (what == "logs") {
    for (const auto& l : r.log_messages()) std::printf("%-48s %s\n", l.name.c_str(), l.description.c_str());
  }
  return k_exit_ok;
}

}  // namespace stampede::cli
