"""``POST /api/v1/pack``: explicit packing over the default, and custody through it."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import func, select

from tests.verify_api.dispatch.chain import dispatch, holder, pack
from tests.verify_api.support import issue
from zhenma.codes import gs1_check_digit
from zhenma.db.models import Dispatch, Packing

# The rule logic is the same on both databases; PostgreSQL runs the tests that lean on
# its locks, indexes and time types.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_explicit_packing_overrides_the_default_and_carton_scans_follow_it(client, chain, db):
    items = [chain.serial(i) for i in (1, 2, 3, 11, 12)]
    done = pack(client, chain, chain.carton(1), items)
    assert done.status_code == 200
    assert done.get_json() | {"operations": None} == {
        "carton": chain.carton(1), "action": "pack", "packed": 2, "unpacked": 7, "items": 5,
        "operations": None,
    }  # fmt: skip
    assert dispatch(client, chain, "HQ", chain.now(chain.carton(1), "ZD")).status_code == 201
    assert dispatch(client, chain, "HQ", chain.now(chain.carton(2), "SC")).status_code == 201
    assert [holder(client, chain, chain.serial(i)) for i in (1, 3, 4, 10, 11, 12, 13, 20)] == [
        "ZD", "ZD", "HQ", "HQ", "ZD", "ZD", "SC", "SC",
    ]  # fmt: skip
    report = client.get(
        f"/api/v1/items/{chain.serial(11)}/custody", headers=chain.auth("viewer")
    ).get_json()
    moves = [
        (c["carton"], c["default"], c["since"] is None, c["until"] is None)
        for c in report["cartons"]
    ]
    assert moves == [(chain.carton(2), True, True, False), (chain.carton(1), False, False, True)]
    with db.session() as s:  # the two touched cartons' 20 items and 2 moves: not the batch
        assert s.scalar(select(func.count()).select_from(Packing)) == 22


def test_an_item_is_never_in_two_cartons_and_unpacking_frees_it(client, chain):
    item = chain.serial(15)
    assert pack(client, chain, chain.carton(1), [item], "add").status_code == 200
    twice = pack(client, chain, chain.carton(3), [item], "add")
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "in_other_carton"
    assert "unpack it first" in twice.get_json()["error"]["message"]
    not_there = pack(client, chain, chain.carton(3), [item], "unpack")
    assert not_there.status_code == 409
    assert not_there.get_json()["error"]["code"] == "not_in_carton"
    out = pack(client, chain, chain.carton(1), [item], "unpack")
    assert out.get_json()["unpacked"] == 1 and out.get_json()["items"] == 10
    assert pack(client, chain, chain.carton(3), [item], "add").get_json()["items"] == 11
    again = pack(client, chain, chain.carton(3), [item], "add").get_json()
    assert again["packed"] == 0  # already in it: nothing to do
    # Repacking a carton: packing it again with another list takes the others out.
    repacked = pack(client, chain, chain.carton(3), [chain.serial(21), item]).get_json()
    assert (repacked["items"], repacked["unpacked"]) == (2, 9)
    dispatch(client, chain, "HQ", chain.now(chain.carton(3), "GD"))
    assert [holder(client, chain, chain.serial(i)) for i in (15, 21, 22)] == ["GD", "GD", "HQ"]


@SQLITE_ONLY
def test_packing_refuses_other_products_foreign_codes_and_goods_not_at_hq(
    client, chain, db, settings, keyring
):
    gtin = "0690123456780"  # another product
    other = issue(db, keyring, settings, count=5, gtin=gtin + str(gs1_check_digit(gtin)))
    mixed = pack(client, chain, chain.carton(1), [chain.serial(1), other.items[0].serial])
    assert mixed.status_code == 400
    assert mixed.get_json()["error"]["code"] == "other_product"
    assert "真码测试白酒" in mixed.get_json()["error"]["message"]
    cases = [
        (pack(client, chain, chain.serial(1), [chain.serial(2)]), 400, "not_a_carton"),
        (pack(client, chain, chain.carton(1), [chain.carton(2)]), 400, "not_an_item"),
        (pack(client, chain, chain.carton(1), [chain.serial(2)] * 2), 400, "bad_request"),
        (pack(client, chain, chain.carton(1), [chain.issued.forged(2)]), 422, "counterfeit"),
        (pack(client, chain, chain.carton(1), []), 400, "bad_request"),
        (pack(client, chain, chain.carton(1), None), 400, "bad_request"),
        (pack(client, chain, chain.carton(1), [1]), 400, "bad_request"),
        (pack(client, chain, chain.carton(1), [chain.serial(2)], "shake"), 400, "bad_request"),
        (pack(client, chain, "B" * 20, [chain.serial(2)]), 400, "typo"),
        (pack(client, chain, "B-1", [chain.serial(2)]), 400, "malformed"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert "item 1 (" in cases[3][0].get_json()["error"]["message"]
    dispatch(client, chain, "HQ", chain.now(chain.serial(35), "ZD"))
    away = pack(client, chain, chain.carton(1), [chain.serial(35)], "add")
    assert away.status_code == 409
    assert away.get_json()["error"]["message"].endswith(
        "was dispatched to ZD; only goods at HQ are packed"
    )
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Packing)) == 0  # all or nothing
    assert (
        client.post(
            "/api/v1/pack", json={"carton": chain.carton(1)}, headers=chain.auth("GD")
        ).status_code
        == 403
    )
    assert client.post(
        "/api/v1/pack", json={"carton": chain.carton(4), "action": "unpack"},
        headers=chain.auth("HQ"),
    ).status_code == 200  # fmt: skip


def test_racing_devices_cannot_both_move_the_same_carton(app, chain, db):
    """Eight devices dispatch one carton at the same moment: exactly one wins."""
    receivers = ["ZD", "GD", "SC", "GZ"] * 2
    barrier = Barrier(len(receivers))

    def send(to: str):
        client = app.test_client()
        barrier.wait()
        return dispatch(client, chain, "HQ", chain.scan(chain.carton(4), to)).status_code

    with ThreadPoolExecutor(len(receivers)) as pool:
        statuses = sorted(pool.map(send, receivers))
    assert statuses == [201] + [409] * 7
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Dispatch)) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_dispatch_does_not_wait_for_rows_that_only_point_at_the_product(app, chain, db):
    """The analyst's open transaction holds a key-share lock on the product (its new
    alert's foreign key): a dispatch of that product goes through meanwhile."""
    from sqlalchemy import text

    pool = ThreadPoolExecutor(1)
    with db.engine.connect() as other:
        tx = other.begin()
        other.execute(text("SELECT id FROM products FOR KEY SHARE"))  # what an FK insert takes
        try:
            sent = pool.submit(
                dispatch, app.test_client(), chain, "HQ", chain.scan(chain.carton(3), "ZD")
            )
            assert sent.result(timeout=10).status_code == 201
        finally:
            tx.rollback()  # frees a dispatch that did wait, so the test ends either way
            pool.shutdown()


