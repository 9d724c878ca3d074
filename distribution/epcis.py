"""The packing and dispatch history as an EPCIS 2.0 JSON-LD document, streamed.

Events, in event time order:

* ``AggregationEvent`` ADD, bizStep ``packing``: the default packing of each
  carton of a batch, at the batch's creation; and each explicit packing.
* ``AggregationEvent`` DELETE, bizStep ``unpacking``: items taken out of a carton
  (also when explicit packing moved them out of their default carton).
* ``ObjectEvent`` OBSERVE, bizStep ``shipping``, disposition ``in_transit``: each
  dispatch, naming the carton or the item scanned (a carton's contents follow from
  the aggregation events, as EPCIS intends), with the sender and the receiver as
  owning parties.

Identifiers: ``dl`` (default) uses GS1 Digital Link URIs on the batch's own base
(``.../01/<GTIN>/21/<serial>``, the QR's URL; cartons ``.../00/<SSCC>``); ``urn``
uses EPC URNs (``urn:epc:id:sgtin:...``, ``urn:epc:id:sscc:...``), which need the
product's GS1 company prefix; a batch without one keeps Digital Links. A carton
without an SSCC is ``<base>/carton/<carton code>``. Parties are
``<ZHENMA_VERIFY_BASE>/party/<distributor code>`` (``HQ`` for headquarters).
Event ids are UUID URNs derived from the record, so exports repeat them exactly.
"""

import heapq
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhenma.codes import FastSigner, Kind, Sscc
from zhenma.config import Settings
from zhenma.db.models import Batch, Dispatch, Distributor, Packing, PackingOp
from zhenma.errors import Invalid

from . import cartons
from .goods import CARTON, Secrets
from .times import iso, now, utc

CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
ID_SCHEMES = ("dl", "urn")


class Identifiers:
    """URIs of items, cartons and parties, with each batch's signer made once."""

    def __init__(self, session: Session, settings: Settings, secrets: Secrets, scheme: str):
        if scheme not in ID_SCHEMES:
            raise Invalid(f"identifiers are one of {', '.join(ID_SCHEMES)}")
        self.session, self.settings, self.secrets, self.scheme = session, settings, secrets, scheme
        self._batches: dict[int, tuple[Batch, FastSigner, FastSigner]] = {}
        self._parties: dict[int | None, str] = {}

    def _batch(self, batch_id: int):
        found = self._batches.get(batch_id)
        if found is None:
            batch = self.session.get(Batch, batch_id)
            keys = self.secrets(batch)
            found = (
                batch,
                FastSigner(keys.item_tag, Kind.ITEM, batch_id),
                FastSigner(keys.carton_tag, Kind.CARTON, batch_id),
            )
            self._batches[batch_id] = found
        return found

    def items(self, batch_id: int, indexes) -> list[str]:
        batch, signer, _ = self._batch(batch_id)
        gtin, prefix = batch.product.gtin, batch.product.company_prefix
        serials = signer.render_many(indexes)
        if self.scheme == "urn" and prefix:
            company, reference = gtin[1 : 1 + len(prefix)], gtin[0] + gtin[1 + len(prefix) : 13]
            return [f"urn:epc:id:sgtin:{company}.{reference}.{s}" for s in serials]
        base = batch.verify_base.rstrip("/")
        return [f"{base}/01/{gtin}/21/{s}" for s in serials]

    def carton(self, batch_id: int, index: int) -> str:
        batch, _, signer = self._batch(batch_id)
        prefix = batch.product.company_prefix
        base = batch.verify_base.rstrip("/")
        if batch.sscc_first is None or not prefix:
            return f"{base}/carton/{signer.render(index)}"
        sscc = Sscc.build(prefix, batch.sscc_first + index - 1).value
        if self.scheme == "urn":
            return f"urn:epc:id:sscc:{prefix}.{sscc[0]}{sscc[1 + len(prefix) : 17]}"
        return f"{base}/00/{sscc}"

    def party(self, distributor_id: int | None) -> str:
        found = self._parties.get(distributor_id)
        if found is None:
            code = (
                "HQ"
                if distributor_id is None
                else self.session.get(Distributor, distributor_id).code
            )
            found = f"{self.settings.verify_base}/party/{quote(code, safe='')}"
            self._parties[distributor_id] = found
        return found


def _event_id(settings: Settings, kind: str, number: object) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.verify_base}/epcis/{kind}/{number}").urn


def _offset(zone: ZoneInfo, at: datetime) -> str:
    text = utc(at).astimezone(zone).strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def _in(column, start: datetime | None, end: datetime | None):
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _default_packing(ids: Identifiers, start, end, batch_id) -> Iterator[tuple]:
    query = select(Batch).where(*_in(Batch.created_at, start, end)).order_by(Batch.created_at)
    if batch_id is not None:
        query = query.where(Batch.id == batch_id)
    for batch in ids.session.scalars(query).all():
        for carton in range(1, batch.carton_count + 1):
            first, last = cartons.default_items(batch, carton)
            yield (
                utc(batch.created_at),
                0,
                batch.id * 2**31 + carton,
                lambda b=batch, c=carton, f=first, la=last: _aggregation(
                    ids, f"default/{b.id}/{c}", "ADD", b.created_at, b.created_at,
                    ids.carton(b.id, c), ids.items(b.id, range(f, la + 1)),
                ),
            )  # fmt: skip


