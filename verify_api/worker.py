"""``zhenma worker``: moves scan records from the Redis stream into the database.

Delivery is at least once and storage exactly once:

* entries are read in a consumer group (XREADGROUP) and acknowledged (XACK, then
  XDEL to keep the stream short) only after the database transaction that stores
  them has committed;
* ``scans.stream_id`` is unique and rows are inserted with ON CONFLICT DO NOTHING,
  so an entry delivered twice (a writer died between commit and XACK) is stored
  once, and the per-code state is only advanced for rows actually inserted;
* entries a dead writer had taken are claimed by a live one (XAUTOCLAIM) once
  they have been idle for ``worker_claim_idle_ms``; a writer starts by re-reading
  its own pending entries, and does so again after any failure.

The writer also keeps Redis's per-code state whole: when Redis has lost it (the
``ready`` marker is gone) it seeds it from ``code_states``, and it adds the scans
that web workers wrote straight to the database while Redis was down.
"""

import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

from sqlalchemy import bindparam, case, func, select, text, update

from distribution.times import utc
from zhenma.config import Settings
from zhenma.db import Database
from zhenma.db.models import CodeState, Scan

from .redis_link import Keys, RedisError, RedisLink
from .scans import RESYNC_SECONDS, DirectScans, dialect_insert, from_ms, to_ms

log = logging.getLogger("zhenma.worker")

# Seconds between checks that Redis still holds its state, and for direct scans to add.
UPKEEP_SECONDS = 1.0
# Seconds a writer waits after a short batch, so the next one is bigger.
LINGER_SECONDS = 0.25


def _str(value: bytes | None) -> str | None:
    if value is None or value == b"":
        return None
    return value.decode()


def _float(value: bytes | None) -> float | None:
    return None if not value else float(value)


CLEAR_IF_SAME = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end"


def _int(value: bytes | None) -> int | None:
    return None if not value else int(value)


def row_of(entry_id: bytes, f: dict[bytes, bytes]) -> dict:
    """A ``scans`` row from a stream entry (``scans.ScanRecord.payload``)."""
    serial, ms, counted, hidden, batch, index, prefix, hashed, agent, lat, lng, *rest = json.loads(
        f[b"d"]
    )
    return {
        "stream_id": entry_id.decode(),
        "scan_key": rest[0] if rest else None,  # entries written before scan keys have none
        "serial": serial,
        "batch_id": batch,
        "item_index": index,
        "verdict": f[b"v"].decode(),
        "reason": f[b"r"].decode() or None,
        "scanned_at": from_ms(ms),
        "counted": counted,
        "hidden_code_given": hidden,
        "ip_prefix": prefix,
        "ip_hash": hashed,
        "user_agent": agent,
        "lat": lat,
        "lng": lng,
        "redis_synced": True,
    }


# On PostgreSQL a batch is one statement over arrays (unnest): its text never
# changes, so neither SQLAlchemy nor psycopg re-parses a long VALUES list per batch.
_SCAN_COLUMNS = (
    ("stream_id", "text"), ("scan_key", "text"), ("serial", "text"), ("batch_id", "int4"),
    ("item_index", "int8"),
    ("verdict", "text"), ("reason", "text"), ("scanned_at", "timestamptz"), ("counted", "bool"),
    ("hidden_code_given", "bool"), ("ip_prefix", "text"), ("ip_hash", "text"),
    ("user_agent", "text"), ("lat", "float8"), ("lng", "float8"), ("redis_synced", "bool"),
)  # fmt: skip
_STATE_COLUMNS = (
    ("serial", "text"), ("batch_id", "int4"), ("item_index", "int8"), ("scan_count", "int8"),
    ("first_scan_at", "timestamptz"), ("first_lat", "float8"), ("first_lng", "float8"),
    ("last_lat", "float8"), ("last_lng", "float8"), ("last_located_at", "timestamptz"),
    ("suspect_reason", "text"),
)  # fmt: skip


