"""What HQ reads and does with alerts: filters, counts, acknowledge and resolve, CSV rows.

States move forward only: open → acknowledged → resolved (or open → resolved);
each step records who, when, and a note.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribution import distributors
from distribution.times import iso, now
from zhenma.db.models import Alert, AlertScan, Distributor, Product
from zhenma.errors import Conflict, Invalid, NotFound
from zhenma.places import name

from .rules import KINDS

STATES = ("open", "acknowledged", "resolved")
NEXT = {
    "acknowledge": ("acknowledged", ("open",)),
    "resolve": ("resolved", ("open", "acknowledged")),
}


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    state: str | None = None
    product: str | None = None  # GTIN
    batch: int | None = None
    distributor: str | None = None  # code
    area: str | None = None  # CN-440000 (a province) or a country code
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> "Filters":
        if self.kind is not None and self.kind not in KINDS:
            raise Invalid(f"kind is one of {', '.join(KINDS)}")
        if self.state is not None and self.state not in STATES:
            raise Invalid(f"state is one of {', '.join(STATES)}")
        return self


def _where(s: Session, f: Filters) -> list:
    cond = []
    if f.kind:
        cond.append(Alert.kind == f.kind)
    if f.state:
        cond.append(Alert.state == f.state)
    if f.product:
        cond.append(
            Alert.product_id
            == (s.scalar(select(Product.id).where(Product.gtin == f.product)) or -1)
        )
    if f.batch is not None:
        cond.append(Alert.batch_id == f.batch)
    if f.distributor:
        cond.append(Alert.distributor_id == distributors.get(s, f.distributor).id)
    if f.area:
        cond.append(Alert.area == f.area.upper())
    if f.since:
        cond.append(Alert.last_seen_at >= f.since)
    if f.until:
        cond.append(Alert.first_seen_at < f.until)
    return cond


def listing(s: Session, f: Filters, limit: int = 100, before: int | None = None) -> list[Alert]:
    """Newest first; ``before`` (an alert id) pages on."""
    query = select(Alert).where(*_where(s, f.check())).order_by(Alert.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Alert.id < before)
    return list(s.scalars(query))


def counts(s: Session, f: Filters) -> dict:
    """Alerts per kind and state, per holding distributor, and diverted scans per area."""
    cond = _where(s, f.check())
    by_kind = s.execute(
        select(Alert.kind, Alert.state, func.count()).where(*cond).group_by(Alert.kind, Alert.state)
    ).all()
    scans = func.sum(Alert.scan_count)
    by_holder = s.execute(
        select(Distributor.code, Distributor.name, Alert.kind, func.count(), scans)
        .join(Distributor, Distributor.id == Alert.distributor_id)
        .where(*cond)
        .group_by(Distributor.code, Distributor.name, Alert.kind)
        .order_by(Distributor.code)
    ).all()  # fmt: skip
    by_area = s.execute(
        select(AlertScan.area, func.count())
        .join(Alert, Alert.id == AlertScan.alert_id)
        .where(*cond, Alert.kind == "diversion", AlertScan.area.is_not(None))
        .group_by(AlertScan.area)
        .order_by(func.count().desc(), AlertScan.area)
    ).all()
    holders: dict[str, dict] = {}
    for code, dname, kind, n, scans in by_holder:
        h = holders.setdefault(code, {"code": code, "name": dname, "alerts": {}, "scans": 0})
        h["alerts"][kind] = n
        h["scans"] += int(scans or 0)
    kinds: dict[str, dict] = {k: dict.fromkeys(STATES, 0) for k in KINDS}
    for kind, state, n in by_kind:
        kinds[kind][state] = n
    return {
        "kinds": kinds,
        "distributors": list(holders.values()),
        "diverted_scans_by_area": [
            {"area": a, "name_zh": name(a, "zh"), "name_en": name(a, "en"), "scans": n}
            for a, n in by_area
        ],
    }


def get(s: Session, alert_id: int) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


def act(s: Session, alert_id: int, action: str, who: str, note: str | None) -> Alert:
    """Acknowledge or resolve an alert, with a note."""
    target, allowed = NEXT[action]
    alert = s.scalars(select(Alert).where(Alert.id == alert_id).with_for_update()).first()
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if alert.state not in allowed:
        raise Conflict(f"alert {alert_id} is {alert.state}; it cannot be {target} again")
    if note is not None and len(note) > 2000:
        raise Invalid("a note is at most 2,000 characters")
    alert.state = target
    if target == "acknowledged":
        alert.acknowledged_at, alert.acknowledged_by = now(), who[:100]
    else:
        alert.resolved_at, alert.resolved_by = now(), who[:100]
    if note:
        stamp = f"[{iso(now())} {who} {action}] {note}"
        alert.note = f"{alert.note}\n{stamp}" if alert.note else stamp
    return alert


def describe(s: Session, a: Alert, levels: tuple[str, ...]) -> dict:
    holder = s.get(Distributor, a.distributor_id) if a.distributor_id else None
    above = s.get(Distributor, a.parent_distributor_id) if a.parent_distributor_id else None
    product = s.get(Product, a.product_id)
    territory = a.territory.split(",") if a.territory else []
    return {
        "id": a.id,
        "kind": a.kind,
        "state": a.state,
        "reason": a.reason,
        "serial": a.serial,
        "batch": a.batch_id,
        "index": a.item_index,
        "product": {"gtin": product.gtin, "name": product.name},
        "holder": distributors.describe(s, holder, levels) if holder else None,
        "above": distributors.describe(s, above, levels) if above else None,
        "expected": [
            {"region": r, "name_zh": name(r, "zh"), "name_en": name(r, "en")} for r in territory
        ],
        "place": {
            "region": a.region,
            "name_zh": name(a.region, "zh") if a.region else None,
            "name_en": name(a.region, "en") if a.region else None,
            "area": a.area,
            "source": a.place_source,
            "precision": a.place_precision,
        },
        "detail": json.loads(a.detail) if a.detail else None,
        "scan_count": a.scan_count,
        "first_scan_id": a.first_scan_id,
        "first_seen_at": iso(a.first_seen_at),
        "last_seen_at": iso(a.last_seen_at),
        "created_at": iso(a.created_at),
        "note": a.note,
        "acknowledged_at": iso(a.acknowledged_at),
        "acknowledged_by": a.acknowledged_by,
        "resolved_at": iso(a.resolved_at),
        "resolved_by": a.resolved_by,
    }


CSV_COLUMNS = (
    "id", "kind", "state", "reason", "serial", "gtin", "product", "batch", "index",
    "holder", "holder_level", "above", "expected", "place", "place_name", "source",
    "precision", "scans", "first_seen_at", "last_seen_at", "note",
)  # fmt: skip


def csv_text(s: Session, alerts: list[Alert], levels: tuple[str, ...]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for a in alerts:
        d = describe(s, a, levels)
        w.writerow(
            [
                d["id"], d["kind"], d["state"], d["reason"], d["serial"],
                d["product"]["gtin"], d["product"]["name"], d["batch"], d["index"],
                d["holder"]["code"] if d["holder"] else "",
                d["holder"]["level_name"] if d["holder"] else "",
                d["above"]["code"] if d["above"] else "",
                " ".join(e["region"] for e in d["expected"]),
                a.region or "", d["place"]["name_zh"] or "", a.place_source or "",
                a.place_precision or "", a.scan_count, d["first_seen_at"], d["last_seen_at"],
                _safe(a.note or ""),
            ]
        )  # fmt: skip
    return out.getvalue()


def _safe(text: str) -> str:
    """No spreadsheet formulas from notes people typed (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
