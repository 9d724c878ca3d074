"""``hot``: ``POST /api/v1/verify`` answered without Flask says exactly what the Flask view says.

Each case runs twice on twin codes (same position in the batch's sequence of
requests, different items): once through the app as served (the hot route in
front) and once through Flask alone (``HotRoute.wrapped``). Status, headers and
body must match once the serial is put aside; the scans recorded must match too.
"""

import json

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from tests.verify_api.support import drain, issue, make_app, ready
from verify_api.hot import HotRoute
from zhenma.db.models import Scan


def _cases(item, forged):
    """(request kwargs, what the case shows) in the order they are sent for one item."""
    body = {"code": item.serial}
    typo = item.serial[:-1] + ("3" if item.serial.endswith("2") else "2")
    return [
        ({"json": body}, "first check"),
        ({"json": body, "headers": {"Accept-Language": "en-GB,en;q=0.9"}}, "checked before, en"),
        ({"json": body, "query_string": "lang=en"}, "?lang=en"),
        ({"json": {"code": item.url}}, "the Digital Link"),
        ({"json": {**body, "hidden_code": item.hidden_code}}, "hidden code right"),
        ({"json": {**body, "hidden_code": "000000000000"}}, "hidden code wrong"),
        ({"json": {**body, "hidden_code": "12ab"}}, "hidden code malformed"),
        ({"json": {**body, "lat": 23.13, "lng": 113.26}}, "located"),
        ({"json": {"code": forged}}, "counterfeit"),
        ({"json": {"code": typo}}, "typo: 400 after the scan is recorded"),
        ({"data": json.dumps(body), "content_type": "application/json; charset=utf-8"}, "charset"),
        ({"data": json.dumps(body), "content_type": "application/ld+json"}, "+json: Flask's"),
        ({"data": "{}", "content_type": "text/plain"}, "415"),
        ({"data": "{broken", "content_type": "application/json"}, "400 before any scan"),
        ({"json": {"code": "x" * 5000}}, "413"),
        ({"json": {**body, "hidden_code": "000000000000"}}, "wrong again: now locked"),
        ({"json": {**body, "hidden_code": "000000000000"}}, "throttled: 429"),
    ]


def _send(client, item, forged):
    out = []
    for kwargs, label in _cases(item, forged):
        response = client.post("/api/v1/verify", **kwargs)
        text = response.get_data(as_text=True)
        text = text.replace(item.serial, "<serial>").replace(forged, "<forged>")
        headers = sorted((k, v) for k, v in response.headers.items() if k != "Content-Length")
        out.append((label, response.status_code, headers, text))
    return out


@pytest.mark.parametrize("redis_mode", [True, False], ids=["redis", "database"])
def test_hot_route_and_flask_view_answer_alike(redis_mode, settings, db, keyring, request):
    if redis_mode:
        settings = request.getfixturevalue("redis_settings")
        ready(settings, db)
    settings = settings.with_(hidden_code_tries=2)
    issued = issue(db, keyring, settings)
    app = make_app(settings)
    try:
        hot = app.wsgi_app
        assert isinstance(hot, HotRoute)
        a, b = issued.items[3], issued.items[4]
        via_hot = _send(Client(hot), a, issued.forged(3))
        via_flask = _send(Client(hot.wrapped), b, issued.forged(4))
    finally:
        app.extensions["zhenma.verify"].close()
    statuses = [status for _, status, _, _ in via_hot]
    assert statuses == [200] * 6 + [400, 200, 200, 400, 200, 200, 415, 400, 413, 200, 429]
    for mine, theirs in zip(via_hot, via_flask, strict=True):
        assert mine[:3] == theirs[:3]
        # Bodies match but for times of first checks, a second apart at most.
        assert _without_times(mine[3]) == _without_times(theirs[3]), mine[0]
    if redis_mode:
        drain(settings, db)  # the scans wait in the stream until a writer stores them
    with db.session() as s:
        recorded = {
            serial: [(r.verdict, r.reason, r.counted) for r in rows]
            for serial in (a.serial, b.serial)
            for rows in [s.scalars(select(Scan).where(Scan.serial == serial).order_by(Scan.id))]
        }
    assert recorded[a.serial] == recorded[b.serial]
    # every case that reached the check under this serial (not the forged one, the typo, 429)
    assert len(recorded[a.serial]) == 11


def _without_times(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body.get("first_scan"), dict):
        body["first_scan"]["at"] = "<at>"
    return json.dumps(body, sort_keys=True)
