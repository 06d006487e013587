#!/usr/bin/env bash
# Self-test of lint.sh, so that the lint cannot silently pass everything.
#
#   bash tests/lint/selftest.sh
#
# fixtures/ is a fake repository (sim/ and models/) of *.in files, one file per banned pattern;
# the first line of each says what the lint must report for it: `// expect: RULE`, or
# `// expect: none` for files of allowed code (comments, Boost.Random, escape hatches, member
# calls) that must not be reported. The files are .in so that no build glob ever compiles them;
# this script copies them to a temporary tree without the suffix and runs lint.sh there:
#   1. on the whole tree: the lint must FAIL, and name every bad file with its rule and no clean
#      file;
#   2. on the clean files alone: the lint must PASS (no false positives).
# For [function-length] the bad fixtures hold a function whose name is on line 3, and
# fixtures/tests/lint/long-functions.allow.in is the fake tree's allowlist: it lists a long clean
# fixture (which must pass) and entries marked `expect: stale` (not long, or gone), which the lint
# must report by their line in the list; the clean tree gets the list without them.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lint=$here/lint.sh
fixtures=$here/fixtures
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stampede-lint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail=0
problem() {
  echo "selftest: FAIL: $*"
  fail=1
}

mkdir -p "$tmp/all" "$tmp/clean/sim"
n_bad=0
n_clean=0
while IFS= read -r -d '' src; do
  rel=${src#"$fixtures"/}
  rel=${rel%.in}
  mkdir -p "$tmp/all/$(dirname "$rel")"
  cp "$src" "$tmp/all/$rel"
  expect=$(sed -n '1s|^// expect: *||p' "$src")
  if [[ -z $expect ]]; then
    problem "$rel: first line must be '// expect: RULE' or '// expect: none'"
  elif [[ $expect == none ]]; then
    mkdir -p "$tmp/clean/$(dirname "$rel")"
    cp "$src" "$tmp/clean/$rel"
    n_clean=$((n_clean + 1))
  else
    n_bad=$((n_bad + 1))
  fi
done < <(find "$fixtures" -type f -name '*.in' -not -path "$fixtures/tests/*" -print0 | LC_ALL=C sort -z)

allow_rel=tests/lint/long-functions.allow
allow_src=$fixtures/$allow_rel.in
mkdir -p "$tmp/all/$(dirname "$allow_rel")" "$tmp/clean/$(dirname "$allow_rel")"
cp "$allow_src" "$tmp/all/$allow_rel"
stale='#[[:space:]]*expect: stale[[:space:]]*$'
grep -v -- "$stale" "$allow_src" >"$tmp/clean/$allow_rel"
mapfile -t stale_lines < <(grep -n -- "$stale" "$allow_src" | cut -d: -f1)
if ((${#stale_lines[@]} < 2)); then
  problem "$allow_rel.in: expected at least 2 entries marked 'expect: stale'"
fi

if ((n_bad < 20)); then
  problem "expected at least 20 bad fixtures, found $n_bad"
fi

# 1. The whole fake tree must fail, naming every bad file with its rule.
out=$(bash "$lint" "$tmp/all" 2>&1)
rc=$?
if [[ $rc -ne 1 ]]; then
  problem "lint.sh on the fixture tree exited $rc, expected 1"
fi
while IFS= read -r -d '' src; do
  rel=${src#"$fixtures"/}
  rel=${rel%.in}
  expect=$(sed -n '1s|^// expect: *||p' "$src")
  [[ -z $expect ]] && continue
  if [[ $expect == none ]]; then
    if grep -qE -- "^$(sed 's/[.[\*^$/]/\\&/g' <<<"$rel"):" <<<"$out"; then
      problem "$rel is allowed code but was reported:"
      grep -E -A1 -- "^$(sed 's/[.[\*^$/]/\\&/g' <<<"$rel"):" <<<"$out" | sed 's/^/    /'
    fi
  else
    # Exactly the expected rule, on line 3 (the fixture's only line of code).
    if ! grep -qE -- "^$(sed 's/[.[\*^$/]/\\&/g' <<<"$rel"):3: \[$expect\] " <<<"$out"; then
      problem "$rel breaks rule [$expect] but the lint did not say so"
    fi
    others=$(grep -E -- "^$(sed 's/[.[\*^$/]/\\&/g' <<<"$rel"):" <<<"$out" | grep -vF "[$expect]" || true)
    if [[ -n $others ]]; then
      problem "$rel: unexpected extra reports: $others"
    fi
  fi
done < <(find "$fixtures" -type f -name '*.in' -not -path "$fixtures/tests/*" -print0 | LC_ALL=C sort -z)

# Every stale allowlist entry is reported by its line, and no other entry is.
for n in "${stale_lines[@]}"; do
  if ! grep -qE -- "^tests/lint/long-functions\.allow:$n: \[function-length\] " <<<"$out"; then
    problem "$allow_rel:$n is a stale entry but the lint did not say so"
  fi
done
others=$(grep -E -- "^tests/lint/long-functions\.allow:" <<<"$out" | cut -d: -f2 |
  grep -vxF -f <(printf '%s\n' "${stale_lines[@]}") || true)
if [[ -n $others ]]; then
  problem "$allow_rel: entries reported that are not stale, on line(s): $others"
fi

# 2. The allowed code alone must pass.
out_clean=$(bash "$lint" "$tmp/clean" 2>&1)
rc=$?
if [[ $rc -ne 0 ]]; then
  problem "lint.sh on the clean fixtures exited $rc, expected 0:"
  sed 's/^/    /' <<<"$out_clean"
fi

# 3. Bad usage is exit 2, not a silent pass.
bash "$lint" "$tmp/does-not-exist" >/dev/null 2>&1
rc=$?
if [[ $rc -ne 2 ]]; then
  problem "lint.sh on a missing directory exited $rc, expected 2"
fi

if ((fail)); then
  echo "--- lint.sh output on the fixture tree ---"
  echo "$out"
  exit 1
fi
echo "selftest: OK: $n_bad bad fixtures each reported with their rule, $n_clean clean fixtures pass"
