#!/usr/bin/env python3
"""The sizing study end to end (docs/sizing.md): a small sweep of scenarios/study/ha-sizing.yaml
into a results database, then scripts/sizing-table.py on it; and the table's bootstrap on inputs
whose intervals are known exactly."""
import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--stampede", required=True)
ap.add_argument("--source", required=True)
ap.add_argument("--workdir", required=True)
args = ap.parse_args()

spec = importlib.util.spec_from_file_location(
    "sizing_table", os.path.join(args.source, "scripts", "sizing-table.py"))
table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table)


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


# Known inputs (values exact in binary). A constant sample has a zero-width interval; the resampled means of [0, 1] are
# 0, 0.5 and 1 with probabilities 1/4, 1/2, 1/4, so the 2.5% and 97.5% quantiles of 2000
# resamples are 0 and 1 (each end has about 500 draws, never fewer than 50); the difference of
# two constant samples is exactly their difference.
rng = random.Random(1)
check(table.bootstrap([0.75] * 8, rng) == (0.75, 0.75), "a constant sample has a zero-width interval")
check(table.bootstrap([0.0, 1.0], rng) == (0.0, 1.0), "the bootstrap of [0, 1] spans [0, 1]")
lo, hi = table.bootstrap([1.0, 2.0, 3.0, 4.0, 5.0], rng)
check(1.0 < lo < 3.0 < hi < 5.0, f"the interval of 1..5 brackets its mean 3, got [{lo}, {hi}]")
check(table.bootstrap_diff([0.75] * 4, [0.5] * 4, rng) == (0.25, 0.25),
      "the difference of two constant samples")
check(table.bootstrap([], rng) is None and table.bootstrap_diff([1.0], [1.0, 2.0], rng) is None,
      "no interval without data")

# A small sweep: two points, two seeds, 20 simulated minutes.
shutil.rmtree(args.workdir, ignore_errors=True)
os.makedirs(args.workdir)
db = os.path.join(args.workdir, "sizing.db")
scenario = os.path.join(args.source, "scenarios", "study", "ha-sizing.yaml")
r = subprocess.run([args.stampede, "sweep", scenario, "--set", "cluster.servers=1,3",
                    "--set", "cluster.zookeeper=3", "--set", "duration=20m", "--seeds", "2",
                    "--jobs", "1", "--db", db, "--quiet"], capture_output=True, text=True)
check(r.returncode in (0, 1), f"the sweep ran (exit {r.returncode}): {r.stderr}")
r = subprocess.run([sys.executable, os.path.join(args.source, "scripts", "sizing-table.py"), db],
                   capture_output=True, text=True)
check(r.returncode == 0, f"the table was written: {r.stderr}")
rows = [line for line in r.stdout.splitlines() if line.startswith("| servers=")]
check(len(rows) == 2, f"one row per point, got {r.stdout}")
check(rows[0].startswith("| servers=1 zookeeper=3 duration=20m | 2 |") and "baseline" in rows[0],
      f"the first point is the baseline with its 2 runs: {rows[0]}")
check(rows[1].startswith("| servers=3 zookeeper=3 duration=20m | 2 |"), f"the second point: {rows[1]}")
# Every interval brackets its mean: "M [L, H]" with L <= M <= H.
for row in rows:
    for cell in row.split("|")[4:5] + row.split("|")[6:9]:
        cell = cell.strip()
        if cell == "–":
            continue
        m = float(cell.split(" [")[0])
        low, high = (float(x) for x in cell.split("[")[1].split("]")[0].split(", "))
        check(low <= m <= high, f"{cell}: the mean lies in its interval")
shutil.rmtree(args.workdir)
print("ok")
