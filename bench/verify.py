"""Benchmark of the verification service against a Flask hello-world, in one run.

    .venv/bin/python bench/verify.py [--seconds 10] [--connections 64]

Starts, on loopback, with the project's production settings
(``verify_api/gunicorn_conf.py``: gunicorn, sync workers, one per core):

* the verification service on PostgreSQL and Redis, plus ``zhenma worker``;
* a Flask hello-world app returning a small JSON document, same gunicorn settings;

creates a product and a batch in a scratch database, then drives both servers
from a second process, wrk (Debian's package; installed here when missing), with
a realistic mix of ``POST /api/v1/verify``: 80 % repeat scans of genuine codes,
10 % first scans, 10 % counterfeits (forged tags). It prints the saturating
requests per second of each, their ratio (target >= 0.6), and the p99 latency
of the verification service at 80 % of its saturating rate (target < 50 ms),
paced with wrk's per-connection delay. Everything started is stopped at the end,
and the scratch database and Redis keys are removed.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("ZHENMA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("ZHENMA_BENCH_REDIS", "redis://127.0.0.1:6379/0")
GTIN = "06901234567892"
PASSWORD = "benchmark keyring password"  # noqa: S105  (a scratch keyring, deleted after)

HELLO = """from flask import Flask, jsonify

app = Flask(__name__)


@app.post("/api/v1/verify")
def hello():
    return jsonify(verdict="hello", scan_count=1)
