#pragma once
// What a sweep runs: the cross product of its axes (each `--set KEY=V1,V2,...`) times its seeds,
// in one fixed order, and the slice of it that shard K of N runs. Pure functions of the flags, so
// every shard of a Slurm array or Kubernetes Indexed Job computes the same list.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stampede::analysis {

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// One parameter point: a value per axis, keys sorted, so the point's identity does not depend
// on the order the flags were given in.
using Point = std::vector<std::pair<std::string, std::string>>;

// "KEY=V1,V2,..." -> Axis. Commas split values only at the top level: inside [], {} and quotes
// they belong to the YAML value (`cluster.network.latency={min: 1ms, max: 5ms},2ms` is two
// values). Values are trimmed. Throws BadInput naming the flag on a missing '=', an empty key,
// an empty value list or an empty value.
Axis parse_axis(const std::string& flag);

// "N" -> 1..N; "A..B" -> A..B inclusive. Throws BadInput.
std::vector<std::uint64_t> parse_seeds(const std::string& text);

// The most points a sweep may have (each is a scenario parsed and checked before any run) and
// the most runs (points times seeds; the plan is held in memory). Past them a sweep is refused
// with the flag named, instead of exhausting memory or spending minutes before its first run.
inline constexpr std::uint64_t k_max_points = 10'000;
inline constexpr std::uint64_t k_max_runs = 10'000'000;

// The cross product, first axis outermost. Throws BadInput when a key is given twice or when
// the product has more than k_max_points points.
std::vector<Point> cross_product(const std::vector<Axis>& axes);

// The point as `--set` flags for parse_scenario_with_overrides.
std::vector<std::string> point_overrides(const Point& p);
// Canonical identity stored in the results database: a JSON array of [key, value] pairs.
std::string point_key(const Point& p);
Point point_from_key(const std::string& key);
// "cluster.agents=2 cluster.network.drop=0.1", or "(defaults)" for the empty point.
std::string point_label(const Point& p);

struct Shard {
  int index = 1;  // 1-based
  int count = 1;
};

// "K/N" with 1 <= K <= N. Throws BadInput.
Shard parse_shard(const std::string& text);

// The shard from the environment when --shard is absent (nullopt: the whole sweep):
//   Slurm job array:       K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 (MIN defaults to
//                          0), N = SLURM_ARRAY_TASK_COUNT
//   Kubernetes Indexed Job: K = JOB_COMPLETION_INDEX + 1, N = STAMPEDE_SHARD_COUNT (set it to the
//                          Job's `completions`; Kubernetes does not export it)
// `getenv` is injected so tests need not touch the process environment.
using GetEnv = const char* (*)(const char*);
std::optional<Shard> shard_from_env(GetEnv getenv_fn);

// Run i (0-based, in plan order) belongs to shard (i mod N) + 1: round robin, so every shard
// gets a share of every point (points differ in cost) and the slices are disjoint and cover the
// plan.
bool in_shard(std::size_t run_index, const Shard& s);

struct PlannedRun {
  std::size_t point = 0;  // index into the points
  std::uint64_t seed = 0;
};

// Every point with its seeds, point-major, restricted to the shard. Seeds may differ per point
// (without --seeds each point runs its own scenario's seed).
std::vector<PlannedRun> plan_runs(const std::vector<std::vector<std::uint64_t>>& seeds_per_point,
                                  const Shard& shard);

}  // namespace stampede::analysis
