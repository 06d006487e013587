#!/usr/bin/env bash
# Regenerates the tables of registered names in docs/reference.md from the binary itself:
#
#   scripts/reference-tables.sh [build/cli/stampede]
#
# The tables sit between the markers `<!-- names:begin -->` and `<!-- names:end -->`; everything
# else in the page is left as it is. Each table is exactly what `stampede list KIND --markdown`
# prints, and a ctest (cli: docs/reference.md holds the current tables ...) fails when one of
# them differs from the binary's: the cue to run this script and commit the page.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/build/cli/stampede}
page=$root/docs/reference.md

section() {  # KIND TITLE
  printf '### %s\n\n' "$2"
  "$bin" list "$1" --markdown
  printf '\n'
}

{
  section timings "Timings (\`cluster.timing: {NAME: VALUE}\`)"
  section mechanisms "Mechanisms (\`cluster.mechanisms: {NAME: false}\` switches one off)"
  section invariants "Invariants (\`always: NAME\` / \`never: NAME\`, checked after every step)"
  section metrics "Metrics (printed by \`run\`, stored by \`sweep\`)"
  section signals "Signals (\`eventually: NAME\`)"
  section events "Events (\`event: NAME, where: {FIELD: VALUE}\`)"
  section logs "Log lines (\`log: {node, contains}\`; the timeline shows the notable ones)"
} >"$page.tables"

awk -v tables="$page.tables" '
  /^<!-- names:end -->$/ { while ((getline line < tables) > 0) print line; skipping = 0 }
  !skipping { print }
  /^<!-- names:begin -->$/ { skipping = 1 }
' "$page" >"$page.tmp"
rm "$page.tables"
mv "$page.tmp" "$page"
