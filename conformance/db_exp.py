"""MariaDB experiments: a real mariadbd (Debian's mariadb-server) as a child process on loopback,
and the model's external database (models/mysql/)."""
import os
import re
import select
import shutil
import subprocess
import time

import model
from harness import LOOPBACK, ExperimentError, Session, pick_ports, wait_until
from model import HA_PAIR
from suite import Experiment, Row

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
MAX_CONNECTIONS = 10
WAIT_TIMEOUT_S = 3


def available():
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(MARIADBD) and shutil.which(INSTALL_DB) is not None


class Server:
    """One mariadbd with its own data folder, socket and port; root through the socket only,
    the user `app` (no SUPER, so max_connections binds it) over TCP on 127.0.0.1."""

    def __init__(self, session, max_connections=151):
        self.session = session
        self.data = session.work.sub("mariadb", "data")
        self.sock = os.path.join(session.work.path, "mariadb", "mysqld.sock")
        self.port = pick_ports(1)[0]
        self.max_connections = max_connections
        self.proc = None
        log = os.path.join(session.work.sub("logs"), "install-db.log")
        with open(log, "w") as f:
            subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={self.data}", "--user=root",
                            "--auth-root-authentication-method=normal", "--skip-test-db"],
                           stdout=f, stderr=subprocess.STDOUT, check=True, timeout=120)

    def start(self, timeout_s=60):
        argv = [MARIADBD, "--no-defaults", f"--datadir={self.data}", f"--socket={self.sock}",
                f"--port={self.port}", f"--bind-address={LOOPBACK}", "--user=root",
                f"--pid-file={os.path.join(self.session.work.path, 'mariadb', 'mysqld.pid')}",
                "--skip-name-resolve", f"--max-connections={self.max_connections}",
                "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
                "--innodb-flush-log-at-trx-commit=1", "--skip-log-bin"]
        self.proc = self.session.start(f"mariadbd-{int(time.time() * 1000)}", argv)
        wait_until(lambda: self._root_ok(), timeout_s, 0.1, "mariadbd to accept connections")

    def _root_ok(self):
        if not self.proc.alive():
            raise ExperimentError("mariadbd exited: " + self.proc.log_text()[-1500:])
        try:
            self.root().close()
            return True
        except Exception:  # noqa: BLE001 -- not up yet
            return False

    def root(self):
        import pymysql
        return pymysql.connect(unix_socket=self.sock, user="root", connect_timeout=2,
                               autocommit=True)

    def setup(self, sql_global=()):
        c = self.root()
        with c.cursor() as cur:
            for q in ["CREATE DATABASE IF NOT EXISTS conf",
                      "CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app'",
                      "GRANT ALL ON conf.* TO 'app'@'%'",
                      "CREATE TABLE IF NOT EXISTS conf.t (id INT PRIMARY KEY) ENGINE=InnoDB",
                      *sql_global]:
                cur.execute(q)
        c.close()

    def app(self, **kw):
        import pymysql
        return pymysql.connect(host=LOOPBACK, port=self.port, user="app", password="app",
                               database="conf", connect_timeout=3, **kw)


def error_code(e):
    return e.args[0] if getattr(e, "args", None) and isinstance(e.args[0], int) else -1


# ---------------------------------------------------------------- max_connections

def max_connections_real():
    with Session("mariadb-maxconn") as s:
        db = Server(s, MAX_CONNECTIONS)
        db.start()
        db.setup()
        conns = [db.app() for _ in range(MAX_CONNECTIONS)]
        try:
            db.app().close()
            refused = 0
        except Exception as e:  # noqa: BLE001 -- the refusal is what we measure
            refused = error_code(e)
        conns.pop().close()
        time.sleep(0.05)  # the server frees the slot when it has read the client's QUIT
        try:
            db.app().close()
            recovered = True
        except Exception:  # noqa: BLE001
            recovered = False
        for c in conns:
            c.close()
        return {"refused": refused, "recovers": recovered}


