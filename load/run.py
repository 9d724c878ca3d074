"""``python -m load.run`` (``bash load/run.sh``): one load run, start to finish, and its gate.

    bash load/run.sh [--time 60s] [--shape steady|peak] [--users N] [--fault KIND]
                     [--p99-ms 200] [--max-error-rate 0.001] [--out DIR] [--processes N]
    bash load/run.sh --target hello        # how much load Locust itself can make here

Starts the stack (``load.stack``), seeds it (``load.seed``), warms the repeat codes
up, runs Locust headless for the given time with the chosen shape (CSV with full
history and an HTML report into the run folder), injects the fault a third of the
way in, waits for the worker to drain the scan stream and the outbox, checks the
counts (``load.accounting``), writes ``summary.json``, prints the figures, stops
everything, and exits 1 when the gate fails: an error rate or p99 above the bounds
outside the fault's window, a fault not recovered from, or any count that does not
add up. The gate, the options and the choices: docs/load.md.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from . import accounting, chart, faults, seed
from .stack import ROOT, VENV_BIN, Stack, stop_process

DEFAULT_USERS = {"steady": 300, "peak": 1200, "hello": 64}
CLASSES = ["Consumer", "Guesser", "Warehouse", "HqReader"]


def seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: a time such as 60s, 2m, 90")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def options(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="load/run.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--time", type=seconds, default=60.0, help="Locust's run time (60s, 2m)")
    p.add_argument("--shape", choices=("steady", "peak"), default="steady")
    p.add_argument("--users", type=int, help="users held (peak: at the top); default by shape")
    p.add_argument("--wait", type=float, default=1.0, help="a consumer's mean pause, seconds")
    p.add_argument("--fault", choices=faults.KINDS, default="none")
    p.add_argument("--p99-ms", type=float, default=200.0, help="gate: p99 bound (ms)")
    p.add_argument("--max-error-rate", type=float, default=0.001, help="gate: 0.001 is 0.1 %%")
    p.add_argument("--out", type=Path, help="run folder (default load/results/<time>)")
    p.add_argument("--processes", type=int, default=1, help="Locust processes (2 cores here)")
    p.add_argument("--items", type=int, default=240_000, help="items in the seeded batch")
    p.add_argument("--pool", type=int, default=seed.POOL, help="codes of the repeat scans")
    p.add_argument(
        "--target",
        choices=("zhenma", "hello"),
        default="zhenma",
        help="hello: calibrate Locust on a hello-world, same gunicorn settings",
    )
    p.add_argument("--drain-timeout", type=seconds, default=180.0)
    return p.parse_args(argv)


class Monitor(threading.Thread):
    """Every second: the scan stream's length, pending outbox events, the analyst's
    backlog (scans not yet placed and judged), CPU of each part."""

    def __init__(self, stack: Stack, locust: subprocess.Popen):
        super().__init__(daemon=True)
        self.stack, self.locust = stack, locust
        self.samples: list[dict] = []
        self.cpu: dict[tuple[str, int], float] = {}  # last CPU seconds seen per root process
        self.stopping = threading.Event()
        self._redis = self._engine = None
        if stack.target == "zhenma":
            import redis
            from sqlalchemy import create_engine

            self._redis = redis.Redis.from_url(
                stack.redis.url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            self._engine = create_engine(
                stack.env["ZHENMA_DATABASE_URL"],
                pool_pre_ping=True,
                connect_args={"connect_timeout": 2},
            )

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.sample()

    def sample(self) -> dict:
        s = {"t": time.time(), **self.backlog()}
        self.samples.append(s)
        self.measure_cpu()
        return s

    def backlog(self) -> dict:
        out = {"stream": None, "outbox_pending": None, "unplaced": None}
        if self._redis is None:
            return out
        from redis import RedisError
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        with contextlib.suppress(RedisError):  # Redis is down: a gap in the samples
            out["stream"] = self._redis.xlen("zhenma:scans")
        # PostgreSQL is down: a gap too.
        with contextlib.suppress(SQLAlchemyError), self._engine.connect() as conn:
            out["outbox_pending"] = conn.execute(
                text("SELECT count(*) FROM outbox_events WHERE state = 'pending'")
            ).scalar()
            # The partial index ix_scans_unplaced holds exactly these: a cheap count.
            out["unplaced"] = conn.execute(
                text("SELECT count(*) FROM scans WHERE place_source IS NULL")
            ).scalar()
        return out

    def measure_cpu(self) -> None:
        import psutil

        roots = self.stack.component_pids()
        if self.locust.poll() is None:
            roots["locust"] = [self.locust.pid]
        for name, pids in roots.items():
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    self.cpu[(name, pid)] = tree_cpu(psutil.Process(pid))

    def cpu_by_part(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for (name, _), value in self.cpu.items():
            totals[name] = totals.get(name, 0.0) + value
        return totals

    def close(self) -> None:
        self.stopping.set()
        if self._redis is not None:
            self._redis.close()
            self._engine.dispose()


def tree_cpu(proc) -> float:
    """CPU seconds of a process, its reaped children, and its live descendants."""
    import psutil

    def own(p) -> float:
        t = p.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    total = own(proc)
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += own(child)
    return total


def wait_ready(stack: Stack, timeout: float = 60) -> None:
    """Until a writer has run once against Redis (the ``ready`` marker), or the service
    answers degraded (docs/verify.md)."""
    import redis

    client = redis.Redis.from_url(stack.redis.url)
    try:
        deadline = time.monotonic() + timeout
        while not client.exists("zhenma:ready"):
            if time.monotonic() > deadline or stack.worker.proc.poll() is not None:
                raise RuntimeError("zhenma worker did not get Redis ready; see logs/worker.log")
            time.sleep(0.1)
    finally:
        client.close()


def drain(monitor: Monitor, stack: Stack, timeout: float) -> dict:
    """Wait until the worker has stored every scan and delivered every event."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        s = monitor.sample()
        if s["stream"] == 0 and s["outbox_pending"] == 0:
            return {"drained": True, "seconds": round(time.monotonic() - start, 1)}
        if stack.worker.proc.poll() is not None:
            break
        time.sleep(0.5)
    return {"drained": False, "seconds": round(time.monotonic() - start, 1), "last": s}


