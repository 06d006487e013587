#!/usr/bin/env bash
# stampede determinism and layering lint.
#
#   bash tests/lint/lint.sh REPO_ROOT
#
# Scans every C++ source (*.hpp *.cpp *.h *.cc *.ipp) under REPO_ROOT/sim and REPO_ROOT/models
# and fails (exit 1) with `file:line: [rule] what` for each line that breaks one of the rules
# below. Exit 0 when clean, 2 on bad usage. See docs/design.md, "Determinism rules":
# one root seed per run, every random stream derived from it, no wall clock, no threads inside a
# run, no reading the environment; and "Layout": models never include an engine, sim never
# includes a model.
#
# Rules (the name in brackets is what an escape hatch must name):
#   [rand]             rand( srand( std::rand, and the other libc generators (srandom( drand48(
#                      lrand48( mrand48( srand48( rand_r( arc4random): unseeded, global state.
#   [random-device]    random_device (std:: or boost::): entropy from the machine.
#   [std-distribution] any std::*_distribution: its output differs between standard libraries;
#                      use sim/core/random.hpp (Boost.Random distributions are portable).
#   [std-engine]       std::mt19937 and the other std:: engines and adaptors; use the seeded
#                      streams of sim/core (boost::random::mt19937_64 is allowed).
#   [std-shuffle]      std::shuffle, std::random_shuffle, std::sample: the algorithm is
#                      implementation-defined, so the same engine gives different orders.
#   [wall-clock]       system_clock steady_clock high_resolution_clock (and the other chrono
#                      clocks), time(nullptr) time(NULL) time(0) time(&t), gettimeofday,
#                      clock_gettime, timespec_get, clock(): simulated time only (Ctx::now()).
#   [getenv]           getenv / secure_getenv: a run never reads the environment.
#   [thread]           std::thread std::jthread std::this_thread std::async pthread_create: a run
#                      is single-threaded (sweeps parallelise whole runs, outside sim/ and models/).
#   [banned-include]   #include <thread> <random> <chrono> <future>.
#   [layering]         in models/: #include of a sim/ header outside sim/core/, or of SimGrid
#                      (simgrid/ xbt/ smpi/); in sim/: #include of models/, analysis/ or cli/.
#   [function-length]  a function in sim/, models/, analysis/ or cli/ longer than 70 lines, from
#                      the line of its name to its closing brace, lambdas inside included (see
#                      funclen.py). A ratchet: tests/lint/long-functions.allow under REPO_ROOT
#                      lists, one `path:function` a line, the functions that are still long; a
#                      long function not listed fails, and so does a listed one that is no longer
#                      long, so the list only shrinks. This rule has no escape-hatch comment.
#
# Escape hatch: a line is allowed if it carries, on the same line, a comment of the form
#     // lint: allow RULE because REASON
# where RULE is the rule's name (or several, comma-separated, no spaces) and REASON is not
# empty. An allow that names another rule, or gives no reason, does not count.
#
# What is scanned for the other rules: code only. Comments (// and /* */, including comment-only lines) are ignored,
# and string and character literals are blanked before matching (except for #include paths).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 1 || ! -d $1 ]]; then
  echo "usage: lint.sh REPO_ROOT   (a directory holding sim/ and models/)" >&2
  exit 2
fi
root=$1
cd "$root"
if [[ ! -d sim ]]; then
  echo "lint: $root has no sim/ directory" >&2
  exit 2
fi

dirs=(sim)
[[ -d models ]] && dirs+=(models)
mapfile -t files < <(find "${dirs[@]}" -type f \
  \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' -o -name '*.cc' -o -name '*.ipp' \) |
  LC_ALL=C sort)

# [function-length]: the ratchet over every folder of C++ that the project owns.
status=0
length_dirs=()
for d in sim models analysis cli; do
  [[ -d $d ]] && length_dirs+=("$d")
done
python3 "$here/funclen.py" . tests/lint/long-functions.allow 70 "${length_dirs[@]}" || status=1

