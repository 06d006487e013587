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

// The scenarios directly under `dir` (sorted), each printed under `prefix` + its file's stem when
// a prefix is given (a subfolder's scenario runs by that name: field-issues/rancher-6334).
static void list_folder(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    // A SimGrid platform's host map (platforms/NAME.hosts.yaml) is not a scenario.
    if (e.path().extension() == ".yaml" && !e.path().stem().string().ends_with(".hosts"))
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& f : files) {
    try {
      ScenarioSpec s = load_scenario(f.string(), registry());
      // One line each: descriptions run long, and `stampede run NAME` is what the list is for.
      std::string d = s.description;
      while (!d.empty() && std::isspace(static_cast<unsigned char>(d.back()))) d.pop_back();
      if (d.size() > k_description_width) d = d.substr(0, k_description_width - 3) + "...";
      std::string name = prefix.empty() ? s.name : prefix + f.stem().string();
      std::printf("%-24s %s\n", name.c_str(), d.c_str());
    } catch (const std::exception& e) {
      std::printf("%-24s (does not load: %s)\n", f.string().c_str(), e.what());
    }
  }
}

static void list_scenarios() {
  // The top folder's scenarios, then those of each subfolder (field-issues/, known-bugs/, ...).
  const std::filesystem::path root = scenarios_dir();
  list_folder(root, "");
  std::vector<std::filesystem::path> subdirs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec))
    if (e.is_directory(ec)) subdirs.push_back(e.path());
  std::sort(subdirs.begin(), subdirs.end());
  for (const std::filesystem::path& d : subdirs) list_folder(d, d.filename().string() + "/");
}

namespace {

// One table of registered names: its column titles and rows, printed either as the aligned text
// `stampede list` has always printed or as the Markdown table that docs/reference.md holds.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void print_markdown(const Table& t) {
  std::printf("| %s |\n", fmt::format("{}", fmt::join(t.columns, " | ")).c_str());
  std::vector<std::string> rule(t.columns.size(), "---");
  std::printf("| %s |\n", fmt::format("{}", fmt::join(rule, " | ")).c_str());
  for (const auto& row : t.rows) {
    std::vector<std::string> cells;
    for (std::size_t i = 0; i < row.size(); ++i)
      cells.push_back(i == 0 ? fmt::format("`{}`", cell(row[i])) : cell(row[i]));
    std::printf("| %s |\n", fmt::format("{}", fmt::join(cells, " | ")).c_str());
  }
}

Table two_columns(const auto& defs) {
  Table t{{"name", "meaning"}, {}};
  for (const auto& d : defs) t.rows.push_back({d.name, d.description});
  return t;
}

Table metrics_table(const Registry& r) {
  Table t = two_columns(r.metrics());
  // Metrics the run computes itself, beside those the models register.
  t.rows.push_back({"availability:STACK/LB", "fraction of client requests that succeeded"});
  t.rows.push_back({"availability:zookeeper",
                    "fraction of the ZooKeeper probe's writes that committed in time "
                    "(zk_probe_interval)"});
  t.rows.push_back({"convergence_time",
                    "seconds from the last fault until every service is at scale and every host "
                    "active"});
  t.rows.push_back({"repairs",
                    "repairs: a service below its scale (after it first ran at scale) back at "
                    "its scale, counted from what runs on the agents"});
  t.rows.push_back({"repairs_unfinished", "services still below their scale when the run ended"});
  // One row per metric, so that each name is what `report` and the results database take.
  for (const char* pct : {"p50", "p95", "p99"})
    t.rows.push_back({std::string("repair_time_") + pct,
                      std::string("seconds from a service falling below its scale to its being "
                                  "back, nearest-rank ") +
                          pct + " of the run's repairs (absent when it had none)"});
  t.rows.push_back({"repair_time_max",
                    "seconds, the longest of the run's repairs (absent when it had none)"});
  t.rows.push_back({"over_scale_episodes",
                    "times a service had more containers running than its scale"});
  t.rows.push_back({"over_scale_time", "seconds, summed over services, above scale"});
  t.rows.push_back({"faults_injected", "scripted and random faults applied"});
  t.rows.push_back({"steps", "engine steps (starts, deliveries, timers, faults, checks)"});
  t.rows.push_back({"messages_delivered", "messages delivered to live nodes"});
  t.rows.push_back({"simulated_time", "simulated seconds"});
  t.rows.push_back({"wall_time", "wall-clock seconds the run took (printed by run)"});
  return t;
}

Table timings_table(const Registry& r) {
  Table t{{"name", "default", "range", "what", "source"}, {}};
  for (const auto& d : r.timings()) {
    auto value = [&d](std::int64_t v) {
      return d.unit == TimingUnit::duration ? format_duration(v) : std::to_string(v);
    };
    t.rows.push_back({d.name, value(d.default_value),
                      fmt::format("{}..{}", value(d.min_value), value(d.max_value)), d.description,
                      d.source});
  }
  return t;
}

Table events_table(const Registry& r) {
  Table t{{"name", "fields", "meaning"}, {}};
  for (const auto& e : r.events())
    t.rows.push_back({e.name, fmt::format("{}", fmt::join(e.fields, ", ")), e.description});
  return t;
}

Table table_of(const std::string& what) {
  const Registry& r = registry();
  if (what == "invariants") return two_columns(r.invariants());
  if (what == "metrics") return metrics_table(r);
  if (what == "timings") return timings_table(r);
  if (what == "mechanisms") return two_columns(r.mechanisms());
  if (what == "signals") return two_columns(r.signals());
  if (what == "events") return events_table(r);
  return two_columns(r.log_messages());  // logs
}

// The text layout of each kind, unchanged since `list` was first written (scripts read it).
void print_text(const std::string& what, const Table& t) {
  for (const auto& row : t.rows) {
    if (what == "timings") {
      std::printf("%-40s %-8s %s  [range: %s]  [source: %s]\n", row[0].c_str(), row[1].c_str(),
                  row[3].c_str(), row[2].c_str(), row[4].c_str());
    } else if (what == "events") {
      std::printf("%-36s {%s}  %s\n", row[0].c_str(), row[1].c_str(), row[2].c_str());
    } else {
      int width = what == "signals" ? 36 : what == "logs" ? 48 : 28;
      std::printf("%-*s %s\n", width, row[0].c_str(), row[1].c_str());
    }
  }
}

}  // namespace

int cmd_list(const std::string& what, bool markdown) {
  if (what == "scenarios") {
    list_scenarios();
    return k_exit_ok;
  }
  Table t = table_of(what);
  if (markdown)
    print_markdown(t);
  else
    print_text(what, t);
  return k_exit_ok;
}

}  // namespace stampede::cli
