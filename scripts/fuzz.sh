#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang under ASan+UBSan and runs each in turn:
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS] [BUILD_DIR]      # defaults: 60, build-fuzz
#   FUZZ_HARNESSES="scenario trace" scripts/fuzz.sh 600   # only some
#
# Each harness starts from its committed corpus (fuzz/corpus/NAME: seeds and every input that
# once crashed, so each finding stays a regression test) plus the repository's own inputs
# (scenarios/, the CLI fixtures, the platforms' host maps), and adds what it finds new to
# BUILD_DIR/corpus/NAME. A crash, a sanitizer report, a leak, a hang (-timeout) or memory past
# -rss_limit_mb stops the harness, leaves the input as BUILD_DIR/artifacts/NAME-crash-* and
# makes the script exit 1. The last lines print each harness's executions and coverage.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
build=${2:-$root/build-fuzz}
harnesses=${FUZZ_HARNESSES:-scenario set_value trace results_db platform}
cxx=${FUZZ_CXX:-clang++-14}

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found: scripts/install-deps.sh installs clang-14 and libclang-rt-14-dev" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# The harnesses link the normal g++ build's libraries (fuzz/CMakeLists.txt): build those first.
normal=${STAMPEDE_BUILD:-$root/build}
[[ -f $normal/CMakeCache.txt ]] ||
  cmake -S "$root" -B "$normal" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$normal" -j "${JOBS:-$(nproc)}" --target stampede_models stampede_explore \
  stampede_analysis stampede_simgrid
# -O1 with line tables: libFuzzer's advice for the instrumented readers.
cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" -DSTAMPEDE_BUILD="$normal" \
  -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" >/dev/null
targets=()
for h in $harnesses; do targets+=("fuzz_$h"); done
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"

# The repository's own inputs, as extra read-only seed folders.
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds/scenario" "$seeds/platform" "$build/artifacts"
find "$root/scenarios" "$root/tests/cli/fixtures" -name '*.yaml' ! -name '*.hosts.yaml' \
  -exec cp {} "$seeds/scenario/" \;
find "$root/scenarios" "$root/tests/cli/fixtures" -name '*.hosts.yaml' -exec cp {} "$seeds/platform/" \;

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for h in $harnesses; do
  mkdir -p "$build/corpus/$h"
  extra=()
  [[ -d $seeds/$h ]] && extra+=("$seeds/$h")
  log=$build/fuzz-$h.log
  echo "fuzz.sh: $h for ${seconds}s"
  if ! "$build/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$h-" \
      "$build/corpus/$h" "$root/fuzz/corpus/$h" "${extra[@]}" >"$log" 2>&1; then
    status=1
    echo "fuzz.sh: $h FOUND A PROBLEM (log: $log, input: $build/artifacts/$h-*):" >&2
    grep -E 'ERROR|SUMMARY|runtime error|deadly signal|timeout|out-of-memory' "$log" | head -5 >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  summary+=("$(printf '%-11s %10s executions in %ss  %s' "$h" "${runs:-?}" "$seconds" "$cov")")
done
printf '%s\n' "${summary[@]}"
exit $status
