#!/usr/bin/python3
"""The conformance suite: each experiment on real servers (Debian's zookeeper, mariadb-server,
redis-server, run here as child processes on 127.0.0.1) and on the model, with the same
schedule, and one table of the two. See docs/conformance.md.

    conformance/run.py --stampede build/cli/stampede                 # the full suite
    conformance/run.py --stampede build/cli/stampede --quick         # the ctest subset
    conformance/run.py --stampede ... --write-docs docs/conformance.md
    conformance/run.py --check-docs docs/conformance.md              # rows of the doc current?
    conformance/run.py --list                                        # the experiments and rows

Exit codes: 0 every row passed, 1 a row failed, 2 bad usage or a server is not installed
(77 instead with --skip-missing, which ctest reports as skipped).
"""
import argparse
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # ctest runs this from the source tree: leave no __pycache__

import db_exp  # noqa: E402
import redis_exp  # noqa: E402
import suite  # noqa: E402
import zk_exp  # noqa: E402
import zk_real  # noqa: E402
from model import NotModelled  # noqa: E402

BEGIN, END = "<!-- conformance table: begin (generated) -->", "<!-- conformance table: end -->"
ROWS_BEGIN, ROWS_END = "<!-- conformance rows: begin (generated) -->", "<!-- conformance rows: end -->"


def all_experiments():
    return zk_exp.experiments() + db_exp.experiments() + redis_exp.experiments()


def missing_servers(exps):
    checks = {"zookeeper": zk_real.available, "mariadb": db_exp.available,
              "redis": redis_exp.available}
    return sorted({e.needs for e in exps if not checks[e.needs]()})


def run_real(exp, reps, results):
    for i in range(reps):
        t = time.time()
        try:
            values = exp.real()
        except Exception as e:  # noqa: BLE001 -- one failed repetition is reported, not fatal
            why = f"{type(e).__name__}: {e}".splitlines()[0][:120]
            print(f"  real #{i + 1}: {why}", flush=True)
            if os.environ.get("STAMPEDE_CONF_DEBUG"):
                traceback.print_exc()
            for r in results:
                r.real_error = r.real_error or why
            continue
        print(f"  real #{i + 1}: {time.time() - t:.1f} s  "
              + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in values.items()), flush=True)
        for r in results:
            if values.get(r.row.key) is not None:
                r.real.append(values[r.row.key])
            else:
                r.real_error = r.real_error or "not measured"


def run_model(exp, stampede, results):
    try:
        values = exp.model(stampede)
    except NotModelled as e:
        values = {r.row.key: e for r in results}
    except Exception as e:  # noqa: BLE001 -- the row shows the model side failed
        print(f"  model: {type(e).__name__}: {e}", flush=True)
        values = {}
    for r in results:
        v = values.get(r.row.key)
        if isinstance(v, NotModelled):
            r.model_na = str(v)
        else:
            r.model = v
    print("  model: " + ", ".join(f"{r.row.key}={model_text(r)}" for r in results), flush=True)


def model_text(r):
    if r.model_na is not None:
        return "n/a"
    if isinstance(r.model, list):
        return "[" + " ".join(f"{v:.3f}" for v in r.model) + "]"
    return r.model


def rows_block(exps):
    """The generated list of rows and tolerances that --check-docs compares."""
    lines = ["| experiment | quantity | tolerance | in the quick subset |", "|---|---|---|---|"]
    for e in exps:
        for r in e.rows:
            unit = f" [{r.unit}]" if r.unit else ""
            lines.append(f"| {e.name} | {r.label}{unit} | {r.tolerance} | "
                         f"{'yes' if r.key in e.quick else 'no'} |")
    return "\n".join(lines)


def replace_block(text, begin, end, body):
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"conformance: the doc has no {begin} ... {end} block")
    return pattern.sub(lambda _m: f"{begin}\n{body}\n{end}", text)


def check_docs(path):
    with open(path) as f:
        text = f.read()
    m = re.search(re.escape(ROWS_BEGIN) + r"\n(.*?)\n" + re.escape(ROWS_END),
                  text, re.S)
    want = rows_block(all_experiments())
    if not m or m.group(1).strip() != want.strip():
        print(f"conformance: {path} is not current: its rows differ from the suite's. "
              "Run `make conformance` (or run.py --write-docs) to regenerate it.")
        return 1
    t = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    labels = [f"{r.label}{f' [{r.unit}]' if r.unit else ''}"
              for e in all_experiments() for r in e.rows]
    table = [line.split(" | ")[0].lstrip("| ") for line in (t.group(1).splitlines() if t else [])
             if line.startswith("| ") and not line.startswith("| quantity")]
    if table != labels:
        print(f"conformance: {path}: the measured table's quantities differ from the suite's rows")
        return 1
    print(f"conformance: {path} is current ({len(labels)} rows)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stampede", help="the stampede binary (model side)")
    ap.add_argument("--quick", action="store_true", help="the quick subset, one repetition each")
    ap.add_argument("--only", action="append", default=[], help="experiment name (repeatable)")
    ap.add_argument("--reps", type=int, help="repetitions of each real experiment")
    ap.add_argument("--write-docs", metavar="FILE")
    ap.add_argument("--check-docs", metavar="FILE")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (skipped) when a server package is not installed")
    a = ap.parse_args()
    exps = all_experiments()
    if a.check_docs:
        return check_docs(a.check_docs)
    if a.list:
        for e in exps:
            print(f"{e.name}: " + "; ".join(r.key + (" (quick)" if r.key in e.quick else "")
                                        for r in e.rows))
        return 0
    if a.quick:
        exps = [e for e in exps if e.quick]
    if a.only:
        exps = [e for e in exps if e.name in a.only]
    if not a.stampede or not os.access(a.stampede, os.X_OK):
        print("conformance: --stampede BINARY is required (build it: cmake --build build "
              "--target stampede)")
        return 2
    missing = missing_servers(exps)
    if missing:
        print(f"conformance: not installed: {', '.join(missing)} (run scripts/install-deps.sh)")
        return 77 if a.skip_missing else 2
    return run_suite(a, exps)


def run_suite(a, exps):
    started = time.time()
    results = []
    for e in exps:
        reps = a.reps or (1 if a.quick else e.reps)
        print(f"{e.name}: {reps} real repetition(s) and the model", flush=True)
        rs = [suite.Result(r) for r in e.rows]
        run_real(e, reps, rs)
        run_model(e, os.path.abspath(a.stampede), rs)
        results += [r for r in rs if not a.quick or r.row.key in e.quick]
    rows = suite.table_rows(results)
    print()
    print(suite.text_table(rows))
    failed = sum(1 for r in rows if r[-1] != "pass")
    elapsed = time.time() - started
    print(f"\n{len(rows) - failed} passed, {failed} failed  ({elapsed:.0f} s)")
    if a.write_docs:
        with open(a.write_docs) as f:
            text = f.read()
        stamp = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make "
                 f"conformance` ({'quick subset' if a.quick else 'full suite'}, "
                 f"{elapsed:.0f} s): {len(rows) - failed} rows pass, {failed} fail.\n\n")
        text = replace_block(text, BEGIN, END, stamp + suite.markdown_table(rows))
        text = replace_block(text, ROWS_BEGIN, ROWS_END, rows_block(all_experiments()))
        with open(a.write_docs, "w") as f:
            f.write(text)
        print(f"conformance: wrote {a.write_docs}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
