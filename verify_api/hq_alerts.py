"""HQ's alert API: ``/api/v1/alerts`` (list, filter, one, counts, CSV), acknowledge, resolve.

Viewers read; admins acknowledge and resolve, with a note. Callers are HQ tokens
or logged-in HQ users (``hq_auth``, ``hq_session``). Filters, all optional:
``kind``, ``state``, ``product`` (GTIN), ``batch``, ``distributor`` (code),
``province`` (``CN-440000``, or a country code), ``from`` and ``to`` (ISO 8601).
"""

from flask import Blueprint, Response, jsonify, request

from alerts import queries
from distribution.times import parse

from . import hq_common
from .errors import ApiError
from .hq_auth import allow, current, hq

bp = Blueprint("hq_alerts", __name__, url_prefix="/api/v1")
hq_common.install(bp)


def _int(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "bad_request", f"{name} is a whole number from {low} to {high}")
    return int(raw)


def filters() -> queries.Filters:
    args = request.args
    return queries.Filters(
        kind=args.get("kind") or None,
        state=args.get("state") or None,
        product=args.get("product") or None,
        batch=_int("batch", None, 1, 2**31 - 1),
        distributor=args.get("distributor") or None,
        area=args.get("province") or None,
        since=parse(args["from"], "from") if args.get("from") else None,
        until=parse(args["to"], "to") if args.get("to") else None,
    ).check()


def _levels():
    return hq_common.parts().settings.distributor_levels


@bp.get("/alerts")
@allow(hq("viewer"))
def alert_list():
    f = filters()
    limit = _int("limit", 100, 1, 1000)
    before = _int("before", None, 1, 2**63 - 1)
    with hq_common.parts().db.session() as s:
        rows = queries.listing(s, f, limit, before)
        return jsonify(alerts=[queries.describe(s, a, _levels()) for a in rows])


@bp.get("/alerts/counts")
@allow(hq("viewer"))
def alert_counts():
    f = filters()
    with hq_common.parts().db.session() as s:
        return jsonify(queries.counts(s, f))


@bp.get("/alerts.csv")
@allow(hq("viewer"))
def alert_csv():
    return csv_response(filters())


def csv_response(f: queries.Filters) -> Response:
    with hq_common.parts().db.session() as s:
        rows = queries.listing(s, f, 100_000)
        text = queries.csv_text(s, rows, _levels())
    return Response(
        "\ufeff" + text,  # a BOM, so spreadsheet programs read the Chinese names as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="zhenma-alerts.csv"'},
    )


@bp.get("/alerts/<int:alert_id>")
@allow(hq("viewer"))
def alert_show(alert_id: int):
    with hq_common.parts().db.session() as s:
        return jsonify(queries.describe(s, queries.get(s, alert_id), _levels()))


def act(alert_id: int, action: str, note: str | None) -> dict:
    with hq_common.parts().db.session() as s:
        alert = queries.act(s, alert_id, action, current().name, note)
        return queries.describe(s, alert, _levels())


@bp.post("/alerts/<int:alert_id>/<any(acknowledge, resolve):action>")
@allow(hq("admin"))
def alert_act(alert_id: int, action: str):
    body = hq_common.json_body()
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise ApiError(400, "bad_request", "note must be text")
    return jsonify(act(alert_id, action, note))
