"""What a run needs in the database, made with the project's own functions, and the supply file.

``seed`` creates, as HQ would: a keyring, a product, a batch (consecutive default
packing into cartons of 24), activated whole; distributors with territories;
device tokens of HQ's warehouse; an HQ viewer user. It then derives the codes the
simulated clients hold, as printed labels, and writes them to ``supply.json`` in
the run folder, split so that no two clients ever share what may be used once:

* the first ``pool`` items (5,000 by default; whole cartons): goods already in the shops. Their
  cartons are dispatched from HQ to the distributors before the run (through
  ``distribution.dispatch.record``, as a device's scan would be), so consumers scan
  goods with a known holder, as in real life. Repeat scans and right hidden codes
  use them; ``warm_up`` scans each once before the run, so repeats are repeats.
  Their consumers are in their distributor's city, but one item in ten turns up in
  another (diverted goods: HQ's alerts to read).
* the next cartons, up to 60 % of all: the warehouse devices dispatch each once
  during the run (chunks of them claimed through ``ledger.claim``);
* the items after those: first scans and wrong hidden codes, each code used once;
* the last ``ATTACK`` items: the hidden-code guessing attack only.
"""

import http.client
import json
import random
import secrets
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from zhenma.codes import Code, Kind

GTIN = "06901234567892"
PRODUCT = "真码压测白酒 500ml"
COMPANY_PREFIX = "6901234"
CARTON_SIZE = 24
POOL = 5_000
ATTACK = 100
FRESH_CHUNK = 100
CARTON_CHUNK = 20
DEVICES = 4
HQ_USER = "load.viewer"
WARM_AGENT = "zhenma-load/warm"
SEEDED = "seed-"  # scan ids of the dispatches made before the run

# Where consumers who share their location are (lat, lng).
CITIES = (
    ("Guangzhou", 23.1291, 113.2644),
    ("Shenzhen", 22.5431, 114.0579),
    ("Chengdu", 30.6595, 104.0657),
    ("Beijing", 39.9042, 116.4074),
    ("Shanghai", 31.2304, 121.4737),
)
# (code, name, level, parent, territory, the city of its shops); HQ ships to each in turn.
DISTRIBUTORS = (
    ("ZD", "华南总代理", "总代", None, "CN", 3),
    ("GD01", "广东省代", "省代", "ZD", "CN-440000", 1),
    ("GZ01", "广州市代", "市代", "GD01", "CN-440100", 0),
    ("SC01", "四川省代", "省代", "ZD", "CN-510000", 2),
    ("CD01", "成都市代", "市代", "SC01", "CN-510100", 2),
)


def seed(env: dict[str, str], folder, items: int, pool: int = POOL) -> dict:
    """Seed the database of ``env`` and write ``folder/supply.json``; returns the supply."""
    from codegen import batches
    from codegen.derive import BatchCodes
    from distribution import distributors
    from keys import Keyring
    from verify_api import hq_users
    from verify_api.activation import activate
    from zhenma import config
    from zhenma.db import Database

    settings = config.load(env)
    db = Database.from_settings(settings)
    try:
        db.upgrade()
        keyring = Keyring.create(settings.keyring_path, settings.keyring_password)
        viewer_password = secrets.token_urlsafe(15)
        with db.session() as s:
            product = batches.add_product(s, GTIN, PRODUCT, COMPANY_PREFIX)
            batch = batches.create_batch(
                s, product, items, CARTON_SIZE, keyring, settings.verify_base, None
            )
            batches.mark_complete(s, batch.id)
            activate(s, batch.id, None, None)
            spec = batches.spec_of(batch)
            levels = settings.distributor_levels
            for code, name, level, parent, region, _ in DISTRIBUTORS:
                distributors.add(s, levels, code, name, level, parent, [region])
            devices = [
                distributors.add_token(s, "device", f"load warehouse scanner {n}").token
                for n in range(1, DEVICES + 1)
            ]
            hq_users.add(s, HQ_USER, viewer_password, "viewer", "压测 viewer")
        codes = BatchCodes(spec, keyring.batch_secrets(spec.key_id, spec.batch))
        supply = _supply(spec, codes, items, pool)
        _ship_pool(db, settings, keyring, supply.pop("shipped"))
    finally:
        db.dispose()
    supply.update(
        devices=devices,
        hq_user={"username": HQ_USER, "password": viewer_password},
        gtin=spec.gtin,
        batch=spec.batch,
        verify_base=spec.verify_base,
        cities=CITIES,
    )
    (folder / "supply.json").write_text(json.dumps(supply))
    return supply


