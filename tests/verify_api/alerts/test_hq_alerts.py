"""HQ's alert API and dashboard on alerts made by real scans; new alerts pushed to a webhook."""

import csv
import io
import json
import re
import threading

import pytest

from alerts import queries
from alerts.worker import start
from distribution import outbox
from load.order_system import OrderSystem
from tests.verify_api.alerts.helpers import BEIJING, CHENGDU, judge, scan
from tests.verify_api.alerts.test_alert_rules import ship
from tests.verify_api.support import free_port

pytestmark = [
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    pytest.mark.parametrize("mode", ["database"], indirect=True),
]
SECRET = "hq-webhook-shared-secret-0123456789abc"


@pytest.fixture
def made(client, chain, db, analyst, alert_settings, mode):
    """A diverted item (GD's, scanned twice in Chengdu) and unsold stock scanned in Beijing."""
    carton = chain.carton(1)
    ship(client, chain, ("HQ", carton, "ZD"), ("ZD", carton, "GD"))
    scan(client, chain.serial(2), CHENGDU)
    scan(client, chain.serial(2), CHENGDU)
    scan(client, chain.serial(11), BEIJING)
    judge(alert_settings, db, analyst, mode)
    return chain


def get(client, chain, url, who="viewer"):
    response = client.get(url, headers=chain.auth(who))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_alerts_are_listed_with_filters_and_counted_per_distributor_and_province(client, made):
    alerts = get(client, made, "/api/v1/alerts").get_json()["alerts"]
    assert [a["kind"] for a in alerts] == ["unsold", "diversion"]  # newest first
    diverted = alerts[1]
    assert diverted["holder"]["code"] == "GD" and diverted["holder"]["level_name"] == "省代"
    assert diverted["above"]["code"] == "ZD"
    assert diverted["expected"] == [
        {"region": "CN-440000", "name_zh": "广东省", "name_en": "Guangdong"}
    ]
    assert diverted["place"] == {
        "region": "CN-510100", "name_zh": "四川省 成都市", "name_en": "Chengdu, Sichuan",
        "area": "CN-510000", "source": "gps", "precision": "city",
    }  # fmt: skip
    assert diverted["scan_count"] == 2 and diverted["product"]["gtin"] == "06901234567892"
    for query, ids in [
        ("kind=diversion", [diverted["id"]]),
        ("province=CN-510000", [diverted["id"]]),
        ("distributor=GD", [diverted["id"]]),
        ("state=open&product=06901234567892", [alerts[0]["id"], diverted["id"]]),
        (f"batch={made.issued.batch_id}&from=2020-01-01T00:00:00Z", [a["id"] for a in alerts]),
        ("to=2020-01-01T00:00:00Z", []),
    ]:
        found = get(client, made, f"/api/v1/alerts?{query}").get_json()["alerts"]
        assert [a["id"] for a in found] == ids, query
    assert (
        client.get("/api/v1/alerts?kind=nonsense", headers=made.auth("viewer")).status_code == 400
    )
    counts = get(client, made, "/api/v1/alerts/counts").get_json()
    assert counts["kinds"]["diversion"] == {"open": 1, "acknowledged": 0, "resolved": 0}
    assert counts["distributors"] == [
        {"code": "GD", "name": "广东省代", "alerts": {"diversion": 1}, "scans": 2}
    ]
    assert counts["diverted_scans_by_area"] == [
        {"area": "CN-510000", "name_zh": "四川省", "name_en": "Sichuan", "scans": 2}
    ]


