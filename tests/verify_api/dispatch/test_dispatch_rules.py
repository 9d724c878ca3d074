"""``POST /api/v1/dispatch``: the rules of a dispatch scan, item by item, and idempotency."""

import pytest
from sqlalchemy import func, select

from codegen import batches
from tests.verify_api.dispatch.chain import T0, dispatch, holder
from tests.verify_api.support import issue
from zhenma.codes import Code, Kind
from zhenma.db.models import Dispatch, OutboxEvent

# The rule logic is the same on both databases; PostgreSQL runs the tests that lean on
# its locks, indexes and time types.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


@SQLITE_ONLY
def test_carton_dispatch_moves_every_item_in_it_with_one_row(client, chain, db):
    response = dispatch(client, chain, "HQ", chain.scan(chain.carton(2), "ZD"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "accepted" and body["kind"] == "carton"
    assert (body["from"], body["to"], body["quantity"]) == ("HQ", "ZD", 10)
    assert [holder(client, chain, chain.serial(i)) for i in (10, 11, 20, 21)] == [
        "HQ", "ZD", "ZD", "HQ",
    ]  # fmt: skip
    assert count(db, Dispatch) == 1 and count(db, OutboxEvent) == 1


def test_goods_go_down_the_chain_and_the_last_dispatch_of_item_or_carton_wins(client, chain):
    carton, serial = chain.carton(1), chain.serial(3)
    assert dispatch(client, chain, "HQ", chain.scan(carton, "ZD", 0)).status_code == 201
    assert dispatch(client, chain, "ZD", chain.scan(carton, "GD", 10)).status_code == 201
    # GD breaks the carton: one item to Guangzhou, the rest of the carton stays.
    assert dispatch(client, chain, "GD", chain.scan(serial, "GZ", 20)).status_code == 201
    assert holder(client, chain, serial) == "GZ"
    assert holder(client, chain, chain.serial(4)) == "GD"
    # A later carton scan moves every item recorded in the carton, that one too.
    assert dispatch(client, chain, "GD", chain.scan(carton, "GZ", 30)).status_code == 201
    assert holder(client, chain, chain.serial(4)) == "GZ"
    report = client.get(f"/api/v1/items/{serial}/custody", headers=chain.auth("viewer")).get_json()
    assert [(s["from"]["code"], s["to"]["code"], s["via"]) for s in report["chain"]] == [
        ("HQ", "ZD", "carton"), ("ZD", "GD", "carton"), ("GD", "GZ", "item"),
        ("GD", "GZ", "carton"),
    ]  # fmt: skip
    assert report["holder"] == {
        "code": "GZ", "name": "广州市代", "level": 3, "level_name": "市代", "parent": "GD",
        "territory": ["CN-440100"],
    }  # fmt: skip
    assert report["cartons"] == [{"carton": carton, "since": None, "until": None, "default": True}]


@SQLITE_ONLY
def test_a_list_goes_through_except_the_refused_scans_each_with_its_reason(
    client, chain, db, settings, keyring
):
    with db.session() as s:
        batches.revoke(s, chain.issued.batch_id, "标签被盗")
    revoked_serial = chain.serial(1)
    other = issue(db, keyring, settings, count=20)
    good = other.items[0].serial
    code = Code.parse(good)
    forged = Code(Kind.ITEM, code.batch, code.index, code.tag ^ 1).render()
    typo = good[:-1] + ("2" if good[-1] != "2" else "3")
    scans = [
        chain.scan(good, "GD"),
        chain.scan(forged, "GD"),
        chain.scan(revoked_serial, "GD"),
        chain.scan(other.items[1].serial, "NOPE"),
        chain.scan(typo, "GD"),
        chain.scan("hello", "GD"),
        chain.scan(other.items[2].url, "GD"),  # the QR's Digital Link URL
        {"scan_id": "x", "code": good, "to": "GD"},  # no time
        chain.scan(Code.sign(b"k" * 32, Kind.ITEM, 999, 1).render(), "GD"),
        chain.scan(other.items[3].serial, "GD", minutes=60 * 24 * 365 * 10),
    ]
    response = dispatch(client, chain, "HQ", *scans)
    assert response.status_code == 200
    body = response.get_json()
    reasons = [r.get("reason") for r in body["results"]]
    assert reasons == [
        None, "counterfeit", "revoked", "unknown_receiver", "typo", "malformed", None,
        "bad_request", "unknown_batch", "future_time",
    ]  # fmt: skip
    assert (body["accepted"], body["refused"]) == (2, 8)
    assert all(r["message"] for r in body["results"] if r["status"] == "refused")
    assert [r["scan_id"] for r in body["results"]] == [s["scan_id"] for s in scans]
    assert count(db, Dispatch) == 2 and count(db, OutboxEvent) == 2


@SQLITE_ONLY
def test_only_the_holder_dispatches_and_only_down_its_own_branch(client, chain):
    item = chain.serial(5)
    refused = dispatch(client, chain, "ZD", chain.scan(item, "GD", 0))
    assert refused.status_code == 409
    assert refused.get_json()["error"] == {
        "code": "not_holder",
        "message": f"item {item} is held by HQ, not ZD, at {T0:%Y-%m-%d}T02:00:00.000Z",
    }
    assert dispatch(client, chain, "HQ", chain.scan(item, "GD", 1)).status_code == 201  # skip ZD
    sideways = dispatch(client, chain, "GD", chain.scan(item, "SC", 2)).get_json()["error"]
    assert sideways["code"] == "not_below"
    up = dispatch(client, chain, "GD", chain.scan(item, "ZD", 3)).get_json()["error"]
    assert up["code"] == "not_below"
    assert dispatch(client, chain, "GD", chain.scan(item, "GD", 4)).get_json()["error"]["code"] == (
        "self"
    )
    assert dispatch(client, chain, "GD", chain.scan(item, "GZ", 5)).status_code == 201
    # An HQ admin token dispatches as HQ, which no longer holds the item.
    again = dispatch(client, chain, "admin", chain.scan(item, "SC", 6)).get_json()["error"]
    assert again["code"] == "not_holder"


@SQLITE_ONLY
def test_offline_uploads_are_judged_at_their_scan_time(client, chain):
    item = chain.serial(7)
    # GD's device was offline: its scan at minute 20 arrives before HQ's of minute 10.
    late = dispatch(client, chain, "GD", chain.scan(item, "GZ", 20, scan_id="gd-1"))
    assert late.get_json()["error"]["code"] == "not_holder"
    assert dispatch(client, chain, "HQ", chain.scan(item, "GD", 10)).status_code == 201
    retry = dispatch(client, chain, "GD", chain.scan(item, "GZ", 20, scan_id="gd-1"))
    assert retry.status_code == 201  # a refused scan leaves no trace; sent again, it passes
    assert holder(client, chain, item) == "GZ"


def test_same_scan_id_twice_gives_the_same_answer_and_one_event(client, chain, db):
    scan = chain.scan(chain.carton(3), "ZD", scan_id="dev-42")
    first = dispatch(client, chain, "HQ", scan)
    again = dispatch(client, chain, "HQ", dict(scan))
    assert (first.status_code, again.status_code) == (201, 200)
    a, b = first.get_json(), again.get_json()
    assert a.pop("duplicate") is False and b.pop("duplicate") is True
    assert a == b
    in_list = dispatch(client, chain, "HQ", scan, chain.scan(chain.serial(40), "ZD"))
    assert in_list.get_json()["results"][0] | {"duplicate": False} == a | {"duplicate": False}
    assert count(db, Dispatch) == 2 and count(db, OutboxEvent) == 2
    reused = dispatch(client, chain, "HQ", scan | {"to": "SC"})
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "scan_id_reused"
    # Scan ids belong to their sender: another distributor may use the same one.
    mine = dispatch(client, chain, "ZD", chain.scan(chain.carton(3), "GD", 5, scan_id="dev-42"))
    assert mine.status_code == 201


@SQLITE_ONLY
def test_not_activated_goods_and_empty_cartons_are_refused(client, chain, db, settings, keyring):
    dark = issue(db, keyring, settings, count=10, active=False)
    body = dispatch(client, chain, "HQ", chain.scan(dark.items[0].serial, "ZD")).get_json()
    assert body["error"]["code"] == "not_activated"
    emptied = client.post(
        "/api/v1/pack",
        json={"carton": chain.carton(4), "action": "unpack"},
        headers=chain.auth("admin"),
    )
    assert emptied.status_code == 200 and emptied.get_json()["items"] == 0
    body = dispatch(client, chain, "HQ", chain.scan(chain.carton(4), "ZD")).get_json()
    assert body["error"]["code"] == "empty_carton"


@SQLITE_ONLY
def test_tokens_and_roles_are_checked_before_anything_else(client, chain, db):
    scan = chain.scan(chain.serial(1), "ZD")
    assert client.post("/api/v1/dispatch", json=scan).status_code == 401
    wrong = client.post("/api/v1/dispatch", json=scan, headers={"Authorization": "Bearer zmd_no"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    basic = client.post("/api/v1/dispatch", json=scan, headers={"Authorization": "Basic eDp5"})
    assert basic.get_json()["error"]["code"] == "unauthorized"
    viewer = dispatch(client, chain, "viewer", scan)
    assert viewer.status_code == 403
    assert viewer.get_json()["error"]["message"].startswith("only a scanning device or an HQ admin")
    token_id = 1  # ZD's device token, the first made
    revoked = client.delete(
        f"/api/v1/distributors/ZD/tokens/{token_id}", headers=chain.auth("admin")
    )
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    gone = dispatch(client, chain, "ZD", scan)
    assert gone.status_code == 401
    assert gone.get_json()["error"]["message"] == "this token was revoked"
    assert count(db, Dispatch) == 0


@SQLITE_ONLY
def test_broken_requests_are_json_errors(client, chain, settings):
    auth = chain.auth("HQ")
    cases = [
        (client.post("/api/v1/dispatch", data="{", headers=auth, content_type="application/json"),
         400),
        (client.post("/api/v1/dispatch", data="x", headers=auth), 415),
        (client.post("/api/v1/dispatch", json={"scans": []}, headers=auth), 400),
        (client.post("/api/v1/dispatch", json={"scans": "no"}, headers=auth), 400),
        (client.post("/api/v1/dispatch", json=[1, "a"], headers=auth), 200),
        (client.post("/api/v1/dispatch", json=42, headers=auth), 400),
        (client.get("/api/v1/dispatch", headers=auth), 405),
        (client.post("/api/v1/dispatch", json={"scan_id": "a b"}, headers=auth), 400),
        (client.post(
            "/api/v1/dispatch", json={"scans": [chain.scan("x", "y")] * 1001}, headers=auth
        ), 400),
        (client.post(
            "/api/v1/dispatch", data=b"[" + b" " * 2_000_000 + b"]", headers=auth,
            content_type="application/json",
        ), 413),
    ]  # fmt: skip
    for response, status in cases:
        assert response.status_code == status, response.get_data(as_text=True)
        body = response.get_json()
        assert "error" in body or "results" in body
    listed = cases[4][0].get_json()["results"]
    assert [r["reason"] for r in listed] == ["bad_request", "bad_request"]
    # The consumer API keeps its own small limit.
    assert settings.max_body == 4096


@SQLITE_ONLY
def test_a_database_down_or_keys_unavailable_is_a_json_503_never_a_500(
    chain, settings, runner, tmp_path
):
    from tests.verify_api.support import make_app

    down = make_app(settings.with_(database_url="postgresql+psycopg://postgres@127.0.0.1:1/x"))
    try:
        response = dispatch(down.test_client(), chain, "HQ", chain.scan(chain.serial(1), "ZD"))
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "unavailable"
    finally:
        down.extensions["zhenma.verify"].close()
    locked = make_app(settings.with_(keyring_password="not the keyring's password"))
    try:
        client = locked.test_client()
        response = dispatch(client, chain, "HQ", chain.scan(chain.serial(1), "ZD"))
        assert response.status_code == 503  # fail closed: no key, no code accepted
        assert response.get_json()["error"]["message"].startswith("the batch keys cannot be")
        listed = dispatch(client, chain, "HQ", chain.scan(chain.serial(1), "ZD"), chain.scan(
            chain.serial(2), "ZD"))  # fmt: skip
        assert listed.status_code == 503
    finally:
        locked.extensions["zhenma.verify"].close()
    cli_down = runner.env | {"ZHENMA_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    result = type(runner)(cli_down, tmp_path)("distributor", "list", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database failed: connection failed")
    assert "Traceback" not in result.stderr
