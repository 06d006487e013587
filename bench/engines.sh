#!/usr/bin/env bash
# The same scenarios on both engines, side by side: events/s and simulated-to-wall time for the
# kernel and for SimGrid, and their ratio. One process per scenario (SimGrid runs once per
# process); inside it the kernel runs first, then SimGrid, on the same scenario and seed.
#
#   bench/engines.sh [--build-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ ${1:-} == --build-dir ]]; then build=$2; fi
if [[ ! -x $build/tests/simgrid/engines_bench ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target engines_bench >/dev/null
fi
for s in scenarios/agent-partition.yaml scenarios/server-stop.yaml scenarios/store-truncation.yaml; do
  "$build/tests/simgrid/engines_bench" "$s"
  echo
done
"$build/tests/simgrid/engines_bench" scenarios/platforms/zone-bandwidth.yaml \
  --platform scenarios/platforms/two-zones.xml
