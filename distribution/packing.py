"""The packing line's records (大小码关联) where they differ from the default packing.

Three actions on one carton, each all or nothing:

* ``pack``: the carton holds exactly these items now; items it held before and
  that are not listed are taken out (packing again is how a carton is repacked);
* ``add``: these items go into the carton too;
* ``unpack``: these items (or, with no list, all of them) come out.

An item still in its *default* carton moves without further ado: explicit packing
overrides the default. An item explicitly packed into another carton is refused
(409): it must be unpacked first, so no item is ever in two cartons. A carton of
another product is refused (400), and so are goods HQ no longer holds (409): the
packing line packs what is in HQ's warehouse.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from zhenma.db.models import Batch, Distributor, Packing, PackingOp

from . import cartons, custody, outbox
from .goods import CARTON, ITEM, Goods, Refused, Secrets, identify, lock_product
from .times import now

ACTIONS = ("pack", "add", "unpack")
MAX_ITEMS = 100_000


def _identify_all(session: Session, texts: Iterable, secrets: Secrets):
    found: list[tuple[Goods, Batch]] = []
    seen: set[str] = set()
    for n, text in enumerate(texts, 1):
        try:
            goods, batch = identify(session, text, secrets)
        except Refused as exc:
            raise Refused(exc.code, f"item {n} ({text}): {exc.message}", exc.status) from None
        if goods.kind != ITEM:
            raise Refused("not_an_item", f"item {n} ({text}) is a carton code, not a serial", 400)
        if goods.key in seen:
            raise Refused("bad_request", f"item {n} ({goods.code}) is listed twice", 400)
        seen.add(goods.key)
        found.append((goods, batch))
    return found


def _held_by_hq(session: Session, what: str, holder) -> None:
    if holder is not None:
        to = session.get(Distributor, holder.receiver_id)
        raise Refused(
            "not_at_hq",
            f"{what} was dispatched to {to.code}; only goods at HQ are packed",
            409,
        )


def apply(
    session: Session,
    action: str,
    carton_text: object,
    item_texts: list | None,
    secrets: Secrets,
    actor: str,
    at: datetime | None = None,
) -> dict:
    if action not in ACTIONS:
        raise Refused("bad_request", f"action is one of {', '.join(ACTIONS)}", 400)
    if item_texts is None and action != "unpack":
        raise Refused("bad_request", "items: the serials (or QR URLs) packed into the carton", 400)
    if item_texts is not None and (
        not isinstance(item_texts, list) or not 0 < len(item_texts) <= MAX_ITEMS
    ):
        raise Refused("bad_request", f"items must be a list of 1 to {MAX_ITEMS} codes", 400)
    at = at or now()
    carton, carton_batch = identify(session, carton_text, secrets)
    if carton.kind != CARTON:
        raise Refused("not_a_carton", f"{carton.code} is a serial, not a carton code", 400)
    items = _identify_all(session, item_texts or [], secrets)
    for goods, batch in items:
        if batch.product_id != carton_batch.product_id:
            raise Refused(
                "other_product",
                f"item {goods.code} is {batch.product.name} ({batch.product.gtin}); carton"
                f" {carton.code} is for {carton_batch.product.name} ({carton_batch.product.gtin})",
                400,
            )
    lock_product(session, carton_batch.product_id)
    _held_by_hq(
        session,
        f"carton {carton.code}",
        custody.carton_holder(session, carton.batch_id, carton.index),
    )
    for goods, batch in items:
        _held_by_hq(session, f"item {goods.code}", custody.item_holder(session, batch, goods.index))
    cartons.make_explicit(session, carton_batch, carton.index, at)
    wanted = {(g.batch_id, g.index): (g, b) for g, b in items}
    inside = set(cartons.contents(session, carton_batch, carton.index).explicit)
    if action == "unpack":
        out = set(wanted) if item_texts is not None else inside
        missing = sorted(out - inside)
        if missing:
            g = wanted[missing[0]][0]
            raise Refused("not_in_carton", f"item {g.code} is not in carton {carton.code}", 409)
        return _result(session, carton, carton_batch, action, at, actor, out, set())
    out = inside - set(wanted) if action == "pack" else set()
    new = set(wanted) - inside
    # Items of other cartons: leave their default carton, or are refused.
    for g, b in (wanted[k] for k in sorted(new)):
        cartons.make_explicit(session, b, cartons.default_carton(b, g.index), at)
    rows = cartons.open_rows(session, sorted(new))
    leaving: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for key in sorted(new):
        row = rows.get(key)
        if row is None:
            continue
        if row.pack_op_id is not None:
            g = wanted[key][0]
            raise Refused(
                "in_other_carton",
                f"item {g.code} is packed in another carton (number {row.carton_index} of batch"
                f" {row.carton_batch_id}); unpack it first",
                409,
            )
        leaving.setdefault((row.carton_batch_id, row.carton_index), set()).add(key)
    for (cb, ci), keys in sorted(leaving.items()):
        _close(session, cb, ci, keys, at, actor)
    return _result(session, carton, carton_batch, action, at, actor, out, new, wanted)


def _close(session, cb: int, ci: int, keys: set, at: datetime, actor: str) -> int:
    op = PackingOp(action="unpack", carton_batch_id=cb, carton_index=ci, at=at, actor=actor)
    session.add(op)
    session.flush()
    for b, i in sorted(keys):
        session.execute(
            update(Packing)
            .where(
                Packing.batch_id == b,
                Packing.item_index == i,
                Packing.carton_batch_id == cb,
                Packing.carton_index == ci,
                Packing.unpacked_at.is_(None),
            )
            .values(unpacked_at=at, unpack_op_id=op.id)
        )
    return op.id


def _result(session, carton, carton_batch, action, at, actor, out, new, wanted=None) -> dict:
    ops = []
    if out:
        ops.append(_close(session, carton.batch_id, carton.index, out, at, actor))
    if new:
        op = PackingOp(
            action="pack", carton_batch_id=carton.batch_id, carton_index=carton.index, at=at,
            actor=actor,
        )  # fmt: skip
        session.add(op)
        session.flush()
        session.execute(
            insert(Packing),
            [
                {
                    "batch_id": b,
                    "item_index": i,
                    "carton_batch_id": carton.batch_id,
                    "carton_index": carton.index,
                    "packed_at": at,
                    "pack_op_id": op.id,
                }
                for b, i in sorted(new)
            ],
        )
        ops.append(op.id)
        for b, i in sorted(new):
            g, batch = wanted[(b, i)]
            keys = {g.key} | {
                f"c:{m.carton_batch_id}:{m.carton_index}"
                for m in cartons.memberships(session, batch, i)
            }
            outbox.link(session, keys, carton.key)
    inside = cartons.contents(session, carton_batch, carton.index)
    return {
        "carton": carton.code,
        "action": action,
        "packed": len(new),
        "unpacked": len(out),
        "items": len(inside),
        "operations": ops,
    }
