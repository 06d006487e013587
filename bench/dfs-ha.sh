#!/usr/bin/env bash
# dfs on the HA scenarios against an older stampede (issue 17: "dfs on HA scenarios >= 10x
# faster"): the same `explore --strategy dfs` searches, run by this checkout's binary
# and by a base revision's, each on its own checkout's scenario files. The two trees model
# different things (the models grew between them), so the searches are not the same tree; what is
# compared is throughput: distinct states per CPU second, and CPU per run.
#
#   bench/dfs-ha.sh --base REV [--runs N] [--repeat R] [--build-dir DIR]
#   bench/dfs-ha.sh --base-root DIR ...   # an older checkout whose DIR/build/cli/stampede is built
#
# --base REV checks REV out into ${TMPDIR:-/tmp}/stampede-base-REV (a git worktree, made once) and
# builds its stampede target there: 5-10 minutes the first time. Defaults: --runs 2000 for the
# unfaulted scenarios and 15x that for known bug (b)'s plain dfs, --repeat 3 (the median CPU of
# each binary is used). Nothing fails on slowness; the lead records the table in bench/RESULTS.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$root/build
runs=2000
repeat=3
base_rev=""
base_root=""
while (($#)); do
  case $1 in
    --base) base_rev=${2:?--base needs a revision}; shift ;;
    --base-root) base_root=$(realpath -m "${2:?--base-root needs a directory}"); shift ;;
    --runs) runs=${2:?--runs needs a value}; shift ;;
    --repeat) repeat=${2:?--repeat needs a value}; shift ;;
    --build-dir) build_dir=$(realpath -m "${2:?--build-dir needs a value}"); shift ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dfs-ha.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z $base_rev && -z $base_root ]]; then
  echo "dfs-ha.sh: no base given: expected --base REV or --base-root DIR (try --help)" >&2
  exit 2
fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "dfs-ha.sh: --runs '$runs': expected a positive integer" >&2; exit 2; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "dfs-ha.sh: --repeat '$repeat': expected a positive integer" >&2; exit 2; }

if [[ -n $base_rev ]]; then
  sha=$(git -C "$root" rev-parse --verify --quiet "$base_rev^{commit}") ||
    { echo "dfs-ha.sh: --base '$base_rev': not a commit of $root (try a hash from git log)" >&2; exit 2; }
  base_root=${TMPDIR:-/tmp}/stampede-base-${sha:0:12}
  if [[ ! -d $base_root ]]; then
    echo "dfs-ha.sh: checking out ${sha:0:12} into $base_root" >&2
    git -C "$root" worktree add --detach "$base_root" "$sha" >/dev/null
  fi
  if [[ ! -x $base_root/build/cli/stampede ]]; then
    echo "dfs-ha.sh: building the base's stampede (5-10 minutes the first time)" >&2
    cmake -S "$base_root" -B "$base_root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$base_root/build" --target stampede -j "$(nproc)" >/dev/null
  fi
fi
base_bin=$base_root/build/cli/stampede
[[ -x $base_bin ]] || { echo "dfs-ha.sh: $base_bin is not built" >&2; exit 2; }
cmake --build "$build_dir" --target stampede >/dev/null
new_bin=$build_dir/cli/stampede

# Known bug (b)'s scenario with its scripted pause removed, one pause for the explorer to place,
# as bench/RESULTS.md's dfs17 section searched it. Later binaries place faults first unless told
# not to; --no-placements keeps their search the plain dfs the base runs.
b_flags=(--set 'faults=[]' --faults pause --max-faults 1 --max-delay 5ms
  --set cluster.mechanisms.cattle_stop_stray_copies=true --state-clock --max-steps 2000)

# Prints "STATES RUNS CPU_SECONDS" for one search: the median CPU of `repeat` runs.
measure() {
  local bin=$1 dir=$2 scenario=$3 n=$4
  shift 4
  local cpus=() out="" TIMEFORMAT=%U t
  for ((i = 1; i <= repeat; i++)); do
    t=$({ time (cd "$dir" && "$bin" explore "$scenario" --strategy dfs --runs "$n" --quiet \
      --out "$tmp/trace.jsonl" "$@" \
      >"$tmp/out" 2>&1); } 2>&1) || { echo "dfs-ha.sh: $bin failed on $scenario:" >&2; cat "$tmp/out" >&2; exit 1; }
    out=$(cat "$tmp/out")
    cpus+=("$t")
  done
  local states done_runs cpu
  states=$(sed -n 's/.*distinct states \([0-9]*\).*/\1/p' <<<"$out")
  done_runs=$(sed -n 's/^runs \([0-9]*\).*/\1/p' <<<"$out")
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$states $done_runs $cpu"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "base: $base_bin"
echo "new:  $new_bin"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| search | runs | base states | base CPU s | base states/CPU s | new states | new CPU s | new states/CPU s | states/CPU s new/base | CPU per run base/new |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row() {
  local name=$1 b=$2 n=$3
  read -r bs br bc <<<"$b"
  read -r ns nr nc <<<"$n"
  awk -v name="$name" -v bs="$bs" -v br="$br" -v bc="$bc" -v ns="$ns" -v nr="$nr" -v nc="$nc" 'BEGIN {
    floor = 0.005  # CPU is printed to 10 ms; a search under that counts as 5 ms
    if (bc < floor) bc = floor; if (nc < floor) nc = floor
    printf "| %s | %d | %d | %.2f | %.0f | %d | %.2f | %.0f | %.1fx | %.1fx |\n", name, nr, bs, bc,
      bs / bc, ns, nc, ns / nc, (ns / nc) / (bs / bc), (bc / br) / (nc / nr) }'
}
for f in "$root"/scenarios/ha-*.yaml; do
  s=scenarios/$(basename "$f")
  [[ -f $base_root/$s ]] || continue
  b=$(measure "$base_bin" "$base_root" "$s" "$runs")
  n=$(measure "$new_bin" "$root" "$s" "$runs")
  row "$s" "$b" "$n"
done
s=scenarios/known-bugs/ha-stale-lock-holder.yaml
if [[ -f $base_root/$s ]]; then
  new_extra=()
  [[ $("$new_bin" explore --help 2>&1) == *--no-placements* ]] && new_extra=(--no-placements)
  base_extra=()
  [[ $("$base_bin" explore --help 2>&1) == *--no-placements* ]] && base_extra=(--no-placements)
  b=$(measure "$base_bin" "$base_root" "$s" $((runs * 15)) "${b_flags[@]}" "${base_extra[@]}")
  n=$(measure "$new_bin" "$root" "$s" $((runs * 15)) "${b_flags[@]}" "${new_extra[@]}")
  row "(b) plain dfs, pause on any node" "$b" "$n"
fi
