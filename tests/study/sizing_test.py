#!/usr/bin/env python3
"""The sizing study end to end (docs/sizing.md): a small sweep of scenarios/study/ha-sizing.yaml
into a results database, then `stampede report --baseline` on it; its study table must equal,
digit for digit, the one tests/study/sizing_reference.py computes independently from the same
database and the same named streams."""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--stampede", required=True)
ap.add_argument("--source", required=True)
ap.add_argument("--workdir", required=True)
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("sizing_reference",
                                              os.path.join(here, "sizing_reference.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


# The reference's engine is the standard mt19937_64: its 10000th output from the default seed
# 5489 is the value the C++ standard gives ([rand.predef]).
eng = ref.MT19937_64(5489)
for _ in range(9999):
    eng()
check(eng() == 9981545732273789042, "the reference's mt19937_64 is the standard one")

# A small sweep: two points, three seeds, 20 simulated minutes.
shutil.rmtree(args.workdir, ignore_errors=True)
os.makedirs(args.workdir)
db = os.path.join(args.workdir, "sizing.db")
scenario = os.path.join(args.source, "scenarios", "study", "ha-sizing.yaml")
r = subprocess.run([args.stampede, "sweep", scenario, "--set", "cluster.servers=1,3",
                    "--set", "cluster.zookeeper=3", "--set", "duration=20m", "--seeds", "3",
                    "--jobs", "2", "--db", db, "--quiet"], capture_output=True, text=True)
check(r.returncode in (0, 1), f"the sweep ran (exit {r.returncode}): {r.stderr}")


def report(*extra):
    out = os.path.join(args.workdir, "report")
    r = subprocess.run([args.stampede, "report", db, "--out", out] + list(extra),
                       capture_output=True, text=True)
    check(r.returncode == 0, f"the report was written: {r.stderr}")
    return r.stdout, open(os.path.join(out, "report.md")).read()


baseline_key = '[["cluster.servers","3"],["cluster.zookeeper","3"],["duration","20m"]]'
stdout, md = report("--baseline", "servers=3")
expected = subprocess.run([sys.executable, os.path.join(here, "sizing_reference.py"), db,
                           "availability:api", baseline_key], capture_output=True, text=True)
check(expected.returncode == 0, f"the reference ran: {expected.stderr}")
table = expected.stdout.strip()
check(table in stdout, f"stampede report prints the reference's table:\n{table}\n---\n{stdout}")
check(table in md, "report.md holds the same table")
rows = [line for line in table.splitlines() if line.startswith("| cluster.servers=")]
check(len(rows) == 4, f"one row per point in each of the two tables: {table}")
check(rows[0].startswith("| cluster.servers=1 cluster.zookeeper=3 duration=20m | 3 |"),
      f"the points in order, each with its 3 runs: {rows[0]}")
check(rows[3] == "| cluster.servers=3 cluster.zookeeper=3 duration=20m | baseline | baseline "
      "| baseline | baseline | baseline |", f"the baseline's differences: {rows[3]}")
check("from the baseline point `cluster.servers=3 cluster.zookeeper=3 duration=20m`" in stdout,
      "the baseline is named")
# Every interval brackets its mean: "M [L, H]" with L <= M <= H.
for row in rows[:2]:
    for c in row.split("|")[4:]:
        c = c.strip().split(" (n=")[0]
        if c in ("", "–"):
            continue
        m = float(c.split(" [")[0])
        low, high = (float(x) for x in c.split("[")[1].split("]")[0].split(", "))
        check(low <= m <= high, f"{c}: the mean lies in its interval")

# The study plots: the means with their intervals and the baseline's as a dashed line.
plots = os.path.join(args.workdir, "report", "plots")
gp = [f for f in os.listdir(plots) if f.endswith("-availability-bootstrap.gp")]
check(len(gp) == 1, f"the study's availability plot script was written: {os.listdir(plots)}")
script = open(os.path.join(plots, gp[0])).read()
check("with yerrorlines" in script and "with lines dt 2" in script and
      "baseline cluster.servers=3 cluster.zookeeper=3 duration=20m" in script,
      f"intervals and the baseline in the plot: {script}")
check(any(f.endswith("-repair-bootstrap.gp") for f in os.listdir(plots)), "the repair-time plot")

# Another bootstrap seed gives other intervals (the seed reaches the streams), the same means.
other, _ = report("--baseline", "servers=3", "--bootstrap-seed", "2")
check(other != stdout, "the bootstrap seed changes the intervals")
expected2 = subprocess.run([sys.executable, os.path.join(here, "sizing_reference.py"), db,
                            "availability:api", baseline_key, "2"], capture_output=True, text=True)
check(expected2.stdout.strip() in other, "and the reference agrees at that seed too")

# The default baseline is the first point; a baseline that names no point, or several, is bad
# input (exit 2) naming the points.
first, _ = report()
check("from the baseline point `cluster.servers=1 cluster.zookeeper=3 duration=20m` "
      "(the first point)" in first, "the first point is the default baseline")
for bad, says in (("servers=4", "matches no point"), ("zookeeper=3", "matches several points"),
                  ("servers", "is not KEY=VALUE")):
    r = subprocess.run([args.stampede, "report", db, "--out", os.path.join(args.workdir, "bad"),
                        "--baseline", bad], capture_output=True, text=True)
    check(r.returncode == 2 and says in r.stderr, f"--baseline {bad}: {r.returncode} {r.stderr}")
shutil.rmtree(args.workdir)
print("ok")
