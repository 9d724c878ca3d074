"""``POST /api/v1/verify``: every verdict and error status, with Redis and on the database alone."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from codegen import batches
from tests.verify_api.support import issue, make_app, verify
from zhenma.codes import Code, Kind


def test_first_check_then_checked_before_with_count_and_date(client, issued):
    serial = issued.items[0].serial
    first = verify(client, serial)
    assert first.status_code == 200
    body = first.get_json()
    assert body["verdict"] == "genuine_first_check"
    assert body["scan_count"] == 1
    assert body["serial"] == serial and body["gtin"] == "06901234567892"
    assert body["product"]["name"] == "真码测试白酒 500ml"
    again = verify(client, issued.items[0].url).get_json()  # the Digital Link URL works too
    assert again["verdict"] == "genuine_checked_before"
    assert again["scan_count"] == 2
    assert again["first_scan"]["at"] == body["first_scan"]["at"]


def test_hidden_code_right_is_a_full_check_and_wrong_is_counterfeit(client, issued):
    item = issued.items[1]
    right = verify(
        client, item.serial, hidden_code=item.hidden_code[:6] + " " + item.hidden_code[6:]
    )
    assert right.get_json()["verdict"] == "genuine_first_check"
    assert right.get_json()["hidden_code_checked"] is True
    wrong = verify(client, item.serial, hidden_code="000000000000").get_json()
    assert wrong["verdict"] == "counterfeit"
    assert wrong["reason"] == "hidden_code_wrong"
    assert wrong["scan_count"] is None


def test_forged_tag_is_counterfeit(client, issued):
    body = verify(client, issued.forged()).get_json()
    assert body["verdict"] == "counterfeit"
    assert body["reason"] == "bad_signature"


def test_serial_of_a_batch_never_issued_is_unknown_batch(client, issued):
    stranger = Code.sign(b"k" * 32, Kind.ITEM, 4321, 1).render()
    assert verify(client, stranger).get_json()["verdict"] == "unknown_batch"


def test_digital_link_with_another_gtin_is_counterfeit(client, issued):
    url = issued.items[0].url.replace("06901234567892", "06901234567885")
    assert verify(client, url).get_json()["verdict"] == "counterfeit"


def test_typo_is_400_with_hint(client, issued):
    serial = issued.items[0].serial
    i = next(i for i in range(11, 19) if serial[i] != serial[i + 1])
    typo = serial[:i] + serial[i + 1] + serial[i] + serial[i + 2 :]  # an adjacent swap
    response = verify(client, typo)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "typo"
    en = client.post("/api/v1/verify", json={"code": typo}, headers={"Accept-Language": "en"})
    assert "check character" in en.get_json()["error"]["message"]


def test_revoked_batch_says_so_with_the_reason(client, issued, db):
    with db.session() as s:
        batches.revoke(s, issued.batch_id, "印刷厂泄露，已召回")
    client.application.extensions["zhenma.verify"].catalog.forget_batch(issued.batch_id)
    body = verify(client, issued.items[0].serial).get_json()
    assert body["verdict"] == "revoked"
    assert body["detail"] == "印刷厂泄露，已召回"
    assert "印刷厂泄露" in body["message"]


def test_codes_answer_not_activated_until_their_range_is(client, db, keyring, settings):
    from verify_api.activation import activate

    dormant = issue(db, keyring, settings, count=30, active=False)
    assert verify(client, dormant.items[4].serial).get_json()["verdict"] == "not_activated"
    with db.session() as s:
        activate(s, dormant.batch_id, 1, 10)
    client.application.extensions["zhenma.verify"].catalog.forget_batch(dormant.batch_id)
    c = client
    assert verify(c, dormant.items[4].serial).get_json()["verdict"] == "genuine_first_check"
    assert verify(c, dormant.items[10].serial).get_json()["verdict"] == "not_activated"


@pytest.fixture
def strict(mode, request, settings, db):
    """An app whose thresholds are low: three checks, 500 km/h."""
    from tests.verify_api.support import ready

    s = settings.with_(suspect_scans=3, suspect_speed_kmh=500, suspect_min_km=50)
    if mode == "redis":
        s = request.getfixturevalue("redis_settings").with_(
            suspect_scans=3, suspect_speed_kmh=500, suspect_min_km=50
        )
        ready(s, db)
    application = make_app(s)
    yield application.test_client()
    application.extensions["zhenma.verify"].close()


def test_checked_too_often_is_suspect_from_then_on(strict, issued):
    serial = issued.items[2].serial
    verdicts = [verify(strict, serial).get_json()["verdict"] for _ in range(5)]
    assert verdicts == [
        "genuine_first_check",
        "genuine_checked_before",
        "genuine_checked_before",
        "suspect",
        "suspect",
    ]
    assert verify(strict, serial).get_json()["reason"] == "too_often"


def test_checks_from_places_too_far_apart_are_suspect(strict, issued):
    serial = issued.items[3].serial
    guangzhou = {"lat": 23.1291, "lng": 113.2644}
    shenzhen = {"lat": 22.5431, "lng": 114.0579}  # about 100 km: too far for a minute
    urumqi = {"lat": 43.8256, "lng": 87.6168}
    assert verify(strict, serial, **guangzhou).get_json()["verdict"] == "genuine_first_check"
    assert verify(strict, serial, **guangzhou).get_json()["verdict"] == "genuine_checked_before"
    body = verify(strict, serial, **urumqi).get_json()
    assert (body["verdict"], body["reason"]) == ("suspect", "far_apart")
    other = issued.items[4].serial
    verify(strict, other, **guangzhou)
    assert verify(strict, other, **shenzhen).get_json()["reason"] == "far_apart"


def test_exactly_one_of_many_concurrent_first_scans_is_told_first(app, issued):
    serial = issued.items[5].serial
    barrier = Barrier(8)

    def scan(_):
        c = app.test_client()
        barrier.wait()
        return verify(c, serial).get_json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(scan, range(8)))
    verdicts = [a["verdict"] for a in answers]
    assert verdicts.count("genuine_first_check") == 1
    assert sorted(a["scan_count"] for a in answers) == list(range(1, 9))


def test_wrong_hidden_codes_lock_the_code_then_429(app, issued, mode):
    item = issued.items[6]
    c = app.test_client()
    for _ in range(5):
        assert verify(c, item.serial, hidden_code="123456789012").status_code == 200
    locked = verify(c, item.serial, hidden_code=item.hidden_code)  # even the right one, now
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "throttled"
    assert int(locked.headers["Retry-After"]) > 0
    # The QR alone still answers: only hidden-code tries are refused.
    assert verify(c, item.serial).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{}", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "bad_request"),
        ({"json": [1, 2]}, 400, "bad_request"),
        ({"json": {"code": 7}}, 400, "bad_request"),
        ({"json": {"code": "x", "lat": 91, "lng": 0}}, 400, "bad_request"),
        ({"json": {"code": "x", "lat": 10}}, 400, "bad_request"),
        ({"json": {"code": "x", "lat": True, "lng": 1}}, 400, "bad_request"),
        ({"json": {"code": "x", "hidden_code": 123}}, 400, "bad_request"),
        ({"json": {"code": "zz"}}, 400, "malformed"),
        ({"json": {"code": "x" * 5000}}, 413, "too_large"),
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["database"], indirect=True)
def test_every_error_is_one_json_shape_with_its_status(client, kwargs, status, code):
    response = client.post("/api/v1/verify", **kwargs)
    assert response.status_code == status
    assert response.get_json() == {
        "error": {"code": code, "message": response.get_json()["error"]["message"]}
    }
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["database"], indirect=True)
def test_unknown_route_and_wrong_method_are_json_404_and_405(client, issued):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong = client.get("/api/v1/verify")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
    hidden_bad = verify(client, issued.items[0].serial, hidden_code="12")
    assert hidden_bad.status_code == 400
    assert hidden_bad.get_json()["error"]["code"] == "hidden_code_malformed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["database"], indirect=True)
def test_openapi_document_is_valid_and_answers_match_it(client, issued):
    from openapi_schema_validator import OAS31Validator

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    answers = [
        verify(client, issued.items[0].serial, lat=23.1, lng=113.2),
        verify(client, issued.items[0].serial, hidden_code=issued.items[0].hidden_code),
        verify(client, issued.forged()),
    ]
    for response in answers:
        OAS31Validator(schemas["VerifyResponse"]).validate(response.get_json())
    OAS31Validator(schemas["Error"]).validate(verify(client, "nonsense").get_json())


def _nested(inner):
    # A named function, not a lambda: hypothesis inspects extend= to see that it recurses,
    # and that inspection failed now and then on a lambda inside a multi-line expression.
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


junk = st.one_of(
    st.binary(max_size=300).map(lambda b: {"data": b, "content_type": "application/json"}),
    st.text(max_size=200).map(lambda t: {"json": {"code": t}}),
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
        _nested,
        max_leaves=10,
    ).map(lambda v: {"json": v}),
    st.fixed_dictionaries(
        {"code": st.text(max_size=60), "hidden_code": st.text(max_size=20),
         "lat": st.floats(), "lng": st.floats()}
    ).map(lambda d: {"json": d}),
)  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["redis"], indirect=True)
@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kwargs=junk, path=st.sampled_from(["/api/v1/verify", "/01/06901234567892/21/"]))
def test_no_input_however_broken_gives_a_500(client, issued, kwargs, path):
    if path.endswith("/21/"):
        text = (
            kwargs.get("json", {}).get("code", "x") if isinstance(kwargs.get("json"), dict) else "x"
        )
        response = client.get(path + str(text).replace("/", "%2F").replace("?", "%3F"))
    else:
        response = client.post(path, **kwargs)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message"}


def test_one_client_guessing_across_codes_is_locked_per_client(mode, request, settings, db, issued):
    from tests.verify_api.support import ready

    s = settings.with_(hidden_client_tries=3, hidden_code_tries=100)
    if mode == "redis":
        s = request.getfixturevalue("redis_settings").with_(
            hidden_client_tries=3, hidden_code_tries=100
        )
        ready(s, db)
    app = make_app(s)
    c = app.test_client()
    for item in issued.items[10:13]:
        assert verify(c, item.serial, hidden_code="999999999999").status_code == 200
    item = issued.items[13]
    assert verify(c, item.serial, hidden_code=item.hidden_code).status_code == 429
    other = c.post(  # another client
        "/api/v1/verify",
        json={"code": item.serial, "hidden_code": item.hidden_code},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert other.status_code == 200
    app.extensions["zhenma.verify"].close()
