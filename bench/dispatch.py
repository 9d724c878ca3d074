"""Benchmark of dispatch scans and outbox delivery, each against a baseline of the same run.

    .venv/bin/python bench/dispatch.py [--db sqlite|postgresql] [--items 10000000] [--scans 1000]

In a scratch database (SQLite file, or a new PostgreSQL database dropped after) it
makes one batch of ``--items`` codes in cartons of 24 (one row: nothing per item),
a distributor chain and tokens, then measures:

* an upload of ``--scans`` carton scans in one request (``POST /api/v1/dispatch``
  through Flask's test client, no network): scans per second, and rows written;
  baseline: the same number of one-row insert transactions;
* the custody of an item of a dispatched carton (``GET .../custody``), median ms;
* delivery of the resulting events to an order system on loopback (a
  ``ThreadingHTTPServer`` answering 200), with one and with two delivery threads:
  events per second; baseline: bare signed POSTs over one kept-alive connection.
"""

import argparse
import http.client
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from codegen import batches  # noqa: E402
from distribution import delivery, distributors  # noqa: E402
from keys import Keyring  # noqa: E402
from verify_api import create_app  # noqa: E402
from verify_api.activation import activate  # noqa: E402
from zhenma import config  # noqa: E402
from zhenma.codes import Code, Kind  # noqa: E402
from zhenma.db import Database  # noqa: E402
from zhenma.db.models import Counter, Dispatch, OutboxEvent, Packing  # noqa: E402

PG_SERVER = os.environ.get("ZHENMA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PASSWORD = "benchmark keyring password"  # noqa: S105  (a scratch keyring, deleted after)
SECRET = "benchmark-order-system-secret-0123456789"  # noqa: S105


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, as real servers do

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def setup(url: str, tmp: Path, items: int):
    settings = config.load(
        {
            "ZHENMA_INSTANCE": str(tmp),
            "ZHENMA_DATABASE_URL": url,
            "ZHENMA_KEYRING_PASSWORD": PASSWORD,
            "ZHENMA_DISPATCH_MAX_BODY": str(16 << 20),
            "ZHENMA_DISPATCH_MAX_SCANS": "100000",
        }
    )
    db = Database(url)
    db.upgrade()
    ring = Keyring.create(settings.keyring_path, PASSWORD)
    with db.session() as s:
        product = batches.add_product(s, "06901234567892", "基准测试", "6901234")
        batch = batches.create_batch(s, product, items, 24, ring, settings.verify_base, None)
        activate(s, batch.id, None, None)
        levels = settings.distributor_levels
        distributors.add(s, levels, "ZD", "总代", 1, None, ["CN"])
        hq = distributors.add_token(s, "device", "line").token
        viewer = distributors.add_token(s, "hq", "bench", role="viewer").token
        batch_id, cartons = batch.id, batch.carton_count
    return (
        settings,
        db,
        ring.batch_secrets(ring.current_id, batch_id),
        batch_id,
        cartons,
        hq,
        viewer,
    )


def baseline_inserts(db, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        with db.session() as s:
            s.execute(select(Counter.id).limit(1))
            s.add(Counter(name=f"bench-{i}", value=i))
    return n / (time.perf_counter() - start)


def bare_posts(url_port: int, n: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=10)
    body = b'{"id":"x"}' * 40
    start = time.perf_counter()
    for _ in range(n):
        stamp = int(time.time())
        conn.request(
            "POST",
            "/",
            body=body,
            headers={"X-Zhenma-Signature": delivery.sign(SECRET, stamp, body)},
        )
        conn.getresponse().read()
    conn.close()
    return n / (time.perf_counter() - start)


def deliver(db, settings, port: int, threads: int) -> tuple[float, int]:
    s = settings.with_(order_url=f"http://127.0.0.1:{port}/", order_secret=SECRET, outbox_poll=0.01)
    with db.session() as session:
        session.execute(
            OutboxEvent.__table__.update().values(
                state="pending", attempts=0, delivered_at=None, next_attempt_at=datetime.now(UTC)
            )
        )
        total = session.scalar(select(func.count()).select_from(OutboxEvent))
    stop = threading.Event()
    workers = [delivery.Deliverer(db, s, owner=f"bench-{n}") for n in range(threads)]
    start = time.perf_counter()
    running = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in running:
        t.start()
    while True:
        with db.session() as session:
            left = session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.state != "delivered")
            )
        if not left:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    stop.set()
    for t in running:
        t.join()
    return total / elapsed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--items", type=int, default=10_000_000)
    parser.add_argument("--scans", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhenma-bench-"))
    admin, name = None, None
    if args.db == "postgresql":
        name = f"zb_{secrets.token_hex(4)}"
        admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"{PG_SERVER}/{name}"
    else:
        url = f"sqlite:///{tmp}/bench.db"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        settings, db, keys, batch_id, cartons, hq, viewer = setup(url, tmp, args.items)
        app = create_app(settings)
        client = app.test_client()
        at = datetime.now(UTC) - timedelta(hours=1)
        step = max(1, cartons // args.scans)
        scans = [
            {
                "scan_id": f"b-{n}",
                "code": Code.sign(keys.carton_tag, Kind.CARTON, batch_id, 1 + n * step).render(),
                "to": "ZD",
                "scanned_at": (at + timedelta(milliseconds=n)).isoformat(),
            }
            for n in range(args.scans)
        ]
        print(f"{args.db}: batch of {args.items:,} items in {cartons:,} cartons of 24", flush=True)
        base = baseline_inserts(db, args.scans)
        start = time.perf_counter()
        response = client.post(
            "/api/v1/dispatch", json={"scans": scans}, headers={"Authorization": f"Bearer {hq}"}
        )
        rate = args.scans / (time.perf_counter() - start)
        assert response.get_json()["accepted"] == args.scans, response.get_json()
        with db.session() as s:
            rows = s.scalar(select(func.count()).select_from(Dispatch))
            packing_rows = s.scalar(select(func.count()).select_from(Packing))
        print(f"  upload of {args.scans} carton scans: {rate:,.0f} scans/s"
              f" (baseline one-row transactions: {base:,.0f}/s, ratio {rate / base:.2f});"
              f" rows: {rows} dispatches, {packing_rows} packing rows,"
              f" {args.scans * 24:,} items moved")  # fmt: skip
        serial = Code.sign(
            keys.item_tag, Kind.ITEM, batch_id, 1 + (args.scans // 2) * step * 24
        ).render()
        times = []
        for _ in range(200):
            t = time.perf_counter()
            got = client.get(
                f"/api/v1/items/{serial}/custody", headers={"Authorization": f"Bearer {viewer}"}
            )
            times.append((time.perf_counter() - t) * 1000)
        assert got.get_json()["holder"]["code"] == "ZD"
        print(
            f"  custody of an item of a dispatched carton: median {statistics.median(times):.2f} ms"
        )
        bare = bare_posts(port, args.scans)
        for threads in (1, 2):
            rate, total = deliver(db, settings, port, threads)
            print(
                f"  delivery of {total} events, {threads} thread(s): {rate:,.0f} events/s"
                f" (baseline bare signed POSTs: {bare:,.0f}/s, ratio {rate / bare:.2f})"
            )
        app.extensions["zhenma.verify"].close()
        db.dispose()
    finally:
        server.shutdown()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
