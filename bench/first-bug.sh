#!/usr/bin/env bash
# Runs to the first bug per strategy (issue 17): each case below is searched by random, pct, dfs
# and dfs --placements (fault placements first, docs/exploration.md "Fault placements outside
# liveness mode"), one search after another at `nice -n 19`, and each prints the run of its
# first violation (or "none in N runs") with the user CPU seconds of the whole process
# (/usr/bin/time %U): on the shared machine wall time says more about the other sessions than
# about the search, so neither the budgets' wall seconds nor the wall time is the figure to read.
#
#   bench/first-bug.sh [--bin STAMPEDE] [--case NAME]... [--strategy S]...
#
# Cases: a, c (known bugs (a) and (c) with one injected fault allowed, so that the placements
# have something to place), b, d (the known bugs as bench/RESULTS.md explore17c searches them;
# d with one injected fault allowed), and the mutants m-fencing, m-revoke, m-resync (a mechanism
# switched off in a scenario with no scripted fault: the explorer must place the fault itself).
# Strategies: random, pct, dfs, dfs-placements. Defaults: every case, every strategy. The
# budgets are those of bench/RESULTS.md explore17b and explore17c, given per case below.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/build/cli/stampede
cases=()
strategies=()
while (($#)); do
  case $1 in
    --bin) bin=$(realpath -m "${2:?--bin needs a path}"); shift ;;
    --case) cases+=("${2:?--case needs a name}"); shift ;;
    --strategy) strategies+=("${2:?--strategy needs a name}"); shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "first-bug.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
((${#cases[@]})) || cases=(a c b d m-fencing m-revoke m-resync)
((${#strategies[@]})) || strategies=(random pct dfs dfs-placements)

kb=$root/scenarios/known-bugs
# (b) as explore17c searches it: the scripted pause removed, the explorer places one.
b_flags="--set faults=[] --faults pause --max-faults 1 --max-delay 5ms
  --set cluster.mechanisms.cattle_stop_stray_copies=true"
resync_flags="--set cluster.mechanisms.agent_resync=false --max-faults 1 --faults crash,restart
  --fault-targets agent-* --settle 60s --fault-phase 110s --max-delay 5ms"

# Per case: the scenario, the flags every strategy gets, the budget of random and pct, the
# flags and budget of both dfs searches.
scenario_of() {
  case $1 in
    a|m-fencing) echo "$kb/lease-lock.yaml" ;;
    c|m-revoke) echo "$kb/lease-lock-expired-waiter.yaml" ;;
    b) echo "$kb/ha-stale-lock-holder.yaml" ;;
    d) echo "$kb/zk-1419.yaml" ;;
    m-resync) echo "$root/tests/explore/scenarios/agent-crash-service.yaml" ;;
    *) echo "first-bug.sh: unknown case '$1'" >&2; exit 2 ;;
  esac
}
flags_of() {
  case $1 in
    a|c) echo "--max-faults 1" ;;
    b) echo "$b_flags" ;;
    d) echo "--max-delay 5ms --max-faults 1" ;;
    # (a) and (c) under the 5 ms delay bound: no reordering can run a 10 s lease out before a
    # write lands, so only a pause placed while a client holds the lock (or while it waits, for
    # the revoke) shows the bug.
    m-fencing|m-revoke) echo "--max-delay 5ms --faults pause --max-faults 1" ;;
    m-resync) echo "$resync_flags" ;;
  esac
}
walk_budget_of() {
  case $1 in
    b) echo "--seed 12 --runs 5000 --budget 600s" ;;
    d) echo "--seed 1 --runs 200 --budget 240s" ;;
    # Faults drawn in time (one a simulated minute), as explore17b searched it; dfs offers
    # every fault at every step instead.
    m-resync) echo "--seed 1 --runs 5000 --fault-rate 1" ;;
    *) echo "--seed 1 --runs 5000" ;;
  esac
}
dfs_budget_of() {
  case $1 in
    b) echo "--state-clock --max-steps 2000 --budget 300s" ;;
    d) echo "--state-clock --budget 240s" ;;
    *) echo "--runs 5000" ;;
  esac
}

for c in "${cases[@]}"; do
  scenario=$(scenario_of "$c")
  for st in "${strategies[@]}"; do
    case $st in
      random|pct) extra="--strategy $st $(walk_budget_of "$c")" ;;
      # The plain dfs: placements are dfs's default now, so they are turned off, except in
      # liveness mode (m-resync's --settle), where they are always on and both columns are the
      # same search.
      dfs) if [[ $c == m-resync ]]; then extra="--strategy dfs $(dfs_budget_of "$c")"
           else extra="--strategy dfs --no-placements $(dfs_budget_of "$c")"; fi ;;
      dfs-placements) extra="--strategy dfs --placements $(dfs_budget_of "$c")" ;;
      *) echo "first-bug.sh: unknown strategy '$st'" >&2; exit 2 ;;
    esac
    # Word splitting of the flag lists is wanted here (none holds a space inside a flag); the
    # glob of 'agent-*' must not expand.
    set -f
    # shellcheck disable=SC2046
    out=$( { /usr/bin/time -f 'cpu_user %U' nice -n 19 "$bin" explore "$scenario" \
               $(flags_of "$c") $extra --quiet; } 2>&1 || true)
    set +f
    cpu=$(awk '/^cpu_user/ {print $2}' <<<"$out")
    runs=$(awk '/^runs / {print $2}' <<<"$out")
    if grep -q '^first violation in run' <<<"$out"; then
      run=$(awk '/^first violation in run/ {print $5}' <<<"$out")
      prop=$(grep -m1 '^✗' <<<"$out" | sed 's/^✗ \(.*\) violated at step \([0-9]*\).*/\1 at step \2/')
      echo "$c	$st	run $run	($prop)	cpu ${cpu}s"
    elif grep -q '^verdict' <<<"$out"; then
      echo "$c	$st	none in $runs runs	cpu ${cpu}s"
    else
      echo "$c	$st	error:	$(tail -n 3 <<<"$out" | tr '\n' ' ')"
    fi
  done
done
