"""Counting and recording scans: in Redis (one script call) or in the database.

With Redis a scan costs one round trip: ``scan.lua`` counts it, decides "first
check" and "suspect" atomically, and appends the record to a durable stream that
``worker`` stores in the database (a code's first check also goes straight to
``code_states``, one INSERT: ``FirstNotes``). Without Redis, or while it is down,
the scan is counted and stored in one database transaction, and the primary key
of ``code_states`` makes exactly one concurrent scan the first. After an outage,
until Redis has the scans written to the database meanwhile, a code's are added
to Redis before a scan of it is counted there (the resync, ``Recorder``).
"""

import json
import logging
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files

import psycopg
import redis
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from distribution.times import utc
from zhenma.config import Settings
from zhenma.db import Database
from zhenma.db.models import CodeState, Scan

from .redis_link import Keys, RedisError, RedisLink, queue_script
from .resp import ScriptChannel

log = logging.getLogger("zhenma.scans")

GENUINE_FIRST = "genuine_first_check"
GENUINE = "genuine_checked_before"
SUSPECT = "suspect"
COUNTED_VERDICTS = (GENUINE_FIRST, GENUINE, SUSPECT)


def dialect_insert(db: Database, model):
    """INSERT with ON CONFLICT support, for the dialect in use."""
    return (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert(model)


def new_key() -> str:
    """A scan's own key (``scans.scan_key``): 96 random bits, made where the scan is answered."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class ScanRecord:
    """A scan as it is stored: no raw IP, nothing secret.

    ``key`` names this one scan wherever it is stored: when the scan script's reply
    is lost (a timeout after Redis ran it) the scan is both in the stream and
    written straight to the database, and the unique ``scans.scan_key`` keeps one.
    """

    serial: str
    at: datetime
    key: str = field(default_factory=new_key)
    verdict: str = ""  # decided by the counting step for counted scans
    reason: str | None = None
    batch_id: int | None = None
    item_index: int | None = None
    hidden_code_given: bool = False
    ip_prefix: str | None = None
    ip_hash: str | None = None
    user_agent: str | None = None
    lat: float | None = None
    lng: float | None = None

    def payload(self, counted: bool) -> str:
        """The record as the stream carries it (``worker.row_of`` reads it back)."""
        return json.dumps(
            [self.serial, to_ms(self.at), counted, self.hidden_code_given, self.batch_id,
             self.item_index, self.ip_prefix, self.ip_hash, self.user_agent, self.lat, self.lng,
             self.key],
            ensure_ascii=False,
            separators=(",", ":"),
        )  # fmt: skip


def _text(value) -> str:
    return "" if value is None else str(value)


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def from_ms(ms: int | str | bytes) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


@dataclass(frozen=True)
class CodeFacts:
    """What a counted scan learns about its code."""

    verdict: str
    count: int
    first_at: datetime
    first_place: str | None = None
    suspect_reason: str | None = None
    first: bool = False  # this scan was the code's first check


def km_between(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius); ``scan.lua`` does the same."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def suspect_reason(state: CodeState, rec: ScanRecord, settings: Settings) -> str | None:
    """The database path's twin of the rule in ``scan.lua``."""
    if state.suspect_reason:
        return state.suspect_reason
    if rec.lat is not None and state.last_lat is not None and state.last_located_at is not None:
        km = km_between(state.last_lat, state.last_lng, rec.lat, rec.lng)
        hours = max(0.0, (rec.at - utc(state.last_located_at)).total_seconds()) / 3600
        if km >= settings.suspect_min_km and km > settings.suspect_speed_kmh * hours:
            return "far_apart"
    if state.scan_count > settings.suspect_scans:
        return "too_often"
    return None


def first_state(rec: ScanRecord) -> dict:
    """The ``code_states`` row of a first check, counting nothing yet."""
    return {
        "serial": rec.serial,
        "batch_id": rec.batch_id,
        "item_index": rec.item_index,
        "scan_count": 0,
        "first_scan_at": from_ms(to_ms(rec.at)),  # as Redis and the stream have it
        "first_lat": rec.lat,
        "first_lng": rec.lng,
    }


class FirstNotes:
    """``DatabaseStore.note_first`` on PostgreSQL (psycopg), in one round trip.

    A first check is one request in ten or so; through the pool, a transaction and
    its commit cost about a millisecond of CPU (five round trips: the pool's ping,
    BEGIN, INSERT, COMMIT and its wait for the disk), which took 18 % off the verify
    rate (``bench/verify.py``). Here each thread keeps a connection of its own in
    autocommit with ``synchronous_commit`` off (a lost hint is rebuilt from the
    stream), and the INSERT is prepared once: one round trip, no disk wait.
    """

    SQL = (
        "INSERT INTO code_states (serial, batch_id, item_index, scan_count, first_scan_at,"
        " first_lat, first_lng) VALUES (%(serial)s, %(batch_id)s, %(item_index)s,"
        " %(scan_count)s, %(first_scan_at)s, %(first_lat)s, %(first_lng)s)"
        " ON CONFLICT (serial) DO NOTHING"
    )

    def __init__(self, url):
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._local = threading.local()
        self._open: set = set()  # every thread's connection, for ``close``
        self._lock = threading.Lock()

    def note(self, rec: ScanRecord) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or self._local.pid != os.getpid():
            conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=2)
            conn.execute("SET synchronous_commit = off")
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._open.add(conn)
        try:
            conn.execute(self.SQL, first_state(rec), prepare=True)
        except psycopg.Error:
            self._local.conn = None
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()


