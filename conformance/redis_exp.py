"""Redis experiments: a real redis-server (Debian's redis-server) as a child process on loopback,
and the model's redis-1 with the Cattle servers' pub/sub clients (models/redis/)."""
import os
import re
import select
import shutil
import socket
import threading
import time

import model
from harness import LOOPBACK, ExperimentError, Session, pick_ports, wait_port, wait_until
from model import HA_STACK
from suite import Experiment, Row

REDIS = "/usr/bin/redis-server"
LOST_COUNT = 4  # as many as the model publishes while its subscriber is down
IDLE_TIMEOUT_S = 2
RESTART_AFTER_S = 1.0
# Cattle's subscriber waits redis.retry.millis after a lost connection before it connects again
# (60000 by default: cattle v0.165.8 META-INF/cattle/redis/defaults.properties:4, the wait in
# RedisConnection.java:206-209). The restart experiment sets it to 5 s on both sides, as a Cattle
# operator may, so that its repetitions take seconds, not minutes: the loop is the same.
RETRY_S = 5.0
# Jedis's connect timeout, Cattle's redis.timeout=2000 (defaults.properties:3).
CONNECT_TIMEOUT_S = 2.0


def available():
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    return shutil.which(REDIS) is not None


class Server:
    def __init__(self, session, extra=()):
        self.session = session
        self.port = pick_ports(1)[0]
        self.dir = session.work.sub("redis")
        self.extra = list(extra)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        argv = [REDIS, "--port", str(self.port), "--bind", LOOPBACK, "--dir", self.dir,
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode",
                "yes"] + self.extra
        self.proc = self.session.start(f"redis-{self.starts}", argv)
        wait_port(self.port, 20, self.proc)

    def client(self, **kw):
        import redis
        return redis.Redis(host=LOOPBACK, port=self.port, socket_connect_timeout=CONNECT_TIMEOUT_S,
                           **kw)


def drain(pubsub, seconds):
    """The data messages a PubSub receives within `seconds`."""
    got = []
    end = time.time() + seconds
    while time.time() < end:
        m = pubsub.get_message(timeout=0.05)
        if m and m["type"] == "message":
            got.append(m["data"])
    return got


# ---------------------------------------------------------------- lost while disconnected

def lost_real():
    with Session("redis-lost") as s:
        srv = Server(s)
        srv.start()
        pub = srv.client()
        sub = srv.client().pubsub()
        sub.subscribe("events")
        drain(sub, 0.2)
        pub.publish("events", b"before")
        if drain(sub, 0.5) != [b"before"]:
            raise ExperimentError("the subscriber did not get the first message")
        sub.close()  # disconnected
        for i in range(LOST_COUNT):
            pub.publish("events", f"while-{i}".encode())
        sub = srv.client().pubsub()
        sub.subscribe("events")
        drain(sub, 0.2)
        pub.publish("events", b"after")
        got = drain(sub, 0.5)
        sub.close()
        return {"delivered": sum(1 for m in got if m.startswith(b"while-")),
                "after": b"after" in got}


def lost_model(stampede):
    # server-2's process dies at 20 s, so its subscription ends as the real subscriber's close
    # ends it; killed containers make server-1 publish while it is down; server-2 restarts at
    # 30 s and subscribes again as it boots, and a later kill makes a server publish. (A partition
    # would not do: Cattle's subscriber never notices one, models/redis/redis_client.hpp.)
    body = HA_STACK + """duration: 60s
faults:
  - {at: 20s, crash: server-2}
  - {at: 22s, kill_container: wordpress/web/1}
  - {at: 23s, kill_container: wordpress/web/2}
  - {at: 30s, restart: server-2}
  - {at: 45s, kill_container: wordpress/web/1}
"""
    # One Redis, as the real side runs: with one per node (cattle_redis_per_node, the HA default)
    # server-1's rotation publishes some events through redis-2 and redis-3, which server-2 also
    # hears, so the run no longer isolates the one server's lost subscription. Pings stay off the
    # bus (cattle_agent_events_over_redis): their channels are the agents' and the pinging
    # server's, which server-2 does not subscribe, so they would count among the publishes after
    # its resubscription below without ever reaching it.
    r = model.run(stampede, "conf-redis-lost", body,
                  sets=("cluster.redis=1",
                        "cluster.mechanisms.cattle_agent_events_over_redis=false"))
    during = r.deliveries("redis-1", "redis.publish", 20.0, 30.0)
    subs = r.deliveries("server-2", "redis.subscribed", after_s=30.0)
    if not during or not subs:
        raise RuntimeError("nothing was published while server-2 was down, or it did not "
                           "subscribe again")
    # Every message server-2 gets after it resubscribed is one published after that, or one of
    # those published while it was down: the difference counts the latter that reached it.
    got = r.deliveries("server-2", "redis.message", after_s=subs[0])
    later = r.deliveries("redis-1", "redis.publish", after_s=subs[0])
    return {"delivered": len(got) - len(later), "after": bool(got) and bool(later)}


