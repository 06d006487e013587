#!/usr/bin/env python3
"""An independent implementation of `stampede report`'s study table (analysis/study_table.hpp),
from a results database: what scripts/sizing-table.py computed for docs/sizing.md before the
table moved into the product, now drawing from the product's named streams so that the two can
be compared digit for digit (tests/study/sizing_test.py does).

Per point: the mean over runs (in seed order) of the availability metric, repair_time_p50/p95/p99
and over_scale_episodes, each with a 95% percentile-bootstrap interval (2000 resamples), and each
point's difference from the baseline point with the bootstrap interval of the difference. The
draws: mt19937_64 seeded with derive_seed(seed, name) (sim/core/core.cpp: splitmix64's finaliser
over FNV-1a 64), indices by Boost's uniform_int_distribution algorithm (boost/random/
uniform_int_distribution.hpp, generate_uniform_int for an engine whose range is 2^64).

Usage: sizing_reference.py DB AVAILABILITY_METRIC BASELINE_POINT_KEY [SEED]
"""
import json
import re
import sqlite3
import sys
from functools import cmp_to_key

RESAMPLES = 2000
M64 = (1 << 64) - 1


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


def derive_seed(root, name):
    return mix64(mix64(root) ^ fnv1a64(name))


class MT19937_64:
    """The 64-bit Mersenne Twister (Matsumoto and Nishimura 2004), as std:: and Boost define it."""

    def __init__(self, seed):
        self.mt = [seed & M64]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & M64)
        self.i = 312

    def __call__(self):
        if self.i >= 312:
            mt = self.mt
            for k in range(312):
                y = (mt[k] & 0xFFFFFFFF80000000) | (mt[(k + 1) % 312] & 0x7FFFFFFF)
                mt[k] = mt[(k + 156) % 312] ^ (y >> 1) ^ (0xB5026F5AA96619E9 if y & 1 else 0)
            self.i = 0
        y = self.mt[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & M64


def uniform_index(eng, n):
    """Boost's uniform_int_distribution(0, n - 1) on a 64-bit engine."""
    rng = n - 1
    if rng == 0:
        return 0
    bucket = M64 // (rng + 1)
    if M64 % (rng + 1) == rng:
        bucket += 1
    while True:
        r = eng() // bucket
        if r <= rng:
            return r


def mean(xs):
    s = 0.0
    for x in xs:  # left to right, as the product sums
        s += x
    return s / len(xs)


def resampled_mean(xs, eng):
    s = 0.0
    for _ in xs:
        s += xs[uniform_index(eng, len(xs))]
    return s / len(xs)


def quantiles(draws):
    draws.sort()
    return draws[len(draws) * 25 // 1000], draws[len(draws) * 975 // 1000 - 1]


def bootstrap(xs, eng):
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    return (mean(xs),) + quantiles([resampled_mean(xs, eng) for _ in range(RESAMPLES)])


def bootstrap_diff(xs, base, eng):
    if len(xs) < 2 or len(base) < 2:
        return None
    draws = []
    for _ in range(RESAMPLES):
        a = resampled_mean(xs, eng)
        draws.append(a - resampled_mean(base, eng))
    return (mean(xs) - mean(base),) + quantiles(draws)


DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def compare_points(a, b):
    for (ka, va), (kb, vb) in zip(a, b):
        if ka != kb:
            return -1 if ka < kb else 1
        if DECIMAL.fullmatch(va) and DECIMAL.fullmatch(vb) and float(va) != float(vb):
            return -1 if float(va) < float(vb) else 1
        if va != vb:
            return -1 if va < vb else 1
    return (len(a) > len(b)) - (len(a) < len(b))


def cell(i, precision, sign):
    if i is None:
        return "–"
    f = f"{{:{'+' if sign else ''}.{precision}f}}"
    return f"{f.format(i[0])} [{f.format(i[1])}, {f.format(i[2])}]"


def main():
    db = sqlite3.connect(sys.argv[1])
    availability, baseline = sys.argv[2], sys.argv[3]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    columns = [(availability, availability, 4), ("repair_time_p50", "repair p50 (s)", 1),
               ("repair_time_p95", "repair p95 (s)", 1), ("repair_time_p99", "repair p99 (s)", 1),
               ("over_scale_episodes", "over-scale episodes", 2)]
    runs = {}  # point -> [(seed, verdict, {metric: value})]
    for rid, point, s, verdict in db.execute("select id, point, seed, verdict from runs"):
        metrics = {}
        for name, value in db.execute(
                "select name, value from metrics where run_id = ? order by rowid", (rid,)):
            metrics.setdefault(name, value)  # the first, as RunRow::metric reads it
        runs.setdefault(point, []).append((s, verdict, metrics))
    for p in runs:
        runs[p].sort(key=lambda r: r[0])
    order = sorted(runs, key=cmp_to_key(lambda a, b: compare_points(json.loads(a), json.loads(b))))

    def values(point, metric):
        return [m[metric] for _, _, m in runs[point] if metric in m]

    head, rule = "| point | runs | failed |", "| --- | ---: | ---: |"
    dhead, drule = "| point |", "| --- |"
    for _, header, _ in columns:
        head += f" {header} [95% bootstrap] |"
        rule += " --- |"
        dhead += f" Δ {header} [95%] |"
        drule += " --- |"
    out, diffs = [head, rule], [dhead, drule]
    for p in order:
        label = " ".join(f"{k}={v}" for k, v in json.loads(p)).replace("|", "\\|")
        n_runs = len(runs[p])
        failed = sum(v == "fail" for _, v, _ in runs[p])
        line, dline = f"| {label} | {n_runs} | {failed} |", f"| {label} |"
        for metric, _, precision in columns:
            stream = f"report.bootstrap/{p}/{metric}"
            xs = values(p, metric)
            v = bootstrap(xs, MT19937_64(derive_seed(seed, stream)))
            line += " " + cell(v, precision, False) + (
                f" (n={len(xs)})" if v is not None and len(xs) < n_runs else "") + " |"
            if p == baseline:
                dline += " baseline |"
            else:
                d = bootstrap_diff(xs, values(baseline, metric),
                                   MT19937_64(derive_seed(seed, f"{stream}/minus/{baseline}")))
                dline += " " + cell(d, precision, True) + " |"
        out.append(line)
        diffs.append(dline)
    print("\n".join(out + [""] + diffs))


if __name__ == "__main__":
    main()
