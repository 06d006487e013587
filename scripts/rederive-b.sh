#!/usr/bin/env bash
# Recomputes and prints every figure on known bug (b) (scenarios/known-bugs/ha-stale-lock-holder.yaml)
# that the tests pin, each after the command it comes from and the test that pins it. Run it
# after a change that moves the HA walks (a boot, a lock, a message, a timing): the figures move
# with them, and the tests name the old ones.
#
#   scripts/rederive-b.sh [--build DIR] [--write-regression]
#
# Needs DIR/cli/stampede and DIR/tests/explore/test_explore built (default DIR: build). Every
# search is seeded, so two runs on one tree print the same figures; about a minute of CPU.
# Order matters: the first section prints the window of server-1's read under the service's lock
# and where the scenario's scripted pause falls in it. When the pause is outside the window, move
# it (the scenario's `faults:`, its description, tests/ha/test_ha_scenarios.cpp) and run the
# script again: the test_shrink figures search from the scripted pause's instant. With
# --write-regression the shrunk counterexample is written over
# tests/regressions/known-bug-b-stale-lock-holder.off-zk_stale_holder_check.trace.jsonl (update
# its line in tests/regressions/README.md with the figures printed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build
write_regression=0
while (($#)); do
  case $1 in
    --build) build=$(realpath -m "${2:?--build needs a directory}"); shift ;;
    --write-regression) write_regression=1 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rederive-b.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
bin=$build/cli/stampede
tests=$build/tests/explore/test_explore
for f in "$bin" "$tests"; do
  [[ -x $f ]] || { echo "rederive-b.sh: $f is not built (cmake --build $build)" >&2; exit 2; }
done
# Relative to the repository, so that the trace --write-regression writes names its scenario as
# the regression tests read it, not by this checkout's absolute path.
cd "$root"
b=scenarios/known-bugs/ha-stale-lock-holder.yaml
regression=$root/tests/regressions/known-bug-b-stale-lock-holder.off-zk_stale_holder_check.trace.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { printf '\n$ %s\n' "$*"; }
# The walks as the explorer tests search them: the scripted pause removed, the stray-copy stop on.
walk=(--set 'faults=[]' --set cluster.mechanisms.cattle_stop_stray_copies=true)
random_flags=("${walk[@]}" --faults pause --fault-targets server-1 --fault-rate 60 --max-faults 1
  --max-delay 5ms --strategy random --quiet --seed 12)
dfs_flags=("${walk[@]}" --faults pause --max-faults 1 --max-delay 5ms --state-clock --quiet)

# m:ss.mmm of a log line -> milliseconds.
to_ms() { awk -F'[:.]' '{ print ($1 * 60 + $2) * 1000 + $3 }' <<<"$1"; }

echo "== the scripted pause (tests/ha/test_ha_scenarios.cpp, the scenario's faults and description)"
say "stampede run $b --set 'faults=[]' --log debug   (server-1's lock and its read's answer)"
log=$("$bin" run "$b" --set 'faults=[]' --log debug 2>&1)
lock=$(grep -m1 -E 'server-1 +lock service-[0-9]+ acquired; reading its instances' <<<"$log" | awk '{print $1}')
read_at=$(grep -m1 -E 'server-1 +read [0-9]+ instances of service web' <<<"$log" | awk '{print $1}')
echo "server-1 takes the service's lock at $lock and has its read's answer at $read_at"
# To 20 ms after the answer: the second insert, queued behind the first, goes out about 15 ms
# after it, and a pause before that send is a stale action too.
from=$(( $(to_ms "$lock") - 10 )); to=$(( $(to_ms "$read_at") + 20 ))
say "stampede run $b --set 'faults=[{at: T, pause: {node: server-1, for: 60s}}]' for T from ${from} ms to ${to} ms"
stale=() extra=()
for ((ms = from; ms <= to; ms++)); do
  t=$(printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)))
  out=$("$bin" run "$b" --set "faults=[{at: $t, pause: {node: server-1, for: 60s}}]" 2>&1 || true)
  grep -q '✗ {never: lock.no_stale_holder_action}  --' <<<"$out" && stale+=("$ms")
  grep -q '✗ {never: service.scale_exceeded}  --' <<<"$out" && extra+=("$ms")
