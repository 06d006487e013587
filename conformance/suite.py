"""Rows, experiments, verdicts and the table.

An experiment runs once per repetition on real servers (returning, per row, one value) and once on
the model (one value per row, or NotModelled). A row compares them:
  time  -- seconds; passes when the model is within x1.5 of the real median, or inside the real
           range (min..max over the repetitions);
  bool  -- yes/no; passes when every real repetition and the model agree;
  exact -- a value that is not a timing (a granted timeout, an error code); passes when every real
           repetition and the model agree;
  draw  -- seconds, a timing that is a random draw on both sides (a client's random reconnect
           pause, which follower notices first, milliseconds of scheduling): the model gives one
           value per run (seed), and the row passes unless the exact rank-sum test of stats.py
           rejects, at p < 0.01, that the real repetitions and the model's runs come from one
           distribution. A median of a few draws is too wide for a x1.5 ratio (docs/conformance.md).
A row whose model side is not modelled, or whose real side could not be measured, does not pass.
"""
import statistics

import stats

TIME_FACTOR = 1.5
TOLERANCE = {"time": "x1.5 or in range", "bool": "identical", "exact": "identical",
             "draw": f"same distribution (rank test p >= {stats.ALPHA})"}


class Row:
    def __init__(self, key, label, kind, unit=""):
        assert kind in TOLERANCE
        self.key, self.label, self.kind, self.unit = key, label, kind, unit

    @property
    def tolerance(self):
        return TOLERANCE[self.kind]


class Experiment:
    """name: a short id; needs: 'zookeeper', 'mariadb' or 'redis'; real(rep) -> {key: value};
    model(stampede) -> {key: value or NotModelled}; quick: the row keys in the quick (ctest)
    subset, () for none; reps: real repetitions in the full suite (the quick subset runs one)."""

    def __init__(self, name, needs, rows, real, model, reps=3, quick=()):
        self.name, self.needs, self.rows = name, needs, rows
        self.real, self.model = real, model
        self.reps, self.quick = reps, tuple(quick)
        assert set(self.quick) <= {r.key for r in rows}, name


class Result:
    def __init__(self, row):
        self.row = row
        self.real = []          # one value per repetition that measured it
        self.real_error = None  # why the real side has no value
        self.model = None       # one value; for a draw row, the list of the model's runs
        self.model_na = None    # why the model side has no value

    def verdict(self):
        """(passed, ratio text)."""
        if self.model_na is not None or not self.real or self.model is None:
            return False, "-"
        if self.row.kind == "draw":
            ok, p = stats.same_distribution(self.real, self.model)
            med, model_med = statistics.median(self.real), statistics.median(self.model)
            ratio = f"{model_med / med:.2f}" if med > 0 else "inf"
            return ok, f"{ratio} (p={p:.2f})"
        if self.row.kind == "time":
            med = statistics.median(self.real)
            ratio = self.model / med if med > 0 else float("inf")
            ok = (med / TIME_FACTOR <= self.model <= med * TIME_FACTOR
                  or min(self.real) <= self.model <= max(self.real))
            return ok, (f"{ratio:.2f}" if ratio != float("inf") else "inf")
        ok = all(v == self.model for v in self.real)
        return ok, "-"


def fmt_value(kind, v):
    if kind in ("time", "draw"):
        return f"{v:.3f}" if v < 10 else f"{v:.2f}"
    if kind == "bool":
        return "yes" if v else "no"
    return str(v)


def fmt_real(r):
    if not r.real:
        return f"error: {r.real_error}" if r.real_error else "not run"
    k, vals, n = r.row.kind, r.real, len(r.real)
    if k in ("time", "draw"):
        return fmt_spread(k, vals)
    distinct = sorted(set(vals), key=str)
    if len(distinct) == 1:
        return f"{fmt_value(k, distinct[0])} (n={n})"
    return "/".join(fmt_value(k, v) for v in vals) + f" (n={n})"


def fmt_spread(kind, vals):
    """A sample as its median, range and size."""
    med = statistics.median(vals)
    return (f"{fmt_value(kind, med)} ({fmt_value(kind, min(vals))}..{fmt_value(kind, max(vals))}, "
            f"n={len(vals)})")


def fmt_model(r):
    if r.model_na is not None:
        return f"n/a (not modelled: {r.model_na})"
    if r.model is None:
        return "error"
    if r.row.kind == "draw":
        return fmt_spread(r.row.kind, r.model)
    return fmt_value(r.row.kind, r.model)


def table_rows(results):
    """[quantity, real, model, ratio, tolerance, result] for each result."""
    out = []
    for r in results:
        ok, ratio = r.verdict()
        unit = f" [{r.row.unit}]" if r.row.unit else ""
        out.append([r.row.label + unit, fmt_real(r), fmt_model(r), ratio, r.row.tolerance,
                    "pass" if ok else "FAIL"])
    return out


HEADER = ["quantity", "real (median, range, n)", "model", "ratio", "tolerance", "result"]


def text_table(rows):
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows)]
    widths = [min(w, 70) for w in widths]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)
