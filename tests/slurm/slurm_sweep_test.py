#!/usr/bin/env python3
"""Runs deploy/slurm-sweep.sh and deploy/slurm-merge.sh on a private single-node Slurm.

    slurm_sweep_test.py --stampede BIN --source REPO --workdir DIR

Starts munged, slurmctld and slurmd from Debian's packages (scripts/install-deps.sh) as child
processes of this script, as the current user, on 127.0.0.1 with free ports. Configuration,
state, spool, the munge key and socket, logs and the sweep's results all live in one temporary
folder under DIR; nothing outside it is read as configuration or written. Then:

  * submits deploy/slurm-sweep.sh as a 3-task array on a small sweep, and deploy/slurm-merge.sh
    with --dependency=afterok on it;
  * requeues one task (`scontrol requeue`) while it is midway through its shard, and kills the
    `stampede sweep` process of another (SIGKILL, as the OOM killer would), then requeues that
    failed task as docs/sweeps.md tells a user to;
  * checks that the merge ran only after every task succeeded, that the merged database holds
    every planned run exactly once with the digest a local sweep gives, that the shards are
    disjoint, that the interrupted tasks resumed from what they had stored, and that the report
    is written.

Every process it starts, and every process they start (this script is their child subreaper, so
job steps that slurmd detaches are reparented here), is stopped by PID at the end, also when a
check fails, an exception escapes or the script gets SIGTERM/SIGINT; the daemons also get SIGKILL
from the kernel if this script dies without cleaning up (PR_SET_PDEATHSIG). Prints one line per
check and closes with "N passed, N failed"; exits 1 if any failed.
"""
import argparse
import ctypes
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# ctest's TIMEOUT for this test is 150 s and we stop well before it; the sanitizer build, whose
# sweeps run several times slower, passes --deadline 400 with a TIMEOUT of 450 s.
DEADLINE_S = 100
TASKS = 3         # array 0-2
# What happens to each task midway through its shard.
INTERRUPTIONS = {0: "requeued", 1: "had its sweep killed", 2: "killed whole"}
KILLED_TASK = 2   # the one that fails and is requeued by hand
NODE = "n1"       # short: slurmd's step sockets live under the spool folder (sun_path is 108)

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """preexec_fn for the daemons: SIGKILL when this script's process ends, however it ends."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Failed(Exception):
    pass


class Harness:
    def __init__(self, args):
        self.args = args
        self.source = pathlib.Path(args.source).resolve()
        self.stampede = pathlib.Path(args.stampede).resolve()
        workdir = pathlib.Path(args.workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="s.", dir=workdir))
        # slurmd puts each job step's Unix socket in its spool folder, munged its socket in m/;
        # a socket path holds at most 107 bytes. Where the build folder is too deep for that,
        # the private folder goes to the system's temporary folder instead (and says so).
        if len(str(self.tmp / "spool/n1_999999.4294967291")) > 100:
            self.tmp.rmdir()
            self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="stampede-slurm."))
            print(f"note - {workdir} is too deep for Unix socket paths: using {self.tmp}")
        self.daemons = []  # (name, Popen), started in this order, stopped in reverse
        self.jobs = []
        self.others = []  # other Popen children (the reference sweep)
        self.passed = 0
        self.failed = 0
        self.start = time.monotonic()
        self.env = dict(os.environ)
        self.env["SLURM_CONF"] = str(self.tmp / "etc/slurm.conf")
        self.env["PATH"] = f"{self.stampede.parent}:{self.env.get('PATH', '/usr/bin:/bin')}"
        # The tasks' scratch (run-shard.sh reads TMPDIR through slurm-sweep.sh) and the results
        # folder both stay in the temporary folder; sbatch passes this environment to the jobs.
        self.env["TMPDIR"] = str(self.tmp / "scratch")
        self.env["RESULTS"] = str(self.tmp / "results")
        for var in [v for v in self.env if v.startswith(("SLURM_", "SBATCH_", "SQUEUE_"))]:
            if var != "SLURM_CONF":
                del self.env[var]

    # ---- checks and output ----------------------------------------------------------------
    def check(self, ok, goal, detail=""):
        if ok:
            self.passed += 1
            print(f"ok - {goal}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL - {goal}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def require(self, ok, goal, detail=""):
        if not self.check(ok, goal, detail):
            raise Failed(goal)

    def left_s(self):
        return DEADLINE_S - (time.monotonic() - self.start)

    def wait_for(self, what, predicate, timeout_s, interval_s=0.05):
        end = time.monotonic() + min(timeout_s, max(self.left_s(), 0))
        while time.monotonic() < end:
            # Killed job processes are reparented here; a zombie left in a job's process group
            # would keep proctrack/pgid from ever seeing the job end.
            reap_orphans(self.keep_pids())
            value = predicate()
            if value:
                return value
            for name, proc in self.daemons:
                if proc.poll() is not None:
                    raise Failed(f"{name} exited with {proc.returncode} while waiting for {what}")
            time.sleep(interval_s)
        raise Failed(f"timed out waiting for {what}")

    def run(self, *cmd, check=True, cwd=None):
        proc = subprocess.run(cmd, env=self.env, cwd=cwd or self.tmp, capture_output=True,
                              text=True, timeout=max(5, min(30, self.left_s())))
        if check and proc.returncode != 0:
            raise Failed(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    # ---- daemons --------------------------------------------------------------------------
    def spawn(self, name, cmd):
        log = open(self.tmp / f"log/{name}.out", "w")
        proc = subprocess.Popen(cmd, env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        log.close()
        self.daemons.append((name, proc))
        return proc

    def start_munge(self):
        m = self.tmp / "m"
        key = m / "key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.socket = m / "sock"
        # --force: munged otherwise refuses folders that other users may write to (the build
        # folder's parents are not ours to change); the key and socket folders are 0700.
        self.spawn("munged", ["munged", "--foreground", "--force", f"--socket={self.socket}",
                              f"--key-file={key}", f"--pid-file={m}/pid",
                              f"--seed-file={m}/seed", f"--log-file={self.tmp}/log/munged.log"])
        self.wait_for("munged's socket", self.socket.exists, 10)
        cred = self.run("munge", "-n", "-S", str(self.socket)).stdout
        p = subprocess.run(["unmunge", "-S", str(self.socket)], input=cred, text=True,
                           capture_output=True, env=self.env, timeout=10)
        self.require(p.returncode == 0 and "STATUS:          Success" in p.stdout,
                     "munged on a private socket encodes and decodes a credential", p.stdout)

    def write_slurm_conf(self):
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        host = socket.gethostname().split(".")[0]
        ctld_port, slurmd_port = free_ports(2)
        cpus = min(os.cpu_count() or 1, 2)
        t = self.tmp
        conf = f"""# Written by tests/slurm/slurm_sweep_test.py: a private single-node cluster.
