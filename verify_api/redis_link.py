"""The one Redis connection of a process, with a breaker: after a failure it is left alone a while.

Without the breaker every request in an outage would wait for a connect timeout
before answering from the database; with it, one request in
``redis_retry_seconds`` pays that and the others go straight to the fallback.
"""

import time

import redis

RedisError = redis.RedisError


class RedisLink:
    def __init__(self, url: str, timeout: float, retry_seconds: float):
        self.url = url
        self.retry_seconds = retry_seconds
        # redis-py's pool notices a fork and reconnects in the child, so one
        # client made before gunicorn forks is still safe to use in each worker.
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=0,
            retry_on_timeout=False,
        )
        self._down_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self) -> None:
        self._down_until = time.monotonic() + self.retry_seconds

    def close(self) -> None:
        self.client.close()


class Keys:
    """Every Redis key the service uses, under one prefix."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.ready = prefix + "ready"
        self.stream = prefix + "scans"
        self.group = "writers"

    def code(self, serial: str) -> str:
        return f"{self.prefix}code:{serial}"

    def batch(self, batch_id: int) -> str:
        return f"{self.prefix}batch:{batch_id}"

    def product(self, gtin: str) -> str:
        return f"{self.prefix}product:{gtin}"

    def tries_code(self, serial: str) -> str:
        return f"{self.prefix}tries:code:{serial}"

    def tries_client(self, client: str) -> str:
        return f"{self.prefix}tries:client:{client}"

    def synced(self, scan_id: int) -> str:
        return f"{self.prefix}synced:{scan_id}"
