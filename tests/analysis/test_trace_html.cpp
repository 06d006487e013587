// `stampede export --html`, looked at in a browser: headless Chromium (Debian's `chromium`, in
// scripts/install-deps.sh) opens the page, reports what the page drew (its document.title) and
// takes a screenshot whose lane and arrow colours are counted (png_colours.py). Chromium's
// profile, cache and home are the test's own temp folder, and the network is shut off, so the
// page must draw from what it holds.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>

#include "cli_helpers.hpp"
#include "tests/tmpdir.hpp"

namespace {

// A 62-second cut of agent-partition whose one expectation fails at 61.5 s (the hosts are still
// active half a second into the cut).
std::string failing_trace(const TmpDir& tmp) {
  const Cmd c = stampede_cmd(
      std::string("run ") + SOURCE_DIR +
          "/scenarios/agent-partition.yaml --quiet --set duration=62s --set faults.1.at=61s "
          "--set faults.2.at=62s "
          "--set 'expect=[{at: 61500ms, host_state: {host: agent-1, is: reconnecting}}]' "
          "--trace t.jsonl",
      tmp.path.string());
  REQUIRE(c.rc == 1);
  return tmp / "t.jsonl";
}

// Chromium, headless, with everything it writes inside `tmp` and no network.
std::string chromium(const TmpDir& tmp, const std::string& args) {
  return fmt::format(
      "HOME='{0}' XDG_CONFIG_HOME='{0}/xdg-config' XDG_CACHE_HOME='{0}/xdg-cache' chromium "
      "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
      "--user-data-dir='{0}/profile' --host-resolver-rules='MAP * ~NOTFOUND' "
      "--window-size=1200,900 {1}",
      tmp.path.string(), args);
}

// "lanes=4 arrows=120 ..." from the page's title, as numbers.
std::map<std::string, int> drawn(const std::string& dom) {
  std::smatch m;
  std::map<std::string, int> out;
  REQUIRE(std::regex_search(dom, m, std::regex("<title>([^<]*)</title>")));
  std::istringstream in(m[1].str());
  std::string kv;
  while (in >> kv) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = std::stoi(kv.substr(eq + 1));
  }
  return out;
}

// Pixels of the lane colour and of the arrow colour in a screenshot of the page.
std::pair<int, int> lane_and_arrow_pixels(const TmpDir& tmp, const std::string& page) {
  const std::string shot = tmp / (page + ".png");
  Cmd c = shell_cmd(chromium(tmp, fmt::format("--screenshot='{}' 'file://{}'", shot, tmp / page)),
                    tmp.path.string());
  INFO(c.err);
  REQUIRE(c.rc == 0);
  c = shell_cmd(fmt::format("python3 '{}/tests/analysis/png_colours.py' '{}' 3465a4 cc0000",
                            SOURCE_DIR, shot),
                tmp.path.string());
  INFO(c.err);
  REQUIRE(c.rc == 0);
  int lane = -1, arrow = -1;
  std::istringstream in(c.out);
  std::string colour;
  int n = 0;
  while (in >> colour >> n) (colour == "3465a4" ? lane : arrow) = n;
  return {lane, arrow};
}

}  // namespace

TEST_CASE("the HTML page draws lanes, arrows, faults and the violation in headless Chromium") {
  TmpDir tmp;
  failing_trace(tmp);
  Cmd c = stampede_cmd("export t.jsonl --from 60.9s --to 61.6s --html page.html",
                       tmp.path.string());
  INFO(c.out << c.err);
  REQUIRE(c.rc == 0);
  CHECK_FALSE(std::filesystem::exists(tmp / "page.html.tmp"));
  const std::string html = read_text(tmp / "page.html");
  // Self-contained: nothing is loaded from elsewhere (the SVG namespace is a name, not a fetch).
  for (const char* outside : {"<link", " src=", "https://", "@import"})
    CHECK(html.find(outside) == std::string::npos);

  c = shell_cmd(chromium(tmp, "--dump-dom 'file://" + tmp / "page.html" + "'"),
                tmp.path.string());
  INFO(c.err);
  REQUIRE(c.rc == 0);
  const auto d = drawn(c.out);
  CHECK(d.at("lanes") >= 4);  // server-1, the agents, the clients
  CHECK(d.at("arrows") > 20);
  CHECK(d.at("steps") > 50);
  CHECK(d.at("faults") == 1);  // the partition at 61 s
  CHECK(d.at("violation") == 1);

  const auto [lane, arrow] = lane_and_arrow_pixels(tmp, "page.html");
  CHECK(lane > 4 * 400);  // four lanes at least, 3 px wide, most of the page tall
  CHECK(arrow > 300);

  // One node alone has no messages within the window: the same count finds no arrow colour, so
  // the counts above are the arrows'.
  c = stampede_cmd("export t.jsonl --from 60.9s --to 61.6s --nodes agent-1 --html one.html",
                   tmp.path.string());
  REQUIRE(c.rc == 0);
  const auto [one_lane, one_arrow] = lane_and_arrow_pixels(tmp, "one.html");
  CHECK(one_lane > 600);
  CHECK(one_lane < lane);
  CHECK(one_arrow == 0);
}
