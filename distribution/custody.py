"""Who holds goods: the last dispatch of an item, or of a carton while the item was in it.

A dispatch of a carton is one row, however many items the carton holds; an item's
custody is resolved through packing (``cartons.memberships``): the dispatches of
the item itself and those of each carton it was in, within the time it was in it,
whichever is last (by scan time, then by record order). No dispatch: HQ holds it.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from zhenma.db.models import Batch, Dispatch, Distributor

from . import cartons, distributors
from .goods import CARTON, ITEM, Goods, code_of
from .times import iso, utc


@dataclass(frozen=True)
class Step:
    dispatch: Dispatch
    via: str  # item or carton


def history(session: Session, batch: Batch, index: int, until: datetime | None = None):
    """The dispatches that moved an item, oldest first."""
    conditions = [
        and_(Dispatch.kind == ITEM, Dispatch.batch_id == batch.id, Dispatch.code_index == index)
    ]
    for m in cartons.memberships(session, batch, index):
        condition = and_(
            Dispatch.kind == CARTON,
            Dispatch.batch_id == m.carton_batch_id,
            Dispatch.code_index == m.carton_index,
        )
        if m.start is not None:
            condition = and_(condition, Dispatch.scanned_at >= m.start)
        if m.end is not None:
            condition = and_(condition, Dispatch.scanned_at < m.end)
        conditions.append(condition)
    query = select(Dispatch).where(or_(*conditions))
    if until is not None:
        query = query.where(Dispatch.scanned_at <= until)
    rows = session.scalars(query.order_by(Dispatch.scanned_at, Dispatch.id))
    return [Step(d, d.kind) for d in rows]


def item_holder(
    session: Session, batch: Batch, index: int, until: datetime | None = None
) -> Dispatch | None:
    """The dispatch that gave an item to its holder; None while HQ holds it."""
    steps = history(session, batch, index, until)
    return steps[-1].dispatch if steps else None


def item_holders(
    session: Session, wanted: list[tuple[Batch, int, datetime | None]]
) -> list[Dispatch | None]:
    """``item_holder`` of many (batch, item, until) at once, in order: a few queries in all.

    The common case, an item still in its default carton (never packed by hand),
    needs only the dispatches of the item and of that carton, fetched for all items
    together; the rule is ``history``'s: the last of them by scan time, then record
    order, up to ``until``. Items of explicitly packed cartons (rare) go through
    ``item_holder`` one by one. The alert analyst asks this for every scan it judges.
    """
    pairs = {(b.id, cartons.default_carton(b, i)) for b, i, _ in wanted}
    explicit = cartons.explicit_among(session, pairs)
    items: dict[int, set[int]] = {}
    boxes: dict[int, set[int]] = {}
    for b, i, _ in wanted:
        carton = cartons.default_carton(b, i)
        if (b.id, carton) not in explicit:
            items.setdefault(b.id, set()).add(i)
            boxes.setdefault(b.id, set()).add(carton)
    moves: dict[tuple[str, int, int], list[Dispatch]] = {}
    for batch_id in items:
        for kind, numbers in ((ITEM, sorted(items[batch_id])), (CARTON, sorted(boxes[batch_id]))):
            for start in range(0, len(numbers), 500):
                for d in session.scalars(
                    select(Dispatch).where(
                        Dispatch.kind == kind,
                        Dispatch.batch_id == batch_id,
                        Dispatch.code_index.in_(numbers[start : start + 500]),
                    )
                ):
                    moves.setdefault((kind, batch_id, d.code_index), []).append(d)
    out: list[Dispatch | None] = []
    for b, i, until in wanted:
        carton = cartons.default_carton(b, i)
        if (b.id, carton) in explicit:
            out.append(item_holder(session, b, i, until))
            continue
        found = [
            d
            for key in ((ITEM, b.id, i), (CARTON, b.id, carton))
            for d in moves.get(key, ())
            if until is None or utc(d.scanned_at) <= until
        ]
        out.append(max(found, key=lambda d: (utc(d.scanned_at), d.id), default=None))
    return out


def carton_holder(
    session: Session, batch_id: int, carton: int, until: datetime | None = None
) -> Dispatch | None:
    query = select(Dispatch).where(
        Dispatch.kind == CARTON, Dispatch.batch_id == batch_id, Dispatch.code_index == carton
    )
    if until is not None:
        query = query.where(Dispatch.scanned_at <= until)
    return session.scalar(query.order_by(Dispatch.scanned_at.desc(), Dispatch.id.desc()).limit(1))


def report(session: Session, levels: tuple[str, ...], goods: Goods, batch: Batch, secrets) -> dict:
    """An item's chain of custody, as HQ reads it (the API and ``zhenma custody``)."""
    steps = history(session, batch, goods.index)
    people: dict[int | None, dict] = {}

    def who(distributor_id: int | None) -> dict:
        if distributor_id not in people:
            row = session.get(Distributor, distributor_id) if distributor_id else None
            people[distributor_id] = distributors.describe(session, row, levels)
        return people[distributor_id]

    return {
        "serial": goods.code,
        "gtin": batch.product.gtin,
        "product": batch.product.name,
        "batch": batch.id,
        "index": goods.index,
        "holder": who(steps[-1].dispatch.receiver_id if steps else None),
        "cartons": [
            {
                "carton": code_of(
                    session.get(Batch, m.carton_batch_id), CARTON, m.carton_index, secrets
                ),
                "since": iso(m.start),
                "until": iso(m.end),
                "default": m.default,
            }
            for m in cartons.memberships(session, batch, goods.index)
        ],
        "chain": [
            {
                "dispatch_id": step.dispatch.id,
                "scan_id": step.dispatch.scan_id,
                "scanned_at": iso(step.dispatch.scanned_at),
                "recorded_at": iso(step.dispatch.recorded_at),
                "via": step.via,
                "code": step.dispatch.code,
                "from": who(step.dispatch.sender_id),
                "to": who(step.dispatch.receiver_id),
            }
            for step in steps
        ],
    }
