"""The simulated clients of Zhenma, for Locust (``FastHttpUser``), and the two load shapes.

Started by ``load/run.py`` (never imported by it: Locust patches the standard
library with gevent). Read from the environment:

* ``ZHENMA_LOAD_DIR``: the run folder (``supply.json`` from ``load.seed``, the
  claims, and ``records/`` where each process writes its ledger, ``load.ledger``);
* ``ZHENMA_LOAD_SHAPE`` (``steady`` | ``peak``), ``ZHENMA_LOAD_USERS`` (the user
  count held, for ``peak`` the top), ``ZHENMA_LOAD_SECONDS`` (the run's length);
* ``ZHENMA_LOAD_WAIT`` (1.0): a consumer's mean pause between two requests, seconds.

Users, and what counts as the expected answer (anything else is a Locust failure):

* ``Consumer`` (all users but the four below): repeat scans of pool codes (some as
  Digital Links, some located), first scans of fresh codes, right and wrong hidden
  codes, forged tags, typos and junk. Expected: 200 with the scenario's kind of
  verdict; 400 ``typo``/``malformed`` for typos and junk.
* ``Guesser`` (1): wrong hidden codes from one address, as fast as it may. Expected:
  200 ``counterfeit``, then 429 (counted apart, not an error).
* ``Warehouse`` (2): dispatch scans of fresh cartons to distributors, one or a list of
  five; a failed upload is sent again unchanged later, as a device would. Expected: 201,
  or 200 with every scan accepted.
* ``HqReader`` (1): logs in as the HQ viewer, reads alerts, their counts, a filtered
  list. Expected: 200 (302 for the login).

Every consumer looks like its own client: it sends its own ``X-Forwarded-For``
(the stack runs with ``ZHENMA_PROXY_HOPS=1``) and becomes a new phone, with a new
address, every few scans; without that, the per-client hidden-code throttle would
lock everyone out, as all requests come from 127.0.0.1. Addresses are from
198.18.0.0/15, the range set aside for benchmarks (consumers 198.18/16, the guesser
in 198.19/16); they only travel in a header.

``HelloUser`` (for ``--target hello`` only) posts the same request to the hello-world.
"""

import atexit
import itertools
import json
import os
import random
import secrets
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, LoadTestShape, between, constant, events, task

from load.ledger import Ledger, agent, claim

FOLDER = Path(os.environ.get("ZHENMA_LOAD_DIR", "."))
SHAPE = os.environ.get("ZHENMA_LOAD_SHAPE", "steady")
USERS = int(os.environ.get("ZHENMA_LOAD_USERS", "50"))
SECONDS = float(os.environ.get("ZHENMA_LOAD_SECONDS", "60"))
WAIT = float(os.environ.get("ZHENMA_LOAD_WAIT", "1.0"))
COUNTED = ("genuine_first_check", "genuine_checked_before", "suspect")
VERIFY = "/api/v1/verify"

LEDGER = Ledger(FOLDER)
atexit.register(LEDGER.close)
_tags: dict = {}  # per process: a random prefix and a counter (see new_tag)
_supply: dict | None = None


def supply() -> dict:
    global _supply
    if _supply is None:
        _supply = json.loads((FOLDER / "supply.json").read_text())
    return _supply


def new_tag() -> str:
    """A tag no other request of the run carries: a per-process prefix and a counter.

    ``--processes`` forks after this module is imported, so the prefix (and the
    random generator's state) are made anew in each process that uses them.
    """
    if _tags.get("pid") != os.getpid():
        random.seed()
        _tags.update(pid=os.getpid(), prefix=secrets.token_hex(4), sequence=itertools.count(1))
    return f"{_tags['prefix']}.{next(_tags['sequence'])}"


def address() -> str:
    """A consumer's address in 198.18.0.0/16 (for benchmarks), never .0 or .255; the
    guesser's is in 198.19.0.0/16, so no consumer ever shares its throttled address."""
    n = random.randrange(1 << 16)
    return f"198.18.{n >> 8}.{max(1, min(254, n & 255))}"