def lost():
    return Experiment(
        "redis-lost-while-disconnected", "redis",
        [Row("delivered", "Redis: messages published while the subscriber is disconnected "
             "that reach it after it resubscribes", "exact"),
         Row("after", "Redis: a message published after it resubscribed is delivered", "bool")],
        lost_real, lost_model, reps=1, quick=("delivered", "after"))


# ---------------------------------------------------------------- server restart

class CattleSubscriber(threading.Thread):
    """Cattle's subscriber loop with redis-py in place of Jedis (RedisConnection.runInContext,
    cattle v0.165.8 code/implementation/eventing-redis/.../RedisConnection.java:174-213): connect
    (2 s timeout), subscribe, then read with no timeout and no health-check pings, as Jedis's
    psubscribe does (it sets SO_TIMEOUT to 0); on any error, or a refused connect, wait RETRY_S
    and go round again. redis-py's own pub/sub would reconnect at the next read instead, which is
    not what Cattle does."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.running = True
        self.lost_at = None
        self.subscribed_at = []
        self.messages = []

    def run(self):
        while self.running:
            try:
                ps = self.srv.client(socket_timeout=None, health_check_interval=0).pubsub()
                ps.subscribe("events")
                for m in ps.listen():
                    if m["type"] == "subscribe":
                        self.subscribed_at.append(time.time())
                    elif m["type"] == "message":
                        self.messages.append((time.time(), m["data"]))
            except Exception:  # noqa: BLE001 -- EOF, reset or refused: Cattle logs and waits
                if self.lost_at is None and self.subscribed_at:
                    self.lost_at = time.time()
            if self.running:
                time.sleep(RETRY_S)


def restart_real():
    with Session("redis-restart") as s:
        srv = Server(s)
        srv.start()
        sub = CattleSubscriber(srv)
        sub.start()
        wait_until(lambda: sub.subscribed_at, 5, 0.01, "the first subscription")
        t0 = time.time()
        srv.proc.kill()
        time.sleep(max(0.0, t0 + RESTART_AFTER_S - time.time()))
        t1 = time.time()
        srv.start()
        wait_until(lambda: len(sub.subscribed_at) >= 2, RETRY_S + 10, 0.01,
                   "the subscriber to resubscribe")
        srv.client().publish("events", b"after-restart")
        try:
            wait_until(lambda: any(d == b"after-restart" for _, d in sub.messages), 2, 0.01,
                       "the message published after the restart")
            after = True
        except ExperimentError:
            after = False
        sub.running = False  # the session's end stops the server, which ends the thread's read
        return {"notice": (sub.lost_at or t0 + 99) - t0, "resubscribed": sub.subscribed_at[1] - t1,
                "after": after}


# On loopback a SIGKILLed redis-server's subscriber reads EOF when the kernel has torn the
# process down, about 2 ms after the kill (the process is reaped at the same instant; 9 runs,
# 2026-12-06), and the loopback hop itself takes about 0.1 ms. The model spends the teardown where
# the kernel does (redis_exit_teardown, models/redis/register.cpp: redis-1's sockets close that
# long after its crash), so the restart experiment's world has the loopback hop's latency, 0.1 ms.
# What the notice row checks is that the subscriber learns of the crash from its connection once
# the process is gone, not by a timeout.
LOOPBACK_STACK = HA_STACK.replace("latency: {min: 1ms, max: 5ms}", "latency: 100us")
assert LOOPBACK_STACK != HA_STACK


def restart_model(stampede):
    # redis-1 crashes and restarts; a killed container later makes a server publish.
    body = LOOPBACK_STACK + f"""duration: 60s
faults:
  - {{at: 20s, crash: redis-1}}
  - {{at: {20 + RESTART_AFTER_S}s, restart: redis-1}}
  - {{at: 40s, kill_container: wordpress/web/1}}
