// The HA memory keys of `cluster` (server_memory, server_memories; docs/field-notes.md observation 10):
// sizes with units, per-server overrides, and one-line errors with positions.
#include <catch2/catch.hpp>

#include "tests/scenario/helpers.hpp"

using namespace stampede;
using stampede::test::ha;
using stampede::test::require_error;
using Catch::Contains;
using Catch::StartsWith;
using stampede::test::error_of;
using stampede::test::parse;

TEST_CASE("memory sizes parse to whole MiB", "[values][memory]") {
  CHECK(parse_memory_mib("2GiB") == 2048);
  CHECK(parse_memory_mib("512MiB") == 512);
  CHECK(parse_memory_mib("1.5GiB") == 1536);
  CHECK(parse_memory_mib("1TiB") == 1024 * 1024);
  // Decimal units round down to whole MiB, as the kernel counts pages.
  CHECK(parse_memory_mib("4GB") == 3814);
  CHECK(parse_memory_mib("2000MB") == 1907);
  for (const char* bad : {"2", "2G", "2gib", "GiB", "-2GiB", "2 GiB", "0GiB", "0.5MiB", "1.GiB"})
    CHECK_THROWS_AS(parse_memory_mib(bad), std::invalid_argument);
}

TEST_CASE("HA memory keys parse into the cluster spec", "[ha][memory]") {
  ScenarioSpec s = parse(ha("  server_memory: 4GiB\n  server_memories: {server-2: 2GiB}\n"));
  CHECK(s.cluster.server_memory_mib == 4096);
  CHECK(s.cluster.server_memories_mib.at("server-2") == 2048);
  // Left out, memory is not modelled.
  ScenarioSpec plain = parse(ha(""));
  CHECK(plain.cluster.server_memory_mib == 0);
  CHECK(plain.cluster.server_memories_mib.empty());
}

TEST_CASE("a bad memory size is one line with its position", "[ha][memory][errors]") {
  require_error(error_of(ha("  server_memory: 2GiG\n")), "t.yaml:6:18: ",
                "bad memory size '2GiG' for 'server_memory': expected a number and a unit "
                "MiB/GiB/TiB (or MB/GB/TB), e.g. 2GiB");
  require_error(error_of(ha("  server_memory: 2048\n")), "t.yaml:6:18: ",
                "bad memory size '2048'");
  require_error(error_of(ha("  server_memory: [2GiB]\n")), "t.yaml:6:18: ",
                "expected a memory size for 'server_memory', got a list");
  require_error(error_of(ha("  server_memories: {server-2: lots}\n")), "t.yaml:6:31: ",
                "bad memory size 'lots' for 'server-2'");
  require_error(error_of(ha("  server_memories: {server-4: 2GiB}\n")), "t.yaml:6:21: ",
                "unknown server 'server-4' in server_memories: the cluster has "
                "server-1..server-3");
}

TEST_CASE("a misspelt memory key suggests the right one", "[ha][memory][errors]") {
  require_error(error_of(ha("  server_memmory: 2GiB\n")), "t.yaml:6:3: ",
                "(did you mean 'server_memory'?)");
}

TEST_CASE("HA memory keys are refused in single mode", "[ha][memory][errors]") {
  require_error(error_of("name: one\nduration: 1m\ncluster:\n  server_memory: 2GiB\n"),
                "t.yaml:4:3: ", "'server_memory' configures the HA cluster manager");
}

TEST_CASE("HA memory keys can be set with --set", "[ha][memory][overrides]") {
  ScenarioSpec s = parse(ha(""), {"cluster.server_memory=8GiB",
                                  "cluster.server_memories={server-3: 3GiB}"});
  CHECK(s.cluster.server_memory_mib == 8192);
  CHECK(s.cluster.server_memories_mib.at("server-3") == 3072);
  CHECK_THAT(error_of(ha(""), {"cluster.server_memory=plenty"}),
             StartsWith("--set cluster.server_memory: "));
}
