"""The faults a run can inject, each as production would meet it, timed to the second.

``inject(kind, stack)`` breaks one part and brings it back, and returns when it
was broken (``start``) and when the part was back (``end``: accepting connections
again, or replaced):

* ``redis``: SIGTERM (Redis writes its AOF and exits), down for ``REDIS_DOWN`` s,
  started again on the same port with the same files; back when it accepts connections.
* ``postgres``: ``pg_ctl restart -m fast``: every session cut, the server restarts;
  back when ``pg_ctl`` returns (the server is ready).
* ``worker``: ``zhenma worker`` killed with SIGKILL mid-work, started again after
  ``WORKER_DOWN`` s; back when it is started.
* ``order-system``: the stand-in refuses connections for ``ORDER_DOWN`` s; back when
  it listens again.
* ``gunicorn-worker``: one gunicorn worker killed with SIGKILL, its in-flight requests
  with it; back when the master has forked a replacement.
"""

import os
import signal
import time

from .stack import Stack, wait_port

KINDS = ("none", "redis", "postgres", "worker", "order-system", "gunicorn-worker")
REDIS_DOWN = 5.0
WORKER_DOWN = 2.0
ORDER_DOWN = 30.0


def inject(kind: str, stack: Stack) -> dict:
    start = time.time()
    note = ""
    if kind == "redis":
        stack.redis.stop(signal.SIGTERM)
        time.sleep(REDIS_DOWN)
        stack.redis.start()
    elif kind == "postgres":
        stack.postgres.restart()
    elif kind == "worker":
        stack.worker.kill()
        time.sleep(WORKER_DOWN)
        stack.worker.start()
    elif kind == "order-system":
        stack.order.stop()
        time.sleep(ORDER_DOWN)
        stack.order.start()
        wait_port(stack.order.port, None, "order system")
    elif kind == "gunicorn-worker":
        before = set(stack.gunicorn_workers())
        victim = min(before)
        start = time.time()
        os.kill(victim, signal.SIGKILL)
        note = f"killed gunicorn worker {victim}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = set(stack.gunicorn_workers())
            if len(now) >= len(before) and victim not in now:
                break
            time.sleep(0.05)
    else:
        raise ValueError(f"no fault {kind!r}; one of {', '.join(KINDS)}")
    return {"kind": kind, "start": start, "end": time.time(), "note": note}