"""

WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local counter = 0
local step = 1
local pause = %(delay)d
function setup(thread)
  counter = counter + 1
  thread:set("start", counter)
end
function init(args)
  counter = tonumber(start) or 1
  step = 2
end
function delay()
  return pause
end
request = function()
  counter = counter + step
  local body = bodies[(counter %% #bodies) + 1]
  return wrk.format("POST", "/api/v1/verify", {["Content-Type"] = "application/json"}, body)
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
    return shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited: {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def prepare(env: dict, count: int, tmp: Path) -> tuple[list[str], list[str], list[str]]:
    """A product and an activated batch; returns (repeat, first, forged) serials."""
    from codegen import batches
    from codegen.derive import BatchCodes
    from keys import Keyring
    from verify_api.activation import activate
    from zhenma import config
    from zhenma.codes import Code, Kind
    from zhenma.db import Database

    settings = config.load(env)
    db = Database.from_settings(settings)
    db.upgrade()
    keyring = Keyring.create(settings.keyring_path, PASSWORD)
    with db.session() as s:
        product = batches.add_product(s, GTIN, "真码演示白酒 500ml", "6901234")
        b = batches.create_batch(s, product, count, 24, keyring, settings.verify_base, None)
        batches.mark_complete(s, b.id)
        activate(s, b.id, None, None)
        spec = batches.spec_of(b)
    codes = BatchCodes(spec, keyring.batch_secrets(spec.key_id, spec.batch))
    serials = [item.serial for item in codes.items(1, count + 1)]
    db.dispose()
    repeat, first = serials[:2000], serials[2000:]
    forged = []
    for serial in serials[:2000]:
        c = Code.parse(serial)
        forged.append(Code(Kind.ITEM, c.batch, c.index, c.tag ^ 0x5A5A).render())
    return repeat, first, forged


def write_bodies(path: Path, repeat, first, forged, lines: int) -> None:
    """The request mix, in order: 8 repeats, 1 first scan, 1 counterfeit per 10 lines."""
    out = []
    for i in range(lines):
        kind = i % 10
        if kind == 8:
            serial = first[(i // 10) % len(first)]
        elif kind == 9:
            serial = forged[(i // 10) % len(forged)]
        else:
            serial = repeat[(i * 7919) % len(repeat)]
        out.append(json.dumps({"code": serial}))
    path.write_text("\n".join(out) + "\n")


def wrk(binary: str, port: int, script: Path, seconds: int, connections: int) -> dict:
    result = subprocess.run(
        [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    text = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)

    def pct(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", text)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rate": rate, "total": total, "p50": pct("50"), "p99": pct("99"),
            "non2xx": int(bad.group(1)) if bad else 0,
            "errors": errors.group(1) if errors else ""}  # fmt: skip


def cpu_seconds(procs: dict[str, list]) -> dict[str, float]:
    """CPU time used so far by each group of processes (and their children)."""
    import psutil

    out = {}
    for name, roots in procs.items():
        total = 0.0
        for root in roots:
            try:  # gunicorn's workers are the master's children; postgres's are listed
                tree = [root, *root.children(recursive=True)] if name == "gunicorn" else [root]
            except psutil.NoSuchProcess:
                continue
            for proc in tree:
                try:
                    t = proc.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    pass
        out[name] = total
    return out


def others(dbname: str) -> dict[str, list]:
    """Redis, and PostgreSQL's own processes plus the backends of our scratch database
    (backends of other databases belong to whatever else runs on the machine)."""
    import psutil

    found: dict[str, list] = {"redis": [], "postgres": []}
    for proc in psutil.process_iter(["name", "cmdline"]):
        name, cmdline = proc.info["name"], " ".join(proc.info["cmdline"] or ())
        if name == "redis-server":
            found["redis"].append(proc)
        elif name == "postgres" and (dbname in cmdline or "(" not in cmdline):
            found["postgres"].append(proc)
    return found


def measured(binary: str, port: int, path: Path, args, group: dict) -> tuple[dict, dict]:
    """One saturating wrk run, and the CPU each process group spent per request."""
    before = cpu_seconds(group)
    result = wrk(binary, port, path, args.seconds, args.connections)
    after = cpu_seconds(group)
    return result, {k: 1e6 * (after[k] - before[k]) / result["total"] for k in after}


def script(tmp: Path, bodies: Path, delay_ms: int) -> Path:
    path = tmp / f"mix-{delay_ms}.lua"
    path.write_text(WRK_SCRIPT % {"bodies": bodies, "delay": delay_ms})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary = ensure_wrk()

    from sqlalchemy import create_engine, func, select, text

    tmp = Path(tempfile.mkdtemp(prefix="zhenma-bench-"))
    dbname = f"zbench_{secrets.token_hex(4)}"
    prefix = f"zbench:{secrets.token_hex(4)}:"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    env = {
        **os.environ,
        "ZHENMA_INSTANCE": str(tmp / "instance"),
        "ZHENMA_DATABASE_URL": f"{PG_SERVER}/{dbname}",
        "ZHENMA_REDIS_URL": REDIS_URL,
        "ZHENMA_REDIS_PREFIX": prefix,
        "ZHENMA_KEYRING_PASSWORD": PASSWORD,
        "ZHENMA_VERIFY_BASE": "https://verify.zhenma.example",
    }
    procs: list[subprocess.Popen] = []
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "-c", "python:verify_api.gunicorn_conf"]
    try:
        print(f"preparing a batch of {args.items} items ...", file=sys.stderr)
        repeat, first, forged = prepare(env, args.items, tmp)
        bodies = tmp / "bodies.txt"
        write_bodies(bodies, repeat, first, forged, lines=10 * len(first))
        worker = subprocess.Popen([str(ROOT / ".venv/bin/zhenma"), "worker"], env=env, cwd=ROOT,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        procs.append(worker)
        (tmp / "hello.py").write_text(HELLO)
        ports = {"verify": free_port(), "hello": free_port()}
        servers = {
            "verify": subprocess.Popen(
                [*gunicorn, "--bind", f"127.0.0.1:{ports['verify']}", "wsgi:app"],
                env=env, cwd=ROOT, stderr=subprocess.DEVNULL),
            "hello": subprocess.Popen(
                [*gunicorn, "--bind", f"127.0.0.1:{ports['hello']}", "--chdir", str(tmp),
                 "hello:app"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL),
        }  # fmt: skip
        procs.extend(servers.values())
        for name, port in ports.items():
            wait_for(port, servers[name])
        # Warm up: every repeat code scanned once (caches filled, counts exist).
        warm = tmp / "warm.txt"
        warm.write_text("\n".join(json.dumps({"code": s}) for s in repeat) + "\n")
        answered = wrk(binary, ports["verify"], script(tmp, warm, 0), 3, 16)["total"]
        wrk(binary, ports["hello"], script(tmp, warm, 0), 2, 16)

        import psutil

        full = script(tmp, bodies, 0)
        hello_group = {"gunicorn": [psutil.Process(servers["hello"].pid)]}
        verify_group = {"gunicorn": [psutil.Process(servers["verify"].pid)],
                        "worker": [psutil.Process(worker.pid)], **others(dbname)}  # fmt: skip
        # Rounds of hello then verify, back to back: the ratio of each round is
        # measured under the same conditions; the median of rounds is reported.
        rounds = []
        for _ in range(args.rounds):
            hello, hello_us = measured(binary, ports["hello"], full, args, hello_group)
            verify, per_request = measured(binary, ports["verify"], full, args, verify_group)
            answered += verify["total"]
            rounds.append((hello, verify, hello_us, per_request))
        rounds.sort(key=lambda r: r[1]["rate"] / r[0]["rate"])
        hello, verify, hello_us, per_request = rounds[len(rounds) // 2]
        target = 0.8 * statistics.median(r[1]["rate"] for r in rounds)
        # Pace each connection with wrk's delay so the offered rate is about 80 % of
        # the saturating one: rate = connections / (latency + delay); calibrate once.
        conns = 16
        delay = max(1, round(1000 * conns / target) - 2)
        paced = wrk(binary, ports["verify"], script(tmp, bodies, delay), 5, conns)
        answered += paced["total"]
        latency = 1000 * conns / paced["rate"] - delay
        delay = max(1, round(1000 * conns / target - latency))
        paced = wrk(binary, ports["verify"], script(tmp, bodies, delay), args.seconds, conns)
        answered += paced["total"]

        # Every answered scan must reach the database through the stream.
        for sig_proc in servers.values():
            sig_proc.send_signal(signal.SIGTERM)
        engine = create_engine(env["ZHENMA_DATABASE_URL"])
        from zhenma.db.models import Scan

        stored, last = None, -1
        for _ in range(120):
            with engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(Scan)).scalar()
                direct = conn.execute(
                    select(func.count()).select_from(Scan).where(Scan.stream_id.is_(None))
                ).scalar()
            if stored == last:
                break
            last = stored
            time.sleep(1)
        engine.dispose()

        ratio = verify["rate"] / hello["rate"]
        for i, (h, v, _, _) in enumerate(rounds):
            print(f"round {i + 1}: hello {h['rate']:.0f} req/s, verify {v['rate']:.0f} req/s, "
                  f"ratio {v['rate'] / h['rate']:.2f}")  # fmt: skip
        print("median round:")
        print(f"hello-world   {hello['rate']:8.0f} req/s   p99 {hello['p99']:.1f} ms")
        print(f"verify (mix)  {verify['rate']:8.0f} req/s   p99 {verify['p99']:.1f} ms   "
              f"non-2xx {verify['non2xx']}")  # fmt: skip
        print(f"ratio         {ratio:8.2f}   (target >= 0.6)")
        print(
            f"at 80 %       {paced['rate']:8.0f} req/s (aimed at {target:.0f}): "
            f"p50 {paced['p50']:.1f} ms, p99 {paced['p99']:.1f} ms   (target < 50 ms)"
        )
        # wrk does not count requests still in flight when it stops; the server does.
        print(f"scans stored: {stored} (responses wrk counted: {answered}), of which "
              f"{direct} written directly because Redis did not answer in time")  # fmt: skip
        print(f"CPU per hello request at saturation (us): gunicorn {hello_us['gunicorn']:.0f}")
        print("CPU per verify request at saturation (us): "
              + ", ".join(f"{k} {v:.0f}" for k, v in per_request.items()))  # fmt: skip
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
