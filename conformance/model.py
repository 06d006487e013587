"""The model side: runs the stampede binary on a scenario written into a temporary folder and
reads the instants the experiments need from its timeline (--log debug) and its trace."""
import json
import os
import re
import subprocess
import tempfile

_LINE = re.compile(r"^\s+(\d+):(\d\d\.\d{3})\s+(\S+)\s+(.*)$")

# The header of every scenario the suite writes: a quiet world around the nodes under test.
ZK_ONLY = """seed: 1
cluster:
  servers: 1
  agents: 0
  zookeeper: {n}
  network:
    latency: {{min: 1ms, max: 5ms}}
  timing:
    agent_ping_interval: 1h
    process_replay_interval: 1h
"""

HA_PAIR = """seed: 1
cluster:
  servers: 2
  version: "1.1.1"
  database: {{external: true, max_connections: 200, pool_per_server: 5}}
  agents: 0
  zookeeper: {n}
  network:
    latency: {{min: 1ms, max: 5ms}}
  timing:
    agent_ping_interval: 1h
    process_replay_interval: 1h
"""

# Two HA Cattle servers with one service on three agents, as in
# scenarios/known-bugs/ha-stale-lock-holder.yaml: server-1 takes the service's ZooKeeper lock at
# 1.350 s, both subscribe to Redis, and a killed container makes a server publish events.
HA_STACK = """seed: 1
cluster:
  servers: 2
  version: "1.1.1"
  database: {external: true, max_connections: 200, pool_per_server: 50}
  zookeeper: 3
  agents: 3
  network:
    latency: {min: 1ms, max: 5ms}
stacks:
  - name: wordpress
    services:
      - {name: web, scale: 2}
"""


class NotModelled(Exception):
    """The model cannot express this experiment yet; the message says why."""


class ModelRun:
    """One run's timeline lines (time_s, node, text) and trace steps (dicts)."""

    def __init__(self, stdout, steps):
        self.stdout = stdout
        self.steps = steps
        self.lines = []
        for line in stdout.splitlines():
            m = _LINE.match(line)
            if m:
                t = int(m.group(1)) * 60 + float(m.group(2))
                self.lines.append((t, m.group(3), m.group(4)))

    def first_line(self, pattern, node=None, after_s=0.0):
        for t, n, text in self.lines:
            if t >= after_s and re.search(pattern, text) and (node is None or re.fullmatch(node, n)):
                return t, n, text
        return None

    def deliveries(self, to, message, after_s=0.0, before_s=float("inf")):
        return [s["t"] / 1e9 for s in self.steps
                if s.get("k") == "deliver" and s.get("n") == to and s.get("m") == message
                and after_s <= s["t"] / 1e9 < before_s]

    def metric(self, name):
        m = re.search(rf"^\s+{re.escape(name)}\s+(\S+)", self.stdout, re.M)
        return m.group(1) if m else None

    def expectation_held(self, text):
        for line in self.stdout.splitlines():
            if text in line:
                return line.lstrip().startswith("\u2713")
        return None


def run(stampede, name, yaml_body, sets=()):
    """Runs scenario `name` (yaml_body: everything but the name line) and returns a ModelRun."""
    with tempfile.TemporaryDirectory(prefix="stampede-conf-model-") as tmp:
        path = os.path.join(tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(f"name: {name}\ndescription: conformance suite (conformance/), generated\n")
            f.write(yaml_body)
        trace = os.path.join(tmp, "run.trace.jsonl")
        argv = [stampede, "run", path, "--log", "debug", "--trace", trace]
        for s in sets:
            argv += ["--set", s]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if p.returncode not in (0, 1):
            raise RuntimeError(f"stampede run {name} failed ({p.returncode}): {p.stderr[-500:]}")
        steps = []
        with open(trace) as f:
            for line in f:
                steps.append(json.loads(line))
        return ModelRun(p.stdout, steps)