@events.init.add_listener
def _own_random(**_kwargs):
    random.seed()  # each process (``--processes`` forks) draws its own addresses and codes


@events.quitting.add_listener
def _close_ledger(**_kwargs):
    LEDGER.close()


@events.test_stop.add_listener
def _flush_ledger(**_kwargs):
    LEDGER.flush()


class Chunks:
    """This user's share of a once-only supply: chunks claimed from every process's common pool."""

    def __init__(self, kind: str, items: list, size: int):
        self.kind, self.items, self.size = kind, items, size
        self.mine: deque = deque()
        self.exhausted = False

    def take(self):
        if not self.mine and not self.exhausted:
            start = claim(FOLDER, self.kind) * self.size
            if start >= len(self.items):
                self.exhausted = True
            self.mine.extend(self.items[start : start + self.size])
        return self.mine.popleft() if self.mine else None


class Client(FastHttpUser):
    abstract = True
    network_timeout = 10.0
    connection_timeout = 5.0

    def call(self, method, path, name, body=None, headers=None, tag="", judge=None, **kw):
        """One request: judged by ``judge(status, json) -> (ok, verdict, note)``, ledgered."""
        start = time.time()
        with self.client.request(
            method, path, name=name, data=body, headers=headers, catch_response=True, **kw
        ) as r:
            ms = (time.time() - start) * 1000
            status = r.status_code or 0
            try:
                data = r.json() if r.content else None
            except ValueError:
                data = None
            ok, verdict, note = (judge or _two_hundred)(status, data)
            if status and r.headers.get("X-Zhenma-Degraded"):
                note = f"{note} degraded:{r.headers['X-Zhenma-Degraded']}".strip()
            if ok:
                r.success()
            else:
                r.failure(f"{status} {verdict or ''} {note}".strip() or "no answer")
        serial = (json.loads(body).get("code", "") if tag and path == VERIFY else "") or ""
        LEDGER.request(
            start,
            ms,
            name,
            f"{method} {path.split('?')[0]}",
            status,
            ok,
            tag,
            verdict,
            serial[-20:],
            note,
        )
        return status, data


def _two_hundred(status, data):
    return status == 200, "", ""


def _error_code(data) -> str:
    return (data or {}).get("error", {}).get("code", "") if isinstance(data, dict) else ""


def expect_verdicts(*verdicts, hidden_checked=None):
    def judge(status, data):
        if status != 200 or not isinstance(data, dict):
            return False, _error_code(data), ""
        verdict = data.get("verdict", "")
        ok = verdict in verdicts
        if hidden_checked is not None and data.get("hidden_code_checked") != hidden_checked:
            ok = False
        return ok, verdict, data.get("reason") or ""

    return judge


def expect_error(*codes):
    def judge(status, data):
        code = _error_code(data)
        return status == 400 and code in codes, code, ""

    return judge


def guess_judge(status, data):
    if status == 429:
        return True, "throttled", "throttled"
    ok, verdict, note = expect_verdicts("counterfeit")(status, data)
    return ok and note == "hidden_code_wrong", verdict, note