def test_admins_acknowledge_then_resolve_with_notes_viewers_cannot(client, made):
    alert_id = get(client, made, "/api/v1/alerts?kind=diversion").get_json()["alerts"][0]["id"]
    url = f"/api/v1/alerts/{alert_id}"
    assert (
        client.post(f"{url}/acknowledge", json={}, headers=made.auth("viewer")).status_code == 403
    )
    r = client.post(f"{url}/acknowledge", json={"note": "问过广东省代"}, headers=made.auth("admin"))
    assert r.status_code == 200 and r.get_json()["state"] == "acknowledged"
    assert client.post(f"{url}/acknowledge", json={}, headers=made.auth("admin")).status_code == 409
    r = client.post(f"{url}/resolve", json={"note": "=罚款"}, headers=made.auth("admin"))
    shown = r.get_json()
    assert shown["state"] == "resolved" and shown["resolved_by"].startswith("token ")
    assert "问过广东省代" in shown["note"] and "=罚款" in shown["note"]
    assert (
        client.post("/api/v1/alerts/999/resolve", json={}, headers=made.auth("admin")).status_code
        == 404
    )
    text = get(client, made, "/api/v1/alerts.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    diverted = next(r for r in rows if r["kind"] == "diversion")
    assert (diverted["holder"], diverted["expected"], diverted["place"], diverted["state"]) == (
        "GD", "CN-440000", "CN-510100", "resolved",
    )  # fmt: skip
    assert diverted["note"].startswith("[")  # stamped: never a spreadsheet formula


def test_the_dashboard_draws_diverted_scans_by_province(app, made, db):
    from verify_api import hq_users

    with db.session() as s:
        hq_users.add(s, "wang.li", "a long enough password", "viewer")
    client = app.test_client()
    client.post("/hq/login", data={"username": "wang.li", "password": "a long enough password"})
    page = client.get("/hq/", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "script" not in page.headers["Content-Security-Policy"]
    assert '<g class="bar" data-area="CN-510000"><title>四川省: 2</title>' in html
    assert made.serial(2) in html and "广东省代" in html
    assert "超出授权区域" in html  # reasons and times as people read them (Asia/Shanghai)
    assert re.search(r'<td class="note">20\d\d-\d\d-\d\d \d\d:\d\d<br>', html)
    assert 'class="acknowledge"' not in html  # a viewer sees no buttons
    english = client.get("/hq/?lang=en&kind=diversion").get_data(as_text=True)
    assert "Chengdu, Sichuan" in english and made.serial(11) not in english


def test_new_alerts_reach_the_hq_webhook_signed_and_not_the_order_system(
    client, chain, db, alert_settings
):
    hook = OrderSystem(SECRET, free_port(), slow=0, late=0)
    hook.script.extend(["500"])  # the first attempt fails: delivered on a retry
    hook.start()
    settings = alert_settings.with_(
        hq_webhook_url=hook.url, hq_webhook_secret=SECRET, outbox_backoff=0.05, analyst_poll=0.05
    )
    threads = start(settings, db)
    try:
        scan(client, chain.serial(12), BEIJING)  # never dispatched: unsold
        deadline = threading.Event()
        for _ in range(400):
            if hook.accepted_keys():
                break
            deadline.wait(0.05)
    finally:
        for thread, stop in threads:
            stop.set()
            thread.join(10)
        hook.stop()
    assert len(hook.arrivals) == 2 and hook.arrivals[1].signed
    body = json.loads(hook.arrivals[1].body)
    assert body["type"] == "alert" and body["alert"]["kind"] == "unsold"
    assert body["alert"]["serial"] == chain.serial(12)
    assert hook.arrivals[0].key == hook.arrivals[1].key == body["id"]
    with db.session() as s:
        [event] = outbox.listing(s, None)
        assert (event.kind, event.state, event.attempts) == ("alert", "delivered", 2)
        # The order system's deliverer never takes it.
        assert outbox.claim(s, "order", 10, 60, 12, exclude=outbox.HQ_KINDS) == []


def test_the_worker_command_judges_scans_without_redis(client, chain, db, runner):
    scan(client, chain.serial(13), BEIJING)
    runner("worker", "--drain", "--timeout", "60")
    with db.session() as s:
        [alert] = queries.listing(s, queries.Filters())
        assert (alert.kind, alert.serial, alert.region) == ("unsold", chain.serial(13), "CN-110100")
