#!/usr/bin/env python3
"""The sizing study's table (docs/sizing.md) from a sweep's results database.

Per point: API availability and the per-run repair-time percentiles (repair_time_p50/p95/p99),
each the mean over the runs that recorded it with a 95% percentile-bootstrap interval (resampling
runs, 2000 resamples, a fixed seed so the table is reproducible), and the difference of each
point's mean availability from the baseline point's with its own bootstrap interval (points
resampled independently). Usage: sizing-table.py DB [BASELINE_POINT_JSON]
"""
import json
import random
import sqlite3
import sys

RESAMPLES = 2000
METRICS = ["availability:api", "repair_time_p50", "repair_time_p95", "repair_time_p99"]


def mean(xs):
    return sum(xs) / len(xs)


def bootstrap(xs, rng, stat=mean):
    """The 2.5% and 97.5% quantiles of `stat` over resamples of `xs` (nearest rank)."""
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else None
    draws = sorted(stat([rng.choice(xs) for _ in xs]) for _ in range(RESAMPLES))
    return draws[int(0.025 * RESAMPLES)], draws[int(0.975 * RESAMPLES) - 1]


def bootstrap_diff(xs, base, rng):
    if len(xs) < 2 or len(base) < 2:
        return None
    draws = sorted(mean([rng.choice(xs) for _ in xs]) - mean([rng.choice(base) for _ in base])
                   for _ in range(RESAMPLES))
    return draws[int(0.025 * RESAMPLES)], draws[int(0.975 * RESAMPLES) - 1]


def main():
    db = sqlite3.connect(sys.argv[1])
    rows = db.execute("select r.point, m.name, m.value, r.verdict, r.id from runs r "
                      "join metrics m on m.run_id = r.id order by r.point, r.seed, m.name").fetchall()
    points, verdicts = {}, {}
    for point, name, value, verdict, run in rows:
        verdicts.setdefault(point, {})[run] = verdict
        if name in METRICS:
            points.setdefault(point, {}).setdefault(name, []).append(value)
    order = sorted(points, key=lambda p: [int(v) if v.isdigit() else v for _, v in json.loads(p)])
    baseline = sys.argv[2] if len(sys.argv) > 2 else order[0]
    rng = random.Random(14)
    print("| point | runs | viol | availability:api [95% bootstrap] | Δ vs baseline [95%] "
          "| repair p50 (s) | repair p95 (s) | repair p99 (s) |")
    print("| --- | ---: | ---: | --- | --- | --- | --- | --- |")
    for p in order:
        label = " ".join(f"{k.split('.')[-1]}={v}" for k, v in json.loads(p))
        m = points[p]
        cells = []
        for name in METRICS:
            xs = m.get(name, [])
            ci = bootstrap(xs, rng)
            cells.append("–" if not xs else
                         f"{mean(xs):.4f} [{ci[0]:.4f}, {ci[1]:.4f}]" if name.startswith("avail")
                         else f"{mean(xs):.1f} [{ci[0]:.1f}, {ci[1]:.1f}] (n={len(xs)})")
        d = bootstrap_diff(m.get(METRICS[0], []), points[baseline].get(METRICS[0], []), rng)
        diff = "baseline" if p == baseline else (
            f"{mean(m[METRICS[0]]) - mean(points[baseline][METRICS[0]]):+.4f} "
            f"[{d[0]:+.4f}, {d[1]:+.4f}]" if d else "–")
        runs = len(verdicts[p])
        viol = sum(v == "fail" for v in verdicts[p].values())
        print(f"| {label} | {runs} | {viol} | {cells[0]} | {diff} | {cells[1]} | {cells[2]} "
              f"| {cells[3]} |")


if __name__ == "__main__":
    main()
