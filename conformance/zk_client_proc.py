"""A ZooKeeper client in its own process, so that the harness can freeze it (SIGSTOP/SIGCONT).

    zk_client_proc.py HOSTS TIMEOUT_S PATH

Connects with the asked session timeout, takes the lock PATH with kazoo's Lock recipe (an
ephemeral sequential node under PATH, the recipe the model's ZkClient follows), prints one JSON
line per event with time.time() stamps, then waits. When its session is lost (typically after a
freeze past the session's expiry) it prints the state change, then tries once to act as the
holder (a setData on its lock node with its old session) and prints whether that worked. Exits after that, or when its parent stops it.
"""
import json
import os
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState


_say_lock = threading.Lock()


def say(event, **fields):
    # One write() per line: print() writes the text and its newline separately, so the listener
    # thread's lines and the main thread's could interleave into one unreadable line.
    fields.update(event=event, t=time.time())
    line = (json.dumps(fields) + "\n").encode()
    with _say_lock:
        os.write(sys.stdout.fileno(), line)


def main():
    hosts, timeout_s, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    lost = threading.Event()

    def listener(state):
        say("state", state=str(state))
        if state == KazooState.LOST:
            lost.set()

    zk = KazooClient(hosts=hosts, timeout=timeout_s,
                     connection_retry={"max_tries": -1, "delay": 0.01, "backoff": 1,
                                       "max_delay": 0.05})
    zk.add_listener(listener)
    zk.start(timeout=30)
    say("connected")
    lock = zk.Lock(path, "holder")
    lock.acquire(timeout=30)
    node = f"{path}/{lock.node}"
    say("acquired", node=node)
    if not lost.wait(timeout=600):
        return
    try:
        zk.set(node, b"stale holder acts")
        say("act", ok=True)
    except Exception as e:  # noqa: BLE001 -- any failure means the stale holder could not act
        say("act", ok=False, error=type(e).__name__)
    time.sleep(0.2)
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
