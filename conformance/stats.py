"""The rank test that compares a real timing's repetitions with the model's runs when each is a
random draw (see Row kind "draw" in suite.py and docs/conformance.md).

A median of a few draws is itself a wide random variable. For the same 0-1 s uniform pause on both
sides, the x1.5-or-in-range rule fails by chance in 14% of runs with 5 real draws against 5 model
runs, and in 3% with 7 against 15 (20,000 simulated pairs each, 2026-12-06). So for rows whose value is
a draw (the ZooKeeper Java client's random reconnect pause, which follower goes LOOKING first, a
few milliseconds of process scheduling) the suite asks whether the two samples could come from one
distribution: the two-sided Wilcoxon-Mann-Whitney rank-sum test, exact (every way of splitting the
pooled values into the two groups is counted, ties take mid-ranks), so the verdict is the same on
every machine for the same numbers.
"""
import math

ALPHA = 0.01


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
    # Mid-ranks are multiples of 0.5, so twice each is an integer and the count below is exact.
    # Rather than enumerate every split (C(n+m, n) of them: 133,784,560 for 7 real repetitions
    # against 45 model runs), count the splits by their rank sum: ways[k][s] is the number of
    # k-element groups of the ranks seen so far whose doubled rank sum is s.
    doubled = [round(2 * r) for r in mid_ranks(list(a) + list(b))]
    mean2 = n * (n + m + 1)  # twice the mean rank sum of a group of n
    observed = abs(sum(doubled[:n]) - mean2)
    ways = [{} for _ in range(n + 1)]
    ways[0][0] = 1
    for r in doubled:
        for k in range(n, 0, -1):
            for s, c in ways[k - 1].items():
                ways[k][s + r] = ways[k].get(s + r, 0) + c
    extreme = sum(c for s, c in ways[n].items() if abs(s - mean2) >= observed)
    return extreme / math.comb(n + m, n)


def same_distribution(real, model):
    """(passes, p): passes unless the test rejects one distribution at ALPHA. Values are rounded
    to the microsecond first, so that the float noise of a subtraction (0.0099999 against 0.01)
    does not break a tie."""
    p = rank_sum_p([round(v, 6) for v in real], [round(v, 6) for v in model])
    return p >= ALPHA, p