class DatabaseStore:
    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        url = db.engine.url
        self._firsts = FirstNotes(url) if url.drivername == "postgresql+psycopg" else None

    def record(self, rec: ScanRecord, counted: bool, synced: bool = True) -> CodeFacts | None:
        facts = None
        with self.db.session() as s:
            verdict, reason = rec.verdict, rec.reason
            if counted:
                facts = self._count(s, rec)
                verdict, reason = facts.verdict, facts.suspect_reason
            # ON CONFLICT: the writer may have stored this very scan from the stream
            # already (a Redis reply lost after Redis ran the script).
            s.execute(
                dialect_insert(self.db, Scan)
                .values(
                    scan_key=rec.key,
                    serial=rec.serial,
                    batch_id=rec.batch_id,
                    item_index=rec.item_index,
                    verdict=verdict,
                    reason=reason,
                    scanned_at=rec.at,
                    counted=counted,
                    hidden_code_given=rec.hidden_code_given,
                    ip_prefix=rec.ip_prefix,
                    ip_hash=rec.ip_hash,
                    user_agent=rec.user_agent,
                    lat=rec.lat,
                    lng=rec.lng,
                    redis_synced=synced,
                )
                .on_conflict_do_nothing()
            )
        return facts

    def _count(self, s, rec: ScanRecord) -> CodeFacts:
        inserted = s.execute(
            dialect_insert(self.db, CodeState)
            .values(
                serial=rec.serial,
                batch_id=rec.batch_id,
                item_index=rec.item_index,
                scan_count=0,
                first_scan_at=rec.at,
                first_lat=rec.lat,
                first_lng=rec.lng,
            )
            .on_conflict_do_nothing(index_elements=["serial"])
            .returning(CodeState.serial)
        ).first()
        # The row lock (PostgreSQL; SQLite has one writer anyway) orders concurrent
        # scans of one code, so counts and the "far apart" rule see each other.
        state = s.scalars(
            select(CodeState).where(CodeState.serial == rec.serial).with_for_update()
        ).one()
        state.scan_count += 1
        reason = suspect_reason(state, rec, self.settings)
        if rec.lat is not None:
            state.last_lat, state.last_lng, state.last_located_at = rec.lat, rec.lng, rec.at
        state.suspect_reason = reason
        first_at = utc(state.first_scan_at)
        if reason:
            verdict = SUSPECT
        elif inserted is not None:
            verdict = GENUINE_FIRST
        else:
            verdict = GENUINE
        return CodeFacts(
            verdict, state.scan_count, first_at, state.first_place, reason, inserted is not None
        )

    def close(self) -> None:
        if self._firsts is not None:
            self._firsts.close()

    def note_first(self, rec: ScanRecord) -> None:
        """Write a first check that Redis counted to ``code_states`` now, not when the
        writer stores it from the stream (a quarter second or more later, much more
        while no writer runs). Should Redis go away meanwhile, the database, answering
        alone, knows the code was checked; without this row it would tell the next
        scan "first check" again. The row counts nothing (``scan_count`` 0: the writer
        adds the scan) and is a hint the stream can rebuild (``FirstNotes``)."""
        if self._firsts is not None:
            self._firsts.note(rec)
            return
        with self.db.engine.begin() as conn:  # SQLite, or another PostgreSQL driver
            conn.execute(
                dialect_insert(self.db, CodeState)
                .values(first_state(rec))
                .on_conflict_do_nothing(index_elements=["serial"])
            )

    def facts(self, serial: str) -> CodeState | None:
        with self.db.session() as s:
            return s.get(CodeState, serial)

    def unsynced(self, serial: str) -> list:
        """The counted scans of one code written here and not yet added to Redis."""
        with self.db.session() as s:
            return s.execute(
                select(*DirectScans.COLUMNS).where(
                    Scan.serial == serial, Scan.redis_synced.is_(False), Scan.counted.is_(True)
                )
            ).all()