def _packing_ops(ids: Identifiers, start, end, batch_id) -> Iterator[tuple]:
    query = (
        select(PackingOp).where(*_in(PackingOp.at, start, end)).order_by(PackingOp.at, PackingOp.id)
    )
    if batch_id is not None:
        query = query.where(PackingOp.carton_batch_id == batch_id)
    for op in ids.session.scalars(query).all():
        column = Packing.pack_op_id if op.action == "pack" else Packing.unpack_op_id
        yield (
            utc(op.at),
            1,
            op.id,
            lambda op=op, column=column: _op_event(ids, op, column),
        )


def _op_event(ids: Identifiers, op: PackingOp, column) -> dict:
    rows = ids.session.execute(
        select(Packing.batch_id, Packing.item_index)
        .where(column == op.id)
        .order_by(Packing.batch_id, Packing.item_index)
    ).all()
    children: list[str] = []
    by_batch: dict[int, list[int]] = {}
    for b, i in rows:
        by_batch.setdefault(b, []).append(i)
    for b, indexes in by_batch.items():
        children += ids.items(b, indexes)
    return _aggregation(
        ids, f"op/{op.id}", "ADD" if op.action == "pack" else "DELETE", op.at, op.at,
        ids.carton(op.carton_batch_id, op.carton_index), children,
    )  # fmt: skip


def _aggregation(ids, number, action, at, recorded, parent, children) -> dict:
    return {
        "type": "AggregationEvent",
        "eventTime": iso(at),
        "eventTimeZoneOffset": _offset(ZoneInfo(ids.settings.display_tz), at),
        "recordTime": iso(recorded),
        "eventID": _event_id(ids.settings, "aggregation", number),
        "parentID": parent,
        "childEPCs": children,
        "action": action,
        "bizStep": "packing" if action == "ADD" else "unpacking",
        "disposition": "in_progress",
    }


def _dispatches(ids: Identifiers, start, end, batch_id) -> Iterator[tuple]:
    query = (
        select(Dispatch)
        .where(*_in(Dispatch.scanned_at, start, end))
        .order_by(Dispatch.scanned_at, Dispatch.id)
        .execution_options(yield_per=500)
    )
    if batch_id is not None:
        query = query.where(Dispatch.batch_id == batch_id)
    for d in ids.session.scalars(query):
        yield (utc(d.scanned_at), 2, d.id, lambda d=d: _shipping(ids, d))


def _shipping(ids: Identifiers, d: Dispatch) -> dict:
    what = (
        ids.carton(d.batch_id, d.code_index)
        if d.kind == CARTON
        else ids.items(d.batch_id, [d.code_index])[0]
    )
    return {
        "type": "ObjectEvent",
        "eventTime": iso(d.scanned_at),
        "eventTimeZoneOffset": _offset(ZoneInfo(ids.settings.display_tz), d.scanned_at),
        "recordTime": iso(d.recorded_at),
        "eventID": _event_id(ids.settings, "dispatch", d.id),
        "epcList": [what],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "sourceList": [{"type": "owning_party", "source": ids.party(d.sender_id)}],
        "destinationList": [{"type": "owning_party", "destination": ids.party(d.receiver_id)}],
        "zhenma:scanId": d.scan_id,
    }


def export(
    session: Session,
    settings: Settings,
    secrets: Secrets,
    start: datetime | None = None,
    end: datetime | None = None,
    batch_id: int | None = None,
    scheme: str = "dl",
) -> Iterator[str]:
    """The EPCIS document as text chunks, events with ``start <= eventTime < end``."""
    if start is not None and end is not None and start >= end:
        raise Invalid("the time window is empty: 'from' must be before 'to'")
    ids = Identifiers(session, settings, secrets, scheme)
    head = {
        "@context": [CONTEXT, {"zhenma": f"{settings.verify_base}/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": iso(now()),
    }
    return _stream(ids, head, start, end, batch_id)


def _stream(ids, head, start, end, batch_id) -> Iterator[str]:
    text = json.dumps(head, ensure_ascii=False)
    yield text[:-1] + ', "epcisBody": {"eventList": ['
    merged = heapq.merge(
        _default_packing(ids, start, end, batch_id),
        _packing_ops(ids, start, end, batch_id),
        _dispatches(ids, start, end, batch_id),
        key=lambda entry: entry[:3],
    )
    for n, (_, _, _, make) in enumerate(merged):
        yield ("\n" if n == 0 else ",\n") + json.dumps(make(), ensure_ascii=False)
    yield "\n]}}\n"
