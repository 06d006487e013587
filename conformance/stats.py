"""The rank test that compares a real timing's repetitions with the model's runs when each is a
random draw (see Row kind "draw" in suite.py and docs/conformance.md).

A median of a few draws is itself a wide random variable. For the same 0-1 s uniform pause on both
sides, the x1.5-or-in-range rule fails by chance in 14% of runs with 5 real draws against 5 model
runs, and in 3% with 7 against 15 (20,000 simulated pairs each, 2026-12-06). So for rows whose value is
a draw (the ZooKeeper Java client's random reconnect pause, which follower goes LOOKING first, a
few milliseconds of process scheduling) the suite asks whether the two samples could come from one
distribution: the two-sided Wilcoxon-Mann-Whitney rank-sum test, exact (every way of splitting the
pooled values into the two groups is enumerated, ties take mid-ranks), so the verdict is the same
on every machine for the same numbers.
"""
import itertools
import math

ALPHA = 0.01
# Past this many splits the exact enumeration would take seconds; the suite's samples (at most 7
# real repetitions against 15 model runs: 170,544 splits) stay well below it.
MAX_SPLITS = 2_000_000


def mid_ranks(values):
    """The rank of each value among `values` (1-based), ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def rank_sum_p(a, b):
    """Two-sided exact p-value of the rank-sum test of samples a and b: the share of all splits of
    the pooled values into groups of len(a) and len(b) whose rank sum for the first group is at
    least as far from its mean as a's is."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        raise ValueError("the rank test needs values on both sides")
    if math.comb(n + m, n) > MAX_SPLITS:
        raise ValueError(f"{n} and {m} values: too many splits for the exact test")
    ranks = mid_ranks(list(a) + list(b))
    mean = n * (n + m + 1) / 2
    observed = abs(sum(ranks[:n]) - mean)
    eps = 1e-9  # rank sums are multiples of 0.5: this only absorbs rounding
    extreme = total = 0
    for group in itertools.combinations(ranks, n):
        total += 1
        if abs(sum(group) - mean) >= observed - eps:
            extreme += 1
    return extreme / total


def same_distribution(real, model):
    """(passes, p): passes unless the test rejects one distribution at ALPHA. Values are rounded
    to the microsecond first, so that the float noise of a subtraction (0.0099999 against 0.01)
    does not break a tie."""
    p = rank_sum_p([round(v, 6) for v in real], [round(v, 6) for v in model])
    return p >= ALPHA, p
