#include "analysis/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "analysis/csv.hpp"
#include "analysis/errors.hpp"
#include "analysis/study_table.hpp"
#include "analysis/summary.hpp"

namespace stampede::analysis {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t k_max_cdf_curves = 12;  // more curves than this are unreadable

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::optional<double> as_number(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string gp_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string value_of(const Point& p, const std::string& key) {
  for (const auto& [k, v] : p)
    if (k == key) return v;
  return "";
}

// The points arranged for an x-y plot: x is the first swept axis (numeric when every value is a
// number, else categories in first-seen order), one series per combination of the other axes.
struct Layout {
  std::string x_axis;  // empty: one point, plotted at x = 0
  bool numeric = true;
  std::vector<std::string> categories;
  std::vector<std::pair<std::string, std::vector<const PointSummary*>>> series;
  double x_of(const PointSummary& s) const {
    if (x_axis.empty()) return 0.0;
    const std::string v = value_of(s.point, x_axis);
    if (numeric) return *as_number(v);
    return static_cast<double>(std::find(categories.begin(), categories.end(), v) -
                               categories.begin());
  }
};

Layout layout(const std::vector<PointSummary>& sums) {
  Layout l;
  const auto swept = swept_axes(sums);
  if (!swept.empty()) l.x_axis = swept.front();
  for (const auto& s : sums) {
    const std::string v = value_of(s.point, l.x_axis);
    if (!l.x_axis.empty() && !as_number(v)) l.numeric = false;
    if (std::find(l.categories.begin(), l.categories.end(), v) == l.categories.end())
      l.categories.push_back(v);
    std::string name;
    for (std::size_t i = 1; i < swept.size(); ++i)
      name += (name.empty() ? "" : " ") + swept[i] + "=" + value_of(s.point, swept[i]);
    auto it = std::find_if(l.series.begin(), l.series.end(),
                           [&](const auto& e) { return e.first == name; });
    if (it == l.series.end()) {
      l.series.push_back({name, {}});
      it = l.series.end() - 1;
    }
    it->second.push_back(&s);
  }
  if (l.x_axis.empty()) l.numeric = true;
  for (auto& [_, pts] : l.series)
    std::stable_sort(pts.begin(), pts.end(), [&](const PointSummary* a, const PointSummary* b) {
      return l.x_of(*a) < l.x_of(*b);
    });
  return l;
}

std::string preamble(const std::string& svg, const std::string& title, const Layout& l,
                     const std::string& ylabel) {
  std::string gp =
      "set terminal svg size 900,560 dynamic enhanced font 'sans,11' background "
      "rgb 'white'\n";
  gp += "set output " + gp_quote(svg) + "\n";
  gp += "set title " + gp_quote(title) + " noenhanced\n";
  gp += "set xlabel " + gp_quote(l.x_axis.empty() ? "(one parameter point)" : l.x_axis) +
        " noenhanced\n";
  gp += "set ylabel " + gp_quote(ylabel) + " noenhanced\n";
  gp += "set grid\nset key below noenhanced\nset offsets 0.5, 0.5, 0, 0\n";
  if (!l.numeric || l.x_axis.empty()) {
    gp += "set xtics (";
    for (std::size_t i = 0; i < l.categories.size(); ++i)
      gp += fmt::format("{}{} {}", i ? ", " : "",
                        gp_quote(l.categories[i].empty() ? "defaults" : l.categories[i]), i);
    gp += ")\n";
  }
  return gp;
}

std::string series_title(const std::string& base, const std::string& series) {
  return series.empty() ? base : base + " (" + series + ")";
}

struct PlotJob {
  fs::path script;
  fs::path svg;
};

// Availability with its interval, and the baseline where the points have one.
std::optional<PlotJob> availability_plot(const std::vector<PointSummary>& sums, const Layout& l,
                                         const fs::path& dir, const std::string& stem,
                                         const std::string& title) {
  std::string metric;
  for (const auto& s : sums)
    if (s.availability) metric = s.availability_metric;
  if (metric.empty()) return std::nullopt;
  std::string dat;
  bool any_baseline = false;
  for (const auto& [name, pts] : l.series) {
    dat += "# " + (name.empty() ? std::string("all points") : name) + "\n";
    for (const PointSummary* p : pts) {
      if (!p->availability) continue;
      dat += fmt::format("{} {:.6f} {:.6f} {:.6f} {}\n", l.x_of(*p), p->availability->mean,
                         p->availability->low, p->availability->high,
                         p->baseline_availability ? fmt::format("{:.6f}", *p->baseline_availability)
                                                  : std::string("NaN"));
      any_baseline = any_baseline || p->baseline_availability.has_value();
    }
    dat += "\n\n";
  }
  const fs::path data = dir / (stem + "-availability.dat");
  PlotJob job{dir / (stem + "-availability.gp"), dir / (stem + "-availability.svg")};
  write_text(data, dat);
  std::string gp = preamble(job.svg.filename().string(), title + ": availability", l,
                            metric + " (mean, 95% interval)");
  std::string plots;
  for (std::size_t i = 0; i < l.series.size(); ++i) {
    plots += fmt::format("{}{} index {} using 1:2:3:4 with yerrorlines lw 1.5 pt 7 title {}",
                         plots.empty() ? "" : ", \\\n     ", gp_quote(data.filename().string()), i,
                         gp_quote(series_title("measured", l.series[i].first)));
    if (any_baseline)
      plots += fmt::format(", \\\n     {} index {} using 1:5 with linespoints dt 2 pt 6 title {}",
                           gp_quote(data.filename().string()), i,
                           gp_quote(series_title("binomial baseline", l.series[i].first)));
  }
  write_text(job.script, gp + "plot " + plots + "\n");
  return job;
}

std::optional<PlotJob> violation_plot(const std::vector<PointSummary>& sums, const Layout& l,
                                      const fs::path& dir, const std::string& stem,
                                      const std::string& title) {
  std::string dat;
  for (const auto& [name, pts] : l.series) {
    dat += "# " + (name.empty() ? std::string("all points") : name) + "\n";
    for (const PointSummary* p : pts)
      if (p->violation_rate)
        dat += fmt::format("{} {:.6f} {:.6f} {:.6f}\n", l.x_of(*p), p->violation_rate->mean,
                           p->violation_rate->low, p->violation_rate->high);
    dat += "\n\n";
  }
  (void)sums;
  const fs::path data = dir / (stem + "-violations.dat");
  PlotJob job{dir / (stem + "-violations.gp"), dir / (stem + "-violations.svg")};
  write_text(data, dat);
  std::string gp = preamble(job.svg.filename().string(), title + ": violation rate", l,
                            "runs that failed (rate, 95% Wilson interval)");
  gp += "set yrange [0:1]\n";
  std::string plots;
  for (std::size_t i = 0; i < l.series.size(); ++i)
    plots += fmt::format("{}{} index {} using 1:2:3:4 with yerrorlines lw 1.5 pt 5 title {}",
                         plots.empty() ? "" : ", \\\n     ", gp_quote(data.filename().string()), i,
                         gp_quote(series_title("violation rate", l.series[i].first)));
  write_text(job.script, gp + "plot " + plots + "\n");
  return job;
}

// Empirical CDF of the convergence time, one curve per point.
std::optional<PlotJob> convergence_plot(const std::vector<PointSummary>& sums, const fs::path& dir,
                                        const std::string& stem, const std::string& title) {
  std::string dat;
  std::vector<std::string> titles;
  for (const auto& s : sums) {
    if (s.convergence_s.empty() || titles.size() == k_max_cdf_curves) continue;
    auto xs = s.convergence_s;
    std::sort(xs.begin(), xs.end());
    // The fraction is over all the point's runs, so runs that never converged keep the curve
    // below 1.
    const double n = static_cast<double>(s.runs);
    dat += fmt::format("# {}\n{:.6f} 0\n", point_label(s.point), xs.front());
    for (std::size_t i = 0; i < xs.size(); ++i)
      dat += fmt::format("{:.6f} {:.6f}\n", xs[i], static_cast<double>(i + 1) / n);
    dat += "\n\n";
    titles.push_back(point_label(s.point));
  }
  if (titles.empty()) return std::nullopt;
  const fs::path data = dir / (stem + "-convergence.dat");
  PlotJob job{dir / (stem + "-convergence.gp"), dir / (stem + "-convergence.svg")};
  write_text(data, dat);
  std::string gp =
      "set terminal svg size 900,560 dynamic enhanced font 'sans,11' background "
      "rgb 'white'\n";
  gp += "set output " + gp_quote(job.svg.filename().string()) + "\n";
  gp += "set title " + gp_quote(title + ": convergence time after the last fault (CDF)") +
        " noenhanced\n";
  gp += "set xlabel 'seconds'\nset ylabel 'fraction of runs converged'\nset yrange [0:1.05]\n";
  gp += "set grid\nset key below noenhanced\n";
  std::string plots;
  for (std::size_t i = 0; i < titles.size(); ++i)
    plots += fmt::format("{}{} index {} using 1:2 with steps lw 1.5 title {}",
                         plots.empty() ? "" : ", \\\n     ", gp_quote(data.filename().string()), i,
                         gp_quote(titles[i]));
  write_text(job.script, gp + "plot " + plots + "\n");
  return job;
}

// The study table's means with their bootstrap intervals against the first swept axis: one line
// per metric of `columns` and combination of the other axes, and the baseline point's mean of
// each metric as a dashed horizontal line.
std::optional<PlotJob> study_plot(const StudyTable& t, const std::vector<std::size_t>& columns,
                                  const Layout& l, const fs::path& dir, const std::string& stem,
                                  const std::string& what, const std::string& title) {
  std::map<std::string, const StudyRow*> by_key;
  for (const StudyRow& r : t.rows) by_key[r.key] = &r;
  std::string dat, plots;
  const std::string data = stem + "-" + what + ".dat";
  int index = 0;
  bool any = false;
  for (std::size_t c : columns) {
    const StudyRow* base = by_key.count(t.baseline) ? by_key.at(t.baseline) : nullptr;
    for (const auto& [name, pts] : l.series) {
      dat += "# " + t.columns[c].metric + (name.empty() ? "" : " (" + name + ")") + "\n";
      for (const PointSummary* p : pts) {
        const StudyCell& cell = by_key.at(p->key)->cells[c];
        if (!cell.value) continue;
        any = true;
        dat += fmt::format("{} {:.6f} {:.6f} {:.6f}\n", l.x_of(*p), cell.value->mean,
                           cell.value->low, cell.value->high);
      }
      dat += "\n\n";
      plots += fmt::format("{}{} index {} using 1:2:3:4 with yerrorlines lw 1.5 pt 7 title {}",
                           plots.empty() ? "" : ", \\\n     ", gp_quote(data), index++,
                           gp_quote(series_title(t.columns[c].header, name)));
    }
    if (base && base->cells[c].value)
      plots += fmt::format(", \\\n     {:.6f} with lines dt 2 lw 1 title {}",
                           base->cells[c].value->mean,
                           gp_quote(t.columns[c].header + ", baseline " +
                                    point_label(base->point)));
  }
  if (!any) return std::nullopt;
  write_text(dir / data, dat);
  PlotJob job{dir / (stem + "-" + what + ".gp"), dir / (stem + "-" + what + ".svg")};
  std::string gp = preamble(job.svg.filename().string(), title, l,
                            "mean over runs, 95% bootstrap interval");
  write_text(job.script, gp + "plot " + plots + "\n");
  return job;
}

// Runs gnuplot in the plot folder (the scripts use relative paths); false when it fails.
bool draw(const std::string& gnuplot, const PlotJob& job, std::string& error) {
  const fs::path log = job.script.parent_path() / (job.script.stem().string() + ".log");
  const std::string cmd = "cd " + shell_quote(job.script.parent_path().string()) + " && " +
                          shell_quote(gnuplot) + " " + shell_quote(job.script.filename().string()) +
                          " > " + shell_quote(log.filename().string()) + " 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0 || !fs::exists(job.svg)) {
    std::ifstream in(log);
    std::string first;
    std::getline(in, first);
    error = job.script.filename().string() + ": gnuplot failed" +
            (first.empty() ? std::string() : ": " + first);
    return false;
  }
  fs::remove(log);
  return true;
}

bool gnuplot_available(const std::string& gnuplot) {
  return std::system((shell_quote(gnuplot) + " --version > /dev/null 2>&1").c_str()) == 0;
}

// The line under a scenario's heading: how many runs, points and runs per point, what was swept,
// by which versions of stampede.
std::string scenario_overview(const std::vector<RunRow>& runs,
                              const std::vector<PointSummary>& sums) {
  const auto swept = swept_axes(sums);
  std::set<std::string> versions;
  std::size_t min_runs = runs.size(), max_runs = 0;
  for (const auto& r : runs) versions.insert(r.version);
  for (const auto& s : sums) {
    min_runs = std::min(min_runs, s.runs);
    max_runs = std::max(max_runs, s.runs);
  }
  return fmt::format(
      "{} runs over {} parameter point(s), {}{} run(s) per point; swept: {}; "
      "stampede version(s): {}.\n\n",
      runs.size(), sums.size(), min_runs == max_runs ? "" : fmt::format("{}..", min_runs),
      max_runs,
      swept.empty() ? std::string("nothing (one point)")
                    : fmt::format("`{}`", fmt::join(swept, "`, `")),
      fmt::join(versions, ", "));
}

// A scenario's three plots: each drawn (when gnuplot can) and linked, or named as not drawn.
std::string plot_section(const std::vector<PointSummary>& sums, const StudyTable& study,
                         const fs::path& plots, const std::string& stem, const std::string& name,
                         const ReportOptions& options, bool can_draw, ReportFiles& files) {
  std::string md;
  const Layout l = layout(sums);
  std::vector<std::pair<std::string, std::optional<PlotJob>>> jobs = {
      {"Availability", availability_plot(sums, l, plots, stem, name)},
      {"Convergence time", convergence_plot(sums, plots, stem, name)},
      {"Violation rate", violation_plot(sums, l, plots, stem, name)},
      {"Availability (bootstrap, baseline)",
       study_plot(study, {0}, l, plots, stem, "availability-bootstrap",
                  name + ": availability against the baseline")},
      {"Repair time (bootstrap, baseline)",
       study_plot(study, {1, 2}, l, plots, stem, "repair-bootstrap",
                  name + ": repair time p50 and p95 (s) against the baseline")},
  };
  for (const auto& [what, job] : jobs) {
    if (!job) {
      md += fmt::format("{}: no data to plot.\n\n", what);
      continue;
    }
    std::string err;
    if (can_draw && draw(options.gnuplot, *job, err)) {
      files.plots.push_back(job->svg.string());
      md += fmt::format("![{}](plots/{})\n\n", what, job->svg.filename().string());
    } else {
      if (can_draw) files.warnings.push_back(err);
      md += fmt::format("{}: not drawn; run `gnuplot {}` in `plots/`.\n\n", what,
                        job->script.filename().string());
    }
  }
  return md;
}

// The study table of one scenario (study_table.hpp), and its section of report.md.
StudyTable scenario_study(const std::vector<RunRow>& runs, const std::vector<PointSummary>& sums,
                          const ReportOptions& options) {
  std::vector<std::string> keys;
  for (const auto& s : sums) keys.push_back(s.key);
  const std::string baseline =
      options.baseline.empty() ? std::string() : find_baseline(keys, options.baseline);
  const std::string metric = sums.front().availability_metric.empty()
                                 ? std::string("availability")
                                 : sums.front().availability_metric;
  return study_table(runs, study_columns(metric), baseline, options.bootstrap_seed);
}

std::string study_section(const StudyTable& t, const ScenarioRow& sc,
                          const ReportOptions& options, ReportFiles& files) {
  const std::string how =
      options.baseline.empty() ? "the first point" : "`--baseline " + options.baseline + "`";
  std::string md = fmt::format(
      "Means over runs with 95% percentile-bootstrap intervals ({} resamples of the runs, "
      "bootstrap seed {}); differences from the baseline point `{}` ({}).\n\n",
      k_bootstrap_resamples, options.bootstrap_seed, point_label(point_from_key(t.baseline)), how);
  md += format_study_markdown(t) + "\n";
  files.study_tables += fmt::format("{} (scenario hash {})\n\n", sc.name, sc.hash) + md;
  return md;
}

// One scenario's section of the report (empty when it has no runs).
std::string scenario_section(const ResultsDb& db, const ScenarioRow& sc, const fs::path& plots,
                             const ReportOptions& options, bool can_draw, ReportFiles& files) {
  const auto runs = db.runs(sc.hash);
  if (runs.empty()) return {};
  const auto sums = summarise(runs, db.points(sc.hash), {}, options.availability_metric);
  const std::string stem = sc.name + "-" + sc.hash.substr(0, 8);
  std::string md = fmt::format("## {} (`{}`, scenario hash `{}`)\n\n", sc.name, sc.file, sc.hash);
  md += scenario_overview(runs, sums);
  md += format_markdown_table(sums) + "\n";
  const StudyTable study = scenario_study(runs, sums, options);
  md += study_section(study, sc, options, files);
  md += plot_section(sums, study, plots, stem, sc.name, options, can_draw, files);
  std::set<std::string> notes;
  for (const auto& s : sums)
    if (s.baseline_availability && !s.baseline_note.empty()) notes.insert(s.baseline_note);
  for (const auto& n : notes) md += "Baseline: " + n + "\n\n";
  return md;
}

}  // namespace

