"""Which items are in which carton: the default packing, or rows once a carton changed.

The default packing (carton c of a batch holds items (c-1)*K+1 .. c*K) is stored
as one ``aggregations`` row for the whole batch, and stays the truth for every
carton the packing line never touched: ten million items cost no rows.

The first time a carton's contents change (an explicit packing into it, or one of
its items taken out), the carton becomes *explicit*: its default items are written
to ``packings`` as memberships since the batch was made, and from then on its rows
say everything, with times (``packed_at`` .. ``unpacked_at``). So an item has rows
exactly when its default carton is explicit, and its history is always either
"in its default carton since the start" or its rows.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhenma.db.models import Batch, ExplicitCarton, Packing

from .times import utc


@dataclass(frozen=True)
class Membership:
    carton_batch_id: int
    carton_index: int
    start: datetime | None  # None: since the batch was made
    end: datetime | None  # None: still in it
    default: bool  # from the default packing


@dataclass(frozen=True)
class Contents:
    """A carton's items now: a default range, or explicit (batch, index) pairs."""

    default: tuple[int, int, int] | None = None  # (batch_id, first, last)
    explicit: tuple[tuple[int, int], ...] = ()

    def __len__(self) -> int:
        if self.default:
            return self.default[2] - self.default[1] + 1
        return len(self.explicit)

    def pairs(self):
        if self.default:
            b, first, last = self.default
            return ((b, i) for i in range(first, last + 1))
        return iter(self.explicit)

    def ranges(self) -> dict[int, list[tuple[int, int]]]:
        """Item index ranges per batch (for activation checks)."""
        if self.default:
            return {self.default[0]: [(self.default[1], self.default[2])]}
        out: dict[int, list[tuple[int, int]]] = {}
        for b, i in self.explicit:
            out.setdefault(b, []).append((i, i))
        return out


def default_carton(batch: Batch, index: int) -> int:
    return (index - 1) // batch.carton_size + 1


def default_items(batch: Batch, carton: int) -> tuple[int, int]:
    first = (carton - 1) * batch.carton_size + 1
    return first, min(carton * batch.carton_size, batch.item_count)


def is_explicit(session: Session, batch_id: int, carton: int) -> bool:
    return session.get(ExplicitCarton, (batch_id, carton)) is not None


def explicit_among(session: Session, cartons: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (batch id, carton) were ever packed explicitly: one query a batch."""
    by_batch: dict[int, list[int]] = {}
    for b, c in cartons:
        by_batch.setdefault(b, []).append(c)
    found: set[tuple[int, int]] = set()
    for b, numbers in by_batch.items():
        for start in range(0, len(numbers), 500):
            found.update(
                (row[0], row[1])
                for row in session.execute(
                    select(ExplicitCarton.carton_batch_id, ExplicitCarton.carton_index).where(
                        ExplicitCarton.carton_batch_id == b,
                        ExplicitCarton.carton_index.in_(numbers[start : start + 500]),
                    )
                )
            )
    return found


def make_explicit(session: Session, batch: Batch, carton: int, at: datetime) -> None:
    """Write a carton's default items as rows, once, before its contents change."""
    if is_explicit(session, batch.id, carton):
        return
    session.add(ExplicitCarton(carton_batch_id=batch.id, carton_index=carton, at=at))
    first, last = default_items(batch, carton)
    session.execute(
        insert(Packing),
        [
            {
                "batch_id": batch.id,
                "item_index": i,
                "carton_batch_id": batch.id,
                "carton_index": carton,
                "packed_at": utc(batch.created_at),
            }
            for i in range(first, last + 1)
        ],
    )


def memberships(session: Session, batch: Batch, index: int) -> list[Membership]:
    carton = default_carton(batch, index)
    if not is_explicit(session, batch.id, carton):
        return [Membership(batch.id, carton, None, None, True)]
    rows = session.scalars(
        select(Packing)
        .where(Packing.batch_id == batch.id, Packing.item_index == index)
        .order_by(Packing.packed_at, Packing.id)
    )
    return [
        Membership(
            r.carton_batch_id,
            r.carton_index,
            None if r.pack_op_id is None else utc(r.packed_at),
            None if r.unpacked_at is None else utc(r.unpacked_at),
            r.pack_op_id is None,
        )
        for r in rows
    ]


def open_rows(session: Session, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Packing]:
    """The current membership row of each (batch, index) that has one."""
    found: dict[tuple[int, int], Packing] = {}
    by_batch: dict[int, list[int]] = {}
    for b, i in pairs:
        by_batch.setdefault(b, []).append(i)
    for b, indexes in by_batch.items():
        for start in range(0, len(indexes), 500):
            chunk = indexes[start : start + 500]
            for row in session.scalars(
                select(Packing).where(
                    Packing.batch_id == b,
                    Packing.item_index.in_(chunk),
                    Packing.unpacked_at.is_(None),
                )
            ):
                found[(row.batch_id, row.item_index)] = row
    return found


def contents(session: Session, batch: Batch, carton: int) -> Contents:
    if not is_explicit(session, batch.id, carton):
        first, last = default_items(batch, carton)
        return Contents(default=(batch.id, first, last))
    rows = session.execute(
        select(Packing.batch_id, Packing.item_index)
        .where(
            Packing.carton_batch_id == batch.id,
            Packing.carton_index == carton,
            Packing.unpacked_at.is_(None),
        )
        .order_by(Packing.batch_id, Packing.item_index)
    ).all()
    return Contents(explicit=tuple((b, i) for b, i in rows))
