"""The service on a Redis Cluster (``ZHENMA_REDIS_CLUSTER``): a private cluster-mode node.

One node holding all 16384 slots is still a cluster: clients must speak the
cluster protocol, and the server refuses a script or a multi-key command whose
keys are in different slots (CROSSSLOT). So the scans, the writer, the analyst's
flags and the activation command all passing here proves the key layout keeps
every such call in one slot; the test also checks that every key the run made
hashes to the one slot of the prefix's tag.
"""

import secrets
import subprocess
import time

import pytest
import redis
from redis.cluster import key_slot
from redis.exceptions import ClusterCrossSlotError
from sqlalchemy import func, select

from tests.conftest import Runner
from tests.verify_api.support import (
    GTIN,
    drain,
    free_cluster_port,
    free_port,
    issue,
    make_app,
    ready,
    verify,
    wait_for_port,
)
from verify_api.redis_link import RedisLink
from zhenma import config
from zhenma.db.models import Scan

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

SHENZHEN = (22.5431, 114.0579)


@pytest.fixture
def cluster_url(tmp_path):
    """A cluster-mode redis-server of this test's own, every slot on it; killed at the end."""
    port = free_cluster_port()
    folder = tmp_path / "redis-cluster"
    folder.mkdir()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--save", "", "--appendonly", "no"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc)
        node = redis.Redis(port=port)
        try:
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        except redis.ResponseError:  # before Redis 7: slots one by one, in chunks
            for first in range(0, 16384, 1024):
                node.execute_command("CLUSTER", "ADDSLOTS", *range(first, first + 1024))
        deadline = time.monotonic() + 30
        while b"cluster_state:ok" not in node.execute_command("CLUSTER", "INFO"):
            assert time.monotonic() < deadline, "the cluster never became ready"
            time.sleep(0.05)
        node.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


@pytest.fixture
def cluster_env(env, cluster_url) -> dict[str, str]:
    return {
        **env,
        "ZHENMA_REDIS_URL": cluster_url,
        "ZHENMA_REDIS_CLUSTER": "on",
        "ZHENMA_REDIS_PREFIX": f"{{zt:{secrets.token_hex(4)}}}:",
        "ZHENMA_REDIS_RETRY_SECONDS": "0.2",
        "ZHENMA_HIDDEN_CODE_TRIES": "2",
        "ZHENMA_METADATA_SECONDS": "0.2",
        "ZHENMA_CLONE_MAX_SCANS": "2",
    }


def scans_stored(db) -> tuple[int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Scan)),
            s.scalar(select(func.count(func.distinct(Scan.stream_id)))),
        )