"""
    r = model.run(stampede, "conf-redis-restart", body,
                  sets=[f"cluster.timing.redis_retry_interval={RETRY_S:g}s"])
    t0, t1 = 20.0, 20 + RESTART_AFTER_S
    # server-1 reads the closed connection (a `connection` step of the trace), and says so.
    closed = [s["t"] / 1e9 for s in r.steps
              if s.get("k") == "connection" and s.get("n") == "server-1" and s["t"] / 1e9 >= t0]
    lost = r.first_line(r"subscriber connection to redis-1 closed", node="server-1", after_s=t0)
    subs = r.deliveries("server-1", "redis.subscribed", after_s=t1)
    got = r.deliveries("server-2", "redis.message", after_s=subs[0]) if subs else []
    return {"notice": closed[0] - t0 if closed and lost else None,
            "resubscribed": subs[0] - t1 if subs else None,
            "after": bool(got)}


def restart():
    return Experiment(
        "redis-restart", "redis",
        [Row("notice", "Redis SIGKILLed: the subscriber notices after", "time", "s"),
         Row("resubscribed", f"Redis restarted {RESTART_AFTER_S:g} s later: the subscriber is "
             "subscribed again after", "time", "s"),
         Row("after", "Redis restarted: a message published after that is delivered", "bool")],
        restart_real, restart_model, reps=3)


# ---------------------------------------------------------------- client timeout

def timeout_real():
    # The idle client is a bare socket, as a Jedis connection idle in Cattle's publishing pool
    # (nothing reads it until the pool lends it again); the subscriber is redis-py's.
    with Session("redis-timeout") as s:
        srv = Server(s, ["--timeout", str(IDLE_TIMEOUT_S)])
        srv.start()
        idle = socket.create_connection((LOOPBACK, srv.port), timeout=2)
        idle.sendall(b"PING\r\n")
        idle.recv(64)
        t0 = time.time()
        sub = srv.client().pubsub()
        sub.subscribe("events")
        r, _, _ = select.select([idle], [], [], IDLE_TIMEOUT_S * 10)
        if not r or idle.recv(64) != b"":
            raise ExperimentError("the idle client was not closed")
        closed = time.time() - t0
        idle.close()
        time.sleep(max(0.0, t0 + 3 * IDLE_TIMEOUT_S - time.time()))
        srv.client().publish("events", b"still-there")
        kept = b"still-there" in drain(sub, 0.5)
        sub.close()
        return {"closed": closed, "subscriber_kept": kept}


def timeout_model(stampede):
    # redis-1 with timeout=2: the servers' pooled publishing connections fall idle between
    # publishes and are closed; their subscribers, idle as long, are kept.
    body = HA_STACK + """duration: 60s
faults:
  - {at: 40s, kill_container: wordpress/web/1}
"""
    r = model.run(stampede, "conf-redis-timeout", body,
                  sets=[f"cluster.timing.redis_server_timeout={IDLE_TIMEOUT_S}s"])
    hit = r.first_line(r"Closing idle client (server-\d+)", node="redis-1")
    if not hit:
        raise RuntimeError("redis-1 closed no idle client")
    client = re.search(r"Closing idle client (server-\d+)", hit[2]).group(1)
    # Its last interaction: the last command redis-1 read from that client before it closed it.
    last = max(s["t"] / 1e9 for s in r.steps
               if s.get("k") == "deliver" and s.get("n") == "redis-1" and s.get("f") == client
               and s["t"] / 1e9 <= hit[0])
    # The subscriber kept: server-2 subscribes as it boots and hears nothing for more than three
    # timeouts before the kill at 40 s makes server-1 publish; it hears those events on the same
    # subscription. (The boot's container starts, over the bus since the agent commands went
    # there, cattle_agent_commands_over_redis, are heard at about 18 s: idle from then on.)
    subscribed = r.deliveries("server-2", "redis.subscribed", 0.0, 40.0)
    heard = r.deliveries("server-2", "redis.message")
    idle_from = max([t for t in heard if t < 40.0] + subscribed[:1], default=40.0)
    if not subscribed or idle_from > 40.0 - 3 * IDLE_TIMEOUT_S:
        raise RuntimeError("server-2's subscription was not idle long enough before 40 s")
    heard = [t for t in heard if t >= 40.0]
    lost = r.first_line(r"subscriber connection to redis-1")
    return {"closed": hit[0] - last, "subscriber_kept": bool(heard) and lost is None}


def idle_timeout():
    return Experiment(
        "redis-client-timeout", "redis",
        [Row("closed", f"Redis timeout={IDLE_TIMEOUT_S}: an idle client is closed after", "time",
             "s"),
         Row("subscriber_kept", f"Redis timeout={IDLE_TIMEOUT_S}: an idle subscriber is kept "
             f"past {3 * IDLE_TIMEOUT_S} s", "bool")],
        timeout_real, timeout_model, reps=3, quick=("subscriber_kept",))


def experiments():
    return [lost(), restart(), idle_timeout()]
