"""The consumer's verification page: the verdict in large type, the hidden-code form.

Mobile first, no external scripts, styles or fonts: one HTML document with inline
CSS and one small inline script (the optional "share my location" button),
allowed by hash in the Content-Security-Policy. GET is the check the QR leads to;
POST carries a hidden code and/or the browser's location. Both count as a check.
"""

import base64
import hashlib
import math
from importlib.resources import files

from flask import Blueprint, make_response, render_template, request
from markupsafe import Markup

from zhenma.places import name as place_name

from . import messages
from .checks import MALFORMED, Query, Throttled
from .client import describe
from .errors import language
from .extension import verify_service

bp = Blueprint("page", __name__)

SCRIPT = files(__package__).joinpath("templates/location.js").read_text()
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def _coordinate(name: str, limit: float) -> float | None:
    try:
        value = float(request.form.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and -limit <= value <= limit else None


@bp.route("/verify/01/<gtin>/21/<serial>", methods=["GET", "POST"])
def verify_page(gtin: str, serial: str):
    parts = verify_service.parts
    lang = language()
    hidden_code = lat = lng = None
    if request.method == "POST":
        hidden_code = request.form.get("hidden_code", "").strip() or None
        lat, lng = _coordinate("lat", 90), _coordinate("lng", 180)
        if lat is None or lng is None:
            lat = lng = None
    who = describe(request.remote_addr, request.user_agent.string, parts.ip_salt)
    query = Query(f"/01/{gtin}/21/{serial}"[:300], hidden_code, lat, lng, **who)
    throttled = None
    try:
        result = parts.checker.check(query)
        status = 400 if result.verdict == MALFORMED else 200
    except Throttled as exc:
        # Still answered from the QR's facts: only the hidden-code check is refused.
        throttled = messages.t("throttled", lang, minutes=-(-exc.retry_after // 60))
        result = parts.checker.check(Query(query.text, None, lat, lng, **who))
        status = 429
    body = render_template(
        "verify.html",
        r=result,
        lang=lang,
        t=messages.t,
        title=messages.title(result.verdict, lang),
        text=messages.verdict_text(result.verdict, result.reason, lang, result.detail),
        first=messages.when(result.first_at, lang, parts.settings.display_tz)
        if result.first_at
        else None,
        throttled=throttled,
        located=lat is not None,
        place_name=place_name,  # the first check's region code, named (docs/alerts.md)
        script=Markup(SCRIPT),  # noqa: S704  (our own file, hashed into the CSP above)
    )
    response = make_response(body, status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = lang
    if result.degraded:
        response.headers["X-Zhenma-Degraded"] = result.degraded
    return response
