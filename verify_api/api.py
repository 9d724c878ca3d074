"""``/api/v1``: the JSON API. ``POST /api/v1/verify`` answers what the page shows, as data."""

import json
import math

from flask import Blueprint, current_app, jsonify, request

from . import messages
from .checks import MALFORMED, Query, Result, Throttled
from .client import describe
from .errors import ApiError, language
from .extension import verify_service
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_CODE = 200
DEGRADED = "X-Zhenma-Degraded"


def _coordinate(body: dict, name: str, limit: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, "bad_request", f"{name} must be a number")
    if not -limit <= value <= limit:
        raise ApiError(400, "bad_request", f"{name} must be between -{limit:g} and {limit:g}")
    return float(value)


def parse_body(data: bytes) -> dict:
    """The fields of a verify request's JSON body, or ``ApiError`` (400) naming what is wrong."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(400, "bad_request", "code must be a non-empty string")
    if len(code) > MAX_CODE:
        raise ApiError(
            400, "malformed", f"a code or Digital Link has at most {MAX_CODE} characters"
        )
    hidden_code = body.get("hidden_code")
    if hidden_code is not None and not isinstance(hidden_code, str):
        raise ApiError(400, "bad_request", "hidden_code must be a string")
    lat, lng = _coordinate(body, "lat", 90), _coordinate(body, "lng", 180)
    if (lat is None) != (lng is None):
        raise ApiError(400, "bad_request", "give lat and lng together")
    return {"text": code, "hidden_code": hidden_code, "lat": lat, "lng": lng}


def answer(parts, fields: dict, remote_addr: str | None, user_agent: str, lang: str):
    """Check a parsed request: the JSON text of a 200 answer and its extra headers.

    Throttled and malformed codes raise ``ApiError`` (429, 400) after the scan is
    recorded. No Flask here: the view below and ``hot`` both call this.
    """
    who = describe(remote_addr, user_agent, parts.ip_salt)
    try:
        result = parts.checker.check(Query(**fields, **who))
    except Throttled as exc:
        raise ApiError(
            429,
            "throttled",
            messages.t("throttled", lang, minutes=-(-exc.retry_after // 60)),
            {"Retry-After": str(exc.retry_after)},
        ) from None
    if result.verdict == MALFORMED:
        message = messages.verdict_text(result.verdict, result.reason, lang)
        if lang == "en" and result.detail:
            message = f"{message} ({result.detail})"
        raise ApiError(400, result.reason or "malformed", message)
    text = json.dumps(to_json(result, lang), ensure_ascii=False, separators=(",", ":"))
    return text, ((DEGRADED, result.degraded),) if result.degraded else ()


def to_json(result: Result, lang: str) -> dict:
    product = result.product
    return {
        "verdict": result.verdict,
        "message": messages.verdict_text(result.verdict, result.reason, lang, result.detail),
        "reason": result.reason,
        "detail": result.detail,
        "serial": result.serial,
        "gtin": result.gtin,
        "product": {"name": product.name, "image_url": product.image_url} if product else None,
        "scan_count": result.scan_count,
        "first_scan": (
            {"at": result.first_at.isoformat(timespec="seconds"), "place": result.first_place}
            if result.first_at
            else None
        ),
        "hidden_code_checked": result.hidden_code_checked,
        "degraded": result.degraded,
    }


@bp.post("/verify")
def verify():
    """The route as Flask serves it; ``hot`` serves the same answers without Flask."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the request as application/json")
    fields = parse_body(request.get_data(cache=False))
    text, headers = answer(
        verify_service.parts, fields, request.remote_addr, request.user_agent.string, language()
    )
    response = current_app.response_class(text, mimetype="application/json")
    response.headers.extend(headers)
    return response


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
