#!/usr/bin/env bash
# Cost per agent-hour as the cluster grows (issue 15): scenarios/agent-partition.yaml for one
# simulated hour with N agents, for each N given; prints the wall time (whole process, world build
# included), the CLI's event-loop time, steps, CPU per agent-hour and the maximum RSS.
#
#   bench/agents.sh [--bin FILE] [--duration D] [--timeout S] [N...]
#
# Defaults: build/cli/stampede, 1h, 600 s per run, N = 10 100 1000 10000. A run that does not end
# within the timeout is reported as such and the larger sizes are skipped. Nothing here fails on
# slowness; the issue's target is a cost per agent-hour flat within +-50% from 10 to 10,000 agents.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/build/cli/stampede
duration=1h
timeout_s=600
sizes=()
while (($#)); do
  case $1 in
    --bin) bin=$(realpath -m "${2:?--bin needs a file}"); shift ;;
    --duration) duration=${2:?--duration needs a value}; shift ;;
    --timeout) timeout_s=${2:?--timeout needs seconds}; shift ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "agents.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    *) sizes+=("$1") ;;
  esac
  shift
done
((${#sizes[@]})) || sizes=(10 100 1000 10000)
[[ -x $bin ]] || { echo "agents.sh: no binary at $bin (build the stampede target)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%8s %10s %10s %10s %12s %16s %10s %s\n' agents wall_s loop_s cpu_s steps cpu_ms/agent-h maxrss_MB verdict
for n in "${sizes[@]}"; do
  if ! timeout "$timeout_s" /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
      "$bin" run "$root/scenarios/agent-partition.yaml" --set "duration=$duration" \
      --set "cluster.agents=$n" --quiet >"$work/out" 2>&1; then
    if [[ ! -s $work/out ]] || ! grep -q '^verdict' "$work/out"; then
      echo "$n agents: did not finish within ${timeout_s}s (or failed); larger sizes skipped"
      break
    fi
  fi
  read -r wall user sys rss_kb <"$work/time"
  loop=$(awk '/wall_time/ {print $2}' "$work/out")
  steps=$(awk '/^  steps/ {print $2}' "$work/out")
  verdict=$(awk '/^verdict/ {print $2}' "$work/out")
  hours=$(awk -v d="$duration" 'BEGIN {
    v = d + 0; u = substr(d, length(v "") + 1)
    print (u == "h" ? v : u == "m" ? v / 60 : u == "s" ? v / 3600 : v) }')
  awk -v n="$n" -v w="$wall" -v l="$loop" -v u="$user" -v s="$sys" -v st="$steps" \
      -v r="$rss_kb" -v h="$hours" -v v="$verdict" 'BEGIN {
    cpu = u + s
    printf "%8d %10.2f %10.2f %10.2f %12d %16.3f %10.1f %s\n", n, w, l, cpu, st, 1000 * cpu / (n * h), r / 1024, v }'
done