def test_holders_of_many_items_at_once_match_one_by_one(client, chain, db):
    """``custody.item_holders`` (the analyst's batch question) answers as ``item_holder``,
    for default cartons, hand-packed ones, item dispatches and times in between."""
    from datetime import UTC, datetime, timedelta

    from distribution import custody
    from zhenma.db.models import Batch

    pack(client, chain, chain.carton(1), [chain.serial(i) for i in (1, 2, 11)])
    assert dispatch(client, chain, "HQ", chain.now(chain.carton(1), "ZD")).status_code == 201
    assert dispatch(client, chain, "HQ", chain.now(chain.carton(2), "SC")).status_code == 201
    assert dispatch(client, chain, "HQ", chain.now(chain.serial(25), "GD")).status_code == 201
    assert dispatch(client, chain, "GD", chain.now(chain.serial(25), "GZ")).status_code == 201
    assert dispatch(client, chain, "HQ", chain.now(chain.carton(3), "ZD")).status_code == 201
    times = [None, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)]
    with db.session() as s:
        batch = s.scalars(select(Batch)).one()
        wanted = [(batch, i, t) for t in times for i in range(1, batch.item_count + 1)]
        together = custody.item_holders(s, wanted)
        alone = [custody.item_holder(s, b, i, t) for b, i, t in wanted]
        assert [d and d.id for d in together] == [d and d.id for d in alone]
        assert sum(d is not None for d in together) > 30  # the rule had something to choose
