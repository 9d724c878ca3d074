"""Delivering outbox events to the order system: signed HTTP POSTs, retries, dead letters.

Runs in ``zhenma worker`` (a thread beside the scan writer). Each event is POSTed
with its stored JSON body and these headers:

* ``Idempotency-Key``: the event's key, the same on every attempt and replay;
* ``X-Zhenma-Timestamp``: Unix seconds of this attempt;
* ``X-Zhenma-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with
  ``ZHENMA_ORDER_SECRET``, of ``<timestamp>.<body>`` (docs/dispatch.md shows the
  receiver's check).

A 2xx answer delivers the event. A timeout, a refused or broken connection, 408,
409, 425, 429 or 5xx is retried after an exponential backoff with jitter; after
``outbox_max_attempts`` the event is parked. Any other answer (400, 401, 404, a
redirect...) parks it at once: sending the same bytes again cannot succeed until
someone fixes something, and then replays it.

Several workers may run: each claims events under a lease (``outbox.claim``) and
gives back what it could not start before the lease would end. The deliveries of
one claim are recorded in one transaction at its end: a worker that dies before
that sends them again (same keys), which is what the keys are for.
"""

import hashlib
import hmac
import http.client
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import update

from zhenma.config import Settings
from zhenma.db import Database
from zhenma.db.models import OutboxEvent

from . import outbox
from .times import now

log = logging.getLogger("zhenma.outbox")

TIMESTAMP = "X-Zhenma-Timestamp"
SIGNATURE = "X-Zhenma-Signature"
RETRY_STATUSES = {408, 409, 425, 429}
CLAIM = 20


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool = True  # False: the receiver refused it; park at once
    detail: str = ""


class OrderSystem(Protocol):
    def send(self, key: str, body: bytes) -> Outcome: ...


class HttpOrderSystem:
    """The order system over HTTP(S), one kept-alive connection per worker thread."""

    def __init__(self, url: str, secret: str, timeout: float):
        parts = urlsplit(url)
        self.secure = parts.scheme == "https"
        self.host, self.port = parts.hostname or "", parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.secret, self.timeout = secret, timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.secure:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def send(self, key: str, body: bytes) -> Outcome:
        # A kept-alive connection the server has closed fails before any answer:
        # that, and only that, is tried once more at once on a new connection.
        for reused in (self._conn is not None, False):
            if self._conn is None:
                self._conn = self._connect()
            stamp = int(time.time())
            try:
                self._conn.request(
                    "POST",
                    self.path,
                    body=body,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Idempotency-Key": key,
                        TIMESTAMP: str(stamp),
                        SIGNATURE: sign(self.secret, stamp, body),
                        "User-Agent": "zhenma-outbox/1",
                    },
                )
                response = self._conn.getresponse()
                answer = response.read(4096)
                if response.will_close or len(answer) == 4096:
                    self.close()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused:
                    continue
                return Outcome(False, True, f"connection lost: {exc!r}")
            except TimeoutError:
                self.close()
                return Outcome(False, True, f"no answer within {self.timeout:g} s")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Outcome(False, True, f"cannot reach the order system: {exc!r}")
            status = response.status
            detail = f"HTTP {status}: {answer[:200].decode('utf-8', 'replace')}"
            if 200 <= status < 300:
                return Outcome(True, detail=detail)
            return Outcome(False, status >= 500 or status in RETRY_STATUSES, detail)
        raise AssertionError("unreachable")  # pragma: no cover


def backoff(settings: Settings, attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt: doubling from the base, capped, half of it random."""
    delay = min(settings.outbox_backoff_max, settings.outbox_backoff * 2 ** (attempts - 1))
    return delay / 2 + rng() * delay / 2


class Deliverer:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        system: OrderSystem | None = None,
        owner: str | None = None,
        kinds: tuple[str, ...] | None = None,
        exclude: tuple[str, ...] = (),
    ):
        self.db, self.settings = db, settings
        self.kinds, self.exclude = kinds, exclude
        self.system = system or HttpOrderSystem(
            settings.order_url, settings.order_secret, settings.order_timeout
        )
        self.owner = owner or f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"

    def step(self, stop: threading.Event | None = None) -> int:
        """Claim a few events and deliver them; how many were claimed."""
        s = self.settings
        with self.db.session() as session:
            work = outbox.claim(
                session, self.owner, CLAIM, s.outbox_lease, s.outbox_max_attempts,
                self.kinds, self.exclude,
            )  # fmt: skip
        deadline = time.monotonic() + s.outbox_lease
        done: list[int] = []
        try:
            for n, event in enumerate(work):
                if (stop is not None and stop.is_set()) or (
                    time.monotonic() + s.order_timeout + 1 > deadline
                ):
                    self._release([w.id for w in work[n:]])
                    break
                outcome = self.system.send(event.key, event.body)
                if outcome.ok:
                    done.append(event.id)
                    continue
                last = not outcome.retry or event.attempt >= s.outbox_max_attempts
                retry_at = None if last else now() + timedelta(seconds=backoff(s, event.attempt))
                with self.db.session() as session:
                    outbox.failed(session, event.id, self.owner, outcome.detail, retry_at)
                log.warning(
                    "event %s attempt %d: %s%s", event.id, event.attempt, outcome.detail,
                    " (parked)" if last else "",
                )  # fmt: skip
        finally:
            # One transaction for the step's deliveries, within the lease: a worker that
            # dies before it sends them again, with the same keys.
            if done:
                with self.db.session() as session:
                    outbox.delivered(session, done)
        return len(work)

    def _release(self, ids: list[int]) -> None:
        """Give back claimed events not started, so others need not wait for the lease."""
        with self.db.session() as session:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(ids), OutboxEvent.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None, attempts=OutboxEvent.attempts - 1)
            )

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.step(stop)
            except Exception:
                # The database is away: claimed events stay leased and come back to
                # some worker when the lease ends; nothing is lost.
                log.exception("outbox delivery failed; retrying")
                stop.wait(self.settings.outbox_poll)
                continue
            if not busy:
                stop.wait(self.settings.outbox_poll)
        close = getattr(self.system, "close", None)
        if close:
            close()


def start(settings: Settings, db: Database) -> tuple[threading.Thread, threading.Event] | None:
    """The delivery thread of ``zhenma worker``; None when no order system is configured."""
    if not settings.order_url:
        return None
    stop = threading.Event()
    # HQ's alert webhook (issue 6) shares the outbox; its events are not the order system's.
    deliverer = Deliverer(db, settings, exclude=outbox.HQ_KINDS)
    thread = threading.Thread(target=deliverer.run, args=(stop,), name="outbox", daemon=True)
    thread.start()
    return thread, stop
