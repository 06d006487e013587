#!/usr/bin/env bash
# stampede benchmarks, side by side with SimGrid (see bench/RESULTS.md for measured figures).
#
#   bench/run.sh [--quick] [--messages N] [--repeat R] [--build-dir DIR] [--no-build]
#                [--scenario FILE]
#
# 1. Two-node ping-pong of N one-way messages (default 1,000,000; --quick: 100,000), 1 ms one-way
#    latency, 128-byte messages, on the stampede kernel (bench/pingpong_kernel) and on SimGrid s4u
#    (bench/pingpong_simgrid). Each runs R times (default 3; --quick: 1) and the median is kept.
#    Prints messages/s of each and the ratio kernel / SimGrid (target: >= 30x).
# 2. If the CLI is built (DIR/cli/stampede) and scenarios/agent-partition.yaml (or --scenario
#    FILE) exists: that scenario scaled to 1 hour and 50 agents (--quick: 10 minutes), and its
#    simulated-to-wall ratio. Otherwise prints "skipped: ..." and why.
#
# Builds what it needs (Release) unless --no-build. The build directory defaults to build/; if
# that is configured with another build type, build-release/ is used instead, so that figures are
# always from an optimised build. Nothing here is a test: it never fails on slowness.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
messages=1000000
repeat=3
quick=0
build=1
build_dir=$root/build
duration=1h
agents=50
scenario=$root/scenarios/agent-partition.yaml

while (($#)); do
  case $1 in
    --quick) quick=1; messages=100000; repeat=1; duration=10m ;;
    --messages) messages=${2:?--messages needs a value}; shift ;;
    --repeat) repeat=${2:?--repeat needs a value}; shift ;;
    --build-dir) build_dir=$(realpath -m "${2:?--build-dir needs a value}"); shift ;;
    --no-build) build=0 ;;
    --scenario) scenario=$(realpath -m "${2:?--scenario needs a value}"); shift ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $messages =~ ^[0-9]+$ && $messages -gt 0 ]] || { echo "run.sh: --messages must be a positive integer" >&2; exit 2; }
[[ $repeat =~ ^[0-9]+$ && $repeat -gt 0 ]] || { echo "run.sh: --repeat must be a positive integer" >&2; exit 2; }

# --- build -------------------------------------------------------------------------------------
build_type() { sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null; }
if ((build)); then
  if [[ -f $build_dir/CMakeCache.txt && $(build_type "$build_dir") != Release ]]; then
    echo "note: $build_dir is a '$(build_type "$build_dir")' build; using $root/build-release for figures" >&2
    build_dir=$root/build-release
  fi
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    cmake -S "$root" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build_dir" --target pingpong_kernel pingpong_simgrid >/dev/null
  # The CLI is optional here: build it if the tree has it, and go on without it if it fails.
  if [[ -f $root/cli/CMakeLists.txt ]]; then
    cmake --build "$build_dir" --target stampede >"$build_dir/bench-cli-build.log" 2>&1 ||
      echo "note: the stampede CLI did not build (see $build_dir/bench-cli-build.log)" >&2
  fi
fi
kernel_bin=$build_dir/bench/pingpong_kernel
simgrid_bin=$build_dir/bench/pingpong_simgrid
for b in "$kernel_bin" "$simgrid_bin"; do
  [[ -x $b ]] || { echo "run.sh: $b is missing (run without --no-build)" >&2; exit 3; }
done

field() {  # field NAME LINE -> the value of NAME=... in a key=value line
  sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# --- ping-pong -------------------------------------------------------------------------------
mode=full
((quick)) && mode="quick (figures are indicative only)"
echo "stampede bench, $mode  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), build: $build_dir)"
echo
echo "ping-pong: $messages one-way messages, 1 ms latency, 128 B, two nodes, single-threaded, median of $repeat"
declare -A rates sims
for engine in kernel simgrid; do
  bin=$kernel_bin
  [[ $engine == simgrid ]] && bin=$simgrid_bin
  rs=()
  for ((i = 1; i <= repeat; ++i)); do
    line=$("$bin" --messages "$messages" --latency-us 1000 --size 128 2>/dev/null | grep "^$engine ")
    echo "  $line"
    rs+=("$(field msgs_per_s "$line")")
    sims[$engine]=$(field sim_s "$line")
  done
  rates[$engine]=$(printf '%s\n' "${rs[@]}" | median)
done
echo
for engine in kernel simgrid; do
  awk -v e="$engine" -v r="${rates[$engine]}" -v s="${sims[$engine]}" 'BEGIN {
    n = sprintf("%.0f", r); out = ""
    while (length(n) > 3) { out = "," substr(n, length(n) - 2) out; n = substr(n, 1, length(n) - 3) }
    printf "  %-8s %14s msgs/s   (simulated %s s)\n", e, n out, s
  }'
done
ratio=$(awk -v k="${rates[kernel]}" -v s="${rates[simgrid]}" 'BEGIN {printf "%.1f", (s > 0 ? k / s : 0)}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 30) ? "meets the >= 30x target" : "BELOW the >= 30x target"}')
echo "  ratio    kernel / SimGrid = ${ratio}x  ($verdict)"

# --- agent-partition at scale -----------------------------------------------------------------
echo
echo "scenario: agent-partition, duration=$duration, cluster.agents=$agents"
cli=$build_dir/cli/stampede
if [[ ! -x $cli ]]; then
  echo "  skipped: the CLI is not built ($cli does not exist yet)"
  exit 0
fi
if [[ ! -f $scenario ]]; then
  echo "  skipped: $scenario does not exist yet"
  exit 0
fi
cmd=("$cli" run "$scenario" --set "duration=$duration" --set "cluster.agents=$agents")
echo "  \$ ${cmd[*]#"$root"/}"
t0=$(date +%s.%N)
set +e
out=$("${cmd[@]}" 2>&1)
rc=$?
set -e
t1=$(date +%s.%N)
if ((rc != 0 && rc != 1)); then  # 1 = an expectation failed: the run itself is still a run
  echo "  skipped: the CLI exited $rc:"
  tail -5 <<<"$out" | sed 's/^/    /'
  exit 0
fi
metric() { awk -v k="$1" '$1 == k {print $2; exit}' <<<"$out"; }
sim_s=$(metric simulated_time)
wall_s=$(metric wall_time)
steps=$(metric steps)
delivered=$(metric messages_delivered)
verdict=$(awk '$1 == "verdict" {print $2; exit}' <<<"$out")
if [[ -z $sim_s || -z $wall_s ]]; then
  echo "  skipped: could not find simulated_time and wall_time in the CLI's output; it ended with:"
  tail -8 <<<"$out" | sed 's/^/    /'
  exit 0
fi
process_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
awk -v s="$sim_s" -v w="$wall_s" -v p="$process_s" -v e="${steps:-}" -v m="${delivered:-}" -v v="${verdict:-?}" -v rc="$rc" 'BEGIN {
  printf "  simulated %.1f s, wall %.3f s (run), %.3f s (whole process)\n", s, w, p
  printf "  simulated-to-wall ratio: %.0fx (run), %.0fx (whole process)\n", (w > 0 ? s / w : 0), (p > 0 ? s / p : 0)
  if (e != "") printf "  steps: %s (%.0f steps/s)\n", e, (w > 0 ? e / w : 0)
  if (m != "") printf "  messages delivered: %s (%.0f msgs/s)\n", m, (w > 0 ? m / w : 0)
  printf "  verdict: %s (exit %d)\n", v, rc
}'