def _supply(spec, codes, items: int, pool_size: int) -> dict:
    size = spec.carton_size
    pool_cartons = -(-pool_size // size)
    warehouse_last = max(pool_cartons + 1, spec.carton_count * 6 // 10)
    fresh_first = warehouse_last * size + 1
    if items - fresh_first + 1 < ATTACK + FRESH_CHUNK * 10:
        raise ValueError(f"{items} items is too few for a run; give at least 20,000")
    receivers = [d[0] for d in DISTRIBUTORS]
    shipped, pool = [], []
    for carton in codes.cartons(1, pool_cartons + 1):
        receiver = DISTRIBUTORS[carton.index % len(DISTRIBUTORS)]
        shipped.append([carton.code, receiver[0]])
        for it in codes.items(carton.item_first, carton.item_last + 1):
            city = receiver[5] if it.index % 10 else (receiver[5] + 2) % len(CITIES)
            pool.append([it.serial, it.hidden_code, city])
    cartons = [
        [c.code, receivers[c.index % len(receivers)]]
        for c in codes.cartons(pool_cartons + 1, warehouse_last + 1)
    ]
    fresh = [[it.serial, it.hidden_code] for it in codes.items(fresh_first, items - ATTACK + 1)]
    attack = [it.serial for it in codes.items(items - ATTACK + 1, items + 1)]
    rng = random.Random(7)
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    forged, typos = [], []
    for serial, _, _ in pool[:2000]:
        c = Code.parse(serial)
        forged.append(Code(Kind.ITEM, c.batch, c.index, c.tag ^ 0x5A5A).render())
        at = rng.randrange(1, len(serial))
        wrong = rng.choice(alphabet.replace(serial[at], ""))
        typos.append(serial[:at] + wrong + serial[at + 1 :])
    return {
        "shipped": shipped,
        "pool": pool,
        "fresh": fresh,
        "fresh_chunk": FRESH_CHUNK,
        "cartons": cartons,
        "carton_chunk": CARTON_CHUNK,
        "attack": attack,
        "forged": forged,
        "typos": typos,
    }


def _ship_pool(db, settings, keyring, shipped: list) -> None:
    """HQ dispatches the pool's cartons a day before the run, as its devices would."""
    from distribution import dispatch

    hq = dispatch.Sender(None, "HQ")
    cache: dict = {}

    def batch_secrets(batch):
        if batch.id not in cache:
            cache[batch.id] = keyring.batch_secrets(batch.key_id, batch.id)
        return cache[batch.id]

    when = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")
    people: dict = {}
    for n, (carton, receiver) in enumerate(shipped):
        raw = {"scan_id": f"{SEEDED}{n}", "code": carton, "to": receiver, "scanned_at": when}
        result = dispatch.record(db, settings, hq, raw, batch_secrets, people)
        if result["status"] != "accepted":
            raise RuntimeError(f"seeding: dispatch of {carton} refused: {result}")


def warm_up(base_url: str, pool: list, threads: int = 8) -> tuple[int, int]:
    """Scan every pool code once through the API: (answered 200, answered degraded)."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    answered, degraded = [], []
    todo = list(enumerate(pool))
    lock = threading.Lock()

    def work() -> None:
        ok = 0
        while True:
            with lock:
                if not todo:
                    break
                n, (serial, _, _) = todo.pop()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": WARM_AGENT,
                "Connection": "close",
                "X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}",
            }
            conn = http.client.HTTPConnection(host, port, timeout=10)
            try:
                conn.request("POST", "/api/v1/verify", json.dumps({"code": serial}), headers)
                answer = conn.getresponse()
                answer.read()
                ok += answer.status == 200
                if answer.getheader("X-Zhenma-Degraded"):
                    degraded.append(serial)
            except OSError:
                pass  # counted as not answered
            finally:
                conn.close()
        answered.append(ok)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(answered), len(degraded)