def start_locust(args, stack: Stack, out: Path, users: int) -> subprocess.Popen:
    classes = ["HelloUser"] if args.target == "hello" else CLASSES
    cmd = [
        str(VENV_BIN / "locust"),
        "-f",
        str(ROOT / "load" / "locustfile.py"),
        "--headless",
        "--host",
        stack.base_url,
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--html",
        str(out / "locust.html"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
        "--exit-code-on-error",
        "0",
    ]
    if args.processes > 1:
        cmd += ["--processes", str(args.processes)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
        "ZHENMA_LOAD_DIR": str(out),
        "ZHENMA_LOAD_SHAPE": "steady" if args.target == "hello" else args.shape,
        "ZHENMA_LOAD_USERS": str(users),
        "ZHENMA_LOAD_SECONDS": str(args.time),
        "ZHENMA_LOAD_WAIT": str(args.wait),
    }
    with (out / "logs" / "locust.log").open("ab") as log:
        return subprocess.Popen(
            [*cmd, *classes],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    users = args.users or DEFAULT_USERS["hello" if args.target == "hello" else args.shape]
    out = args.out or ROOT / "load" / "results" / datetime.now().strftime("%Y%m%d-%H%M%S")
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    stack = Stack(out, args.target)
    locust: subprocess.Popen | None = None
    monitor: Monitor | None = None
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        say(f"run folder {out}")
        stack.start()
        supply = None
        if args.target == "zhenma":
            say(f"seeding: a batch of {args.items} items, distributors, tokens, an HQ viewer")
            supply = seed.seed(stack.env, out, args.items, args.pool)
        stack.start_services()
        if supply is not None:
            wait_ready(stack)
            warm, degraded = seed.warm_up(stack.base_url, supply["pool"])
            say(
                f"warmed up: {warm} of {len(supply['pool'])} repeat codes scanned once"
                f" ({degraded} answered degraded)"
            )
        say(
            f"locust: {args.shape if args.target == 'zhenma' else 'hello'}, {users} users, "
            f"{args.time:.0f} s, fault {args.fault}"
        )
        started = time.time()
        locust = start_locust(args, stack, out, users)
        monitor = Monitor(stack, locust)
        monitor.sample()
        cpu_before = monitor.cpu_by_part()
        monitor.start()
        fault: dict | None = None
        if args.fault != "none":
            time.sleep(args.time / 3)
            say(f"fault: {args.fault} at {time.time() - started:.0f} s")
            fault = faults.inject(args.fault, stack)
            say(f"fault: back after {fault['end'] - fault['start']:.1f} s")
        locust.wait(timeout=args.time + 120)
        ended = time.time()
        cpu_after = monitor.cpu_by_part()
        monitor.stopping.set()
        monitor.join()
        drained = None
        if args.target == "zhenma":
            say("draining: waiting for the worker to store every scan and deliver every event")
            drained = drain(monitor, stack, args.drain_timeout)
        summary = summarise(
            args,
            users,
            out,
            stack,
            monitor,
            fault,
            drained,
            started,
            ended,
            {k: cpu_after.get(k, 0) - cpu_before.get(k, 0) for k in cpu_after},
        )
        (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        chart.write(out)
        print(report(summary))
        return 0 if summary["gate"]["passed"] else 1
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        return 130
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleanup short and leave servers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if locust is not None:
            stop_process(locust, signal.SIGINT if locust.poll() is None else signal.SIGTERM)
        if monitor is not None:
            monitor.close()
        stack.stop()


def summarise(args, users, out, stack, monitor, fault, drained, started, ended, cpu) -> dict:
    requests, dispatches = accounting.read_ledgers(out)
    origin = requests[0][0] if requests else started
    span = (requests[-1][0] - origin) if requests else 0.0
    window = fault and accounting.fault_window(requests, fault, monitor.samples, args.p99_ms)
    outside = requests
    if window:
        lo, hi = window["window"]
        inside = {id(r) for r in accounting.in_window(requests, lo, hi)}
        outside = [r for r in requests if id(r) not in inside]
    speed = accounting.speed(requests, span)
    gated = accounting.latency(outside, span)
    wall = max(ended - started, 1e-9)
    summary = {
        "run": {
            "target": args.target,
            "shape": args.shape,
            "users": users,
            "seconds": args.time,
            "wait": args.wait,
            "fault": args.fault,
            "processes": args.processes,
            "items": args.items,
            "started": started,
            "ended": ended,
            "folder": str(out),
            # As verify_api/gunicorn_conf.py reads them.
            "gunicorn_workers": int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2)),
            "gunicorn_threads": int(os.environ.get("GUNICORN_THREADS", 4)),
        },
        "speed": speed,
        "peak_rps_1s": max(
            (b["requests"] for b in accounting.timeline(requests, origin, [])), default=0
        ),
        "locust": accounting.locust_csv(out),
        "cpu": {
            name: {
                "seconds": round(v, 1),
                "percent_of_a_core": round(100 * v / wall, 1),
                "us_per_request": round(1e6 * v / len(requests)) if requests else None,
            }
            for name, v in sorted(cpu.items())
        },
        "fault": window or None,
        "drain": drained,
        "analyst_backlog": accounting.analyst_backlog(monitor.samples),
        "timeline": accounting.timeline(requests, origin, monitor.samples),
        "timeline_origin": origin,
    }
    problems: list[str] = []
    if not requests:
        problems.append("Locust made no request (see logs/locust.log)")
    if args.target == "zhenma":
        arrivals = [(a.key, a.body, a.accepted_seq is not None) for a in stack.order.arrivals]
        summary["counts"] = accounting.counts(
            stack.env["ZHENMA_DATABASE_URL"], requests, dispatches, arrivals
        )
        summary["attack"] = {
            "guesses": speed["scenarios"].get("verify: guessing attack", {}).get("requests", 0),
            "throttled_429": sum(
                1 for r in requests if r[2] == "verify: guessing attack" and r[4] == 429
            ),
        }
        summary["degraded_answers"] = sum(1 for r in requests if "degraded:" in r[9])
        problems += accounting.problems(summary["counts"])
        if not drained["drained"]:
            problems.append(f"the worker did not drain within {args.drain_timeout:.0f} s")
        if gated["error_rate"] > args.max_error_rate:
            where = " outside the fault's window" if window else ""
            problems.append(
                f"error rate {100 * gated['error_rate']:.3f} %{where} is above "
                f"{100 * args.max_error_rate:.3f} %"
            )
        if gated["p99_ms"] is not None and gated["p99_ms"] > args.p99_ms:
            where = " outside the fault's window" if window else ""
            problems.append(f"p99 {gated['p99_ms']:.0f} ms{where} is above {args.p99_ms:.0f} ms")
        if window and not window["recovered"]:
            problems.append(
                f"requests still failed {accounting.QUIET:.0f} s before the run ended: "
                "not recovered from the fault"
            )
    locust_cpu = summary["cpu"].get("locust", {}).get("percent_of_a_core", 0)
    summary["locust_bottleneck_warning"] = locust_cpu > 80 * args.processes
    # What one core of Locust makes at this rate: its ceiling on this machine (docs/load.md).
    rps = speed["all"]["rps"] or 0
    summary["locust_rps_per_core"] = round(100 * rps / locust_cpu) if locust_cpu else None
    summary["gate"] = {
        "passed": not problems,
        "problems": problems,
        "error_rate": gated["error_rate"],
        "p99_ms": gated["p99_ms"],
        "max_error_rate": args.max_error_rate,
        "p99_bound_ms": args.p99_ms,
        "applies_to": "requests outside the fault's window" if window else "every request",
    }
    return summary


def report(s: dict) -> str:
    run = s["run"]
    lines = [
        f"\n== {run['target']} {run['shape']} run, {run['users']} users, {run['seconds']:.0f}"
        f" s, fault {run['fault']}: {s['run']['folder']}"
    ]
    lines.append(f"{'':28} {'requests':>9} {'rps':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'fail':>6}")

    def row(name, v):
        lines.append(
            f"{name[:28]:28} {v['requests']:>9} {v['rps'] or 0:>8.1f} {v['p50_ms'] or 0:>7.1f}"
            f" {v['p95_ms'] or 0:>7.1f} {v['p99_ms'] or 0:>7.1f} {v['failures']:>6}"
        )

    for name, v in s["speed"]["endpoints"].items():
        row(name, v)
    lines.append("  by scenario:")
    for name, v in s["speed"]["scenarios"].items():
        row("  " + name, v)
    row("all", s["speed"]["all"])
    lines.append(f"busiest second: {s['peak_rps_1s']} requests")
    cpu = ", ".join(f"{k} {v['percent_of_a_core']:.0f} %" for k, v in s["cpu"].items())
    lines.append(f"CPU (of one core, during the run): {cpu}")
    used = s["cpu"].get("locust", {}).get("percent_of_a_core")
    lines.append(
        f"Locust: {s['speed']['all']['rps']} req/s on {used} % of a core, about "
        f"{s['locust_rps_per_core']} req/s per core"
    )
    if s["locust_bottleneck_warning"]:
        lines.append("warning: Locust used most of its core(s): it may be the bottleneck")
    if "counts" in s:
        c, d = s["counts"]["scans"], s["counts"]["dispatch"]
        lines.append(
            f"scans: {c['answered_2xx']} answered 2xx, {c['stored_of_those']} stored, "
            f"{c['missing']} missing, {c['duplicated']} duplicated, {c['verdict_mismatches']} "
            f"verdicts differ; {c['answered_400']} answered 400 ({c['stored_of_400']} stored); "
            f"{c['stored_not_answered']} stored but not answered to Locust; "
            f"{c['stored_directly']} written directly (Redis unavailable)"
        )
        lines.append(
            f"first checks: {c['first_checks_answered']} answered, "
            f"{c['codes_with_two_first_checks_db']} codes with two in the database, "
            f"{c['codes_told_first_twice']} codes told twice; code_states off: "
            f"{c['code_states_off']}"
        )
        lines.append(
            f"dispatch: {d['accepted']} accepted, {d['in_database']} in the database, "
            f"{d['delivered']} delivered, {d['not_delivered']} not delivered, "
            f"{d['delivered_more_than_once']} delivered more than once "
            f"({d['extra_deliveries']} extra deliveries, same key); states {d['events_by_state']}"
        )
        a = s["attack"]
        lines.append(
            f"guessing attack: {a['guesses']} guesses, {a['throttled_429']} answered 429; "
            f"degraded answers: {s['degraded_answers']}"
        )
        dr = s["drain"]
        lines.append(f"drain: {'done' if dr['drained'] else 'NOT done'} in {dr['seconds']} s")
        ab = s["analyst_backlog"]
        lines.append(
            f"analyst backlog (scans not yet judged): max {ab['max']}, at the end {ab['at_end']}"
        )
    f = s["fault"]
    if f:
        back = f["backlog_recovered_s"]
        lines.append(
            f"fault {f['kind']}: down {f['down_s']} s; {f['failures_in_window']} of "
            f"{f['requests_in_window']} requests failed in its window "
            f"({100 * f['error_rate_in_window']:.2f} %), {f['degraded_in_window']} degraded, "
            f"p99 {f['latency_in_window']['p99_ms']} ms; recovered "
            f"{f['time_to_recover_s']} s after it began"
            + ("" if f["recovered"] else " (NOT recovered)")
            + (f"; backlogs normal {back} s after" if back is not None else "; backlogs: n/a")
        )
    g = s["gate"]
    lines.append(
        f"gate ({g['applies_to']}): error rate {100 * g['error_rate']:.3f} % (max "
        f"{100 * g['max_error_rate']:.3f} %), p99 {g['p99_ms']} ms (max {g['p99_bound_ms']:.0f})"
        f": {'PASSED' if g['passed'] else 'FAILED'}"
    )
    lines += [f"  - {p}" for p in g["problems"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