ClusterName=stampedetest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket},cred_expire=5
StateSaveLocation={t}/state
SlurmdSpoolDir={t}/spool
SlurmctldPidFile={t}/state/slurmctld.pid
SlurmdPidFile={t}/spool/slurmd.pid
SlurmctldLogFile={t}/log/slurmctld.log
SlurmdLogFile={t}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PluginDir=/usr/lib/x86_64-linux-gnu/slurm-wlm
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/builtin
# The periodic pass (60 s by default) is what starts a requeued task once its BeginTime passes.
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=2
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        (t / "etc/slurm.conf").write_text(conf)

    def start_slurm(self):
        for d in ("etc", "state", "spool", "log", "m", "scratch", "results", "out"):
            (self.tmp / d).mkdir(mode=0o700)
        self.start_munge()
        self.write_slurm_conf()
        conf = str(self.tmp / "etc/slurm.conf")
        self.spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", conf])
        self.wait_for("slurmctld to answer", lambda: self.run("scontrol", "ping",
                                                             check=False).returncode == 0, 20,
                      0.2)
        self.spawn("slurmd", ["slurmd", "-D", "-N", NODE, "-f", conf])
        state = lambda: self.run("sinfo", "-h", "-n", NODE, "-o", "%T").stdout.strip()
        self.wait_for("the node to be idle", lambda: state() == "idle", 30, 0.2)
        self.check(True, f"slurmctld and slurmd run privately in {self.tmp}, node {NODE} idle")

    def stop_all(self):
        """Cancels our jobs, then stops every daemon and every leftover descendant by PID."""
        if self.jobs and all(p.poll() is None for _, p in self.daemons):
            subprocess.run(["scancel", *self.jobs], env=self.env, capture_output=True, timeout=10)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and descendants(os.getpid(), self.daemon_pids()):
                time.sleep(0.1)
        for name, proc in reversed(self.daemons):
            stop(proc)
        # Job steps (slurmstepd and the scripts it ran) were reparented to this script, their
        # subreaper, when slurmd detached them; whatever is left is ours, found by parent PID.
        for _ in range(3):
            left = descendants(os.getpid(), set())
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap(1)

    def daemon_pids(self):
        return {p.pid for _, p in self.daemons}

    def keep_pids(self):
        """Children that Popen waits for itself."""
        return self.daemon_pids() | {p.pid for p in self.others}


