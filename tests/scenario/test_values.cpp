// Durations, rates and suggestions: the small value parsers every section relies on.
#include <catch2/catch.hpp>
#include <stdexcept>

#include "sim/scenario/scenario.hpp"

using namespace stampede;

TEST_CASE("durations take a number and a unit, in exact integer nanoseconds", "[values]") {
  CHECK(parse_duration("90s") == 90 * k_s);
  CHECK(parse_duration("1.5m") == 90 * k_s);
  CHECK(parse_duration("250ms") == 250 * k_ms);
  CHECK(parse_duration("2h") == 2 * k_h);
  CHECK(parse_duration("10us") == 10 * k_us);
  CHECK(parse_duration("5ns") == 5);
  CHECK(parse_duration("0.001s") == k_ms);
  CHECK(parse_duration("-5s") == -5 * k_s);
  CHECK(parse_duration("0") == 0);
  CHECK(parse_duration("0s") == 0);
  CHECK(parse_duration("1.000000001s") == k_s + 1);
}

TEST_CASE("malformed durations are rejected with what was expected", "[values]") {
  for (const char* bad : {"90 secs", "90", "s", "", "1.s", ".5s", "5 s", "5sec", "1e3s", "+5s",
                          "--5s", "5s ", "1,5s", "0x10s"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_duration(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_duration("90 secs"),
                    "expected a number and a unit ns/us/ms/s/m/h, e.g. 90s");
  CHECK_THROWS_WITH(parse_duration("1.5ns"), Catch::Contains("finer than a nanosecond"));
  CHECK_THROWS_WITH(parse_duration("99999999999h"), Catch::Contains("too long"));
}

TEST_CASE("rates become the interval between two events", "[values]") {
  CHECK(parse_rate_interval("20/s") == 50 * k_ms);
  CHECK(parse_rate_interval("3/m") == 20 * k_s);
  CHECK(parse_rate_interval("0.5/s") == 2 * k_s);
  CHECK(parse_rate_interval("1/h") == k_h);
  CHECK(parse_rate_interval("3/s") == 333'333'333);  // rounded to the nearest nanosecond
}

TEST_CASE("malformed rates are rejected", "[values]") {
  for (const char* bad :
       {"5/fortnight", "20", "20/", "/s", "0/s", "20 /s", "20/2s", "-1/s", "20/s/s", "2e9/ns"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_rate_interval(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_rate_interval("5/fortnight"), Catch::Contains("e.g. 20/s"));
}

TEST_CASE("suggest finds the nearest plausible spelling, or nothing", "[values]") {
  std::vector<std::string> keys = {"name", "scale", "links", "health_check"};
  CHECK(suggest("scle", keys) == "scale");
  CHECK(suggest("nmae", keys) == "name");  // a transposition is one edit
  CHECK(suggest("helth_check", keys) == "health_check");
  CHECK(suggest("SCALE", keys) == "scale");  // case does not count
  CHECK(suggest("frobnicate", keys).empty());
  CHECK(suggest("", keys).empty());
  CHECK(suggest("x", {"y"}).empty());  // replacing every letter is no suggestion
  CHECK(suggest("agnets", {"servers", "agents", "zookeeper"}) == "agents");
  CHECK(suggest("zookeper", {"servers", "agents", "zookeeper"}) == "zookeeper");
  CHECK(suggest("ab", {"xy", "ac", "ad"}) == "ac");  // ties go to the first candidate
}
