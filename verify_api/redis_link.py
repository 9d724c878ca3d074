"""Redis for the whole code base: the one client factory, the breaker, and every key name.

``connect`` is the only place a Redis client is made: ``redis.Redis``, or with
``ZHENMA_REDIS_CLUSTER`` a ``redis.cluster.RedisCluster`` from the same URL.

``RedisLink`` is the one connection of a process, with a breaker: after a failure
it is left alone a while. Without the breaker every request in an outage would
wait for a connect timeout before answering from the database; with it, one
request in ``redis_retry_seconds`` pays that and the others go straight to the
fallback.
"""

import threading
import time

import redis
from redis.cluster import ClusterPipeline, RedisCluster
from redis.commands.core import Script
from redis.connection import Encoder
from redis.exceptions import RedisClusterException

# What a failed Redis call raises. RedisCluster reports an unreachable cluster (and
# keys of one call in different slots) with RedisClusterException, which is not a
# RedisError; callers catch both alike. A tuple works wherever ``except`` takes one.
RedisError = (redis.RedisError, RedisClusterException)


def connect(url: str, *, cluster: bool = False, timeout: float | None = None):
    """A client for ``url``: a plain Redis, or a Redis Cluster reached through that node."""
    options = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 0,
        "retry_on_timeout": False,
    }
    if cluster:
        return LazyCluster(url, options)
    # redis-py's pool notices a fork and reconnects in the child, so one client
    # made before gunicorn forks is still safe to use in each worker.
    return redis.Redis.from_url(url, **options)


class LazyCluster:
    """A ``RedisCluster`` made at its first use, standing in for it until then.

    ``redis.Redis`` connects lazily, but ``RedisCluster`` asks for the slot map as
    it is made, and raises when no node answers. Made eagerly, a web worker could
    not start while Redis is down, which the service promises to survive (answers
    from the database); here a failure to reach the cluster surfaces at the first
    call instead, as a RedisError-family exception the breaker handles, and the
    next call tries again.
    """

    def __init__(self, url: str, options: dict):
        self.url, self.options = url, options
        self._client: RedisCluster | None = None
        self._lock = threading.Lock()

    def _get(self) -> RedisCluster:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = RedisCluster.from_url(self.url, **self.options)
                client = self._client
        return client

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and friends probing: no connection for them
            raise AttributeError(name)
        return getattr(self._get(), name)

    def register_script(self, source: str) -> Script:
        return Script(self, source)  # calls go through ``self``: no connection needed yet

    def get_encoder(self) -> Encoder:
        return Encoder("utf-8", "strict", False)  # RedisCluster's default; Script hashes with it

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def queue_script(pipe, script: Script, keys: list, args: list) -> None:
    """Add a call of ``script`` to ``pipe``.

    redis-py's cluster pipelines refuse ``evalsha`` (they cannot load a missing
    script half way through), so there the script's text goes along (EVAL, routed
    by its keys' slot like any command); Redis compiles it once and keeps it.
    """
    if isinstance(pipe, ClusterPipeline):
        pipe.execute_command("EVAL", script.script, len(keys), *keys, *args)
    else:
        script(keys=keys, args=args, client=pipe)


SLOW_CALLS = 3  # timeouts in a row that open the breaker (``RedisLink.failed``)


class RedisLink:
    def __init__(self, url: str, timeout: float, retry_seconds: float, cluster: bool = False):
        self.url = url
        self.cluster = cluster
        self.retry_seconds = retry_seconds
        self.client = connect(url, cluster=cluster, timeout=timeout)
        self._down_until = 0.0
        self._slow = 0  # timeouts in a row
        self._tripped = False  # opened, and no call has succeeded since

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception | None = None) -> None:
        """A call failed: leave Redis alone for ``retry_seconds``.

        A timeout alone opens the breaker only when it is the ``SLOW_CALLS``-th in a
        row. At saturation one call now and then waits past the timeout (its thread
        waited for a core, Redis for its turn); opening the breaker for it sent that
        web worker to the database, the slower path, for seconds, which fed the
        overload it came from (``load/run.sh --shape peak``: 900 down to 100-230
        req/s). A refused or reset connection opens it at once, and so does any
        failure of the first calls after it was open (half-open: the probe failed),
        so a Redis that hangs costs one slow call per retry period, not three.
        """
        if isinstance(exc, redis.TimeoutError) and not self._tripped:
            self._slow += 1
            if self._slow < SLOW_CALLS:
                return
        self._slow = 0
        self._tripped = True
        self._down_until = time.monotonic() + self.retry_seconds

    def succeeded(self) -> None:
        self._slow = 0
        self._tripped = False

    def close(self) -> None:
        self.client.close()


class Keys:
    """Every Redis key the service uses: the prefix, then the name.

    Redis Cluster runs a script or a multi-key command only when all its keys hash
    to one slot, and a scan's script touches three keys (the ready marker, the
    code's hash, the stream), ``sync.lua`` two. Keys are hashed on their hash tag
    (the text between the first ``{`` and the next ``}``) when they have one, so
    with ``ZHENMA_REDIS_CLUSTER`` the prefix must hold one (``{zhenma}:``; the
    settings refuse a prefix without): then every key of the service is in the
    same slot, whatever follows the prefix.

    Why one slot for everything rather than a tag per code: the ready marker and
    the one stream are in every scan's script, so they would have to be in every
    code's slot. One slot gives no sharding: it lets the service run on a
    cluster-mode Redis (a managed cluster, or a cluster kept for failover), all of
    its keys on one primary. Spreading the load means several streams, each with
    its own tag, its own marker and its codes (docs/scaling.md).

    Why the prefix carries the tag instead of the names being wrapped in one:
    without cluster mode the key names stay what they were, so an upgrade neither
    strands the scans waiting in the old stream nor needs a migration; moving to a
    cluster means a new Redis anyway (drain the old stream, set the tagged prefix;
    the writer re-seeds the counts from the database).
    """

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.ready = prefix + "ready"
        # Set by a web worker that wrote scans straight to the database (Redis was
        # away), before it uses Redis again; cleared by the writer once those scans
        # are in Redis's counts. While it is set, counted scans go to the database.
        self.resync = prefix + "resync"
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
