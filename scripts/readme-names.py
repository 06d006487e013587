#!/usr/bin/env python3
"""Regenerates the README's tables of registered names from `stampede list`.

    python3 scripts/readme-names.py [build/cli/stampede]

The tables sit between the markers `<!-- names:begin -->` and `<!-- names:end -->`; everything
else in the README is left as it is. A ctest (cli: the README names every ...) fails when a
registered name is missing from the README, which is the cue to run this.
"""
import re
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else "build/cli/stampede"


def listing(what):
    out = subprocess.run([binary, "list", what], check=True, capture_output=True, text=True)
    return out.stdout.splitlines()


def two_columns(what, title):
    rows = [f"### {title}", "", "| name | meaning |", "| --- | --- |"]
    for line in listing(what):
        name, _, meaning = re.match(r"(.+?)(\s{2,}|$)(.*)", line).groups()
        rows.append(f"| `{name.strip()}` | {meaning} |")
    return rows + [""]


rows = ["### Timings (`cluster.timing: {NAME: VALUE}`)", "",
        "| name | default | what | source |", "| --- | --- | --- | --- |"]
for line in listing("timings"):
    m = re.match(r"(\S+)\s+(\S+)\s+(.*?)  \[source: (.*)\]$", line)
    rows.append(f"| `{m.group(1)}` | {m.group(2)} | {m.group(3)} | {m.group(4)} |")
rows.append("")
rows += two_columns("mechanisms", "Mechanisms (`cluster.mechanisms: {NAME: false}` switches one off)")
rows += two_columns("invariants", "Invariants (`always: NAME` / `never: NAME`, checked after every step)")
rows += two_columns("metrics", "Metrics (printed by `run`, stored by `sweep`)")
rows += two_columns("signals", "Signals (`eventually: NAME`)")
rows += two_columns("logs", "Log lines (`log: {node, contains}`; the timeline shows the notable ones)")

readme = open("README.md").read()
begin, end = "<!-- names:begin -->\n", "<!-- names:end -->\n"
head, rest = readme.split(begin, 1)
_, tail = rest.split(end, 1)
open("README.md.tmp", "w").write(head + begin + "\n".join(rows) + end + tail)
import os
os.replace("README.md.tmp", "README.md")