if ((${#files[@]} == 0)); then
  echo "lint: OK, no C++ files under ${dirs[*]}"
  exit "$status"
fi

# POSIX awk (mawk on Debian): no \b, no {n}; word boundaries are spelt out with [^A-Za-z0-9_].
awk -v nfiles="${#files[@]}" '
function report(rule, what) {
  if (index(allowed, "," rule ",")) return
  t = $0; sub(/^[ \t]+/, "", t)
  printf "%s:%d: [%s] %s\n    %s\n", FILENAME, FNR, rule, what, t
  bad++; badfile[FILENAME] = 1
}
FNR == 1 { in_block = 0 }
{
  line = $0; n = length(line)
  code = ""; nostr = ""; cmt = ""
  i = 1
  while (i <= n) {
    c = substr(line, i, 1); c2 = substr(line, i, 2)
    if (in_block) {
      if (c2 == "*/") { in_block = 0; i += 2 } else { cmt = cmt c; i++ }
      continue
    }
    if (c2 == "//") { cmt = cmt substr(line, i + 2); break }
    if (c2 == "/*") { in_block = 1; i += 2; cmt = cmt " "; continue }
    if (c == "\"" || c == "\047") {
      # A quote between two hex digits is a digit separator (1'\''000'\''000), not a literal.
      if (c == "\047" && i > 1 && substr(line, i - 1, 1) ~ /[0-9A-Fa-f]/ &&
          substr(line, i + 1, 1) ~ /[0-9A-Za-z]/) {
        code = code c; nostr = nostr c; i++; continue
      }
      j = i + 1
      while (j <= n) {
        d = substr(line, j, 1)
        if (d == "\\") { j += 2; continue }
        if (d == c) break
        j++
      }
      code = code substr(line, i, j - i + 1); nostr = nostr c c; i = j + 1
      continue
    }
    code = code c; nostr = nostr c; i++
  }
  if (code ~ /^[ \t]*$/) next  # blank or comment-only

  allowed = ","
  if (match(cmt, /lint:[ \t]*allow[ \t]+[A-Za-z0-9_,-]+[ \t]+because[ \t]+[^ \t]/)) {
    s = substr(cmt, RSTART, RLENGTH)
    sub(/^lint:[ \t]*allow[ \t]+/, "", s); sub(/[ \t].*$/, "", s)
    allowed = "," s ","
  }

  area = FILENAME; sub(/\/.*$/, "", area)

  # Includes: look at the path itself (comments gone, strings kept).
  if (code ~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) {
    p = code; sub(/^[ \t]*#[ \t]*include[ \t]*[<"]/, "", p); sub(/[>"].*$/, "", p)
    if (p == "thread" || p == "random" || p == "chrono" || p == "future")
      report("banned-include", "#include <" p "> in a run: use sim/core (random streams, TimeNs)")
    if (area == "models") {
      if (p ~ /(^|\/)sim\// && p !~ /(^|\/)sim\/core\//)
        report("layering", "models/ may include only sim/core/ from sim/, not " p)
      if (p ~ /^(simgrid|xbt|smpi)([\/.]|$)/)
        report("layering", "models/ never include SimGrid (" p "): the engine drives them")
    }
    if (area == "sim" && p ~ /(^|\/)(models|analysis|cli)\//)
      report("layering", "sim/ never includes models/, analysis/ or cli/ (" p ")")
  }

  x = nostr; gsub(/->/, ".", x)  # a member call p->f( is treated like p.f(
  if (x ~ /(^|[^A-Za-z0-9_.])(s?rand|srandom|drand48|lrand48|mrand48|srand48|rand_r|arc4random)[ \t]*\(/ ||
      x ~ /(^|[^A-Za-z0-9_])std::s?rand([^A-Za-z0-9_]|$)/)
    report("rand", "libc random numbers: use Ctx::random or a sim/core RandomStream")
  if (x ~ /(^|[^A-Za-z0-9_])random_device([^A-Za-z0-9_]|$)/)
    report("random-device", "random_device: every stream derives from the root seed")
  if (x ~ /(^|[^A-Za-z0-9_])std::[A-Za-z0-9_]*_distribution([^A-Za-z0-9_]|$)/)
    report("std-distribution", "std:: distributions differ between standard libraries: use sim/core/random.hpp")
  if (x ~ /(^|[^A-Za-z0-9_])std::(mt19937|mt19937_64|minstd_rand|minstd_rand0|default_random_engine|ranlux24|ranlux48|ranlux24_base|ranlux48_base|knuth_b|mersenne_twister_engine|linear_congruential_engine|subtract_with_carry_engine|discard_block_engine|independent_bits_engine|shuffle_order_engine)([^A-Za-z0-9_]|$)/)
    report("std-engine", "std:: random engine: use the seeded streams of sim/core")
  if (x ~ /(^|[^A-Za-z0-9_])std::(shuffle|random_shuffle|sample)([^A-Za-z0-9_]|$)/)
    report("std-shuffle", "std::shuffle/sample are implementation-defined: shuffle with Ctx::random")
  if (x ~ /(^|[^A-Za-z0-9_])(system_clock|steady_clock|high_resolution_clock|utc_clock|tai_clock|gps_clock|file_clock)([^A-Za-z0-9_]|$)/ ||
      x ~ /(^|[^A-Za-z0-9_.])time[ \t]*\([ \t]*(nullptr|NULL|0|&[^)]*)[ \t]*\)/ ||
      x ~ /(^|[^A-Za-z0-9_.])(gettimeofday|clock_gettime|timespec_get)[ \t]*\(/ ||
      x ~ /(^|[^A-Za-z0-9_.])clock[ \t]*\([ \t]*\)/)
    report("wall-clock", "wall-clock time: use simulated time (Ctx::now)")
  if (x ~ /(^|[^A-Za-z0-9_])(getenv|secure_getenv)([^A-Za-z0-9_]|$)/)
    report("getenv", "a run never reads the environment: take it from the scenario")
  if (x ~ /(^|[^A-Za-z0-9_])std::(thread|jthread|this_thread|async)([^A-Za-z0-9_]|$)/ ||
      x ~ /(^|[^A-Za-z0-9_])pthread_create([^A-Za-z0-9_]|$)/)
    report("thread", "a run is single-threaded")
}
END {
  nb = 0; for (f in badfile) nb++
  if (bad) { printf "lint: %d violation(s) in %d file(s)\n", bad, nb; exit 1 }
  printf "lint: OK, %d files checked\n", nfiles
}
' "${files[@]}" || status=1
exit "$status"