def _unnest(table: str, columns) -> str:
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608


def _columns(rows: list[dict], columns) -> dict[str, list]:
    return {name: [r[name] for r in rows] for name, _ in columns}


_PG_SCANS = text(_unnest("scans", _SCAN_COLUMNS) + " ON CONFLICT DO NOTHING RETURNING stream_id")
# A stream entry whose scan is already stored directly (its Redis reply was lost, so
# the web worker wrote it too): Redis counted it, so the direct row needs no syncing.
_TWINS = (
    update(Scan)
    .where(Scan.scan_key == bindparam("key"), Scan.stream_id.is_(None))
    .values(stream_id=bindparam("entry"), redis_synced=True)
)
_PG_STATES = text(
    _unnest("code_states", _STATE_COLUMNS) + " ON CONFLICT (serial) DO UPDATE SET"
    " scan_count = code_states.scan_count + excluded.scan_count,"
    " first_scan_at = LEAST(code_states.first_scan_at, excluded.first_scan_at),"
    " last_lat = COALESCE(excluded.last_lat, code_states.last_lat),"
    " last_lng = COALESCE(excluded.last_lng, code_states.last_lng),"
    " last_located_at = COALESCE(excluded.last_located_at, code_states.last_located_at),"
    " suspect_reason = COALESCE(code_states.suspect_reason, excluded.suspect_reason)"
)