def max_connections_model(stampede):
    # The servers' pools, opened on demand as commons-dbcp opens them (cattle_pool_on_demand),
    # grow with the boots' concurrent statements until the db refuses the next connection (seed 1:
    # server-2's growth is refused at 10 s with three connections); the third server's pool is
    # refused at its boot (20 s): since every boot runs Liquibase first on its own data source
    # (liquibase_changelog_lock), the refused connection is Liquibase's, the boot fails and Docker
    # restarts the process a minute later (80 s). By then server-1 has crashed (30 s) and the db
    # has read the EOF of its connections, so the restarted boot's connections open ("database
    # pool of 1 connection open"). The error code is read from the line, whichever data source
    # it names.
    body = HA_PAIR.format(n=0).replace("servers: 2", "servers: 3").replace(
        "max_connections: 200, pool_per_server: 5",
        f"max_connections: {MAX_CONNECTIONS}, pool_per_server: {MAX_CONNECTIONS // 2}").replace(
        "process_replay_interval: 1h", "process_replay_interval: 15s") + """duration: 90s
faults:
  - {at: 30s, crash: server-1}
"""
    r = model.run(stampede, "conf-db-max-connections", body)
    hit = r.first_line(r"ERROR (\d+) \(\w+\): Too many connections", node="server-3")
    if hit is None or hit[0] >= 30:
        raise RuntimeError("server-3 was not refused before the crash")
    opened = r.first_line(r"database pool of \d+ connections? open", node="server-3", after_s=30)
    return {"refused": int(re.search(r"ERROR (\d+)", hit[2]).group(1)),
            "recovers": opened is not None}


def max_connections():
    return Experiment(
        "mariadb-max-connections", "mariadb",
        [Row("refused", f"MariaDB max_connections={MAX_CONNECTIONS} used up: error of the next "
             "connection", "exact"),
         Row("recovers", "MariaDB max_connections used up, one connection closed: a new one "
             "succeeds", "bool")],
        max_connections_real, max_connections_model, reps=1, quick=("refused", "recovers"))


# ---------------------------------------------------------------- killed mid-transaction

def killed_txn_real():
    with Session("mariadb-kill") as s:
        db = Server(s)
        db.start()
        db.setup()
        c = db.app(autocommit=True)
        with c.cursor() as cur:
            cur.execute("INSERT INTO t VALUES (1)")  # committed
            cur.execute("BEGIN")
            cur.execute("INSERT INTO t VALUES (2)")  # never committed
        db.proc.kill()
        seen = 0
        try:
            with c.cursor() as cur:
                cur.execute("COMMIT")
        except Exception as e:  # noqa: BLE001 -- the error is what we measure
            seen = error_code(e)
        db.start()
        c2 = db.app()
        with c2.cursor() as cur:
            cur.execute("SELECT id FROM t ORDER BY id")
            rows = [r[0] for r in cur.fetchall()]
        c2.close()
        return {"error": seen, "committed": 1 in rows, "uncommitted": 2 in rows}


# The model's client: dbclient-1 (models/mysql/db_workload.hpp), one connection without a pool, as
# the PyMySQL connection above, looping on read-back, BEGIN + INSERT, a hold, COMMIT.
def db_client_timing(**timings):
    lines = "".join(f"    {k}: {v}\n" for k, v in {"db_clients": 1, **timings}.items())
    return HA_PAIR.format(n=0).replace("    process_replay_interval: 1h\n",
                                       "    process_replay_interval: 1h\n" + lines)


