"""``POST /api/v1/dispatch``, ``POST /api/v1/pack``, ``GET /api/v1/items/<serial>/custody``.

The rules live in ``distribution.dispatch`` and ``distribution.packing``; this is
the boundary: who may call (``hq_auth``), JSON in, JSON out.

* dispatch: one scan (an object) answers 201 when accepted (200 when it is a scan
  id seen before) or the JSON error of its refusal; a list (``{"scans": [...]}``
  or a bare array) answers 200 with a result per scan, accepted or refused.
"""

from flask import Blueprint, jsonify

from distribution import custody, dispatch, packing
from distribution.goods import ITEM, Refused, identify

from . import hq_common
from .errors import ApiError
from .hq_auth import allow, current, device, hq

bp = Blueprint("dispatch", __name__, url_prefix="/api/v1")
hq_common.install(bp)


@bp.post("/dispatch")
@allow(device(), hq("admin"))
def dispatch_scans():
    body = hq_common.json_body((dict, list))
    parts = hq_common.parts()
    p = current()
    sender = dispatch.Sender(p.distributor_id, p.distributor_code, p.token_id)
    single = isinstance(body, dict) and "scans" not in body
    scans = [body] if single else body if isinstance(body, list) else body["scans"]
    if not isinstance(scans, list) or not scans:
        raise ApiError(400, "bad_request", "scans: a list of one or more scans")
    limit = parts.settings.dispatch_max_scans
    if len(scans) > limit:
        raise ApiError(400, "too_many", f"at most {limit} scans in one upload; send the rest next")
    people: dict = {}  # distributors described once per upload
    results = [
        dispatch.record(parts.db, parts.settings, sender, raw, hq_common.secrets, people)
        for raw in scans
    ]
    statuses = [r.pop("http_status", None) for r in results]
    if single:
        result = results[0]
        if result["status"] == "refused":
            raise ApiError(statuses[0], result["reason"], result["message"])
        return jsonify(result), 200 if result["duplicate"] else 201
    accepted = sum(r["status"] == "accepted" for r in results)
    return jsonify(results=results, accepted=accepted, refused=len(results) - accepted)


@bp.post("/pack")
@allow(hq("admin"), device(warehouse=True))
def pack():
    body = hq_common.json_body()
    parts = hq_common.parts()
    with parts.db.session() as s:
        result = packing.apply(
            s,
            body.get("action", "pack"),
            body.get("carton"),
            body.get("items"),
            hq_common.secrets,
            current().name[:60],
        )
    return jsonify(result)


@bp.get("/items/<serial>/custody")
@allow(hq("viewer"))
def item_custody(serial: str):
    parts = hq_common.parts()
    with parts.db.session() as s:
        goods, batch = identify(s, serial, hq_common.secrets, revoked_ok=True)
        if goods.kind != ITEM:
            raise Refused("not_an_item", f"{goods.code} is a carton code, not a serial", 400)
        report = custody.report(
            s, parts.settings.distributor_levels, goods, batch, hq_common.secrets
        )
    return jsonify(report)
