#!/usr/bin/python3
"""Checks the exact rank-sum test of conformance/stats.py against values worked out by hand, so
that a wrong p-value cannot pass or fail a conformance row unnoticed, and that every row kind
formats into the table (ctest: conformance_stats)."""
import itertools
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats  # noqa: E402


def close(x, y):
    return math.isclose(x, y, rel_tol=1e-12)


def main():
    # Ties share their mean rank.
    assert stats.mid_ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    # Complete separation of 5 against 5: only the two most extreme of C(10,5) = 252 splits.
    assert close(stats.rank_sum_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 2 / 252)
    assert not stats.same_distribution([6, 7, 8, 9, 10], [1, 2, 3, 4, 5])[0]
    # Interleaved samples: the rank sum is at its mean, every split is as extreme.
    assert close(stats.rank_sum_p([1, 4, 5, 8], [2, 3, 6, 7]), 1.0)
    # 2 against 2, a = {1, 3}: rank sum 4 against the mean 5; the splits {1,2}, {1,3}, {2,4},
    # {3,4} (sums 3, 4, 6, 7) are at least 1 from it, {1,4} and {2,3} (sums 5) are not: 4/6.
    assert close(stats.rank_sum_p([1, 3], [2, 4]), 4 / 6)
    # Identical values everywhere: nothing tells the groups apart.
    assert close(stats.rank_sum_p([0.5] * 3, [0.5] * 4), 1.0)
    # Seven real draws wholly above fifteen model draws: rejected (1 in 170,544 splits each way).
    assert close(stats.rank_sum_p([float(20 + i) for i in range(7)],
                                  [float(i) for i in range(15)]), 2 / math.comb(22, 7))
    # Seven real draws wholly above forty-five model draws (the frozen holder's row): the splits
    # are counted, not enumerated (C(52, 7) = 133,784,560 of them), and only the two most extreme
    # reject as far.
    assert close(stats.rank_sum_p([float(100 + i) for i in range(7)],
                                  [float(i) for i in range(45)]), 2 / math.comb(52, 7))
    # The count agrees with enumerating every split, ties included.
    a, b = [0.3, 0.3, 0.9, 1.2, 0.05], [0.3, 0.1, 0.7, 0.7, 0.2, 1.5, 0.05, 0.6]
    ranks = stats.mid_ranks(a + b)
    mean = len(a) * (len(a) + len(b) + 1) / 2
    observed = abs(sum(ranks[:len(a)]) - mean)
    splits = list(itertools.combinations(ranks, len(a)))
    extreme = sum(1 for g in splits if abs(sum(g) - mean) >= observed - 1e-9)
    assert close(stats.rank_sum_p(a, b), extreme / len(splits))
    # Every row kind formats into the table, with both sides' samples (a row that cannot be
    # printed would stop the whole suite before its table).
    import suite
    rows = {}
    for kind, real, model in [("time", [1.0, 2.0], 1.5), ("bool", [True, False], True),
                              ("exact", [3, 3], 3), ("draw", [0.1, 0.2, 0.3], [0.1, 0.2, 0.4])]:
        r = suite.Result(suite.Row("k", "label", kind, "s"))
        r.real, r.model = real, model
        rows[kind] = suite.table_rows([r])[0]
    assert rows["time"][1:4] == ["1.500 (1.000..2.000, n=2)", "1.500", "1.00"], rows["time"]
    assert rows["bool"][1] == "yes/no (n=2)" and rows["bool"][-1] == "FAIL", rows["bool"]
    assert rows["exact"][1] == "3 (n=2)" and rows["exact"][-1] == "pass", rows["exact"]
    assert rows["draw"][2] == "0.200 (0.100..0.400, n=3)" and rows["draw"][-1] == "pass", rows["draw"]
    print("conformance stats: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
