"""Helpers of the verification service's tests (fixtures are in conftest.py)."""

import os
import socket
import subprocess
import time
from dataclasses import dataclass

from codegen import batches
from codegen.derive import BatchCodes, Item
from verify_api import create_app
from verify_api.activation import activate
from verify_api.redis_link import RedisLink
from verify_api.worker import Writer
from zhenma.codes import Code, Kind
from zhenma.config import Settings

GTIN = "06901234567892"
REDIS_URL = os.environ.get("ZHENMA_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class Issued:
    batch_id: int
    items: list[Item]  # items[0] is index 1
    codes: BatchCodes

    def forged(self, index: int = 1) -> str:
        """A serial of this batch with a well-formed check character but a wrong tag."""
        code = Code.parse(self.items[index - 1].serial)
        return Code(Kind.ITEM, code.batch, code.index, code.tag ^ 1).render()


def issue(db, keyring, settings: Settings, count: int = 40, gtin: str = GTIN, active=True):
    with db.session() as s:
        try:
            product = batches.get_product(s, gtin)
        except Exception:
            product = batches.add_product(s, gtin, "真码测试白酒 500ml", "6901234")
        b = batches.create_batch(s, product, count, 10, keyring, settings.verify_base, None)
        batches.mark_complete(s, b.id)
        if active:
            activate(s, b.id, None, None)
        spec = batches.spec_of(b)
    codes = BatchCodes(spec, keyring.batch_secrets(spec.key_id, spec.batch))
    return Issued(spec.batch, codes.items(1, count + 1), codes)


def drain(settings: Settings, db, consumer: str = "test-writer") -> Writer:
    """Run a writer in this process until every scan in the stream is stored."""
    link = RedisLink(settings.redis_url, timeout=5, retry_seconds=0, cluster=settings.redis_cluster)
    writer = Writer(settings, db, link, consumer=consumer)
    writer.run(lambda: False, drain=True, timeout=60)
    link.close()
    return writer


def ready(settings: Settings, db) -> None:
    """What a running writer does first: mark the (empty) Redis state as complete."""
    link = RedisLink(settings.redis_url, timeout=5, retry_seconds=0, cluster=settings.redis_cluster)
    w = Writer(settings, db, link)
    w.ensure_group()
    w.seed()
    w.sync_direct()  # nothing to add: clears the resync marker ``seed`` set
    link.close()


def make_app(settings: Settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def verify(client, code: str, **extra):
    return client.post("/api/v1/verify", json={"code": code, **extra})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_cluster_port() -> int:
    """A free port for a cluster-mode Redis: its cluster bus listens 10,000 higher, so
    the port must be at most 55535 (the kernel hands out ephemeral ports up to 60999)
    and the bus port free too."""
    while True:
        port = free_port()
        if port > 55535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited early: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")
