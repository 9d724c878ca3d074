"""The commands: ``zhenma distributor``, ``zhenma hq token``, ``zhenma custody``, errors."""

import json

import pytest

from tests.verify_api.dispatch.chain import dispatch

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_distributors_and_tokens_from_the_command_line(runner, cli, issued, client):
    made = runner(
        "distributor", "add", "--code", "ZD9", "--name", "西南总代", "--level", "1",
        "--region", "CN-510000", "--region", "CN-500000",
    )  # fmt: skip
    assert made.stdout.split() == [
        "ZD9", "总代", "parent=HQ", "territory=CN-500000,CN-510000", "西南总代",
    ]  # fmt: skip
    cli("distributor", "add", "--code", "CD9", "--name", "成都市代", "--level", "市代",
        "--parent", "ZD9", "--region", "CN-510100")  # fmt: skip
    listed = cli("distributor", "list", "--json").out.splitlines()
    assert [json.loads(line)["code"] for line in listed] == ["ZD", "ZD9", "GD", "SC", "CD9", "GZ"]
    token = cli("distributor", "token", "add", "CD9", "--label", "仓库 1")
    assert token.out.startswith("zmd_") and len(token.out.split()) == 1
    assert "store it now" in token.err
    shown = cli("distributor", "show", "ZD9").out
    assert "children: CD9" in shown
    hq = cli("hq", "token", "add", "--role", "viewer", "--label", "报表").out.strip()
    assert hq.startswith("zmh_")
    assert "role=viewer" in cli("hq", "token", "list").out
    response = client.get("/api/v1/distributors/CD9", headers={"Authorization": f"Bearer {hq}"})
    assert response.status_code == 200
    assert [t["label"] for t in response.get_json()["tokens"]] == ["仓库 1"]
    token_id = response.get_json()["tokens"][0]["id"]
    assert cli("distributor", "token", "revoke", str(token_id)).out.strip() == (
        f"token {token_id} revoked"
    )
    assert "revoked" in cli("distributor", "token", "list", "CD9").out
    # Errors: one line, the exit code of its kind, no traceback.
    bad = runner("distributor", "add", "--code", "X1", "--name", "x", "--level", "9",
                 "--region", "CN", check=False)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("error: level '9' is not one of")
    assert "Traceback" not in bad.stderr
    assert cli("distributor", "show", "NOPE", code=3).err.strip() == "error: no distributor 'NOPE'"
    again = cli("distributor", "token", "revoke", str(token_id), code=4)
    assert again.err.strip() == f"error: token {token_id} was already revoked"
    assert "HQ token" in cli("hq", "token", "revoke", "1", code=3).err


def test_custody_and_outbox_from_the_command_line(cli, chain, client):
    dispatch(client, chain, "HQ", chain.scan(chain.carton(1), "ZD", 0))
    dispatch(client, chain, "ZD", chain.scan(chain.serial(2), "GD", 5))
    out = cli("custody", chain.serial(2)).out.splitlines()
    assert out[0].endswith("batch 1 item 2")
    assert "-> ZD  via carton" in out[2] and "-> GD  via item" in out[3]
    assert out[-1] == "held by GD (省代) 广东省代"
    assert cli("custody", chain.carton(1), code=1).err.startswith("error: ")
    listed = cli("outbox", "list")
    assert len(listed.out.splitlines()) == 2 and "pending=2" in listed.err
    assert cli("outbox", "replay", code=2).err  # ids or --parked
    assert cli("outbox", "replay", "--parked").out.strip() == "0 event(s) pending again: -"
    assert cli("outbox", "replay", "99", code=3).err.strip() == "error: no outbox event 99"
