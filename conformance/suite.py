"""Rows, experiments, verdicts and the table.

An experiment runs once per repetition on real servers (returning, per row, one value) and once on
the model (one value per row, or NotModelled). A row compares them:
  time  -- seconds; passes when the model is within x1.5 of the real median, or inside the real
           range (min..max over the repetitions);
  bool  -- yes/no; passes when every real repetition and the model agree;
  exact -- a value that is not a timing (a granted timeout, an error code); passes when every real
           repetition and the model agree.
A row whose model side is not modelled, or whose real side could not be measured, does not pass.
"""
import statistics

TIME_FACTOR = 1.5
TOLERANCE = {"time": "x1.5 or in range", "bool": "identical", "exact": "identical"}


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
        self.model = None
        self.model_na = None    # why the model side has no value

    def verdict(self):
        """(passed, ratio text)."""
        if self.model_na is not None or not self.real or self.model is None:
            return False, "-"
        if self.row.kind == "time":
            med = statistics.median(self.real)
            ratio = self.model / med if med > 0 else float("inf")
            ok = (med / TIME_FACTOR <= self.model <= med * TIME_FACTOR
                  or min(self.real) <= self.model <= max(self.real))
            return ok, (f"{ratio:.2f}" if ratio != float("inf") else "inf")
        ok = all(v == self.model for v in self.real)
        return ok, "-"


def fmt_value(kind, v):
    if kind == "time":
        return f"{v:.3f}" if v < 10 else f"{v:.2f}"
    if kind == "bool":
        return "yes" if v else "no"
    return str(v)


def fmt_real(r):
    if not r.real:
        return f"error: {r.real_error}" if r.real_error else "not run"
    k, vals, n = r.row.kind, r.real, len(r.real)
    if k == "time":
        med = statistics.median(vals)
        return f"{fmt_value(k, med)} ({fmt_value(k, min(vals))}..{fmt_value(k, max(vals))}, n={n})"
    distinct = sorted(set(vals), key=str)
    if len(distinct) == 1:
        return f"{fmt_value(k, distinct[0])} (n={n})"
    return "/".join(fmt_value(k, v) for v in vals) + f" (n={n})"


def fmt_model(r):
    if r.model_na is not None:
        return f"n/a (not modelled: {r.model_na})"
    if r.model is None:
        return "error"
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
