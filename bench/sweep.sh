#!/usr/bin/env bash
# Sweep throughput: runs per minute of scenarios/agent-partition.yaml (5 simulated minutes per
# run) with `stampede sweep --jobs J` into a fresh results database, wall clock around the
# whole command (database writes included).
#
#   bench/sweep.sh [--runs N] [--jobs J] [--repeat R] [--build-dir DIR] [--scenario FILE]
#
# Defaults: 400 runs, --jobs 2, 3 repetitions (the median is printed). Builds the stampede target
# (Release) first. Nothing here fails on slowness; the issue's target is >= 20,000 runs/min on
# 2 cores, and the lead records the figure in bench/RESULTS.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=400
jobs=2
repeat=3
build_dir=$root/build
scenario=$root/scenarios/agent-partition.yaml
while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs a value}; shift ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift ;;
    --repeat) repeat=${2:?--repeat needs a value}; shift ;;
    --build-dir) build_dir=$(realpath -m "${2:?--build-dir needs a value}"); shift ;;
    --scenario) scenario=$(realpath -m "${2:?--scenario needs a value}"); shift ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sweep.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

cmake --build "$build_dir" --target stampede >/dev/null
bin=$build_dir/cli/stampede
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rates=()
for ((i = 1; i <= repeat; i++)); do
  rm -f "$work"/r.db*
  start=$(date +%s.%N)
  # Exit 1 only means some run failed an expectation; the throughput is still measured.
  "$bin" sweep "$scenario" --seeds "1..$runs" --jobs "$jobs" --db "$work/r.db" --quiet \
    2>/dev/null || [[ $? -eq 1 ]]
  end=$(date +%s.%N)
  stored=$(sqlite3 "$work/r.db" 'SELECT COUNT(*) FROM runs')
  [[ $stored -eq $runs ]] || { echo "sweep.sh: $stored of $runs runs stored" >&2; exit 1; }
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
  rate=$(awk -v n="$runs" -v t="$secs" 'BEGIN { printf "%.0f", n * 60 / t }')
  echo "run $i: $runs runs in $secs s = $rate runs/min"
  rates+=("$rate")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n |
  awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "sweep throughput: $median runs/min ($(basename "$scenario"), --jobs $jobs, $(nproc) cores," \
  "median of $repeat)"
