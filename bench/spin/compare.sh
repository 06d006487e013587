#!/usr/bin/env bash
# SPIN against `stampede explore --strategy dfs` on the lease lock, over N=2..4 clients,
# WRITES=1..2 and fencing on/off, in one run. Three columns per cell:
#   mp  SPIN on lease_lock_mp.pml: models/lease_lock at the explorer's granularity (one
#       transition per handler, messages in flight as state, any of them delivered next, the
#       lease timer as an event); the faithful model, and the ratio's primary reference;
#   sv  SPIN on lease_lock.pml: the shared-variable abstraction (atomic steps, no messages), kept
#       as a reference column (far fewer states: not the same granularity);
#   ex  the explorer's dfs (its default reduction) on scenarios/known-bugs/lease-lock.yaml.
# All three verdicts must agree (a stale write is reachable exactly when fencing is off). SPIN's
# time is `spin -a` + `gcc -O2 pan.c` + `./pan -a` with SPIN's defaults (partial-order reduction
# on, no compression); wall seconds, and CPU seconds (user + system, children included) because
# the machine is shared. Ratios are explorer / SPIN (below 1: the explorer is faster).
#
#   bash bench/spin/compare.sh [STAMPEDE_BIN]     (default build/cli/stampede)
#   BUDGET=120s NS="2 3 4" WS="1 2" bash bench/spin/compare.sh
#   SERVER1_BUS=1 ...  gives the mp model server-1's one boot-time event, as the explorer's
#                      scenario has it (see lease_lock_mp.pml); SPIN_MP_FLAGS="-DCOLLAPSE" adds
#                      gcc flags for the mp model's pan (for memory on the largest cells).
# BUDGET bounds the explorer and SPIN on the mp model alike (SPIN is stopped with SIGINT and
# prints what it stored); a run stopped by it is "incomplete", not a disagreement.
# Exit 0 when every completed verdict agrees, 1 on a disagreement, 2 when a tool is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/cli/stampede}
budget=${BUDGET:-120s}
ns=${NS:-"2 3 4"}
ws=${WS:-"1 2"}
server1_bus=${SERVER1_BUS:-0}
mp_flags=${SPIN_MP_FLAGS:-}
command -v spin >/dev/null || { echo "compare.sh: spin not found (apt-get install spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "compare.sh: gcc not found" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "compare.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
[[ -x $bin ]] || { echo "compare.sh: $bin not built (cmake --build build --target stampede)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sv" "$work/mp"
cp "$here/lease_lock.pml" "$work/sv/"
cp "$here/lease_lock_mp.pml" "$work/mp/"
scenario=$root/scenarios/known-bugs/lease-lock.yaml
secs=${budget%s}
[[ $secs =~ ^[0-9]+$ ]] || { echo "compare.sh: BUDGET must be in seconds (e.g. 120s)" >&2; exit 2; }

# timed FILE CMD...: runs CMD, writes "wall cpu" (seconds) to FILE.
timed() { local f=$1; shift; /usr/bin/time -f '%e %U %S' -o "$f.t" "$@"; local rc=$?
  tail -n 1 "$f.t" | awk '{printf "%s %.2f\n", $1, $2 + $3}' >"$f"; return $rc; }

# spin_run DIR MODEL FLAGS GCCFLAGS LIMIT: sets s_v (verdict), s_states, s_wall, s_cpu.
spin_run() {
  local dir=$1 model=$2 flags=$3 gccflags=$4 limit=$5
  timed "$dir/compile" bash -c "cd '$dir' && spin -a $flags $model >/dev/null && gcc -O2 -w $gccflags -o pan pan.c" ||
    { echo "compare.sh: spin/gcc failed on $model" >&2; exit 2; }
  if [[ -n $limit ]]; then
    timed "$dir/run" bash -c "cd '$dir' && timeout -s INT $limit ./pan -a >out.txt 2>&1"
  else
    timed "$dir/run" bash -c "cd '$dir' && ./pan -a >out.txt 2>&1"
  fi
  local errors
  errors=$(grep -oE 'errors: [0-9]+' "$dir/out.txt" | awk '{print $2}')
  s_states=$(grep -E 'states, stored' "$dir/out.txt" | awk '{print $1}')
  if [[ ${errors:-0} -gt 0 ]]; then s_v=violation
  elif grep -q Interrupted "$dir/out.txt"; then s_v=incomplete
  elif [[ -n $s_states ]]; then s_v=none
  else s_v=error; fi
  read -r cw cc <"$dir/compile"
  read -r rw rc <"$dir/run"
  s_wall=$(echo "$cw + $rw" | bc -l)
  s_cpu=$(echo "$cc + $rc" | bc -l)
}

printf '%-2s %-2s %-5s | %-10s %10s %7s %7s | %-9s %9s %6s | %-10s %9s %7s %7s | %6s %6s %6s | %s\n' \
  N W fence mp states wall_s cpu_s sv states wall_s explorer states wall_s cpu_s \
  r_mp r_mpcpu r_sv agree
bad=0
for n in $ns; do
  for w in $ws; do
    for f in 0 1; do
      spin_run "$work/mp" lease_lock_mp.pml "-DN=$n -DWRITES=$w -DFENCING=$f -DSERVER1_BUS=$server1_bus" \
        "$mp_flags" "$secs"
      mp_v=$s_v mp_states=$s_states mp_wall=$s_wall mp_cpu=$s_cpu
      spin_run "$work/sv" lease_lock.pml "-DN=$n -DWRITES=$w -DFENCING=$f" "" ""
      sv_v=$s_v sv_states=$s_states sv_wall=$s_wall

      fence=$([[ $f == 1 ]] && echo true || echo false)
      timed "$work/ex" "$bin" explore "$scenario" --strategy dfs --budget "$budget" --quiet \
        --set cluster.timing.lease_lock_clients=$n --set cluster.timing.lease_lock_writes=$w \
        --set cluster.mechanisms.lease_lock_fencing=$fence --out "$work/cex.trace.jsonl" \
        >"$work/ex.out" 2>&1
      rc=$?
      estates=$(grep -oE 'distinct states [0-9]+' "$work/ex.out" | awk '{print $3}')
      if [[ $rc == 1 ]]; then ex_v=violation
      elif [[ $rc == 0 ]] && grep -q exhaustively "$work/ex.out"; then ex_v=none
      elif [[ $rc == 0 ]]; then ex_v=incomplete
      else ex_v="error($rc)"; fi
      read -r ex_wall ex_cpu <"$work/ex"

      # Agreement: every completed verdict the same; the expected one is "violation" exactly
      # when fencing is off.
      want=$([[ $f == 1 ]] && echo none || echo violation)
      agree=yes
      for v in "$mp_v" "$sv_v" "$ex_v"; do
        [[ $v == incomplete ]] && { [[ $agree == yes ]] && agree="yes (incomplete: budget $budget)"; continue; }
        [[ $v == "$want" ]] || { agree=NO; bad=1; }
      done
      r_mp=$(echo "$ex_wall / $mp_wall" | bc -l)
      r_mpcpu=$(echo "$ex_cpu / ($mp_cpu + 0.001)" | bc -l)
      r_sv=$(echo "$ex_wall / $sv_wall" | bc -l)
      printf '%-2s %-2s %-5s | %-10s %10s %7.2f %7.2f | %-9s %9s %6.2f | %-10s %9s %7.2f %7.2f | %6.2f %6.2f %6.2f | %s\n' \
        "$n" "$w" "$fence" "$mp_v" "${mp_states:-?}" "$mp_wall" "$mp_cpu" "$sv_v" "${sv_states:-?}" \
        "$sv_wall" "$ex_v" "${estates:-?}" "$ex_wall" "$ex_cpu" "$r_mp" "$r_mpcpu" "$r_sv" "$agree"
    done
  done
done
exit $bad
