#!/usr/bin/env bash
# SPIN against `stampede explore --strategy dfs` on the lease lock, over N=2..4 clients,
# WRITES=1..2 and fencing on/off. Prints both verdicts side by side (they must agree: a stale
# write is reachable exactly when fencing is off) and the time ratio explorer/SPIN, where SPIN's
# time is `spin -a` + `gcc -O2 pan.c` + `./pan -a` (and, in brackets, ./pan alone).
#
#   bash bench/spin/compare.sh [STAMPEDE_BIN]     (default build/cli/stampede)
#   BUDGET=120s NS="2 3 4" WS="1 2" bash bench/spin/compare.sh
# Exit 0 when every verdict agrees (an explorer run stopped by its budget counts as
# "incomplete", not as a disagreement), 1 on a disagreement, 2 when a tool is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/cli/stampede}
budget=${BUDGET:-120s}
ns=${NS:-"2 3 4"}
ws=${WS:-"1 2"}
command -v spin >/dev/null || { echo "compare.sh: spin not found (apt-get install spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "compare.sh: gcc not found" >&2; exit 2; }
[[ -x $bin ]] || { echo "compare.sh: $bin not built (ninja -C build stampede)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/lease_lock.pml" "$work/"
scenario=$root/scenarios/known-bugs/lease-lock.yaml

now() { date +%s.%N; }
printf '%-2s %-6s %-7s | %-9s %9s %8s %8s | %-11s %9s %8s | %7s %s\n' N WRITES fencing \
  spin states total_s pan_s explorer states wall_s ratio agree
bad=0
for n in $ns; do
  for w in $ws; do
    for f in 0 1; do
      t0=$(now)
      (cd "$work" && spin -a -DN=$n -DWRITES=$w -DFENCING=$f lease_lock.pml >/dev/null &&
        gcc -O2 -w -o pan pan.c) || { echo "compare.sh: spin/gcc failed" >&2; exit 2; }
      t1=$(now)
      out=$(cd "$work" && ./pan -a 2>&1)
      t2=$(now)
      errors=$(grep -oE 'errors: [0-9]+' <<<"$out" | awk '{print $2}')
      sstates=$(grep -E 'states, stored' <<<"$out" | awk '{print $1}')
      spin_v=$([[ ${errors:-0} -gt 0 ]] && echo violation || echo none)
      spin_total=$(echo "$t2 - $t0" | bc -l)
      pan_s=$(echo "$t2 - $t1" | bc -l)

      fence=$([[ $f == 1 ]] && echo true || echo false)
      t3=$(now)
      eout=$("$bin" explore "$scenario" --strategy dfs --budget "$budget" --quiet \
        --set cluster.timing.lease_lock_clients=$n --set cluster.timing.lease_lock_writes=$w \
        --set cluster.mechanisms.lease_lock_fencing=$fence --out "$work/cex.trace.jsonl" 2>&1)
      rc=$?
      t4=$(now)
      estates=$(grep -oE 'distinct states [0-9]+' <<<"$eout" | awk '{print $3}')
      if [[ $rc == 1 ]]; then ex_v=violation
      elif [[ $rc == 0 ]] && grep -q exhaustively <<<"$eout"; then ex_v=none
      elif [[ $rc == 0 ]]; then ex_v=incomplete
      else ex_v="error($rc)"; fi
      wall=$(echo "$t4 - $t3" | bc -l)
      ratio=$(echo "$wall / $spin_total" | bc -l)
      if [[ $ex_v == incomplete ]]; then agree="-- (budget $budget)"
      elif [[ $ex_v == "$spin_v" ]]; then agree=yes
      else agree=NO; bad=1; fi
      printf '%-2s %-6s %-7s | %-9s %9s %8.3f %8.3f | %-11s %9s %8.3f | %7.2f %s\n' "$n" "$w" \
        "$fence" "$spin_v" "${sstates:-?}" "$spin_total" "$pan_s" "$ex_v" "${estates:-?}" \
        "$wall" "$ratio" "$agree"
    done
  done
done
exit $bad