done
echo "lock.no_stale_holder_action at: ${stale[*]:-none} (ms)"
echo "service.scale_exceeded at:      ${extra[*]:-none} (ms)"
echo "the scenario's pause: $(grep -m1 -oE 'at: [0-9.]+s, pause' "$b")"
say "stampede run $b --log info   (the containers created: test_ha_scenarios.cpp)"
"$bin" run "$b" --log info 2>&1 | grep -E 'created on|✗' | grep -v '^  ✗' || true
say "stampede run $b --set cluster.mechanisms.zk_stale_holder_check=true"
"$bin" run "$b" --set cluster.mechanisms.zk_stale_holder_check=true 2>&1 | grep verdict

echo; echo "== the db outage at server-1's start (tests/ha/test_db_blips.cpp: the writes fail before 18 s)"
say "stampede run $b --seed 24 --set cluster.mechanisms.zk_stale_holder_check=true --set 'faults=[{at: 17s, crash: db}, {at: 21s, restart: db}]' --log info"
"$bin" run "$b" --seed 24 --set cluster.mechanisms.zk_stale_holder_check=true \
  --set 'faults=[{at: 17s, crash: db}, {at: 21s, restart: db}]' --log info 2>&1 |
  grep -E 'server-1 +(write to the database failed|container .* created)|verdict' | head -5

echo; echo "== random (tests/explore/test_explore_cli.cpp, test_hand_minimal.cpp, the regression trace)"
say "stampede explore $b ${random_flags[*]} --runs 5000 --out TRACE"
"$bin" explore "$b" "${random_flags[@]}" --runs 5000 --out "$tmp/b.trace.jsonl" 2>&1 |
  grep -E 'first violation|violated|no violation' || true
pause_step=$(grep -m1 '"k":"fault"' "$tmp/b.trace.jsonl" | sed -E 's/.*"i":([0-9]+),.*"t":([0-9]+).*/\1 (at \2 ns)/')
echo "the pause at step $pause_step"
say "stampede explore $b ${walk[*]} --from TRACE --at ${pause_step%% *} --state-clock --max-steps 2000 --quiet   (the handoff)"
"$bin" explore "$b" "${walk[@]}" --from "$tmp/b.trace.jsonl" --at "${pause_step%% *}" --state-clock \
  --max-steps 2000 --quiet --out "$tmp/handoff.trace.jsonl" 2>&1 | grep -E 'first violation|no violation' || true
say "stampede explore $b ${random_flags[*]} --runs 400 --set cluster.mechanisms.zk_stale_holder_check=true"
"$bin" explore "$b" "${random_flags[@]}" --runs 400 --set cluster.mechanisms.zk_stale_holder_check=true 2>&1 |
  grep -E 'first violation|no violation' || true
say "stampede shrink TRACE   (the regression trace; test_hand_minimal.cpp's shrink is printed below)"
"$bin" shrink "$tmp/b.trace.jsonl" --out "$tmp/b.shrunk.trace.jsonl" 2>&1 | grep -E '^(before|after|cluster|pause) '
echo "the shrunk pause at step $(grep -m1 '"k":"fault"' "$tmp/b.shrunk.trace.jsonl" | sed -E 's/.*"i":([0-9]+),.*"t":([0-9]+).*/\1 (at \2 ns)/')"
if ((write_regression)); then
  cp "$tmp/b.shrunk.trace.jsonl" "$regression"
  echo "written: $regression"
fi

echo; echo "== dfs with placements (tests/explore/test_dfs_placements.cpp)"
dfs() {
  say "stampede explore $b ${dfs_flags[*]} --strategy dfs $*"
  "$bin" explore "$b" "${dfs_flags[@]}" --strategy dfs "$@" --out "$tmp/dfs.trace.jsonl" 2>&1 |
    grep -E 'first violation|violated at|no violation|^pause ' || true
}
dfs --max-steps 2000 --runs 10000                        # the [slow] test: run and step
dfs --max-steps 2000 --runs 3000 --no-placements          # plain dfs: none
dfs --fault-targets server-1 --max-steps 2000 --runs 200  # server-1 alone: run
dfs --fault-targets server-1 --max-steps 2000 --runs 200 --no-placements
dfs --fault-targets server-1 --max-steps 700 --pause-for 5s,15s --runs 250   # pause lengths: run
dfs --fault-targets server-1 --max-steps 700 --pause-for 5s --runs 700       # 5 s alone: none

echo; echo "== in-process figures"
say "test_explore '[rederive-b]'   (test_shrink.cpp's pause and shrink; test_hand_minimal.cpp's shrink of random's run)"
"$tests" "[rederive-b]" 2>&1 | grep -E '^test_' || true
say "test_explore 'known bug (b): search the hand-minimal stale action'   (test_hand_minimal.cpp, the docs)"
"$tests" "known bug (b): search the hand-minimal stale action" 2>&1 | grep -E '^best:' || true