def test_scans_writer_flags_and_activation_run_on_a_cluster_in_one_slot(
    cluster_env, db, keyring, tmp_path
):
    s = config.load(cluster_env)
    assert s.redis_cluster and s.redis_prefix.startswith("{zt:")
    node = redis.Redis.from_url(s.redis_url)
    with pytest.raises(ClusterCrossSlotError):  # the server's CROSSSLOT
        node.eval("return 1", 2, s.redis_prefix + "scans", "zt:scans")

    issued = issue(db, keyring, s)
    sleeping = issue(db, keyring, s, count=5, active=False)
    ready(s, db)
    app = make_app(s)
    parts = app.extensions["zhenma.verify"]
    assert not parts.recorder.redis._channel.available  # the raw socket follows no redirects
    c = app.test_client()
    answers = []

    def scan(code: str, **extra) -> dict:
        r = verify(c, code, **extra)
        answers.append(r)
        assert "X-Zhenma-Degraded" not in r.headers, r.get_json()
        return r.get_json()

    first, again, clone = issued.items[0], issued.items[1], issued.items[2]
    one = scan(first.serial, lat=SHENZHEN[0], lng=SHENZHEN[1])
    assert (one["verdict"], one["scan_count"]) == ("genuine_first_check", 1)
    two = scan(first.serial, hidden_code=first.hidden_code)
    assert (two["verdict"], two["scan_count"], two["hidden_code_checked"]) == (
        "genuine_checked_before", 2, True,
    )  # fmt: skip
    assert scan(issued.forged(2))["reason"] == "bad_signature"
    wrong = ("0" if again.hidden_code[0] != "0" else "1") + again.hidden_code[1:]
    for _ in range(2):
        assert scan(again.serial, hidden_code=wrong)["reason"] == "hidden_code_wrong"
    throttled = verify(c, again.serial, hidden_code=wrong)
    assert throttled.status_code == 429 and throttled.get_json()["error"]["code"] == "throttled"
    for n in (1, 2, 3):
        assert scan(clone.serial)["scan_count"] == n
    assert scan(sleeping.items[0].serial)["verdict"] == "not_activated"
    assert c.get(f"/01/{GTIN}/21/{first.serial}").status_code == 307  # the product, cached
    recorded = len(answers)

    # A scan written straight to the database while Redis is "down", added to
    # Redis's count by the writer (sync.lua) once Redis is back.
    parts.link.failed()
    direct = verify(c, clone.serial)
    assert direct.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    time.sleep(0.25)

    # The writer stores each scan once; run again, it stores nothing more.
    drain(s, db)
    assert scans_stored(db) == (recorded + 1, recorded)  # the direct one has no stream id
    drain(s, db)
    assert scans_stored(db) == (recorded + 1, recorded)
    cluster = RedisLink(s.redis_url, 5, 0, cluster=True)
    assert cluster.client.xlen(s.redis_prefix + "scans") == 0
    # This web worker wrote a scan directly: its next call asks Redis to resync (a code's
    # direct scans are added before a scan of it is counted there), and the writer
    # clears that once it is done.
    marked = verify(c, clone.serial)
    assert "X-Zhenma-Degraded" not in marked.headers
    assert marked.get_json()["scan_count"] == 5  # three, the direct one, this one
    assert cluster.client.exists(s.redis_prefix + "resync")
    drain(s, db)
    assert not cluster.client.exists(s.redis_prefix + "resync")
    assert scan(clone.serial)["scan_count"] == 6

    # ``zhenma worker --drain``: the writer, then the analyst; its flags reach Redis.
    run = Runner(cluster_env, tmp_path)
    run("worker", "--drain", "--timeout", "60")
    assert scan(first.serial)["first_scan"]["place"] == "CN-440300"
    copied = scan(clone.serial)
    assert (copied["verdict"], copied["reason"]) == ("suspect", "clone")

    # ``zhenma batch activate`` drops the cluster's cached copy of the batch.
    assert cluster.client.exists(s.redis_prefix + f"batch:{sleeping.batch_id}")
    run("batch", "activate", str(sleeping.batch_id))
    assert not cluster.client.exists(s.redis_prefix + f"batch:{sleeping.batch_id}")
    time.sleep(0.3)  # the web worker's in-memory copy expires
    assert scan(sleeping.items[0].serial)["verdict"] == "genuine_first_check"

    # Every key of the run, of every kind, is in the slot of the prefix's tag.
    made = list(cluster.client.scan_iter(match=s.redis_prefix + "*"))
    kinds = {k.decode()[len(s.redis_prefix) :].split(":")[0] for k in made}
    assert kinds == {"ready", "scans", "code", "batch", "product", "tries", "synced"}
    slots = {node.execute_command("CLUSTER", "KEYSLOT", k) for k in made}
    assert slots == {key_slot(s.redis_prefix.encode())}
    app.extensions["zhenma.verify"].close()
    cluster.close()
    node.close()


def test_the_service_starts_and_answers_while_the_cluster_is_down(env, db, keyring):
    """Made eagerly, a RedisCluster client would fail the app's start; it is made at first use."""
    s = config.load({
        **env,
        "ZHENMA_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "ZHENMA_REDIS_CLUSTER": "yes",
        "ZHENMA_REDIS_PREFIX": "{zt}:",
    })  # fmt: skip
    issued = issue(db, keyring, s)
    app = make_app(s)
    r = verify(app.test_client(), issued.items[0].serial)
    assert r.status_code == 200 and r.headers["X-Zhenma-Degraded"] == "redis-unavailable"
    assert r.get_json()["verdict"] == "genuine_first_check"
    app.extensions["zhenma.verify"].close()
