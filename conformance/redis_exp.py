"""Redis experiments: a real redis-server (Debian's redis-server) as a child process on loopback,
and the model's redis-1 with the Cattle servers' pub/sub clients (models/redis/)."""
import os
import select
import shutil
import socket
import threading
import time

import model
from harness import LOOPBACK, ExperimentError, Session, pick_ports, wait_port, wait_until
from model import HA_STACK, NotModelled
from suite import Experiment, Row

REDIS = "/usr/bin/redis-server"
LOST_COUNT = 4  # as many as the model publishes during its cut
IDLE_TIMEOUT_S = 2
RESTART_AFTER_S = 1.0


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
        return redis.Redis(host=LOOPBACK, port=self.port, socket_connect_timeout=1, **kw)


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
    # server-2 (a subscriber) is cut off from redis-1 while killed containers make server-1
    # publish (with this seed server-1 handles both kills); after the heal server-2 subscribes
    # again, and a later kill makes a server publish.
    body = HA_STACK + """duration: 60s
faults:
  - {at: 20s, partition: [[server-2], [redis-1]]}
  - {at: 22s, kill_container: wordpress/web/1}
  - {at: 23s, kill_container: wordpress/web/2}
  - {at: 30s, heal: all}
  - {at: 40s, kill_container: wordpress/web/1}
"""
    r = model.run(stampede, "conf-redis-lost", body)
    during = r.deliveries("redis-1", "redis.publish", 20.0, 30.0)
    subs = r.deliveries("server-2", "redis.subscribed", after_s=30.0)
    if not during or not subs:
        raise RuntimeError("nothing was published during the cut, or server-2 did not resubscribe")
    # Every message server-2 gets after it resubscribed is one published after that, or one of
    # the cut's: the difference counts the cut's messages that reached it.
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

class Subscriber(threading.Thread):
    """A subscriber that reconnects as the model's RedisClient does: a doubling backoff from
    100 ms, subscribing again to its channel each time it connects."""

    def __init__(self, srv, end_s):
        super().__init__(daemon=True)
        self.srv, self.end = srv, time.time() + end_s
        self.lost_at = None
        self.subscribed_at = []
        self.messages = []

    def run(self):
        backoff = 0.1
        while time.time() < self.end:
            try:
                ps = self.srv.client().pubsub()
                ps.subscribe("events")
                while time.time() < self.end:
                    m = ps.get_message(timeout=0.02)
                    if m and m["type"] == "subscribe":
                        self.subscribed_at.append(time.time())
                        backoff = 0.1
                    elif m and m["type"] == "message":
                        self.messages.append((time.time(), m["data"]))
            except Exception:  # noqa: BLE001 -- the connection is gone: back off, reconnect
                if self.lost_at is None and self.subscribed_at:
                    self.lost_at = time.time()
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def restart_real():
    with Session("redis-restart") as s:
        srv = Server(s)
        srv.start()
        sub = Subscriber(srv, 20)
        sub.start()
        wait_until(lambda: sub.subscribed_at, 5, 0.01, "the first subscription")
        t0 = time.time()
        srv.proc.kill()
        time.sleep(max(0.0, t0 + RESTART_AFTER_S - time.time()))
        t1 = time.time()
        srv.start()
        wait_until(lambda: len(sub.subscribed_at) >= 2, 15, 0.01, "the subscriber to resubscribe")
        srv.client().publish("events", b"after-restart")
        wait_until(lambda: True, 0.5)
        time.sleep(0.5)
        sub.end = 0
        sub.join(timeout=5)
        return {"notice": (sub.lost_at or t0 + 99) - t0, "resubscribed": sub.subscribed_at[1] - t1,
                "after": any(d == b"after-restart" for _, d in sub.messages)}


def restart_model(stampede):
    # redis-1 crashes and restarts; a killed container later makes a server publish.
    body = HA_STACK + f"""duration: 60s
faults:
  - {{at: 20s, crash: redis-1}}
  - {{at: {20 + RESTART_AFTER_S}s, restart: redis-1}}
  - {{at: 35s, kill_container: wordpress/web/1}}
"""
    r = model.run(stampede, "conf-redis-restart", body)
    t1 = 20 + RESTART_AFTER_S
    subs = r.deliveries("server-1", "redis.subscribed", after_s=t1)
    got = r.deliveries("server-2", "redis.message", after_s=subs[0]) if subs else []
    return {"notice": NotModelled("no log line or event marks a Redis client's loss; it has no "
                                  "connection-closed event (it waits for its read timeout)"),
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


def timeout_model(_stampede):
    why = NotModelled("the model's Redis server closes no idle client (redis.conf timeout); its "
                      "clients ping every redis_client_ping_interval")
    return {"closed": why, "subscriber_kept": why}


def idle_timeout():
    return Experiment(
        "redis-client-timeout", "redis",
        [Row("closed", f"Redis timeout={IDLE_TIMEOUT_S}: an idle client is closed after", "time",
             "s"),
         Row("subscriber_kept", f"Redis timeout={IDLE_TIMEOUT_S}: an idle subscriber is kept "
             f"past {3 * IDLE_TIMEOUT_S} s", "bool")],
        timeout_real, timeout_model, reps=3)


def experiments():
    return [lost(), restart(), idle_timeout()]
