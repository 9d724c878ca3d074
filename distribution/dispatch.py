"""Dispatch scans (扫码出库): the rules, and one idempotent record per scan.

A scan is accepted when all of these hold, checked in this order; otherwise it
is refused with the first reason that failed (``Refused.code``):

1. the scan is well formed (``bad_request``: scan id, code, receiver, time);
2. its scan id is new for this sender, or was used for the very same scan, which
   is then answered again as it was (``scan_id_reused`` if not the same scan);
3. the code is ours and genuine (``malformed``, ``typo``, ``unknown_batch``,
   ``counterfeit``, ``unknown_code``) and its batch not revoked (``revoked``);
4. the receiver exists (``unknown_receiver``), is not the sender (``self``), and
   is below the sender in the chain (``not_below``); HQ may send to anyone;
5. the scan time is not in the future beyond the allowed clock skew (``future_time``);
6. the goods are activated (``not_activated``); a carton holds items (``empty_carton``);
7. the sender holds the goods at the scan time (``not_holder``).

Each scan is its own transaction, so one refused scan never holds back the rest of
an upload, and an accepted one is stored together with its outbox event.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhenma.codes import Code, FastSigner, Kind, Sscc
from zhenma.config import Settings
from zhenma.db import Database
from zhenma.db.models import Batch, Dispatch, Distributor, OutboxEvent
from zhenma.errors import Invalid

from . import cartons, custody, distributors, outbox
from .goods import CARTON, ITEM, Goods, Refused, Secrets, identify, inactive, lock_product
from .goods import parse as parse_code
from .times import iso, now, parse, utc

_SCAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
MAX_SERIALS = 1000  # a carton's serials go into its event up to this many


@dataclass(frozen=True)
class Sender:
    """Who dispatches: a distributor, or HQ (``distributor_id`` None)."""

    distributor_id: int | None
    code: str
    token_id: int | None = None

    @property
    def scope(self) -> str:
        return "hq" if self.distributor_id is None else f"d{self.distributor_id}"


@dataclass(frozen=True)
class Scan:
    scan_id: str
    code: str
    to: str
    scanned_at: datetime


def parse_scan(raw: object) -> Scan:
    if not isinstance(raw, dict):
        raise Refused("bad_request", "a scan is an object with scan_id, code, to, scanned_at", 400)
    scan_id = raw.get("scan_id")
    if not isinstance(scan_id, str) or not _SCAN_ID.fullmatch(scan_id):
        raise Refused(
            "bad_request",
            "scan_id: 1 to 64 letters, digits, '_', '.', ':' or '-' chosen by the device",
            400,
        )
    code, to = raw.get("code"), raw.get("to")
    if not isinstance(code, str) or not code.strip():
        raise Refused("bad_request", "code: the serial, carton code or QR URL scanned", 400)
    if not isinstance(to, str) or not to.strip():
        raise Refused("bad_request", "to: the code of the receiving distributor", 400)
    try:
        at = parse(raw.get("scanned_at"), "scanned_at")
    except Invalid as exc:
        raise Refused("bad_request", str(exc), 400) from None
    return Scan(scan_id, code, to.strip(), at)


def record(
    db: Database,
    settings: Settings,
    sender: Sender,
    raw: object,
    secrets: Secrets,
    people: dict | None = None,
):
    """Check and store one scan; the answer for the device, accepted or refused.

    ``people``: distributors as described in events, kept across the scans of one
    upload (they do not change during it).
    """
    scan_id = raw.get("scan_id") if isinstance(raw, dict) else None
    try:
        scan = parse_scan(raw)
        for attempt in (1, 2):
            try:
                with db.session() as s:
                    return _record(s, settings, sender, scan, secrets, people)
            except IntegrityError:
                # A twin of this scan (same scan id) committed first; the next
                # round answers it as a duplicate.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
    except Refused as exc:
        return {
            "scan_id": scan_id if isinstance(scan_id, str) else None,
            "status": "refused",
            "reason": exc.code,
            "message": exc.message,
            "http_status": exc.status,
        }


def _find(s: Session, sender: Sender, scan_id: str) -> Dispatch | None:
    return s.scalar(
        select(Dispatch).where(Dispatch.sender_scope == sender.scope, Dispatch.scan_id == scan_id)
    )


def _record(s: Session, settings: Settings, sender: Sender, scan: Scan, secrets: Secrets, people):
    found = _find(s, sender, scan.scan_id)
    if found is not None:
        return _again(s, settings, found, scan)
    goods, batch = identify(s, scan.code, secrets)
    lock_product(s, batch.product_id)
    found = _find(s, sender, scan.scan_id)  # committed while we waited for the lock
    if found is not None:
        return _again(s, settings, found, scan)
    receiver = s.scalar(select(Distributor).where(Distributor.code == scan.to))
    if receiver is None:
        raise Refused("unknown_receiver", f"no distributor {scan.to!r}")
    if sender.distributor_id is not None:
        if receiver.id == sender.distributor_id:
            raise Refused("self", f"{scan.to} cannot dispatch to itself")
        if not distributors.is_below(s, sender.distributor_id, receiver):
            raise Refused(
                "not_below",
                f"{receiver.code} is not below {sender.code} in the distributor chain",
            )
    if scan.scanned_at > now() + timedelta(seconds=settings.clock_skew):
        raise Refused("future_time", f"scanned_at {iso(scan.scanned_at)} is in the future")
    inside = None
    if goods.kind == ITEM:
        ranges = {goods.batch_id: [(goods.index, goods.index)]}
        holder = custody.item_holder(s, batch, goods.index, scan.scanned_at)
        quantity = 1
    else:
        inside = cartons.contents(s, batch, goods.index)
        if not len(inside):
            raise Refused("empty_carton", f"carton {goods.code} holds no items", 409)
        ranges = inside.ranges()
        holder = custody.carton_holder(s, goods.batch_id, goods.index, scan.scanned_at)
        quantity = len(inside)
    for batch_id, item_ranges in ranges.items():
        if inactive(s, batch_id, item_ranges):
            raise Refused(
                "not_activated",
                f"{goods.kind} {goods.code} holds codes not activated yet (batch {batch_id})",
            )
    holder_id = holder.receiver_id if holder else None
    if holder_id != sender.distributor_id:
        who = s.get(Distributor, holder_id).code if holder_id else distributors.HQ
        raise Refused(
            "not_holder",
            f"{goods.kind} {goods.code} is held by {who}, not {sender.code}, at"
            f" {iso(scan.scanned_at)}",
            409,
        )
    d = Dispatch(
        sender_scope=sender.scope,
        scan_id=scan.scan_id,
        sender_id=sender.distributor_id,
        receiver_id=receiver.id,
        token_id=sender.token_id,
        kind=goods.kind,
        batch_id=goods.batch_id,
        code_index=goods.index,
        code=goods.code,
        scanned_at=scan.scanned_at,
        recorded_at=now(),
    )
    s.add(d)
    s.flush()
    payload = _payload(s, settings, d, goods, batch, inside, secrets, people)
    outbox.add(s, "dispatch", payload, _keys(s, goods, batch), d.id)
    return accepted(s, d, quantity, duplicate=False)


def _again(s: Session, settings: Settings, found: Dispatch, scan: Scan) -> dict:
    """The answer to a scan id seen before: the same, if it is the same scan."""
    receiver = s.get(Distributor, found.receiver_id)
    try:
        code = parse_code(scan.code)[0].render()
    except Refused:
        code = None
    if (code, scan.to, scan.scanned_at) != (found.code, receiver.code, utc(found.scanned_at)):
        raise Refused(
            "scan_id_reused",
            f"scan id {scan.scan_id} was already used for another scan ({found.code} to"
            f" {receiver.code} at {iso(found.scanned_at)})",
            409,
        )
    event = s.scalar(select(OutboxEvent).where(OutboxEvent.dispatch_id == found.id))
    quantity = json.loads(event.payload)["goods"]["quantity"]  # as first answered
    return accepted(s, found, quantity, duplicate=True)


def accepted(s: Session, d: Dispatch, quantity: int, duplicate: bool) -> dict:
    sender = s.get(Distributor, d.sender_id) if d.sender_id else None
    return {
        "scan_id": d.scan_id,
        "status": "accepted",
        "dispatch_id": d.id,
        "kind": d.kind,
        "code": d.code,
        "from": sender.code if sender else distributors.HQ,
        "to": s.get(Distributor, d.receiver_id).code,
        "scanned_at": iso(d.scanned_at),
        "quantity": quantity,
        "duplicate": duplicate,
    }


def _keys(s: Session, goods: Goods, batch: Batch) -> set[str]:
    if goods.kind == CARTON:
        return {goods.key}
    return {goods.key} | {
        f"c:{m.carton_batch_id}:{m.carton_index}"
        for m in cartons.memberships(s, batch, goods.index)
    }


def _payload(s, settings, d: Dispatch, goods: Goods, batch: Batch, inside, secrets, people):
    levels = settings.distributor_levels
    people = {} if people is None else people

    def who(distributor_id: int | None) -> dict:
        if distributor_id not in people:
            row = s.get(Distributor, distributor_id) if distributor_id else None
            people[distributor_id] = distributors.describe(s, row, levels)
        return people[distributor_id]

    product = batch.product
    what = {
        "kind": goods.kind,
        "code": goods.code,
        "batch": goods.batch_id,
        "index": goods.index,
        "gtin": product.gtin,
        "product": product.name,
        "quantity": 1 if inside is None else len(inside),
    }
    if inside is not None:
        if batch.sscc_first is not None and product.company_prefix:
            first = batch.sscc_first + d.code_index - 1
            what["sscc"] = Sscc.build(product.company_prefix, first).value
        if len(inside) <= MAX_SERIALS:
            what["serials"] = serials(s, list(inside.pairs()), secrets)
    return {
        "dispatch_id": d.id,
        "scan_id": d.scan_id,
        "scanned_at": iso(d.scanned_at),
        "recorded_at": iso(d.recorded_at),
        "from": who(d.sender_id),
        "to": who(d.receiver_id),
        "goods": what,
    }


def serials(s: Session, pairs: list[tuple[int, int]], secrets: Secrets) -> list[str]:
    """The serials of (batch, index) pairs, derived with each batch's key."""
    keys: dict[int, bytes] = {}
    signers: dict[int, FastSigner] = {}
    out = []
    for b, i in pairs:
        if b not in keys:
            keys[b] = secrets(s.get(Batch, b)).item_tag
        if len(pairs) < 100:  # a FastSigner's tables cost more than a few HMACs
            out.append(Code.sign(keys[b], Kind.ITEM, b, i).render())
            continue
        if b not in signers:
            signers[b] = FastSigner(keys[b], Kind.ITEM, b)
        out.append(signers[b].render(i))
    return out
