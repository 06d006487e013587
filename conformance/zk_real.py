"""A real ZooKeeper ensemble (Debian's zookeeper package) run as child processes on loopback.

The configuration is the model's: tickTime 2000, initLimit 10, syncLimit 5 (as Rancher's
server/bin/zk writes it), forceSync=no. Each server logs with UTC millisecond timestamps so that
the experiments can read when a role changed (log times and time.time() share the clock).
"""
import calendar
import os
import re
import socket
import time

from harness import LOOPBACK, ExperimentError, pick_ports, wait_port, wait_until

JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/log4j-1.2.jar",
        "/usr/share/java/slf4j-log4j12.jar"]
TICK_MS = 2000

LOG4J = """log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=${zookeeper.log.file}
log4j.appender.FILE.ImmediateFlush=true
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%t] %c{1} - %m%n
"""

_STAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) ")


def available():
    return all(os.path.exists(j) for j in JARS) and os.path.exists("/usr/bin/java")


class Ensemble:
    """n servers, numbered 1..n; server k's process is procs[k]."""

    def __init__(self, session, n):
        self.session = session
        self.n = n
        ports = pick_ports(3 * n)
        self.client_ports = {k: ports[3 * (k - 1)] for k in range(1, n + 1)}
        self.quorum_ports = {k: (ports[3 * (k - 1) + 1], ports[3 * (k - 1) + 2])
                             for k in range(1, n + 1)}
        self.procs = {}
        self.logs = {}

    def _config(self, k):
        data = self.session.work.sub(f"zk{k}", "data")
        with open(os.path.join(data, "myid"), "w") as f:
            f.write(f"{k}\n")
        lines = [f"tickTime={TICK_MS}", "initLimit=10", "syncLimit=5", f"dataDir={data}",
                 f"clientPort={self.client_ports[k]}", f"clientPortAddress={LOOPBACK}",
                 "forceSync=no", "admin.enableServer=false", "4lw.commands.whitelist=srvr,ruok",
                 "maxClientCnxns=0", "standaloneEnabled=false"]
        for j in range(1, self.n + 1):
            q, e = self.quorum_ports[j]
            lines.append(f"server.{j}={LOOPBACK}:{q}:{e}")
        conf_dir = self.session.work.sub(f"zk{k}", "conf")
        cfg = os.path.join(conf_dir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(conf_dir, "log4j.properties"), "w") as f:
            f.write(LOG4J)
        return conf_dir, cfg

    def start(self, k):
        conf_dir, cfg = self._config(k)
        log = os.path.join(self.session.work.sub("logs"), f"zk{k}.server.log")
        self.logs[k] = log
        argv = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Duser.timezone=UTC", f"-Dzookeeper.log.file={log}",
                f"-Dlog4j.configuration=file:{conf_dir}/log4j.properties",
                "-cp", ":".join([conf_dir] + JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
        self.procs[k] = self.session.start(f"zk{k}", argv)

    def start_all(self, timeout_s=60):
        for k in range(1, self.n + 1):
            self.start(k)
        for k in range(1, self.n + 1):
            wait_port(self.client_ports[k], timeout_s, self.procs[k])
        wait_until(lambda: self.leader() is not None, timeout_s, 0.05, "a ZooKeeper leader")
        # Every follower serving too, so that a fault hits a settled ensemble.
        wait_until(lambda: all(self.mode(k) in ("leader", "follower")
                               for k in range(1, self.n + 1)), timeout_s, 0.05,
                   "every ZooKeeper server to serve")

    def hosts(self, ks=None):
        ks = ks or range(1, self.n + 1)
        return ",".join(f"{LOOPBACK}:{self.client_ports[k]}" for k in ks)

    def mode(self, k):
        """'leader', 'follower', or None (not serving, not answering) by the srvr command."""
        try:
            with socket.create_connection((LOOPBACK, self.client_ports[k]), timeout=0.5) as s:
                s.sendall(b"srvr")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return None
        m = re.search(rb"Mode: (\w+)", data)
        return m.group(1).decode() if m else None

    def leader(self, among=None):
        for k in among or range(1, self.n + 1):
            if self.mode(k) == "leader":
                return k
        return None

    def log_events(self, k, pattern, after_s):
        """Times (epoch seconds) of server k's log lines matching pattern, at or after after_s."""
        out = []
        try:
            with open(self.logs[k], errors="replace") as f:
                for line in f:
                    m = _STAMP.match(line)
                    if not m or not re.search(pattern, line):
                        continue
                    y, mo, d, h, mi, s, ms = (int(x) for x in m.groups())
                    t = calendar.timegm((y, mo, d, h, mi, s)) + ms / 1000.0
                    if t >= after_s - 0.002:  # log stamps are truncated to the millisecond
                        out.append(t)
        except OSError:
            pass
        return out

    def first_log_event(self, ks, pattern, after_s, timeout_s):
        """The earliest time any of servers ks logged pattern after after_s (waits for one)."""
        def find():
            times = [t for k in ks for t in self.log_events(k, pattern, after_s)]
            return min(times) if times else None
        return wait_until(find, timeout_s, 0.05, f"log /{pattern}/ on {list(ks)}")


def now():
    return time.time()


def require(cond, what):
    if not cond:
        raise ExperimentError(what)


def granted_session_timeout_ms(port, asked_ms):
    """The session timeout a server grants to a ConnectRequest asking asked_ms (raw protocol)."""
    import struct
    body = struct.pack(">iqiqi", 0, 0, int(asked_ms), 0, 16) + b"\0" * 16 + b"\0"
    with socket.create_connection((LOOPBACK, port), timeout=5) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        data = b""
        while len(data) < 4 + 8:
            chunk = s.recv(4096)
            if not chunk:
                raise ExperimentError("ZooKeeper closed the connection during the handshake")
            data += chunk
    _length, _proto, granted = struct.unpack(">iii", data[:12])
    return granted
