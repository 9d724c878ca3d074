"""HQ's API: distributors and their device tokens, the outbox, the EPCIS export.

Viewers read; admins change. ``HQ`` in place of a distributor code names HQ's
own warehouse devices. Every answer is JSON except the EPCIS document, which is
JSON-LD streamed as it is read (an export of a large batch is large).
"""

from flask import Blueprint, Response, jsonify, request, stream_with_context
from sqlalchemy import select

from distribution import distributors, epcis, outbox
from distribution.times import iso, parse
from zhenma.db.models import ApiToken, Distributor, OutboxEvent
from zhenma.errors import NotFound

from . import hq_common
from .errors import ApiError
from .hq_auth import allow, hq

bp = Blueprint("hq", __name__, url_prefix="/api/v1")
hq_common.install(bp)


def _levels():
    return hq_common.parts().settings.distributor_levels


def _owner(s, code: str):
    """The distributor a token belongs to; None for HQ's warehouse."""
    return None if code.upper() == distributors.HQ else distributors.get(s, code)


def _show(s, d: Distributor) -> dict:
    children = s.scalars(
        select(Distributor.code).where(Distributor.parent_id == d.id).order_by(Distributor.code)
    )
    return distributors.describe(s, d, _levels()) | {
        "children": list(children),
        "created_at": iso(d.created_at),
    }


@bp.get("/distributors")
@allow(hq("viewer"))
def distributor_list():
    with hq_common.parts().db.session() as s:
        rows = distributors.all_(s)
        return jsonify(distributors=[distributors.describe(s, d, _levels()) for d in rows])


@bp.post("/distributors")
@allow(hq("admin"))
def distributor_add():
    body = hq_common.json_body()
    territory = body.get("territory")
    if not isinstance(territory, list) or not all(isinstance(r, str) for r in territory):
        raise ApiError(400, "bad_request", "territory: a list of region codes such as CN-440000")
    for name in ("code", "name"):
        if not isinstance(body.get(name), str):
            raise ApiError(400, "bad_request", f"{name} must be a string")
    if not isinstance(body.get("level"), str | int) or isinstance(body.get("level"), bool):
        raise ApiError(400, "bad_request", "level: a level name (省代) or number (2)")
    if body.get("parent") is not None and not isinstance(body["parent"], str):
        raise ApiError(400, "bad_request", "parent must be a distributor code")
    with hq_common.parts().db.session() as s:
        d = distributors.add(
            s, _levels(), body["code"], body["name"], body["level"], body.get("parent"), territory
        )
        return jsonify(_show(s, d)), 201


@bp.get("/distributors/<code>")
@allow(hq("viewer"))
def distributor_show(code: str):
    with hq_common.parts().db.session() as s:
        d = distributors.get(s, code)
        tokens = distributors.list_tokens(s, "device", d)
        return jsonify(
            _show(s, d) | {"tokens": [distributors.describe_token(s, t) for t in tokens]}
        )


@bp.post("/distributors/<code>/tokens")
@allow(hq("admin"))
def token_add(code: str):
    body = hq_common.json_body()
    label = body.get("label")
    if not isinstance(label, str):
        raise ApiError(400, "bad_request", "label: which device holds the token")
    with hq_common.parts().db.session() as s:
        new = distributors.add_token(s, "device", label, _owner(s, code))
        shown = distributors.describe_token(s, new.row)
    # The token itself exists only in this answer.
    return jsonify(shown | {"token": new.token}), 201


@bp.get("/distributors/<code>/tokens")
@allow(hq("viewer"))
def token_list(code: str):
    with hq_common.parts().db.session() as s:
        rows = distributors.list_tokens(s, "device", _owner(s, code))
        return jsonify(tokens=[distributors.describe_token(s, t) for t in rows])


@bp.delete("/distributors/<code>/tokens/<int:token_id>")
@allow(hq("admin"))
def token_revoke(code: str, token_id: int):
    with hq_common.parts().db.session() as s:
        owner = _owner(s, code)
        row = s.get(ApiToken, token_id)
        if row is None or row.kind != "device" or row.distributor_id != (owner and owner.id):
            raise NotFound(f"{code} has no device token {token_id}")
        distributors.revoke_token(s, token_id, "device")
        return jsonify(distributors.describe_token(s, row))


# -- the outbox ---------------------------------------------------------------------


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "bad_request", f"{name} is a whole number from {low} to {high}")
    return int(raw)


@bp.get("/outbox")
@allow(hq("viewer"))
def outbox_list():
    limit = _int_arg("limit", 100, 1, 1000)
    after = _int_arg("after", 0, 0, 2**63 - 1)
    with hq_common.parts().db.session() as s:
        events = outbox.listing(s, request.args.get("state"), limit, after)
        return jsonify(counts=outbox.counts(s), events=[outbox.describe(e) for e in events])


@bp.get("/outbox/<int:event_id>")
@allow(hq("viewer"))
def outbox_show(event_id: int):
    with hq_common.parts().db.session() as s:
        e = s.get(OutboxEvent, event_id)
        if e is None:
            raise NotFound(f"no outbox event {event_id}")
        return jsonify(outbox.describe(e, with_payload=True))


@bp.post("/outbox/replay")
@allow(hq("admin"))
def outbox_replay():
    body = hq_common.json_body()
    ids = body.get("ids")
    if ids is not None and (
        not isinstance(ids, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ApiError(400, "bad_request", "ids: a list of event ids (or none: every parked event)")
    with hq_common.parts().db.session() as s:
        return jsonify(replayed=outbox.replay(s, ids))


# -- EPCIS -----------------------------------------------------------------------------


@bp.get("/epcis/events")
@allow(hq("viewer"))
def epcis_events():
    args = request.args
    start = parse(args["from"], "from") if "from" in args else None
    end = parse(args["to"], "to") if "to" in args else None
    batch = _int_arg("batch", 0, 1, 2**31 - 1) if "batch" in args else None
    parts = hq_common.parts()
    session = parts.db.sessions()
    try:
        chunks = epcis.export(
            session, parts.settings, hq_common.secrets, start, end, batch, args.get("ids", "dl")
        )
        first = next(chunks)  # errors before the first byte still become JSON errors
    except BaseException:
        session.close()
        raise

    def stream():
        try:
            yield first
            yield from chunks
        finally:
            session.close()

    return Response(stream_with_context(stream()), mimetype="application/ld+json")
