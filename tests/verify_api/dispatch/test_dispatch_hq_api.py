"""HQ's API for distributors and device tokens, and the custody report's errors."""

import pytest

from codegen import batches
from tests.verify_api.dispatch.chain import dispatch

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def post(client, chain, path, body, who="admin"):
    return client.post(f"/api/v1{path}", json=body, headers=chain.auth(who))


def test_hq_adds_lists_and_shows_distributors(client, chain):
    body = {"code": "SZ-01", "name": "深圳市代", "level": "市代", "parent": "GD",
            "territory": ["cn-440300"]}  # fmt: skip
    made = post(client, chain, "/distributors", body)
    assert made.status_code == 201
    assert made.get_json() | {"created_at": None} == {
        "code": "SZ-01", "name": "深圳市代", "level": 3, "level_name": "市代", "parent": "GD",
        "territory": ["CN-440300"], "children": [], "created_at": None,
    }  # fmt: skip
    listed = client.get("/api/v1/distributors", headers=chain.auth("viewer")).get_json()
    assert [d["code"] for d in listed["distributors"]] == ["ZD", "GD", "SC", "GZ", "SZ-01"]
    shown = client.get("/api/v1/distributors/GD", headers=chain.auth("viewer")).get_json()
    assert shown["children"] == ["GZ", "SZ-01"]
    assert [t["label"] for t in shown["tokens"]] == ["GD scanner"]
    assert "token" not in shown["tokens"][0] and shown["tokens"][0]["prefix"].startswith("zmd_")
    assert post(client, chain, "/distributors", body, who="viewer").status_code == 403
    assert client.post("/api/v1/distributors", json=body).status_code == 401
    assert client.get("/api/v1/distributors/NOPE", headers=chain.auth("viewer")).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"level": "总督"}, 400,
         "level '总督' is not one of: 1 总代, 2 省代, 3 市代, 4 区代, 5 特约"),
        ({"level": 2}, 400, "parent GD is 省代; a 省代's parent must be higher in the chain"),
        ({"territory": ["CN-510100"]}, 400,
         "territory CN-510100 lies outside the territory of parent GD (CN-440000)"),
        ({"territory": ["CN-440106"]}, 400,
         "region CN-440106 is a district or county; territories go down to cities (CN-440100),"
         " since scan places are resolved to cities at best"),
        ({"territory": ["CN-810000"]}, 400, "region CN-810000: write HK, its ISO 3166-1 code"),
        ({"territory": ["CN-990000"]}, 400, "region CN-990000: 99 is not a mainland province code"),
        ({"territory": ["CN-440100", "CN-440000"]}, 400,
         "region CN-440100 lies inside CN-440000: list only CN-440000"),
        ({"territory": []}, 400, "a territory needs at least one region (such as CN-440000)"),
        ({"territory": "CN"}, 400, "territory: a list of region codes such as CN-440000"),
        ({"code": "GZ"}, 409, "a distributor 'GZ' already exists"),
        ({"code": "hq"}, 400, "HQ is reserved for headquarters; choose another distributor code"),
        ({"code": "a b"}, 400, "distributor code 'a b': 1 to 40 letters, digits, '_', '.' or"
         " '-', starting with a letter or digit"),
        ({"parent": "NOPE"}, 404, "no distributor 'NOPE'"),
        ({"name": " "}, 400, "a distributor name has 1 to 200 characters"),
        ({"name": None}, 400, "name must be a string"),
        ({"level": True}, 400, "level: a level name (省代) or number (2)"),
    ],
)  # fmt: skip
def test_distributor_rules_are_clear_errors(client, chain, change, status, message):
    body = {"code": "FS", "name": "佛山市代", "level": "市代", "parent": "GD",
            "territory": ["CN-440600"]} | change  # fmt: skip
    response = post(client, chain, "/distributors", body)
    assert response.status_code == status
    assert response.get_json()["error"]["message"] == message


def test_device_tokens_are_shown_once_work_and_can_be_revoked(client, chain):
    made = post(client, chain, "/distributors/GZ/tokens", {"label": "门店扫码枪"})
    assert made.status_code == 201
    token = made.get_json()["token"]
    assert token.startswith("zmd_") and len(token) > 40
    assert made.get_json()["prefix"] == token[:10]
    listed = client.get("/api/v1/distributors/GZ/tokens", headers=chain.auth("viewer")).get_json()
    assert token not in str(listed) and len(listed["tokens"]) == 2
    hq_device = post(client, chain, "/distributors/HQ/tokens", {"label": "line 3"}).get_json()
    assert hq_device["distributor"] == "HQ"
    scan = chain.scan(chain.serial(9), "ZD")
    assert client.post(
        "/api/v1/dispatch", json=scan, headers={"Authorization": f"Bearer {hq_device['token']}"}
    ).status_code == 201  # fmt: skip
    token_id = made.get_json()["id"]
    wrong_owner = client.delete(
        f"/api/v1/distributors/GD/tokens/{token_id}", headers=chain.auth("admin")
    )
    assert wrong_owner.status_code == 404
    revoke = client.delete(
        f"/api/v1/distributors/GZ/tokens/{token_id}", headers=chain.auth("admin")
    )
    assert revoke.status_code == 200
    again = client.delete(f"/api/v1/distributors/GZ/tokens/{token_id}", headers=chain.auth("admin"))
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "conflict")
    refused = client.post(
        "/api/v1/dispatch", json=chain.scan(chain.serial(1), "GZ"),
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert refused.status_code == 401
    assert post(client, chain, "/distributors/GZ/tokens", {}).status_code == 400
    assert post(client, chain, "/distributors/GZ/tokens", {"label": ""}).status_code == 400


def test_custody_reports_errors_clearly_and_still_shows_revoked_goods(client, chain, db):
    auth = chain.auth("viewer")
    carton = client.get(f"/api/v1/items/{chain.carton(1)}/custody", headers=auth)
    assert (carton.status_code, carton.get_json()["error"]["code"]) == (400, "not_an_item")
    junk = client.get("/api/v1/items/hello/custody", headers=auth)
    assert (junk.status_code, junk.get_json()["error"]["code"]) == (400, "malformed")
    forged = client.get(f"/api/v1/items/{chain.issued.forged(3)}/custody", headers=auth)
    assert (forged.status_code, forged.get_json()["error"]["code"]) == (422, "counterfeit")
    dispatch(client, chain, "HQ", chain.scan(chain.serial(3), "SC"))
    with db.session() as s:
        batches.revoke(s, chain.issued.batch_id, "召回")
    shown = client.get(f"/api/v1/items/{chain.serial(3)}/custody", headers=auth)
    assert shown.status_code == 200 and shown.get_json()["holder"]["code"] == "SC"
    assert client.get(
        f"/api/v1/items/{chain.serial(3)}/custody", headers=chain.auth("SC")
    ).status_code == 403  # fmt: skip