def free_ports(n):
    """n ports free on 127.0.0.1 now (bound together, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def descendants(root, exclude):
    """PIDs below root, not counting the subtrees of the excluded PIDs."""
    kids = children_map()
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in exclude:
            continue
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def reap(timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def stop(proc):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def reap_orphans(keep):
    """Collects exited orphans (job steps reparented here), leaving the daemons to Popen."""
    for pid in children_map().get(os.getpid(), []):
        if pid in keep:
            continue
        try:
            stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rindex(")") + 2] == "Z":
                os.waitpid(pid, os.WNOHANG)
        except (OSError, ChildProcessError):
            pass


def main():
    global DEADLINE_S  # noqa: PLW0603 -- the one setting every wait reads
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stampede", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--deadline", type=int, default=DEADLINE_S,
                        help="seconds after which the test stops itself (default %(default)s)")
    args = parser.parse_args()
    if args.deadline <= 0:
        parser.error("--deadline: expected a number of seconds above 0")
    DEADLINE_S = args.deadline
    missing = [t for t in ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch",
                           "scontrol", "sinfo", "scancel") if not shutil.which(t)]
    if missing:
        print(f"slurm test: {', '.join(missing)} not installed; run scripts/install-deps.sh")
        print("0 passed, 1 failed")
        return 1
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def on_signal(signum, _frame):
        raise Failed(f"got signal {signum}")
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    h = Harness(args)
    try:
        h.start_slurm()
        scenario_flow(h)
    except Failed as e:
        h.check(False, "the test ran to its end", str(e))
    except Exception as e:  # an unexpected error still stops every process below
        h.check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
    finally:
        if h.failed and h.jobs and all(p.poll() is None for _, p in h.daemons):
            shown = subprocess.run(["scontrol", "-o", "show", "job"], env=h.env, text=True,
                                   capture_output=True, timeout=10).stdout
            print("--- scontrol show job\n" + shown)
        h.stop_all()
        left = descendants(os.getpid(), set())
        h.check(not left, "no process is left behind", f"PIDs {left}")
        if h.failed:
            print(f"logs kept in {h.tmp}/log and {h.tmp}/out")
            for name in ("slurmctld.log", "slurmd.log", "munged.log"):
                path = h.tmp / "log" / name
                if path.exists():
                    print(f"--- tail of {path}")
                    print("".join(path.read_text(errors="replace").splitlines(True)[-15:]))
        elif not args.keep:
            shutil.rmtree(h.tmp, ignore_errors=True)
    print(f"{h.passed} passed, {h.failed} failed")
    return 1 if h.failed else 0


SEEDS = 12
AGENTS = ("2", "3")


def stored_runs(db):
    """(point, seed) -> digest of the runs a results database holds; {} if it cannot be read."""
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return {(p, s): d for p, s, d in con.execute("SELECT point, seed, digest FROM runs")}
        finally:
            con.close()
    except sqlite3.Error:
        return {}


def planned_slice(shard):
    """The (agents, seed) pairs of 1-based shard of TASKS: run i of the sweep's order (points,
    then seeds) belongs to shard i mod TASKS + 1, as docs/sweeps.md states."""
    order = [(a, seed) for a in AGENTS for seed in range(1, SEEDS + 1)]
    return {run for i, run in enumerate(order) if i % TASKS + 1 == shard}


def agents_seed(key):
    point, seed = key
    return dict(json.loads(point))["cluster.agents"], seed


def job_fields(h, job):
    out = h.run("scontrol", "-o", "show", "job", job, check=False).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out.splitlines()[0])) if out.strip() else {}


def parent_pid(pid):
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def sweep_pid(h, db):
    """The `stampede sweep` process writing db, among this script's descendants."""
    for pid in descendants(os.getpid(), h.daemon_pids()):
        try:
            argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"stampede") and b"sweep" in argv and str(db).encode() in argv:
            return pid
    return None