class DirectScans:
    """Adding scans written straight to the database (Redis was away) to Redis's counts.

    Once each, whoever adds it: ``sync.lua`` sets a marker per scan. The writer adds
    all of them (``worker.Writer.sync_direct``); a web worker during a resync adds one
    code's before it counts a scan of that code (``Recorder``).
    """

    COLUMNS = (Scan.id, Scan.serial, Scan.scanned_at, Scan.lat, Scan.lng, Scan.counted, Scan.reason)

    def __init__(self, client, keys: Keys):
        self.keys = keys
        self.script = client.register_script(files(__package__).joinpath("sync.lua").read_text())

    def queue(self, pipe, rows) -> None:
        """Queue rows (``COLUMNS``) on a pipeline; scans that were not counted are skipped."""
        for r in rows:
            if r.counted:
                queue_script(
                    pipe, self.script, [self.keys.synced(r.id), self.keys.code(r.serial)],
                    [to_ms(utc(r.scanned_at)), _text(r.lat), _text(r.lng), r.reason or ""],
                )  # fmt: skip


_COLD = object()  # Redis holds no trustworthy state: the writer reseeds it
_RESYNC = object()  # direct scans are not yet in Redis's counts: the writer adds them
RESYNC_SECONDS = 300  # the resync marker's life, should no writer ever clear it
FIRSTS_PAUSE_SECONDS = 1.0  # ``Recorder._note_first``: after the database refused one


class RedisStore:
    def __init__(self, link: RedisLink, keys: Keys, settings: Settings):
        self.link, self.keys, self.settings = link, keys, settings
        source = (
            files(__package__)
            .joinpath("scan.lua")
            .read_text()
            .replace("__MAX_SCANS__", str(int(settings.suspect_scans)))
            .replace("__MAX_KMH__", repr(float(settings.suspect_speed_kmh)))
            .replace("__MIN_KM__", repr(float(settings.suspect_min_km)))
        )
        self._script = link.client.register_script(source)
        # Without the channel (TLS, a cluster) the script goes through redis-py, which
        # routes it by its keys' slot and follows a cluster's redirects.
        self._channel = ScriptChannel(link.url, settings.redis_timeout, source, link.cluster)
        self._direct = DirectScans(link.client, keys)

    def close(self) -> None:
        self._channel.close()

    def mark_resync(self) -> None:
        """Tell Redis that scans were written straight to the database and are not in its
        counts: until the writer has added them all, a scan is counted in Redis only after
        its code's direct scans (``Recorder``), so a code first checked during an outage
        is not told so twice."""
        self.link.client.set(self.keys.resync, secrets.token_hex(8), ex=RESYNC_SECONDS)

    def add_direct(self, rows) -> None:
        if rows:
            pipe = self.link.client.pipeline(transaction=False)
            self._direct.queue(pipe, rows)
            pipe.execute()

    def record(self, rec: ScanRecord, counted: bool, resynced: bool = False):
        """Count and record a scan; ``resynced``: its code's direct scans are in Redis."""
        if counted:
            args = ["1", to_ms(rec.at), _text(rec.lat), _text(rec.lng), rec.payload(True),
                    "1" if resynced else "0"]  # fmt: skip
        else:
            args = ["0", 0, "", "", rec.payload(False), rec.verdict, _text(rec.reason)]
        keys = [self.keys.ready, self.keys.code(rec.serial), self.keys.stream, self.keys.resync]
        if self._channel.available:
            result = self._channel.evalsha(keys, args)
        else:
            result = self._script(keys=keys, args=args)
        if result[0] == -1:
            return _COLD
        if result[0] == -2:
            return _RESYNC
        if not counted:
            return None
        count, first, first_ms, reason, place, _entry = result
        reason = reason.decode() or None
        verdict = SUSPECT if reason else (GENUINE_FIRST if first == 1 else GENUINE)
        return CodeFacts(
            verdict, count, from_ms(first_ms), place.decode() or None, reason, first == 1
        )