def killed_txn_model(stampede):
    # Transaction 1 commits at about 6 s; transaction 2 opens at about 7 s and holds until about
    # 12 s: the crash at 10 s falls inside it, and its COMMIT goes to a db still down, as in the
    # real experiment; the read-back after the restart at 14 s shows what survived.
    body = db_client_timing(db_client_hold="5s") + """duration: 25s
faults:
  - {at: 10s, crash: db}
  - {at: 14s, restart: db}
"""
    r = model.run(stampede, "conf-db-killed", body)
    committed = [int(t[2].split()[1]) for t in r.lines
                 if t[1] == "dbclient-1" and t[0] < 10 and re.match(r"transaction \d+ committed$", t[2])]
    failed = r.first_line(r"transaction \d+ failed \(commit\): ERROR \d+", node="dbclient-1",
                          after_s=10)
    rows = r.first_line(r"rows of dbclient-1 present: ", node="dbclient-1", after_s=14)
    if not committed or failed is None or rows is None:
        raise RuntimeError("dbclient-1 did not commit, then fail, then read back as scheduled")
    present = set(rows[2].split(": ")[1].split(","))
    failed_seq = failed[2].split()[1]
    return {"error": int(failed[2].split("ERROR ")[1].split()[0]),
            "committed": str(committed[-1]) in present,
            "uncommitted": failed_seq in present}


def killed_txn():
    return Experiment(
        "mariadb-killed-mid-transaction", "mariadb",
        [Row("error", "MariaDB SIGKILLed mid-transaction: error the client's next statement "
             "gets", "exact"),
         Row("committed", "MariaDB restarted: the committed row is present", "bool"),
         Row("uncommitted", "MariaDB restarted: the uncommitted row is present", "bool")],
        killed_txn_real, killed_txn_model, reps=1, quick=("error", "committed", "uncommitted"))


# ---------------------------------------------------------------- wait_timeout

def wait_timeout_real():
    with Session("mariadb-wait") as s:
        db = Server(s)
        db.start()
        db.setup([f"SET GLOBAL wait_timeout = {WAIT_TIMEOUT_S}"])
        c = db.app()
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
        t0 = time.time()
        sock = c._sock  # the connection's socket: readable with EOF once the server closes it
        r, _, _ = select.select([sock], [], [], WAIT_TIMEOUT_S * 5)
        if not r:
            raise ExperimentError("the idle connection was not closed")
        closed = time.time() - t0
        try:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
            seen = 0
        except Exception as e:  # noqa: BLE001
            seen = error_code(e)
        return {"closed": closed, "error": seen}


def wait_timeout_model(stampede):
    # dbclient-1's connection is idle from its handshake until its first read at 10 s; the db
    # closes it after db_wait_timeout. "closed": from the last answer dbclient-1 had on it to the
    # reset's arrival, as the real client's wait on its socket.
    body = db_client_timing(db_client_hold="0s", db_client_idle="10s",
                            db_wait_timeout=f"{WAIT_TIMEOUT_S}s") + "duration: 15s\n"
    r = model.run(stampede, "conf-db-wait", body)
    resets = r.deliveries("dbclient-1", "db_reset")
    if not resets:
        raise RuntimeError("the db did not close dbclient-1's idle connection")
    answers = [t for m in ("db_opened", "db_response")
               for t in r.deliveries("dbclient-1", m, before_s=resets[0])]
    failed = r.first_line(r"failed.*: ERROR \d+", node="dbclient-1", after_s=resets[0])
    if not answers or failed is None:
        raise RuntimeError("dbclient-1 had no answer before the reset, or no error after it")
    return {"closed": resets[0] - max(answers),
            "error": int(failed[2].split("ERROR ")[1].split()[0])}


def wait_timeout():
    return Experiment(
        "mariadb-wait-timeout", "mariadb",
        [Row("closed", f"MariaDB wait_timeout={WAIT_TIMEOUT_S} s: idle connection closed after",
             "time", "s"),
         Row("error", "MariaDB wait_timeout: error of the idle client's next statement", "exact")],
        wait_timeout_real, wait_timeout_model, reps=3, quick=("closed", "error"))


def experiments():
    return [max_connections(), killed_txn(), wait_timeout()]
