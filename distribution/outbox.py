"""The outbox: events for the order system, stored in the transaction of what they report.

An event is written with the dispatch it reports, so neither exists without the
other; the worker (``delivery``) sends it later, as often as needed, always with
the same body and idempotency key. States:

* ``pending``: to deliver from ``next_attempt_at`` on; a worker sending it holds a
  lease (``lease_owner`` until ``lease_until``) so no other worker sends it at
  the same time, and a worker that died leaves it to others when the lease ends.
* ``delivered``: the order system answered 2xx.
* ``parked``: a dead letter, after the last attempt or a refusal (4xx); HQ sees it
  (``zhenma outbox list``, the HQ API) and sends it again with ``replay``.

Order per item: each event has keys (``outbox_keys``), the items and cartons it is
about; an event is not sent while an earlier event sharing a key is pending or
parked. When packing puts an item into a carton, the carton's key is added to the
undelivered events of that item, so a later dispatch of the carton waits too. A
delivered event's keys are dropped: they can hold nothing back any more.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from zhenma.db.models import OutboxEvent, OutboxKey
from zhenma.errors import Conflict, Invalid, NotFound

from .times import iso, now

STATES = ("pending", "delivered", "parked")
UNDELIVERED = ("pending", "parked")
HQ_KINDS = ("alert",)  # events for HQ's webhook (issue 6, ``alerts``), not the order system


def add(
    session: Session, kind: str, payload: dict, keys: set[str], dispatch_id: int | None = None
) -> OutboxEvent:
    key = str(uuid.uuid4())
    body = {"id": key, "type": kind, **payload}
    event = OutboxEvent(
        kind=kind,
        dispatch_id=dispatch_id,
        idempotency_key=key,
        payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        state="pending",
        attempts=0,
        next_attempt_at=now(),
    )
    session.add(event)
    session.flush()
    session.execute(insert(OutboxKey), [{"event_id": event.id, "key": k} for k in sorted(keys)])
    return event


def _insert(session: Session, model):
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def link(session: Session, keys: set[str], new_key: str) -> None:
    """Add ``new_key`` to every undelivered event that has one of ``keys``."""
    if not keys:
        return
    affected = (
        select(OutboxKey.event_id, literal(new_key, OutboxKey.key.type))
        .join(OutboxEvent, OutboxEvent.id == OutboxKey.event_id)
        .where(OutboxKey.key.in_(sorted(keys)), OutboxEvent.state.in_(UNDELIVERED))
        .distinct()
    )
    session.execute(
        _insert(session, OutboxKey)
        .from_select(["event_id", "key"], affected)
        .on_conflict_do_nothing(index_elements=["event_id", "key"])
    )


# -- the worker's side -------------------------------------------------------------


def _unblocked():
    """No earlier event sharing a key is still pending or parked."""
    mine, theirs = aliased(OutboxKey), aliased(OutboxKey)
    earlier = aliased(OutboxEvent)
    return ~exists(
        select(1)
        .select_from(mine)
        .join(theirs, and_(theirs.key == mine.key, theirs.event_id < mine.event_id))
        .join(earlier, earlier.id == theirs.event_id)
        .where(mine.event_id == OutboxEvent.id, earlier.state.in_(UNDELIVERED))
    )


def deliverable(session: Session) -> int:
    """Pending events no earlier event holds back (due now or later)."""
    query = select(func.count()).where(OutboxEvent.state == "pending", _unblocked())
    return session.scalar(query.select_from(OutboxEvent))


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    body: bytes
    attempt: int  # this attempt's number, from 1


def claim(
    session: Session,
    owner: str,
    limit: int,
    lease: float,
    max_attempts: int,
    kinds: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> list[Claimed]:
    """Take up to ``limit`` deliverable events for ``owner`` (commit right after).

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets several workers claim at once
    without waiting for, or taking, each other's rows. SQLite reads outside the
    write lock, so two workers may pick the same rows: the update that takes them
    is a compare-and-set, which only one of them wins. The lease then keeps
    workers apart during delivery, outside any transaction.
    """
    at = now()
    free = (OutboxEvent.lease_until.is_(None)) | (OutboxEvent.lease_until < at)
    query = (
        select(OutboxEvent.id, OutboxEvent.attempts, OutboxEvent.idempotency_key)
        .where(OutboxEvent.state == "pending", OutboxEvent.next_attempt_at <= at, free)
        .where(_unblocked())
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    # One outbox, several receivers: each deliverer takes only its kinds of event.
    if kinds is not None:
        query = query.where(OutboxEvent.kind.in_(kinds))
    if exclude:
        query = query.where(OutboxEvent.kind.not_in(exclude))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxEvent)
    rows = session.execute(query).all()
    # Taken again only if still free: on SQLite another worker may have read the same
    # rows, and exactly one of the two updates finds them free.
    guard = (OutboxEvent.state == "pending", OutboxEvent.next_attempt_at <= at, free)
    lost = [event_id for event_id, attempts, _ in rows if attempts >= max_attempts]
    if lost:  # their last attempt died with its worker
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(lost), *guard)
            .values(
                state="parked",
                last_error=func.coalesce(OutboxEvent.last_error, "")
                + " (worker lost during the last attempt)",
            )
            .execution_options(synchronize_session=False)
        )
    due = [event_id for event_id, attempts, _ in rows if attempts < max_attempts]
    if not due:
        return []
    won = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(due), *guard)
        .values(
            attempts=OutboxEvent.attempts + 1,
            lease_owner=owner,
            lease_until=at + timedelta(seconds=lease),
        )
        .returning(
            OutboxEvent.id, OutboxEvent.idempotency_key, OutboxEvent.payload, OutboxEvent.attempts
        )
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(
        (Claimed(i, key, body.encode(), attempt) for i, key, body, attempt in won),
        key=lambda c: c.id,
    )


def delivered(session: Session, event_ids: list[int]) -> None:
    # Whoever holds the lease now: a 2xx answer means the order system has it.
    done = session.scalars(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(event_ids), OutboxEvent.state == "pending")
        .values(state="delivered", delivered_at=now(), lease_owner=None, lease_until=None)
        .returning(OutboxEvent.id)
        .execution_options(synchronize_session=False)
    ).all()
    if done:
        # Only undelivered events hold others back: their keys are of no more use, and
        # dropping them keeps the ordering check as small as the backlog.
        session.execute(delete(OutboxKey).where(OutboxKey.event_id.in_(done)))


def failed(
    session: Session, event_id: int, owner: str, error: str, retry_at: datetime | None
) -> None:
    """Record a failed attempt: retry at ``retry_at``, or park the event (None)."""
    values = {"last_error": error[:500], "lease_owner": None, "lease_until": None}
    if retry_at is None:
        values["state"] = "parked"
    else:
        values["next_attempt_at"] = retry_at
    session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == event_id,
            OutboxEvent.lease_owner == owner,
            OutboxEvent.state == "pending",
        )
        .values(**values)
    )


# -- HQ's side ---------------------------------------------------------------------


def listing(session: Session, state: str | None, limit: int = 100, after: int = 0) -> list:
    if state is not None and state not in STATES:
        raise Invalid(f"state is one of {', '.join(STATES)}")
    query = select(OutboxEvent).where(OutboxEvent.id > after).order_by(OutboxEvent.id).limit(limit)
    if state:
        query = query.where(OutboxEvent.state == state)
    return list(session.scalars(query))


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state))
    return {state: 0 for state in STATES} | dict(rows.all())


def replay(session: Session, ids: list[int] | None) -> list[int]:
    """Send parked events again (all of them when ``ids`` is None), from attempt one."""
    query = select(OutboxEvent).where(OutboxEvent.state == "parked")
    if ids is not None:
        found = {
            e.id: e for e in session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))
        }
        for i in ids:
            if i not in found:
                raise NotFound(f"no outbox event {i}")
            if found[i].state != "parked":
                raise Conflict(f"outbox event {i} is {found[i].state}; only parked events replay")
        query = query.where(OutboxEvent.id.in_(ids))
    replayed = []
    for e in session.scalars(query.order_by(OutboxEvent.id)):
        e.state, e.attempts, e.next_attempt_at = "pending", 0, now()
        e.lease_owner = e.lease_until = None
        replayed.append(e.id)
    return replayed


def describe(e: OutboxEvent, with_payload: bool = False) -> dict:
    out = {
        "id": e.id,
        "kind": e.kind,
        "idempotency_key": e.idempotency_key,
        "dispatch_id": e.dispatch_id,
        "state": e.state,
        "attempts": e.attempts,
        "next_attempt_at": iso(e.next_attempt_at) if e.state == "pending" else None,
        "last_error": e.last_error,
        "created_at": iso(e.created_at),
        "delivered_at": iso(e.delivered_at),
    }
    if with_payload:
        out["payload"] = json.loads(e.payload)
    return out