class Recorder:
    """Counts and records a scan where it can, and says when it had to fall back.

    Redis down (or emptied) is not a reason to refuse an answer: the scan is then
    counted and stored in the database at once (so it is not lost), and
    ``degraded`` tells the caller why.
    """

    def __init__(self, db: Database, link: RedisLink | None, keys: Keys, settings: Settings):
        self.database = DatabaseStore(db, settings)
        self.link = link
        self.redis = RedisStore(link, keys, settings) if link is not None else None
        self._wrote_direct = False  # since Redis was last told (``mark_resync``)
        self._firsts_paused_until = 0.0  # after the database refused a first check

    def record(self, rec: ScanRecord, counted: bool) -> tuple[CodeFacts | None, str | None]:
        if self.redis is None:
            return self.database.record(rec, counted), None
        degraded = "redis-unavailable"
        lone_timeout = False
        if self.link.available():
            try:
                if self._wrote_direct:  # before any scan of ours uses Redis again
                    self.redis.mark_resync()
                    self._wrote_direct = False
                result = self.redis.record(rec, counted)
                if result is _RESYNC:
                    # Redis lacks scans written straight to the database. The database
                    # lacks the scans still in the stream (the writer's backlog, all of
                    # it while no writer runs): neither alone can count this scan. So
                    # this code's direct scans are added to Redis (once each, whoever
                    # adds them), and Redis, then whole for this code, counts it.
                    self.redis.add_direct(self.database.unsynced(rec.serial))
                    result = self.redis.record(rec, counted, resynced=True)
                self.link.succeeded()
                if result is not _COLD:
                    if result is not None and result.first:
                        self._note_first(rec)
                    return result, None
                degraded = "redis-cold"
            except RedisError as exc:
                self.link.failed(exc)
                # A lone timeout: Redis got the script and runs it, late (the scan key
                # keeps it stored once); only scans Redis never saw call for a resync.
                lone_timeout = isinstance(exc, redis.TimeoutError) and self.link.available()
                if not isinstance(exc, redis.TimeoutError):
                    # Redis may have restarted: every thread's connection is stale, so
                    # drop them all now rather than let each fail once, later, and
                    # open the breaker again (seconds of degraded answers each time).
                    self.redis.close()
        facts = self.database.record(rec, counted, synced=False)
        if degraded == "redis-unavailable" and not lone_timeout:
            self._wrote_direct = True
        return facts, degraded

    def _note_first(self, rec: ScanRecord) -> None:
        """``DatabaseStore.note_first``, failing open: the answer stands, the writer
        stores the first check from the stream, and for a second after a failure (the
        database restarting) first checks do not try again."""
        if time.monotonic() < self._firsts_paused_until:
            return
        try:
            self.database.note_first(rec)
        except (SQLAlchemyError, psycopg.Error) as exc:
            self._firsts_paused_until = time.monotonic() + FIRSTS_PAUSE_SECONDS
            log.warning("could not note a first check in the database: %s", type(exc).__name__)
