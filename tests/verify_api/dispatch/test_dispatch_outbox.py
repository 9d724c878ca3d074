"""The outbox and its delivery to a real HTTP order system that fails in every way we know.

Each promise is broken on purpose: the order system down, answering 500, taking
events but answering after our timeout, answering slowly, refusing one event; our
worker killed (SIGKILL) while the order system holds its request; several workers
at once. Every event arrives, none is lost, duplicates carry the same key and the
same bytes, and no event about an item arrives before an earlier one was taken.
"""

import json
import signal
import threading
import time
from collections import deque

import pytest
from sqlalchemy import select

from distribution import delivery, outbox
from load.order_system import OrderSystem
from tests.conftest import Runner
from tests.verify_api.dispatch.chain import dispatch
from tests.verify_api.support import free_port
from zhenma.db.models import OutboxEvent

# The rule logic is the same on both databases; PostgreSQL runs the tests that lean on
# its locks, indexes and time types.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SECRET = "order-system-shared-secret-0123456789"


def wait_until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def events(db) -> list[OutboxEvent]:
    with db.session() as s:
        return list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def serials_of(body: bytes) -> set[str]:
    goods = json.loads(body)["goods"]
    return {goods["code"]} if goods["kind"] == "item" else set(goods["serials"])


def assert_order_per_item(server: OrderSystem, db) -> None:
    """No event about an item arrived before every earlier event about it was taken."""
    first_arrival: dict[str, int] = {}
    first_taken: dict[str, int] = {}
    bodies: dict[str, bytes] = {}
    for a in server.arrivals:
        first_arrival.setdefault(a.key, a.seq)
        bodies[a.key] = a.body
        if a.accepted_seq is not None:
            first_taken.setdefault(a.key, a.accepted_seq)
    keys = [e.idempotency_key for e in events(db)]
    for i, earlier in enumerate(keys):
        for later in keys[i + 1 :]:
            if serials_of(bodies[earlier]) & serials_of(bodies[later]):
                assert first_arrival[later] > first_taken[earlier], (earlier, later)


def make_history(client, chain) -> int:
    """22 dispatches whose items overlap: cartons, their items, items then their carton."""
    c1, c2, c3, c4 = (chain.carton(n) for n in (1, 2, 3, 4))
    plan = [("HQ", c1, "ZD"), ("ZD", c1, "GD"), ("GD", chain.serial(3), "GZ"), ("HQ", c2, "SC")]
    plan += [("HQ", chain.serial(i), "ZD") for i in range(21, 31)]
    plan += [("ZD", chain.serial(i), "GD") for i in range(21, 26)]
    plan += [("HQ", c4, "ZD"), ("ZD", c4, "SC")]
    for minute, (sender, code, to) in enumerate(plan):
        response = dispatch(client, chain, sender, chain.scan(code, to, minute))
        assert response.status_code == 201, response.get_json()
    # Carton 3's items went out one by one, but HQ still holds the carton: its scan moves
    # every item recorded in it (the documented rule), in one more event about them all.
    return len(plan) + (dispatch(client, chain, "HQ", chain.scan(c3, "GD", 99)).status_code == 201)


@pytest.fixture
def server():
    order_system = OrderSystem(SECRET, free_port(), slow=0.2, late=1.0)
    yield order_system
    order_system.release.set()
    order_system.stop()


def worker_env(env: dict, server: OrderSystem) -> dict:
    return {
        **env,
        "ZHENMA_ORDER_URL": server.url,
        "ZHENMA_ORDER_SECRET": SECRET,
        "ZHENMA_ORDER_TIMEOUT": "0.5",
        "ZHENMA_OUTBOX_LEASE": "2",
        "ZHENMA_OUTBOX_BACKOFF": "0.05",
        "ZHENMA_OUTBOX_BACKOFF_MAX": "0.3",
        "ZHENMA_OUTBOX_MAX_ATTEMPTS": "1000",
        "ZHENMA_OUTBOX_POLL": "0.05",
    }


def test_every_event_reaches_a_failing_order_system_and_duplicates_share_their_key(
    client, chain, db, env, tmp_path, server
):
    total = make_history(client, chain)
    assert total == 22
    run = Runner(worker_env(env, server), tmp_path)
    # 1. The order system is down: the worker keeps trying, with backoff.
    first = run.popen("worker")
    wait_until(lambda: events(db)[0].attempts >= 2, "the worker tries the dead order system")
    assert "cannot reach the order system" in events(db)[0].last_error
    # 2. It comes up answering 500s, then late, then slowly, then holds one request;
    #    the worker is killed while the order system holds it (and takes it).
    server.script.extend(["500", "500", "500", "timeout", "timeout", "slow", "slow", "hold"])
    server.start()
    assert server.held.wait(60), "the order system never held a request"
    first.send_signal(signal.SIGKILL)
    first.communicate()
    server.release.set()
    # 3. Down again while two new workers start; then up for good, still slow at times.
    server.stop()
    second, third = run.popen("worker"), run.popen("worker")
    tried = sum(e.attempts for e in events(db))
    wait_until(lambda: sum(e.attempts for e in events(db)) > tried + 2, "retries while down")
    server.script.extend(["slow", "500", "slow"])
    server.start()
    wait_until(lambda: all(e.state == "delivered" for e in events(db)), "every event delivered", 90)
    for proc in (second, third):
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode == 0

    stored = events(db)
    assert len(stored) == total
    assert server.accepted_keys() == {e.idempotency_key for e in stored}
    assert all(a.signed for a in server.arrivals)
    by_key: dict[str, set[bytes]] = {}
    for a in server.arrivals:
        by_key.setdefault(a.key, set()).add(a.body)
    assert all(len(bodies) == 1 for bodies in by_key.values())  # the same bytes every time
    taken_twice = [k for k in by_key if sum(a.key == k and a.accepted_seq is not None
                                            for a in server.arrivals) > 1]  # fmt: skip
    assert taken_twice  # the held one (and the late ones): delivered again, same key
    held = next(a for a in server.arrivals if a.answer == "hold")
    assert held.key in taken_twice
    assert_order_per_item(server, db)
    with db.session() as s:
        assert outbox.counts(s) == {"pending": 0, "delivered": total, "parked": 0}