class Consumer(Client):
    """A phone scanning labels; a new phone (and address) every few scans."""

    weight = 1
    wait_time = between(0.5 * WAIT, 1.5 * WAIT)

    def on_start(self):
        s = supply()
        self.fresh = Chunks("fresh", s["fresh"], s["fresh_chunk"])
        self.recent: deque = deque(maxlen=20)  # codes this phone scanned first
        self.link = f"{s['verify_base']}/01/{s['gtin']}/21/"
        self.new_phone()

    def new_phone(self):
        self.ip = address()
        self.left = random.randint(3, 12)

    def scan(self, scenario, body, judge):
        tag = new_tag()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": agent(tag),
            "X-Forwarded-For": self.ip,
        }
        _, data = self.call(
            "POST", VERIFY, f"verify: {scenario}", json.dumps(body), headers, tag, judge
        )
        self.left -= 1
        if self.left <= 0:
            self.new_phone()
        return data

    def located(self, body: dict, city: int) -> dict:
        if random.random() < 0.3:
            _, lat, lng = supply()["cities"][city]
            body.update(
                lat=round(lat + random.uniform(-0.05, 0.05), 5),
                lng=round(lng + random.uniform(-0.05, 0.05), 5),
            )
        return body

    @task(60)
    def repeat(self):
        if self.recent and random.random() < 0.1:
            serial, city = random.choice(self.recent), 0
        else:
            serial, _, city = random.choice(supply()["pool"])
        code = self.link + serial if random.random() < 0.2 else serial
        self.scan("repeat", self.located({"code": code}, city), expect_verdicts(*COUNTED))

    @task(8)
    def first(self):
        fresh = self.fresh.take()
        if fresh is None:
            return self.repeat()
        self.recent.append(fresh[0])
        self.scan("first", {"code": fresh[0]}, expect_verdicts(*COUNTED))

    @task(6)
    def hidden_right(self):
        serial, hidden, _ = random.choice(supply()["pool"])
        body = {"code": serial, "hidden_code": f"{hidden[:4]} {hidden[4:8]} {hidden[8:]}"}
        self.scan("hidden right", body, expect_verdicts(*COUNTED, hidden_checked=True))

    @task(2)
    def hidden_wrong(self):
        # Each wrong try on its own fresh code: five on one code would lock that code.
        fresh = self.fresh.take()
        if fresh is None:
            return self.repeat()
        wrong = f"{(int(fresh[1]) + 1) % 10**12:012d}"
        self.scan(
            "hidden wrong", {"code": fresh[0], "hidden_code": wrong}, expect_verdicts("counterfeit")
        )

    @task(8)
    def counterfeit(self):
        self.scan(
            "counterfeit",
            {"code": random.choice(supply()["forged"])},
            expect_verdicts("counterfeit"),
        )

    @task(4)
    def typo(self):
        self.scan("typo", {"code": random.choice(supply()["typos"])}, expect_error("typo"))

    @task(2)
    def junk(self):
        junk = random.choice(("HELLO WORLD", "http://example.com/x", "123456", "扫一扫"))
        self.scan("malformed", {"code": junk}, expect_error("malformed", "typo"))


class Guesser(Client):
    """One client guessing hidden codes: the throttle's 429 is the expected answer."""

    fixed_count = 1
    wait_time = constant(0.2)

    def on_start(self):
        self.ip = "198.19.255.254"
        self.codes = supply()["attack"]

    @task
    def guess(self):
        tag = new_tag()
        body = {
            "code": random.choice(self.codes),
            "hidden_code": f"{random.randrange(10**12):012d}",
        }
        headers = {
            "Content-Type": "application/json",
            "User-Agent": agent(tag),
            "X-Forwarded-For": self.ip,
        }
        self.call(
            "POST", VERIFY, "verify: guessing attack", json.dumps(body), headers, tag, guess_judge
        )