ReportFiles write_report(const ResultsDb& db, const std::string& out_dir,
                         const ReportOptions& options) {
  ReportFiles files;
  const fs::path dir(out_dir);
  const fs::path plots = dir / "plots";
  std::error_code ec;
  fs::create_directories(plots, ec);
  if (ec) throw BadInput(out_dir + ": cannot create the report folder: " + ec.message());

  const bool can_draw = !options.gnuplot.empty() && gnuplot_available(options.gnuplot);
  if (!can_draw)
    files.warnings.push_back(
        "gnuplot not found (install gnuplot-nox): wrote the plot scripts "
        "under plots/ but drew no SVG");

  const auto scenarios = db.scenarios();
  std::string md = "# stampede results\n\n";
  md += fmt::format("Database `{}`: {} runs of {} scenario(s). Report by stampede {}.\n\n",
                    db.path(), db.run_count(), scenarios.size(), options.version);
  md +=
      "Availability is the mean over runs with a 95% Student-t interval; violation rates have "
      "95% Wilson intervals; convergence percentiles are nearest-rank over the runs that "
      "converged. Every run is in `runs.csv`.\n\n";
  for (const auto& sc : scenarios) md += scenario_section(db, sc, plots, options, can_draw, files);
  write_text(dir / "runs.csv", results_csv(db));
  files.markdown = (dir / "report.md").string();
  write_text(files.markdown, md);
  return files;
}

}  // namespace stampede::analysis