def deliverer(db, settings, server: OrderSystem, **changes) -> delivery.Deliverer:
    s = settings.with_(
        order_url=server.url, order_secret=SECRET, order_timeout=0.5, outbox_lease=2.0,
        outbox_backoff=0.01, outbox_backoff_max=0.02, **changes,
    )  # fmt: skip
    return delivery.Deliverer(db, s)


def drain(d: delivery.Deliverer, db) -> None:
    """Deliver until only events held back by parked ones are left pending."""
    deadline = time.monotonic() + 60
    while True:
        with db.session() as s:
            if not outbox.deliverable(s):
                return
        if time.monotonic() > deadline:
            raise AssertionError("the outbox did not drain")
        if not d.step():
            time.sleep(0.02)


@SQLITE_ONLY
def test_a_refused_event_is_parked_holds_back_its_items_and_is_replayed(
    client, chain, db, settings, server, cli
):
    make_history(client, chain)
    second = events(db)[1]  # carton 1, ZD to GD: refused
    server.by_key[second.idempotency_key] = deque(["400"])
    server.start()
    d = deliverer(db, settings, server)
    drain(d, db)
    stored = events(db)
    states = [e.state for e in stored]
    assert states[1] == "parked" and "HTTP 400" in stored[1].last_error
    assert states[2] == "pending"  # item 3 of carton 1 waits for the parked event
    assert states.count("delivered") == len(stored) - 2
    listed = client.get("/api/v1/outbox?state=parked", headers=chain.auth("viewer")).get_json()
    assert [e["id"] for e in listed["events"]] == [stored[1].id]
    assert listed["counts"] == {"pending": 1, "delivered": len(stored) - 2, "parked": 1}
    shown = cli("outbox", "list", "--state", "parked")
    assert f"{stored[1].id} " in shown.out and "HTTP 400" in shown.out
    assert "parked=1" in shown.err
    assert client.post(
        "/api/v1/outbox/replay", json={"ids": [stored[1].id]}, headers=chain.auth("viewer")
    ).status_code == 403  # fmt: skip
    replayed = cli("outbox", "replay", str(stored[1].id))
    assert replayed.out.strip() == f"1 event(s) pending again: {stored[1].id}"
    drain(d, db)
    assert all(e.state == "delivered" for e in events(db))
    keys = [a.key for a in server.arrivals]
    assert keys.count(stored[1].idempotency_key) == 2  # refused, then replayed: one key
    assert_order_per_item(server, db)
    again = cli("outbox", "replay", str(stored[1].id), code=4)
    assert again.err.startswith("error: ") and "only parked events replay" in again.err


@SQLITE_ONLY
def test_after_the_last_attempt_an_event_is_parked_and_replay_all_sends_it(
    client, chain, db, settings, server
):
    dispatch(client, chain, "HQ", chain.scan(chain.serial(1), "ZD"))
    server.script.extend(["500"] * 3)
    server.start()
    d = deliverer(db, settings, server, outbox_max_attempts=3)
    drain(d, db)
    (event,) = events(db)
    assert (event.state, event.attempts) == ("parked", 3)
    assert event.last_error.startswith("HTTP 500")
    shown = client.get(f"/api/v1/outbox/{event.id}", headers=chain.auth("viewer")).get_json()
    assert shown["payload"]["goods"]["code"] == chain.serial(1)
    assert shown["payload"]["from"]["code"] == "HQ" and shown["payload"]["to"]["code"] == "ZD"
    replayed = client.post("/api/v1/outbox/replay", json={}, headers=chain.auth("admin"))
    assert replayed.get_json() == {"replayed": [event.id]}
    drain(d, db)
    assert events(db)[0].state == "delivered" and len(server.arrivals) == 4


def test_several_workers_deliver_each_event_once_when_all_is_well(
    client, chain, db, settings, server
):
    make_history(client, chain)
    server.start()
    workers = [deliverer(db, settings, server) for _ in range(3)]
    for n, w in enumerate(workers):
        w.owner = f"worker-{n}"
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: all(e.state == "delivered" for e in events(db)), "all delivered")
    finally:
        stop.set()
        for t in threads:
            t.join()
    keys = [a.key for a in server.arrivals]
    assert len(keys) == len(set(keys)) == len(events(db))
    assert_order_per_item(server, db)


def test_the_receiver_check_in_the_docs_accepts_our_signature_and_nothing_else():
    from pathlib import Path

    docs = (Path(__file__).parents[3] / "docs" / "dispatch.md").read_text()
    snippet = docs.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(snippet, "docs/dispatch.md", "exec"), scope)  # noqa: S102 (our own docs)
    check = scope["verify"]
    body = json.dumps({"id": "k", "type": "dispatch"}).encode()
    stamp = int(time.time())
    headers = {
        "X-Zhenma-Timestamp": str(stamp),
        "X-Zhenma-Signature": delivery.sign(SECRET, stamp, body),
    }
    assert check(SECRET, headers, body)
    assert not check(SECRET, headers, body + b" ")
    assert not check("another-secret-of-the-same-length-000", headers, body)
    old = stamp - 3600
    stale = {"X-Zhenma-Timestamp": str(old), "X-Zhenma-Signature": delivery.sign(SECRET, old, body)}
    assert not check(SECRET, stale, body)
