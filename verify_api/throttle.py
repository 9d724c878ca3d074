"""Throttling wrong hidden codes, per code and per client.

After ``hidden_code_tries`` wrong hidden codes for one serial (or
``hidden_client_tries`` from one client) further tries are refused for
``hidden_lock_seconds``. The counters live in Redis, shared by every web worker.

The Redis throttle fails OPEN: when Redis cannot be reached, tries are let
through unthrottled. That is safe because the throttle is not what protects a
code: a hidden code is one of 10^12 and is compared in constant time, so even a
whole outage of unthrottled guessing at the service's full speed has a chance of
about 10^-5 of finding one code's hidden code. Refusing every consumer's full
check during an outage would hurt far more. The signature check, by contrast,
never fails open: it needs no outside service at all.

Without Redis configured (the quick start), ``LocalThrottle`` keeps the counters
in the process: per worker, which is weaker but still a throttle.
"""

import threading
import time

from .redis_link import Keys, RedisError, RedisLink


class LocalThrottle:
    def __init__(self, code_tries: int, client_tries: int, lock_seconds: int):
        self.limits = (code_tries, client_tries)
        self.lock_seconds = lock_seconds
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def locked(self, serial: str, client: str) -> int:
        """Seconds until tries are allowed again; 0 when they are allowed now."""
        now = time.monotonic()
        wait = 0
        for key, limit in zip(("c:" + serial, "i:" + client), self.limits, strict=True):
            count, until = self._counts.get(key, (0, 0.0))
            if until > now and count >= limit:
                wait = max(wait, int(until - now) + 1)
        return wait

    def failed(self, serial: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 100_000:  # forget expired entries now and then
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            for key in ("c:" + serial, "i:" + client):
                count, until = self._counts.get(key, (0, 0.0))
                count = count + 1 if until > now else 1
                self._counts[key] = (count, now + self.lock_seconds)


class RedisThrottle:
    def __init__(
        self, link: RedisLink, keys: Keys, code_tries: int, client_tries: int, lock_seconds: int
    ):
        self.link, self.keys = link, keys
        self.limits = (code_tries, client_tries)
        self.lock_seconds = lock_seconds

    def _keys(self, serial: str, client: str) -> tuple[str, str]:
        return self.keys.tries_code(serial), self.keys.tries_client(client)

    def locked(self, serial: str, client: str) -> int:
        if not self.link.available():
            return 0  # fail open: see the module docstring
        try:
            pipe = self.link.client.pipeline(transaction=False)
            for key in self._keys(serial, client):
                pipe.get(key)
                pipe.ttl(key)
            code_n, code_ttl, client_n, client_ttl = pipe.execute()
        except RedisError as exc:
            self.link.failed(exc)
            return 0  # fail open: see the module docstring
        wait = 0
        pairs = ((code_n, code_ttl, self.limits[0]), (client_n, client_ttl, self.limits[1]))
        for n, ttl, limit in pairs:
            if n is not None and int(n) >= limit and ttl > 0:
                wait = max(wait, ttl)
        return wait

    def failed(self, serial: str, client: str) -> None:
        if not self.link.available():
            return
        try:
            pipe = self.link.client.pipeline(transaction=False)
            for key in self._keys(serial, client):
                pipe.incr(key)
                # Each wrong try extends the window, so a slow guesser stays locked.
                pipe.expire(key, self.lock_seconds)
            pipe.execute()
        except RedisError as exc:
            self.link.failed(exc)
