"""Process, port and folder handling shared by the real-server experiments.

Every server is a child process of this harness, bound to 127.0.0.1 on a port picked here and
checked free, with its data, configuration and logs under one temporary folder that the harness
creates and removes. Every process is stopped by its PID (SIGTERM, then SIGKILL) when its
experiment ends, also when it fails, and again at exit as a last resort. Nothing here calls a
service manager or touches anything outside that folder and the loopback address.
"""
import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

LOOPBACK = "127.0.0.1"

_live = []          # every Proc started and not yet reaped, for the exit handler
_used_ports = set()  # ports handed out in this run, so that two servers never share one


class ExperimentError(Exception):
    """An experiment could not produce its measurement (a server did not start, a timeout)."""


def port_is_free(port):
    """True when nothing listens on LOOPBACK:port and this process can bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((LOOPBACK, port)) != 0


def pick_ports(count):
    """Ports from the ephemeral range that are free now and not handed out before in this run."""
    ports = []
    for _ in range(count):
        for _attempt in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((LOOPBACK, 0))
                port = s.getsockname()[1]
            if port not in _used_ports and port_is_free(port):
                _used_ports.add(port)
                ports.append(port)
                break
        else:
            raise ExperimentError("no free loopback port found")
    return ports


_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: the kernel sends it SIGKILL when the harness dies, even by
    SIGKILL (a ctest timeout), so that no server outlives the suite."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Proc:
    """A child process with its output in a log file; stopped by PID only."""

    def __init__(self, name, argv, log_path, cwd=None, env=None, stdin=None):
        self.name = name
        self.log_path = log_path
        self.argv = argv
        log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                      env=env, stdin=stdin or subprocess.DEVNULL,
                                      start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        self.pid = self.popen.pid
        _live.append(self)

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self):
        """SIGKILL, the crash fault; reaps the process."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._forget()

    def pause(self):
        self.signal(signal.SIGSTOP)

    def resume(self):
        self.signal(signal.SIGCONT)

    def stop(self, grace_s=5.0):
        """SIGCONT (a paused process cannot handle SIGTERM), SIGTERM, then SIGKILL after grace_s."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGCONT)
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._forget()

    def _forget(self):
        if self in _live:
            _live.remove(self)

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def stop_all():
    """Stops every process still running, newest first."""
    for p in list(reversed(_live)):
        try:
            p.stop(grace_s=3.0)
        except Exception:  # noqa: BLE001 -- the exit path must try every process
            pass


atexit.register(stop_all)


def _on_signal(signum, _frame):
    stop_all()
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


class Workdir:
    """A temporary folder for one experiment's servers, removed with everything in it."""

    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix=f"stampede-conf-{tag}-")

    def sub(self, *parts):
        p = os.path.join(self.path, *parts)
        os.makedirs(p, exist_ok=True)
        return p

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Session:
    """The processes and the folder of one experiment run: `with Session("zk") as s: ...`."""

    def __init__(self, tag):
        self.tag = tag
        self.procs = []
        self.work = None

    def __enter__(self):
        self.work = Workdir(self.tag)
        return self

    def start(self, name, argv, **kw):
        p = Proc(name, argv, os.path.join(self.work.sub("logs"), name + ".log"), **kw)
        self.procs.append(p)
        return p

    def __exit__(self, exc_type, exc, tb):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:  # noqa: BLE001 -- stop every process even if one fails
                pass
        if exc_type is not None and os.environ.get("STAMPEDE_CONF_KEEP"):
            print(f"conformance: kept {self.work.path} for inspection")
        else:
            self.work.remove()
        return False


def wait_until(predicate, timeout_s, interval_s=0.01, what="condition"):
    """Polls predicate() until it returns a true value (returned) or timeout_s passes (raises)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ExperimentError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


def wait_port(port, timeout_s, proc=None):
    """Waits until something accepts connections on LOOPBACK:port."""
    def up():
        if proc is not None and not proc.alive():
            raise ExperimentError(f"{proc.name} exited early; see its log:\n"
                                  + proc.log_text()[-2000:])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            return s.connect_ex((LOOPBACK, port)) == 0
    wait_until(up, timeout_s, 0.05, f"port {port}")