class Writer:
    def __init__(
        self, settings: Settings, db: Database, link: RedisLink, consumer: str | None = None
    ):
        self.settings, self.db, self.link = settings, db, link
        self.redis = link.client
        self.keys = Keys(settings.redis_prefix)
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._recover = True  # re-read our own pending entries before new ones
        self._next_claim = 0.0
        self._postgres = db.engine.dialect.name == "postgresql"
        self._direct = DirectScans(self.redis, self.keys)
        self._clear = self.redis.register_script(CLEAR_IF_SAME)

    # -- the stream ------------------------------------------------------------

    def ensure_group(self) -> None:
        try:
            # From the stream's start: scans added before any writer ever ran count too.
            self.redis.xgroup_create(self.keys.stream, self.keys.group, id="0", mkstream=True)
        except RedisError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, block_ms: int | None) -> int:
        """Read and store one batch: our own pending entries first, then new ones."""
        if self._recover:
            entries = self._read("0", None)
            if entries:
                return self.store(entries)
            self._recover = False
        return self.store(self._read(">", block_ms))

    def _read(self, start: str, block_ms: int | None) -> list:
        reply = self.redis.xreadgroup(
            self.keys.group,
            self.consumer,
            {self.keys.stream: start},
            count=self.settings.worker_batch,
            block=block_ms,
        )
        return reply[0][1] if reply else []

    def claim(self) -> int:
        """Take over entries that another (dead or stuck) writer left unacknowledged."""
        now = time.monotonic()
        if now < self._next_claim:
            return 0
        self._next_claim = now + self.settings.worker_claim_idle_ms / 2000
        total, start = 0, "0-0"
        while True:
            start, entries, *_ = self.redis.xautoclaim(
                self.keys.stream,
                self.keys.group,
                self.consumer,
                min_idle_time=self.settings.worker_claim_idle_ms,
                start_id=start,
                count=self.settings.worker_batch,
            )
            total += self.store(entries)
            if start in (b"0-0", "0-0") or not entries:
                return total

    def store(self, entries: list) -> int:
        if not entries:
            return 0
        self.commit(entries)
        ids = [entry_id for entry_id, _ in entries]
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(self.keys.stream, self.keys.group, *ids)
        pipe.xdel(self.keys.stream, *ids)
        pipe.execute()
        return len(ids)

    def commit(self, entries: list) -> None:
        """Store entries in one transaction; those stored before are skipped, not doubled."""
        rows = [row_of(entry_id, fields) for entry_id, fields in entries if fields]
        if not rows:
            return
        with self.db.session() as s:
            conn = s.connection()
            if self._postgres:
                inserted = set(conn.execute(_PG_SCANS, _columns(rows, _SCAN_COLUMNS)).scalars())
            else:
                stmt = (
                    dialect_insert(self.db, Scan)
                    .on_conflict_do_nothing()  # stream_id or scan_key seen before
                    .returning(Scan.stream_id)
                )
                inserted = set(conn.execute(stmt, rows).scalars())
            twins = [
                {"key": r["scan_key"], "entry": r["stream_id"]}
                for r in rows
                if r["stream_id"] not in inserted and r["scan_key"]
            ]
            if twins:
                conn.execute(_TWINS.execution_options(synchronize_session=False), twins)
            fresh = [r for r in rows if r["counted"] and r["stream_id"] in inserted]
            self._advance_states(conn, fresh)

    def _advance_states(self, conn, rows: list[dict]) -> None:
        states: dict[str, dict] = {}
        for r in sorted(rows, key=lambda r: r["scanned_at"]):
            st = states.get(r["serial"])
            if st is None:
                st = states[r["serial"]] = {
                    "serial": r["serial"],
                    "batch_id": r["batch_id"],
                    "item_index": r["item_index"],
                    "scan_count": 0,
                    "first_scan_at": r["scanned_at"],
                    "first_lat": r["lat"],
                    "first_lng": r["lng"],
                    "last_lat": None,
                    "last_lng": None,
                    "last_located_at": None,
                    "suspect_reason": None,
                }
            st["scan_count"] += 1
            if r["lat"] is not None:
                st.update(last_lat=r["lat"], last_lng=r["lng"], last_located_at=r["scanned_at"])
            if r["verdict"] == "suspect" and st["suspect_reason"] is None:
                st["suspect_reason"] = r["reason"]
        if not states:
            return
        if self._postgres:
            conn.execute(_PG_STATES, _columns(list(states.values()), _STATE_COLUMNS))
            return
        stmt = dialect_insert(self.db, CodeState)
        new = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["serial"],
                set_={
                    "scan_count": CodeState.scan_count + new.scan_count,
                    "first_scan_at": case(
                        (new.first_scan_at < CodeState.first_scan_at, new.first_scan_at),
                        else_=CodeState.first_scan_at,
                    ),
                    "last_lat": func.coalesce(new.last_lat, CodeState.last_lat),
                    "last_lng": func.coalesce(new.last_lng, CodeState.last_lng),
                    "last_located_at": func.coalesce(
                        new.last_located_at, CodeState.last_located_at
                    ),
                    "suspect_reason": func.coalesce(CodeState.suspect_reason, new.suspect_reason),
                },
            ),
            list(states.values()),
        )

    # -- Redis's per-code state ----------------------------------------------------

    def seed(self) -> bool:
        """Rebuild Redis's per-code state from the database when Redis has none."""
        if self.redis.exists(self.keys.ready):
            return False
        # Scans written straight to the database after the snapshot below are in no
        # count: until ``sync_direct`` has added them, web workers add a code's direct
        # scans before counting it in Redis (the resync marker, ``scans.Recorder``).
        self.redis.set(self.keys.resync, secrets.token_hex(8), ex=RESYNC_SECONDS)
        unsynced = (
            select(Scan.serial, func.count().label("n"))
            .where(Scan.redis_synced.is_(False), Scan.counted.is_(True))
            .group_by(Scan.serial)
            .subquery()
        )
        # One statement sees one snapshot: each count leaves out exactly the scans
        # that ``sync_direct`` will add afterwards, so none is counted twice.
        query = select(CodeState, func.coalesce(unsynced.c.n, 0)).outerjoin(
            unsynced, unsynced.c.serial == CodeState.serial
        )
        seeded = 0
        with self.db.sessions() as s:
            pipe = self.redis.pipeline(transaction=False)
            for state, pending in s.execute(query.execution_options(yield_per=1000)):
                fields = {"n": state.scan_count - pending, "t": to_ms(utc(state.first_scan_at))}
                if state.first_lat is not None:
                    fields.update(fa=state.first_lat, fo=state.first_lng)
                if state.last_located_at is not None:
                    fields.update(
                        la=state.last_lat, lo=state.last_lng, lt=to_ms(utc(state.last_located_at))
                    )
                if state.suspect_reason:
                    fields["s"] = state.suspect_reason
                if state.first_place:
                    fields["fp"] = state.first_place
                pipe.delete(self.keys.code(state.serial))
                pipe.hset(self.keys.code(state.serial), mapping=fields)
                seeded += 1
                if len(pipe) >= 2000:
                    pipe.execute()
            pipe.execute()
        self.redis.set(self.keys.ready, "1")
        log.warning("Redis had no scan state: seeded %d codes from the database", seeded)
        return True

    def sync_direct(self, rounds: int = 40) -> int:
        """Add scans written straight to the database (Redis was down) to Redis's counts.

        All of them at once (up to ``rounds`` batches), not a batch per upkeep: until
        they are added, web workers add a code's direct scans before counting a scan
        of it (the resync marker, ``scans.Recorder``), a query more per scan. When none
        is left the marker is cleared, unless a web worker set it anew meanwhile (it
        holds a token; compare and delete).
        """
        token = self.redis.get(self.keys.resync)
        done = 0
        for _ in range(rounds):
            n = self._sync_batch()
            done += n
            if n < self.settings.worker_batch:
                if token is not None:
                    self._clear(keys=[self.keys.resync], args=[token])
                break
        return done

    def _sync_batch(self) -> int:
        with self.db.session() as s:
            rows = s.execute(
                select(*DirectScans.COLUMNS)
                .where(Scan.redis_synced.is_(False))
                .order_by(Scan.id)
                .limit(self.settings.worker_batch)
            ).all()
        if not rows:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        self._direct.queue(pipe, rows)
        pipe.execute()
        with self.db.session() as s:
            s.execute(
                update(Scan).where(Scan.id.in_([r.id for r in rows])).values(redis_synced=True)
            )
        return len(rows)

    # -- the loop ------------------------------------------------------------------

    def pending(self) -> int:
        return self.redis.xpending(self.keys.stream, self.keys.group)["pending"]

    def run(self, stop: Callable[[], bool], drain: bool = False, timeout: float | None = None):
        """Work until ``stop()``; with ``drain``, until nothing is left to store."""
        deadline = None if timeout is None else time.monotonic() + timeout
        group_ready = False
        next_upkeep = 0.0
        while not stop():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the stream was not drained in time")
            try:
                if not group_ready:
                    self.ensure_group()
                    group_ready = True
                done = 0
                upkeep = drain or time.monotonic() >= next_upkeep
                if upkeep:
                    self.seed()
                done += self.claim()
                read = self.read(block_ms=200 if drain else 2000)
                done += read
                if upkeep:
                    # After reading: a direct scan whose twin is in the stream (its Redis
                    # reply was lost) is then marked synced, not counted in Redis again.
                    done += self.sync_direct()
                    next_upkeep = time.monotonic() + UPKEEP_SECONDS
                if drain and not done and not self._recover and self.pending() == 0:
                    return
                if 0 < read < self.settings.worker_batch and not drain:
                    # Let scans gather: one transaction of hundreds costs about what one
                    # of a few does (a commit, an fsync), so small batches waste both cores.
                    time.sleep(LINGER_SECONDS)
            except RedisError as exc:
                log.warning("Redis unavailable (%s); retrying", exc)
                self._recover = True
                time.sleep(0.5)
            except Exception:
                # The database is down or refused a batch: nothing was acknowledged, so
                # the entries stay pending with us; re-read them after a pause.
                log.exception("storing scans failed; retrying")
                self._recover = True
                time.sleep(1)
