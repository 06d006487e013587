#!/usr/bin/env python3
"""The Kubernetes path of a sweep as far as it goes without a cluster or an image builder.

    k8s_path_test.py --build BUILD_DIR --source REPO --workdir DIR

* The manifests agree with each other and with the image: STAMPEDE_SHARD_COUNT equals the
  Job's completions, the shard Job runs the `stampede-shard` that deploy/Dockerfile installs, and
  every COPY source of the Dockerfile exists.
* The image's build steps after its package layer, on this machine: `cmake --install` of the
  build into a prefix under DIR (the Dockerfile's `--prefix /usr/local`), deploy/run-shard.sh
  copied to PREFIX/bin/stampede-shard. Then, from an empty working folder (the image's WORKDIR,
  no scenarios/ in it), each pod's command of deploy/k8s-indexed-job.yaml with its environment
  (JOB_COMPLETION_INDEX 0..completions-1) on a small sweep, and the merge Job's own shell
  command with /results mapped to a folder under DIR: the merged database must hold every
  planned run exactly once and the report must be written.
* `docker build` itself runs only where a Docker daemon answers (or podman is installed); where
  none does, the test says so on a line of its own and checks the rest.

Prints one line per check and closes with "N passed, N failed"; exits 1 if any failed.
"""
import argparse
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import yaml


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, goal, detail=""):
        if ok:
            self.passed += 1
            print(f"ok - {goal}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL - {goal}" + (f": {detail}" if detail else ""), flush=True)
        return ok


def container(docs, kind, name):
    for d in docs:
        if d and d.get("kind") == kind and d["metadata"]["name"] == name:
            return d, d["spec"]["template"]["spec"]["containers"][0]
    raise SystemExit(f"k8s_path_test: no {kind} {name}")


def image_builder():
    """The command that can build the image here, or None."""
    if shutil.which("podman"):
        return ["podman"]
    if shutil.which("docker"):
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
        if info.returncode == 0:
            return ["docker"]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    src = pathlib.Path(args.source).resolve()
    pathlib.Path(args.workdir).mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="k.", dir=args.workdir))
    c = Checks()

    job, shard = container(list(yaml.safe_load_all((src / "deploy/k8s-indexed-job.yaml")
                                                   .read_text())), "Job", "stampede-sweep")
    _, merge = container([yaml.safe_load((src / "deploy/k8s-merge-job.yaml").read_text())],
                         "Job", "stampede-merge")
    env = {e["name"]: e["value"] for e in shard.get("env", [])}
    completions = job["spec"]["completions"]
    c.check(env.get("STAMPEDE_SHARD_COUNT") == str(completions) and
            job["spec"].get("completionMode") == "Indexed",
            "the Indexed Job's STAMPEDE_SHARD_COUNT equals its completions", str(env))
    dockerfile = (src / "deploy/Dockerfile").read_text()
    copies = re.findall(r"^COPY (\S+) (\S+)$", dockerfile, re.M)
    c.check(all((src / s).exists() for s, _ in copies),
            "every COPY source of the Dockerfile exists",
            str([s for s, _ in copies if not (src / s).exists()]))
    c.check(("deploy/run-shard.sh", "/usr/local/bin/" + shard["command"][0]) in copies,
            "the shard Job runs the stampede-shard that the image installs", str(shard["command"]))

    # The image's layout, built from this build the way the Dockerfile's last RUN does.
    prefix = tmp / "usr/local"
    inst = subprocess.run(["cmake", "--install", args.build, "--prefix", str(prefix)],
                          capture_output=True, text=True)
    c.check(inst.returncode == 0, "cmake --install puts stampede and the scenarios in a prefix",
            inst.stderr)
    shutil.copy(src / "deploy/run-shard.sh", prefix / "bin/stampede-shard")
    results, work = tmp / "results", tmp / "work"
    work.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_"))}
    base["PATH"] = f"{prefix}/bin:/usr/bin:/bin"
    # The manifest's sweep, made small: its scenario, two of its agent counts, three seeds.
    sweep = [shard["args"][0], "--seeds", "1..3", "--set", "cluster.agents=2,3", "--jobs", "1"]
    codes = []
    for index in range(completions):
        # Each pod has its own emptyDir scratch; the manifest's /scratch becomes one per pod.
        pod = dict(base, **env)
        pod.update(JOB_COMPLETION_INDEX=str(index), STAMPEDE_SCRATCH=str(tmp / f"s{index}"))
        cmd = [*shard["command"][:1], str(results), *sweep]
        codes.append(subprocess.run(cmd, cwd=work, env=pod, capture_output=True, text=True))
    c.check(all(p.returncode == 0 for p in codes),
            f"{completions} pods' commands store their shards, scenario named as in the manifest",
            "; ".join(p.stderr.strip()[-300:] for p in codes if p.returncode))
    script = merge["args"][0].replace("/results", str(results))
    m = subprocess.run([*merge["command"], script], cwd=work, env=base, capture_output=True,
                       text=True)
    c.check(m.returncode == 0, "the merge Job's command merges the shards and writes the report",
            m.stderr[-500:])
    runs = []
    if (results / "all.db").exists():
        con = sqlite3.connect(results / "all.db")
        runs = [(p, s) for p, s in con.execute("SELECT point, seed FROM runs")]
        con.close()
    c.check(len(runs) == 6 and len(set(runs)) == 6,
            "the merged database holds each of the 6 planned runs exactly once", str(runs))
    c.check((results / "report/report.md").exists(), "the report is written")

    builder = image_builder()
    if builder is None:
        print("note - no Docker daemon answers and podman is not installed: the image itself "
              "was not built (its COPY sources, install step and entry points are checked above)")
    else:
        b = subprocess.run([*builder, "build", "-f", "deploy/Dockerfile", "-t",
                            "stampede:test", "."], cwd=src, capture_output=True, text=True)
        c.check(b.returncode == 0, f"{builder[0]} build of deploy/Dockerfile", b.stderr[-500:])
    if not c.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
