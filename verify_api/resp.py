"""A minimal Redis connection for the one call on the hot path: the scan script.

redis-py spends about 60 us of CPU per command in its own machinery (retries,
pools, argument normalising); a scan needs none of it. This sends one EVALSHA
packed by hiredis over a plain socket and reads the reply with hiredis's
parser: about a third of the CPU. Everything else (the throttle, the cache, the
writer) keeps using redis-py.

One connection per thread, made lazily and again after a fork or any error (a
reply cut by a timeout leaves the connection unusable, so it is dropped). Errors
are raised as redis-py's exceptions, so callers handle one family. TLS
(``rediss://``) is not spoken here, nor Redis Cluster (one socket to one node
cannot follow MOVED and ASK redirects when slots move): ``available`` is then
False and the caller uses redis-py.
"""

import hashlib
import os
import socket
import threading

import hiredis
import redis
from redis.connection import parse_url


class ScriptChannel:
    def __init__(self, url: str, timeout: float, source: str, cluster: bool = False):
        self.available = not cluster and not url.startswith("rediss://")
        self.options = parse_url(url) if self.available else {}
        self.timeout = timeout
        self.source = source.encode()
        self.sha = hashlib.sha1(self.source).hexdigest()  # noqa: S324  (Redis names scripts by SHA-1)
        self._local = threading.local()
        self._open: set = set()  # every thread's connection, so ``close`` can close them all
        self._generation = 0  # raised by ``close``: other threads' connections are then old
        self._lock = threading.Lock()

    def _connect(self):
        o = self.options
        if "path" in o:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(o["path"])
        else:
            sock = socket.create_connection((o.get("host", "localhost"), o.get("port", 6379)),
                                            timeout=self.timeout)  # fmt: skip
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = (sock, hiredis.Reader(), os.getpid(), self._generation)
        self._local.conn = conn
        with self._lock:
            self._open.add(conn)
        if o.get("password"):
            auth = (o["username"], o["password"]) if o.get("username") else (o["password"],)
            self._call(conn, ("AUTH", *auth))
        if o.get("db"):
            self._call(conn, ("SELECT", o["db"]))
        return conn

    def _call(self, conn, args):
        sock, reader = conn[0], conn[1]
        sock.sendall(hiredis.pack_command(args))
        while True:
            reply = reader.gets()
            if reply is not False:
                break
            data = sock.recv(65536)
            if not data:
                raise redis.ConnectionError("Redis closed the connection")
            reader.feed(data)
        if isinstance(reply, hiredis.ReplyError):
            raise redis.ResponseError(str(reply))
        return reply

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                self._open.discard(conn)
            conn[0].close()

    def close(self) -> None:
        """Close every thread's connection (shutting down, or Redis restarted): each
        thread makes a new one at its next call."""
        with self._lock:
            conns, self._open = self._open, set()
            self._generation += 1
        for conn in conns:
            conn[0].close()

    def evalsha(self, keys: list, args: list):
        conn = getattr(self._local, "conn", None)
        try:
            if conn is None or conn[2] != os.getpid() or conn[3] != self._generation:
                conn = self._connect()
            try:
                return self._call(conn, ("EVALSHA", self.sha, len(keys), *keys, *args))
            except redis.ResponseError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                self._call(conn, ("SCRIPT", "LOAD", self.source))
                return self._call(conn, ("EVALSHA", self.sha, len(keys), *keys, *args))
        except TimeoutError as exc:  # a reply may still come: the connection is unusable now
            self._drop()
            raise redis.TimeoutError(str(exc)) from None
        except OSError as exc:  # refused, reset: the connection is unusable now
            self._drop()
            raise redis.ConnectionError(str(exc)) from None
        except redis.ResponseError:
            raise
        except Exception:
            self._drop()
            raise
