"""The stream writer and every fault promise: no acknowledged scan is lost, none stored twice.

Each promise is broken on purpose: a writer killed mid-stream, a writer that
committed but died before acknowledging, a web worker killed right after
answering, Redis killed and restarted, Redis unreachable, Redis emptied.
"""

import json
import signal
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import redis
from sqlalchemy import func, select

from tests.conftest import Runner
from tests.verify_api.support import drain, free_port, make_app, ready, verify, wait_for_port
from verify_api.redis_link import Keys, RedisLink
from verify_api.scans import DatabaseStore
from verify_api.worker import Writer
from zhenma.db import Database
from zhenma.db.models import CodeState, Scan

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def scan_rows(db) -> tuple[int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Scan)),
            s.scalar(select(func.count(func.distinct(Scan.stream_id)))),
        )


def counted_total(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.coalesce(func.sum(CodeState.scan_count), 0)))


def resync_marked(s) -> bool:
    """Whether the resync marker is set in the Redis of settings ``s``."""
    client = redis.Redis.from_url(s.redis_url)
    try:
        return bool(client.exists(Keys(s.redis_prefix).resync))
    finally:
        client.close()


def stored_then_lost(c, serial: str, s, db) -> None:
    """Three scans of ``serial``, stored by the writer; then Redis loses all its data."""
    for _ in range(3):
        verify(c, serial)
    drain(s, db)
    client = redis.Redis.from_url(s.redis_url)
    client.delete(*client.scan_iter(match=s.redis_prefix + "*"))
    client.close()


def redis_env(env: dict, s) -> dict:
    return {
        **env,
        "ZHENMA_REDIS_URL": s.redis_url,
        "ZHENMA_REDIS_PREFIX": s.redis_prefix,
        "ZHENMA_WORKER_CLAIM_IDLE_MS": "300",
    }


@pytest.fixture
def rapp(redis_settings, db):
    ready(redis_settings, db)
    app = make_app(redis_settings)
    yield app
    app.extensions["zhenma.verify"].close()


def test_scans_travel_the_stream_into_the_database_with_their_facts(
    rapp, redis_settings, db, issued
):
    c = rapp.test_client()
    verify(c, issued.items[0].serial, lat=23.1291, lng=113.2644)
    verify(c, issued.items[0].serial)
    verify(c, issued.forged(2))
    assert scan_rows(db) == (0, 0)  # nothing written on the hot path
    drain(redis_settings, db)
    with db.session() as s:
        rows = s.scalars(select(Scan).order_by(Scan.scanned_at, Scan.id)).all()
        assert [r.verdict for r in rows].count("genuine_first_check") == 1
        assert sorted(r.verdict for r in rows) == [
            "counterfeit", "genuine_checked_before", "genuine_first_check",
        ]  # fmt: skip
        located = next(r for r in rows if r.lat is not None)
        assert (located.lat, located.lng) == (23.1291, 113.2644)
        assert all(r.ip_prefix == "127.0.0.0/24" and len(r.ip_hash) == 32 for r in rows)
        assert all(r.stream_id for r in rows)
        assert all(r.place_source is None for r in rows)  # places: the next issue
        state = s.get(CodeState, issued.items[0].serial)
        assert state.scan_count == 2 and state.first_lat == 23.1291
    assert (
        redis.Redis.from_url(redis_settings.redis_url).xlen(redis_settings.redis_prefix + "scans")
        == 0
    )


def test_writer_that_committed_but_died_before_acknowledging_stores_nothing_twice(
    rapp, redis_settings, db, issued
):
    c = rapp.test_client()
    for item in issued.items[:5]:
        verify(c, item.serial)
    link = RedisLink(redis_settings.redis_url, timeout=5, retry_seconds=0)
    dead = Writer(redis_settings, db, link, consumer="dead")
    dead.ensure_group()
    reply = link.client.xreadgroup(dead.keys.group, "dead", {dead.keys.stream: ">"}, count=3)
    dead.commit(reply[0][1])  # stored, then "died": never acknowledged
    assert scan_rows(db) == (3, 3)
    time.sleep(0.4)  # longer than the claim time: the live writer takes them over
    drain(redis_settings, db, consumer="alive")
    assert scan_rows(db) == (5, 5)
    assert counted_total(db) == 5
    assert link.client.xpending(dead.keys.stream, dead.keys.group)["pending"] == 0
    link.close()