class Warehouse(Client):
    """A scanner of HQ's warehouse dispatching cartons, each carton once, to distributors."""

    fixed_count = 2
    wait_time = between(0.2, 0.6)
    _numbers = itertools.count()

    def on_start(self):
        s = supply()
        devices = s["devices"]
        self.token = devices[next(Warehouse._numbers) % len(devices)]
        self.cartons = Chunks("cartons", s["cartons"], s["carton_chunk"])
        self.retry: deque = deque()  # (due, body, scan ids): sent again unchanged

    @task
    def upload(self):
        if self.retry and self.retry[0][0] <= time.time():
            _, body, tries = self.retry.popleft()
            return self.send(body, tries + 1)
        scans = []
        for _ in range(5 if random.random() < 0.2 else 1):
            carton = self.cartons.take()
            if carton is None:
                break
            scans.append(
                {
                    "scan_id": f"zl-{new_tag()}",
                    "code": carton[0],
                    "to": carton[1],
                    "scanned_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                }
            )
        if not scans:
            return  # the supply is used up: nothing left to dispatch
        self.send(scans[0] if len(scans) == 1 else {"scans": scans}, 1)

    def send(self, body, tries):
        single = "scans" not in body
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token}",
            "User-Agent": "zhenma-load/1 warehouse",
        }
        first = body["scan_id"] if single else body["scans"][0]["scan_id"]
        name = "dispatch: one carton" if single else "dispatch: list of 5"
        status, data = self.call(
            "POST", "/api/v1/dispatch", name, json.dumps(body), headers, first, self.judge
        )
        results = [data] if single and isinstance(data, dict) else (data or {}).get("results", [])
        if status in (200, 201):
            for r in results:
                if r.get("status") == "accepted":
                    LEDGER.dispatched(time.time(), r["scan_id"], r["dispatch_id"])
        elif tries < 10:  # no answer, or 5xx: the device tries again later, same scans
            self.retry.append((time.time() + 2.0, body, tries))

    @staticmethod
    def judge(status, data):
        if not isinstance(data, dict):
            return False, "", ""
        if status == 201 or (status == 200 and "results" not in data):
            return True, "accepted", "duplicate" if data.get("duplicate") else ""
        if status == 200:
            refused = [r.get("reason", "") for r in data["results"] if r["status"] != "accepted"]
            return not refused, "accepted" if not refused else "refused", " ".join(refused)
        return False, _error_code(data), ""


class HqReader(Client):
    """HQ's viewer: logs in once (Argon2id, a session cookie), then reads alerts."""

    fixed_count = 1
    wait_time = between(1, 3)

    def on_start(self):
        self.ip = address()
        self.login()

    def login(self):
        user = supply()["hq_user"]
        body = urlencode({"username": user["username"], "password": user["password"]})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": self.ip}
        self.call(
            "POST",
            "/hq/login",
            "hq: login",
            body,
            headers,
            judge=lambda status, _: (status == 302, "", ""),
            allow_redirects=False,
        )

    def read(self, path, name):
        status, _ = self.call("GET", path, name, headers={"X-Forwarded-For": self.ip})
        if status == 401:
            self.login()

    @task(3)
    def alerts(self):
        self.read("/api/v1/alerts?limit=50", "hq: alerts")

    @task(1)
    def counts(self):
        self.read("/api/v1/alerts/counts", "hq: alert counts")

    @task(1)
    def diverted_in_sichuan(self):
        self.read(
            "/api/v1/alerts?kind=diversion&province=CN-510000&limit=20", "hq: alerts filtered"
        )


class HelloUser(Client):
    """The consumer's request, back to back, against ``load.hello`` (``--target hello``)."""

    wait_time = constant(0)

    @task
    def hello(self):
        tag = new_tag()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": agent(tag),
            "X-Forwarded-For": address(),
        }
        body = json.dumps({"code": "32223222223CF3T8ZV3N"})
        self.call("POST", VERIFY, "hello", body, headers)


class Shape(LoadTestShape):
    """``steady``: the user count within seconds, held. ``peak``: a fifth of it for the first
    15 % of the run, a ramp to all of it within 30 % of the run (45 s at most), held,
    and back to the fifth over the last 15 %."""

    def tick(self):
        t, total, users = self.get_run_time(), SECONDS, USERS
        if t >= total:
            return None
        if SHAPE != "peak":
            return users, max(10.0, users / 3)
        base = max(5, users // 5)
        ramp = min(45.0, 0.3 * total)
        if t < 0.15 * total:
            return base, max(10.0, base / 3)
        if t < 0.85 * total:
            return users, (users - base) / ramp
        return base, (users - base) / (0.1 * total)