def scenario_flow(h):
    scenario = str(h.source / "scenarios/agent-partition.yaml")
    sweep = [scenario, "--seeds", f"1..{SEEDS}", "--set", f"cluster.agents={','.join(AGENTS)}",
             "--set", "duration=1h", "--jobs", "1"]
    out = h.tmp / "out"
    results = h.tmp / "results"
    # Submitted from the checkout's root, as docs/sweeps.md says; every file the jobs write goes
    # to the temporary folder (--output here, RESULTS and TMPDIR in the environment).
    jid = h.run("sbatch", "--parsable", f"--array=0-{TASKS - 1}", "--cpus-per-task=1",
                "--mem=64M", "--time=5", "--requeue", "--open-mode=append",
                f"--output={out}/sweep-%A_%a.out", "deploy/slurm-sweep.sh", *sweep,
                cwd=h.source).stdout.strip().split(";")[0]
    h.jobs.append(jid)
    merge = h.run("sbatch", "--parsable", f"--dependency=afterok:{jid}", "--mem=64M",
                  "--time=5", f"--output={out}/merge-%j.out", "deploy/slurm-merge.sh",
                  cwd=h.source).stdout.strip().split(";")[0]
    h.jobs.append(merge)
    # The same sweep in one piece, for the digests every run must have however it was sharded.
    whole = subprocess.Popen([str(h.stampede), "sweep", *sweep, "--db", str(h.tmp / "whole.db"),
                              "--quiet"], env=h.env, cwd=h.tmp, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    h.others.append(whole)
    scratch = lambda task: h.tmp / "scratch" / f"stampede-{jid}-shard-{task + 1}.db"
    slice_size = {t: len(planned_slice(t + 1)) for t in range(TASKS)}

    # Interrupt every task midway, each once it has stored a run and before it has stored all.
    interrupted = {}
    def interrupt():
        for task, how in INTERRUPTIONS.items():
            n = len(stored_runs(scratch(task)))
            if task in interrupted or not 0 < n < slice_size[task]:
                continue
            if how == "requeued":
                h.run("scontrol", "requeue", f"{jid}_{task}")
                interrupted[task] = n
            elif (pid := sweep_pid(h, scratch(task))) is not None:
                # The batch script's process is the sweep's parent (slurm-sweep.sh execs
                # run-shard.sh): killing both is a task killed whole, the sweep alone is what the
                # OOM killer does.
                victims = [parent_pid(pid), pid] if how == "killed whole" else [pid]
                for victim in victims:
                    os.kill(victim, signal.SIGKILL)
                interrupted[task] = n
        return len(interrupted) == len(INTERRUPTIONS)
    h.wait_for("every task midway through its shard", interrupt, 60, 0.02)
    h.check(True, ", ".join(f"task {t} {how} after {interrupted[t]} of {slice_size[t]} runs"
                            for t, how in INTERRUPTIONS.items()))

    failed = f"{jid}_{KILLED_TASK}"
    state = lambda job: job_fields(h, job).get("JobState")
    h.wait_for("the task killed whole to fail", lambda: state(failed) == "FAILED", 30, 0.1)
    held = job_fields(h, merge)
    h.check(held.get("JobState") == "PENDING" and not results.joinpath("all.db").exists(),
            "the merge does not run while a task has failed", str(held))
    # What docs/sweeps.md tells a user to do: requeue the failed task, cancel the held merge and
    # submit it again held by each task. Slurm keeps an afterok on the whole array as never
    # satisfied once a task failed, even after the task is requeued and succeeds (the array
    # keeps its highest exit code), and updating the held job's Dependency does not clear it.
    h.run("scontrol", "requeue", failed)
    h.run("scancel", merge)
    each = ":".join(f"{jid}_{t}" for t in range(TASKS))
    merge = h.run("sbatch", "--parsable", f"--dependency=afterok:{each}", "--mem=64M",
                  "--time=5", f"--output={out}/merge-%j.out", "deploy/slurm-merge.sh",
                  cwd=h.source).stdout.strip().split(";")[0]
    h.jobs.append(merge)
    finished = lambda: state(merge) in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")
    h.wait_for("the merge to finish", finished, 60, 0.1)
    check_outcome(h, jid, merge, interrupted, whole)


def check_outcome(h, jid, merge, interrupted, whole):
    results = h.tmp / "results"
    tasks = {t: job_fields(h, f"{jid}_{t}") for t in range(TASKS)}
    m = job_fields(h, merge)
    h.check(m.get("JobState") == "COMPLETED" and m.get("ExitCode") == "0:0",
            "the merge job completed", str(m))
    h.check(all(f.get("JobState") == "COMPLETED" and f.get("ExitCode") == "0:0"
                for f in tasks.values()), "every array task completed in the end", str(tasks))
    restarts = {t: tasks[t].get("Restarts") for t in range(TASKS)}
    by_slurm = [t for t, how in INTERRUPTIONS.items() if how != "had its sweep killed"]
    h.check(all(restarts[t] == ("1" if t in by_slurm else "0") for t in range(TASKS)),
            "the requeued and the failed task ran twice, the one whose sweep died ran once",
            str(restarts))
    h.check(all(m.get("StartTime", "") >= f.get("EndTime", "~") for f in tasks.values()),
            "the merge started after every task had ended (afterok)",
            f"merge {m.get('StartTime')}, tasks {[f.get('EndTime') for f in tasks.values()]}")
    shards = {t: stored_runs(results / f"shard-{t + 1}.db") for t in range(TASKS)}
    for t, runs in shards.items():
        got = {agents_seed(k) for k in runs}
        h.check(got == planned_slice(t + 1), f"shard {t + 1} holds exactly its slice",
                f"missing {sorted(planned_slice(t + 1) - got)}, extra "
                f"{sorted(got - planned_slice(t + 1))}")
    keys = [k for runs in shards.values() for k in runs]
    h.check(len(keys) == len(set(keys)), "no run is stored by two shards")
    merged = stored_runs(results / "all.db")
    planned = {(a, s) for a in AGENTS for s in range(1, SEEDS + 1)}
    h.check(sorted(agents_seed(k) for k in merged) == sorted(planned),
            f"the merged database holds each of the {len(planned)} planned runs exactly once",
            f"{len(merged)} runs")
    whole.wait(timeout=max(5, h.left_s()))
    reference = stored_runs(h.tmp / "whole.db")
    h.check(len(reference) == len(planned) and merged == reference,
            "every merged run has the digest of the same run in an uninterrupted sweep")
    for t, n in interrupted.items():
        log = (h.tmp / "out" / f"sweep-{jid}_{t}.out").read_text(errors="replace")
        plans = re.findall(r"; (\d+) already in .*?, (\d+) to run", log)
        h.check(len(plans) == 2 and plans[0][0] == "0" and int(plans[1][0]) >= n and
                int(plans[1][0]) + int(plans[1][1]) == len(planned_slice(t + 1)),
                f"task {t} resumed from the {n}+ runs it had stored, running only the rest",
                str(plans))
    report = results / "report/report.md"
    text = report.read_text() if report.exists() else ""
    h.check("## agent-partition" in text and (results / "report/runs.csv").exists(),
            "the merge job wrote the report", str(report))


if __name__ == "__main__":
    sys.exit(main())