def test_the_worker_runs_at_the_configured_niceness(redis_settings, db, env, tmp_path):
    """Beside the web workers on one machine, consumers' answers come first."""
    run = Runner({**redis_env(env, redis_settings), "ZHENMA_WORKER_NICE": "7"}, tmp_path)
    worker = run.popen("worker")
    nice, deadline = 0, time.monotonic() + 60
    while nice != 7 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        nice = psutil.Process(worker.pid).nice()
    worker.terminate()
    worker.communicate(timeout=60)
    assert nice == 7


def test_writer_killed_mid_stream_then_restarted_loses_nothing(
    rapp, redis_settings, db, issued, env, tmp_path
):
    c = rapp.test_client()
    total = 600
    for i in range(total):
        verify(c, issued.items[i % 40].serial)
    run = Runner({**redis_env(env, redis_settings), "ZHENMA_WORKER_BATCH": "10"}, tmp_path)
    first = run.popen("worker")
    deadline = time.monotonic() + 60
    # Killed as soon as its first batches are committed: sixty batches of ten, so
    # almost surely mid-stream (the assertions hold wherever it is killed).
    while scan_rows(db)[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    stored_before = scan_rows(db)[0]
    assert stored_before > 0
    run("worker", "--drain", "--timeout", "120")
    assert scan_rows(db) == (total, total)
    assert counted_total(db) == total


def test_web_worker_killed_right_after_answering_loses_no_scan(
    redis_settings, db, issued, env, tmp_path
):
    ready(redis_settings, db)
    port = free_port()
    run = Runner(redis_env(env, redis_settings), tmp_path)
    server = run.popen("serve", "--port", str(port))
    try:
        wait_for_port(port, server)
        for item in issued.items[:10]:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/verify",
                data=json.dumps({"code": item.serial}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert json.load(response)["verdict"] == "genuine_first_check"
    finally:
        server.send_signal(signal.SIGKILL)  # no chance to flush anything
        server.communicate()
    run("worker", "--drain", "--timeout", "60")
    assert scan_rows(db) == (10, 10)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own (AOF, fsync always), which the test may kill and restart."""
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--dir", str(folder)]  # fmt: skip

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
            wait_for_port(port, self.proc)

        def kill(self):
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    server = Server()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.kill()


def test_redis_killed_and_restarted_loses_no_scan_and_keeps_counting(
    private_redis, settings, db, issued
):
    s = settings.with_(
        redis_url=private_redis.url, redis_retry_seconds=0.05, worker_claim_idle_ms=300
    )
    ready(s, db)
    app = make_app(s)
    c = app.test_client()
    serial = issued.items[0].serial
    assert verify(c, serial).get_json()["scan_count"] == 1
    assert verify(c, serial).get_json()["scan_count"] == 2
    drain(s, db)  # the running writer has stored these two
    assert verify(c, serial).get_json()["scan_count"] == 3  # acknowledged, not yet stored
    private_redis.kill()
    down = verify(c, serial)  # answered from the database, stored there at once
    assert down.status_code == 200
    assert down.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    assert down.get_json()["verdict"] == "genuine_checked_before"
    assert scan_rows(db)[0] == 3
    private_redis.start()  # the AOF brings back the counts and the unstored stream entry
    drain(s, db)  # stores that entry, and adds the direct scan to Redis's count
    assert scan_rows(db) == (4, 3)  # three from the stream, one direct (no stream id)
    assert counted_total(db) == 4
    back = verify(c, serial)  # this web worker wrote directly: Redis is told to resync first
    assert "X-Zhenma-Degraded" not in back.headers
    assert back.get_json()["scan_count"] == 5  # Redis, told of the direct scan, has them all
    assert resync_marked(s)
    drain(s, db)  # the writer has nothing left to add: it clears the marker
    assert not resync_marked(s)
    again = verify(c, serial)
    assert "X-Zhenma-Degraded" not in again.headers
    assert again.get_json()["scan_count"] == 6
    app.extensions["zhenma.verify"].close()


def test_a_code_first_checked_while_redis_was_down_is_not_first_again_after(
    private_redis, settings, db, issued
):
    """The first check went to the database; Redis, back, has never seen the code. Until
    the writer has added the direct scans to Redis, a web worker adds a code's before it
    counts a scan of it there."""
    s = settings.with_(redis_url=private_redis.url, redis_retry_seconds=0.05)
    ready(s, db)
    app = make_app(s)
    c = app.test_client()
    fresh = issued.items[0].serial
    private_redis.kill()
    down = verify(c, fresh)
    assert down.get_json()["verdict"] == "genuine_first_check"
    assert down.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    private_redis.start()  # with its AOF: it knows nothing of ``fresh``
    other = make_app(s)  # a second web worker, which never saw Redis away
    c2 = other.test_client()
    time.sleep(0.1)
    other_code = verify(c, issued.items[6].serial)  # c sets the resync marker first
    assert "X-Zhenma-Degraded" not in other_code.headers
    assert other_code.get_json()["verdict"] == "genuine_first_check"
    for n, client in enumerate((c2, c), start=2):  # either web worker knows now
        later = verify(client, fresh)
        assert later.get_json()["verdict"] == "genuine_checked_before"
        assert later.get_json()["scan_count"] == n
        assert "X-Zhenma-Degraded" not in later.headers
    drain(s, db)  # direct scans added to Redis (none twice); the marker cleared
    last = verify(c2, fresh)
    assert "X-Zhenma-Degraded" not in last.headers
    assert last.get_json()["verdict"] == "genuine_checked_before"
    assert last.get_json()["scan_count"] == 4
    with db.session() as session:
        firsts = session.scalar(
            select(func.count())
            .select_from(Scan)
            .where(Scan.serial == fresh, Scan.verdict == "genuine_first_check")
        )
        assert firsts == 1
    app.extensions["zhenma.verify"].close()
    other.extensions["zhenma.verify"].close()


def test_during_a_resync_a_code_whose_first_check_is_still_in_the_stream_is_not_first_again(
    private_redis, settings, db, issued
):
    """Redis knows scans the database does not have yet (the writer's backlog: all of it
    while no writer runs), the database knows the direct ones Redis lacks. During a
    resync neither alone can count a scan: the code's direct scans go to Redis first."""
    s = settings.with_(redis_url=private_redis.url, redis_retry_seconds=0.05)
    ready(s, db)
    app = make_app(s)
    c = app.test_client()
    queued, direct = issued.items[0].serial, issued.items[1].serial
    assert verify(c, queued).get_json()["verdict"] == "genuine_first_check"  # in the stream only
    app.extensions["zhenma.verify"].link.failed()  # Redis "away" for this web worker
    assert verify(c, direct).headers["X-Zhenma-Degraded"] == "redis-unavailable"
    time.sleep(0.1)  # the breaker's retry time: the next call sets the resync marker
    for n in (2, 3):  # no writer has run: the database has no state for ``queued``
        again = verify(c, queued)
        assert again.get_json()["verdict"] == "genuine_checked_before"
        assert again.get_json()["scan_count"] == n
    assert resync_marked(s)
    twice = verify(c, direct)  # its direct scan is added to Redis first, once
    assert twice.get_json()["verdict"] == "genuine_checked_before"
    assert twice.get_json()["scan_count"] == 2
    assert verify(c, direct).get_json()["scan_count"] == 3
    drain(s, db)  # stores the stream, adds nothing twice, clears the marker
    assert verify(c, direct).get_json()["scan_count"] == 4
    assert counted_total(db) == 3 + 3  # ``queued`` 3, ``direct`` 3 (the 4th not stored yet)
    app.extensions["zhenma.verify"].close()


def test_a_code_first_checked_in_redis_just_before_redis_went_away_is_not_first_again(
    private_redis, settings, db, issued
):
    """Its record is still in the stream (no writer runs here; at load, the writer's
    lag): the web worker wrote the first check to ``code_states`` as it answered."""
    s = settings.with_(redis_url=private_redis.url, redis_retry_seconds=60)
    ready(s, db)
    app = make_app(s)
    c = app.test_client()
    serial = issued.items[0].serial
    assert verify(c, serial).get_json()["verdict"] == "genuine_first_check"
    assert scan_rows(db)[0] == 0  # not stored yet
    private_redis.kill()
    down = verify(c, serial)
    assert down.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    assert down.get_json()["verdict"] == "genuine_checked_before"
    private_redis.start()
    drain(s, db)  # stores the stream's first check: the counts add up
    assert counted_total(db) == 2
    with db.session() as session:
        firsts = session.scalars(select(Scan.verdict).where(Scan.serial == serial)).all()
    assert sorted(firsts) == ["genuine_checked_before", "genuine_first_check"]
    app.extensions["zhenma.verify"].close()


def test_a_first_check_is_answered_when_the_database_cannot_note_it(
    rapp, redis_settings, db, issued, caplog
):
    """Noting a first check in the database fails open: the answer stands, and the
    writer stores the check from the stream."""
    recorder = rapp.extensions["zhenma.verify"].recorder
    working = recorder.database
    gone = Database(f"postgresql+psycopg://zhenma@127.0.0.1:{free_port()}/gone")
    recorder.database = DatabaseStore(gone, redis_settings)
    c = rapp.test_client()
    serial = issued.items[0].serial
    first = verify(c, serial)
    assert first.status_code == 200
    assert first.get_json()["verdict"] == "genuine_first_check"
    assert "X-Zhenma-Degraded" not in first.headers
    assert "could not note a first check" in caplog.text
    recorder.database = working
    gone.dispose()
    drain(redis_settings, db)
    with db.session() as session:
        assert session.get(CodeState, serial).scan_count == 1


def test_redis_unreachable_answers_degraded_from_database_and_signature(settings, db, issued):
    s = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_retry_seconds=0.05)
    app = make_app(s)
    c = app.test_client()
    item = issued.items[0]
    first = verify(c, item.serial)
    assert first.status_code == 200
    assert first.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    assert first.get_json()["verdict"] == "genuine_first_check"
    assert verify(c, item.serial).get_json()["scan_count"] == 2
    assert verify(c, issued.forged(3)).get_json()["verdict"] == "counterfeit"  # never fails open
    for _ in range(8):  # the throttle fails open: no lock without Redis
        assert verify(c, item.serial, hidden_code="111111111111").status_code == 200
    assert verify(c, item.serial, hidden_code=item.hidden_code).get_json()["hidden_code_checked"]
    page = c.get(item.url.replace("https://v.zhenma.test/", "/verify/"))
    assert page.status_code == 200
    assert page.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 13
        assert (
            session.scalar(
                select(func.count()).select_from(Scan).where(Scan.redis_synced.is_(False))
            )
            == 13
        )
    app.extensions["zhenma.verify"].close()


def test_redis_that_lost_its_data_is_reseeded_from_the_database(rapp, redis_settings, db, issued):
    c = rapp.test_client()
    serial = issued.items[0].serial
    stored_then_lost(c, serial, redis_settings, db)
    cold = verify(c, serial)
    assert cold.headers["X-Zhenma-Degraded"] == "redis-cold"
    assert cold.get_json()["scan_count"] == 4
    drain(redis_settings, db)  # seeds Redis from code_states, then adds the direct scan
    warm = verify(c, serial)
    assert "X-Zhenma-Degraded" not in warm.headers
    assert warm.get_json()["scan_count"] == 5
    assert warm.get_json()["verdict"] == "genuine_checked_before"


def test_scans_written_directly_after_the_seeding_snapshot_are_counted_too(
    rapp, redis_settings, db, issued
):
    """Seeding reads ``code_states`` in one snapshot; a scan another web worker writes
    straight to the database just after it is in no count. The resync marker that
    seeding sets makes the next scan of that code add it first."""
    c = rapp.test_client()
    serial = issued.items[0].serial
    stored_then_lost(c, serial, redis_settings, db)
    assert verify(c, serial).headers["X-Zhenma-Degraded"] == "redis-cold"  # 4, direct
    link = RedisLink(redis_settings.redis_url, timeout=5, retry_seconds=0)
    writer = Writer(redis_settings, db, link)
    assert writer.seed()  # Redis's count: 3 stored, the direct 4th left to sync_direct
    assert resync_marked(redis_settings)
    away = make_app(redis_settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    late = verify(away.test_client(), serial)  # after the snapshot, straight to the database
    assert late.get_json()["scan_count"] == 5
    after = verify(c, serial)  # adds both direct scans to Redis's count, then counts
    assert "X-Zhenma-Degraded" not in after.headers
    assert after.get_json()["scan_count"] == 6
    drain(redis_settings, db)  # adds nothing twice, clears the marker
    assert not resync_marked(redis_settings)
    assert verify(c, serial).get_json()["scan_count"] == 7
    away.extensions["zhenma.verify"].close()
    link.close()


BUSY_600_MS = """
local t0 = redis.call('TIME')
while true do
  local t = redis.call('TIME')
  if (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 600000 then return 1 end
end
"""


def test_a_redis_reply_lost_after_redis_ran_the_scan_stores_it_once(
    private_redis, settings, db, issued
):
    """Redis runs the scan script but its reply comes after the web worker gave up: the
    scan is then in the stream *and* written straight to the database. It must be
    stored once, counted once in the database, and not added to Redis's count again."""
    s = settings.with_(redis_url=private_redis.url, redis_timeout=0.2, redis_retry_seconds=0.05)
    ready(s, db)
    app = make_app(s)
    c = app.test_client()
    serial = issued.items[0].serial
    assert verify(c, serial).get_json()["scan_count"] == 1
    drain(s, db)
    client = redis.Redis.from_url(private_redis.url)
    # Keep Redis busy for 0.6 s: the scan's script waits behind this one, the web
    # worker gives up after 0.2 s, and Redis runs the scan afterwards all the same.
    busy = threading.Thread(target=client.eval, args=(BUSY_600_MS, 0))
    busy.start()
    time.sleep(0.05)
    late = c.post("/api/v1/verify", json={"code": serial}, headers={"User-Agent": "lost-reply"})
    assert late.status_code == 200
    assert late.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    busy.join()
    time.sleep(0.2)
    assert client.hget(Keys(s.redis_prefix).code(serial), "n") == b"2"
    assert client.xlen(Keys(s.redis_prefix).stream) == 1
    drain(s, db)
    with db.session() as session:
        rows = session.scalars(select(Scan).where(Scan.user_agent == "lost-reply")).all()
        assert len(rows) == 1  # the stream's twin was recognised by its scan key
        assert rows[0].stream_id is not None and rows[0].redis_synced  # Redis counted it
        assert session.get(CodeState, serial).scan_count == 2
    time.sleep(0.1)  # the breaker's retry time
    again = verify(c, serial)
    assert "X-Zhenma-Degraded" not in again.headers
    assert again.get_json()["scan_count"] == 3  # not 4: the lost reply's scan counted once
    client.close()
    app.extensions["zhenma.verify"].close()


def _slow_scan(client, c, serial: str):
    """One scan while Redis is busy for 0.6 s: its reply comes after the 0.2 s timeout."""
    busy = threading.Thread(target=client.eval, args=(BUSY_600_MS, 0))
    busy.start()
    time.sleep(0.05)
    answer = verify(c, serial)
    busy.join()
    return answer


def test_one_slow_redis_call_does_not_send_the_worker_to_the_database(
    private_redis, settings, db, issued
):
    """A timeout now and then is load, not an outage: only three in a row open the breaker."""
    s = settings.with_(redis_url=private_redis.url, redis_timeout=0.2, redis_retry_seconds=60)
    ready(s, db)
    app = make_app(s)
    c = app.test_client()
    client = redis.Redis.from_url(private_redis.url)
    serial = issued.items[0].serial
    assert "X-Zhenma-Degraded" not in verify(c, serial).headers  # keys opened, caches warm
    for _ in range(2):
        assert _slow_scan(client, c, serial).headers["X-Zhenma-Degraded"] == "redis-unavailable"
        assert "X-Zhenma-Degraded" not in verify(c, serial).headers  # the next one uses Redis
    for _ in range(3):
        assert _slow_scan(client, c, serial).headers["X-Zhenma-Degraded"] == "redis-unavailable"
    # Three in a row: the breaker is open, Redis is left alone (60 s here).
    assert verify(c, serial).headers["X-Zhenma-Degraded"] == "redis-unavailable"
    client.close()
    app.extensions["zhenma.verify"].close()


def test_after_a_redis_restart_every_thread_reconnects_at_once(private_redis, settings, db, issued):
    """Each web thread has its own connection: after a restart all are stale. The first
    failure drops them all, so the breaker opens once, not once per thread."""
    s = settings.with_(redis_url=private_redis.url, redis_retry_seconds=0.3)
    ready(s, db)
    app = make_app(s)
    threads = 4
    barrier = threading.Barrier(threads)

    def scan_together(item) -> str | None:
        barrier.wait()  # all four at once: each on its own pool thread, its own connection
        return verify(app.test_client(), item.serial).headers.get("X-Zhenma-Degraded")

    items = issued.items[:threads]
    with ThreadPoolExecutor(threads) as pool:
        assert list(pool.map(scan_together, items)) == [None] * threads
        private_redis.kill()
        private_redis.start()
        first = pool.submit(lambda: verify(app.test_client(), items[0].serial)).result()
        assert first.headers["X-Zhenma-Degraded"] == "redis-unavailable"  # a stale connection
        time.sleep(0.5)  # the breaker's retry time
        # This web worker wrote a scan directly: its next call asks Redis to resync,
        # and the writer, having added that scan, clears the request.
        marked = pool.submit(lambda: verify(app.test_client(), items[1].serial)).result()
        assert "X-Zhenma-Degraded" not in marked.headers
        assert resync_marked(s)
        drain(s, db)
        assert not resync_marked(s)
        assert list(pool.map(scan_together, items)) == [None] * threads
    app.extensions["zhenma.verify"].close()
