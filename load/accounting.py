"""After a run: do the numbers add up, how fast was it, and how did it fare during the fault.

Reads the Locust processes' ledgers (``load.ledger``), the database, and what the
order-system stand-in received, and answers:

* scans: every tag answered 2xx is in ``scans`` exactly once (missing, duplicated),
  with the verdict it was answered with; each code's ``code_states.scan_count``
  equals its counted scans;
* first checks: no code has two ``genuine_first_check`` scans, in the database or
  in the answers Locust saw;
* dispatches: every accepted dispatch is in the database with its outbox event, and
  every dispatch's event reached the stand-in at least once by its idempotency key
  (more than once is allowed, and reported: the key is there for that);
* speed: per endpoint and per scenario, requests per second, p50/p95/p99, failures,
  computed from the ledgers (exact percentiles) outside a fault's window;
* a fault: the window from the fault to the recovery, its error rate, the time to
  recover (no failed and no degraded answer for ``QUIET`` seconds after the part came
  back, and every second of those within the p99 bound), and when the worker's
  backlogs (the scan stream, the outbox) were back to normal.
"""

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import create_engine, text

from . import ledger

SEEDED = "seed-"  # scan ids of the dispatches ``seed`` made before the run
QUIET = 5.0  # seconds without a failed request that count as recovered


def read_ledgers(folder: Path) -> tuple[list[tuple], list[tuple]]:
    """(requests, dispatches): requests as (start, ms, name, endpoint, status, ok, tag,
    verdict, serial, note), dispatches as (at, scan_id, dispatch_id)."""
    requests, dispatches = [], []
    for parts in ledger.read(folder):
        if parts[0] == "R":
            start, ms, name, endpoint, status, ok, tag, verdict, serial, note = parts[1:]
            requests.append(
                (
                    float(start),
                    float(ms),
                    name,
                    endpoint,
                    int(status or 0),
                    ok == "1",
                    tag,
                    verdict,
                    serial,
                    note,
                )
            )
        else:
            dispatches.append((float(parts[1]), parts[2], int(parts[3])))
    requests.sort()
    return requests, dispatches


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def latency(requests: list[tuple], seconds: float) -> dict:
    ms = [r[1] for r in requests]
    failures = sum(not r[5] for r in requests)
    return {
        "requests": len(requests),
        "failures": failures,
        "error_rate": round(failures / len(requests), 6) if requests else 0.0,
        "rps": round(len(requests) / seconds, 1) if seconds > 0 else None,
        "p50_ms": _percentile(ms, 0.50),
        "p95_ms": _percentile(ms, 0.95),
        "p99_ms": _percentile(ms, 0.99),
        "max_ms": round(max(ms), 1) if ms else None,
    }


def speed(requests: list[tuple], seconds: float) -> dict:
    """Per endpoint and per scenario (Locust's request name), and all together."""
    by_endpoint, by_name = defaultdict(list), defaultdict(list)
    for r in requests:
        by_endpoint[r[3]].append(r)
        by_name[r[2]].append(r)
    return {
        "all": latency(requests, seconds),
        "endpoints": {k: latency(v, seconds) for k, v in sorted(by_endpoint.items())},
        "scenarios": {k: latency(v, seconds) for k, v in sorted(by_name.items())},
    }


def timeline(requests: list[tuple], origin: float, samples: list[dict]) -> list[dict]:
    """Per second of the run: requests, failures, p99, and the worker's backlogs."""
    buckets: dict[int, list] = defaultdict(list)
    for r in requests:
        buckets[int(r[0] - origin)].append(r)
    backlog = {}
    for s in samples:
        backlog.setdefault(int(s["t"] - origin), s)
    rows = []
    for second in range(0, max([*buckets, *backlog, 0]) + 1):
        rs = buckets.get(second, [])
        b = backlog.get(second, {})
        rows.append(
            {
                "s": second,
                "requests": len(rs),
                "failures": sum(not r[5] for r in rs),
                "p99_ms": _percentile([r[1] for r in rs], 0.99),
                "stream": b.get("stream"),
                "outbox_pending": b.get("outbox_pending"),
                "unplaced": b.get("unplaced"),
            }
        )
    return rows


def analyst_backlog(samples: list[dict]) -> dict:
    """The analyst's backlog (scans not yet placed and judged for alerts): its largest
    sample, and the last one (taken when the drain ended). The drain does not wait
    for it: alerts tolerate minutes, and the counts do not depend on it."""
    seen = [s["unplaced"] for s in samples if s.get("unplaced") is not None]
    return {"max": max(seen, default=None), "at_end": seen[-1] if seen else None}


def ended(r: tuple) -> float:
    """When a ledger request (``R``) got its answer (or its error), epoch seconds."""
    return r[0] + r[1] / 1000


def in_window(requests: list[tuple], lo: float, hi: float) -> list[tuple]:
    """Requests under way at some moment of [lo, hi]: those in flight when the fault
    struck (a killed gunicorn worker's) belong to it."""
    return [r for r in requests if r[0] <= hi and ended(r) >= lo]


def _slow_until(requests: list[tuple], since: float, p99_bound_ms: float) -> float | None:
    """From ``since`` on, the start of the first ``QUIET`` seconds each of whose p99
    (by answer time) is within the bound: the service answers at its usual speed
    again, not only without errors (after an outage it catches up on its backlogs)."""
    per_second: dict[int, list[float]] = defaultdict(list)
    for r in requests:
        if ended(r) >= since:
            per_second[int(ended(r) - since)].append(r[1])
    p99 = {second: _percentile(ms, 0.99) for second, ms in per_second.items()}
    last = max(p99, default=0)
    needed = int(QUIET)
    for s in range(last + 2 - needed):  # only runs of seconds that end within the run
        if all((p99.get(s + k) or 0) <= p99_bound_ms for k in range(needed)):
            return since + s
    return None  # slow to the end of the run


def fault_window(
    requests: list[tuple], fault: dict, samples: list[dict], p99_bound_ms: float | None = None
) -> dict:
    """The fault's window, error rate and recovery, from the ledgers and the backlog samples."""
    start, end = fault["start"], fault["end"]
    # Not yet normal: a failed request, or an answer the service marked degraded.
    failed_ends = sorted(
        ended(r) for r in requests if (not r[5] or "degraded:" in r[9]) and ended(r) >= start
    )
    recovered = end
    for f in failed_ends:
        if f < recovered:
            continue
        if f - recovered < QUIET:
            recovered = f
        else:
            break
    last_request = max((r[0] for r in requests), default=end)
    errors_recovered = recovered + QUIET <= last_request + 1e-9 or not failed_ends
    speed_recovered = True
    if p99_bound_ms is not None:
        normal = _slow_until(requests, recovered, p99_bound_ms)
        speed_recovered = normal is not None
        recovered = max(recovered, normal or recovered)
    inside = in_window(requests, start, max(recovered, start + 1))
    failures = sum(not r[5] for r in inside)
    degraded = sum("degraded:" in r[9] for r in inside)
    # Backlogs: back to what they were before the fault (with a margin), after it ended.
    before = [s for s in samples if s["t"] < start and s.get("stream") is not None]
    limit_stream = max([200] + [1.5 * s["stream"] for s in before])
    limit_outbox = max([20] + [1.5 * (s.get("outbox_pending") or 0) for s in before])
    backlog_back = None
    for s in samples:
        if s["t"] < end or s.get("stream") is None or s.get("outbox_pending") is None:
            continue
        if s["stream"] <= limit_stream and s["outbox_pending"] <= limit_outbox:
            backlog_back = s["t"]
            break
    return {
        "kind": fault["kind"],
        "start": start,
        "end": end,
        "down_s": round(end - start, 1),
        "window": [start, max(recovered, start + 1)],
        "requests_in_window": len(inside),
        "failures_in_window": failures,
        "error_rate_in_window": round(failures / len(inside), 6) if inside else 0.0,
        "degraded_in_window": degraded,
        "latency_in_window": latency(inside, max(recovered, start + 1) - start),
        "recovered": errors_recovered and speed_recovered,
        "time_to_recover_s": round(recovered - start, 1),
        "backlog_recovered_s": round(backlog_back - start, 1) if backlog_back else None,
        "note": fault.get("note", ""),
    }


def locust_csv(out: Path) -> dict:
    """Locust's own per-name figures (its CSV), for comparison with the ledgers'."""
    path = out / "locust_stats.csv"
    if not path.exists():
        return {}
    rows = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            name = f"{row['Type']} {row['Name']}".strip()
            rows[name] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": _num(row.get("50%")),
                "p95_ms": _num(row.get("95%")),
                "p99_ms": _num(row.get("99%")),
            }
    return rows


def _num(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def scan_counts(engine, requests: list[tuple]) -> dict:
    answered = {r[6]: r for r in requests if r[3] == "POST /api/v1/verify" and 200 <= r[4] < 300}
    rejected = {r[6]: r for r in requests if r[3] == "POST /api/v1/verify" and r[4] == 400}
    stored: Counter = Counter()
    stored_verdict: dict[str, str] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT user_agent, verdict FROM scans WHERE user_agent LIKE :p"),
            {"p": ledger.AGENT + " %"},
        )
        for user_agent, verdict in rows:
            tag = ledger.tag_of(user_agent)
            stored[tag] += 1
            stored_verdict[tag] = verdict
        firsts = conn.execute(
            text(
                "SELECT serial, count(*) FROM scans WHERE verdict = 'genuine_first_check'"
                " GROUP BY serial HAVING count(*) > 1"
            )
        ).all()
        first_codes = conn.execute(
            text("SELECT count(DISTINCT serial) FROM scans WHERE verdict = 'genuine_first_check'")
        ).scalar()
        states_off = conn.execute(
            text(
                "SELECT count(*) FROM code_states c LEFT JOIN (SELECT serial, count(*) AS n"
                " FROM scans WHERE counted GROUP BY serial) s ON s.serial = c.serial"
                " WHERE c.scan_count <> coalesce(s.n, 0)"
            )
        ).scalar()
        detail = conn.execute(
            text(
                "SELECT serial, user_agent, stream_id IS NULL, scanned_at FROM scans"
                " WHERE verdict = 'genuine_first_check' AND serial = ANY(:s) ORDER BY serial, id"
            ),
            {"s": [r[0] for r in firsts[:20]]},
        ).all()
        total = conn.execute(text("SELECT count(*) FROM scans")).scalar()
        direct = conn.execute(text("SELECT count(*) FROM scans WHERE stream_id IS NULL")).scalar()
    missing = [t for t in answered if stored[t] == 0]
    duplicated = {t: stored[t] for t in answered if stored[t] > 1}
    mismatched = [t for t, r in answered.items() if stored[t] and stored_verdict[t] != r[7]]
    observed_firsts = Counter(r[8] for r in answered.values() if r[7] == "genuine_first_check")
    twice_observed = {s: n for s, n in observed_firsts.items() if n > 1}
    return {
        "answered_2xx": len(answered),
        "stored_of_those": len(answered) - len(missing),
        "missing": len(missing),
        "missing_tags": missing[:20],
        "duplicated": len(duplicated),
        "duplicated_tags": dict(list(duplicated.items())[:20]),
        "verdict_mismatches": len(mismatched),
        "verdict_mismatch_tags": mismatched[:20],
        "answered_400": len(rejected),
        "stored_of_400": sum(1 for t in rejected if stored[t]),
        "stored_not_answered": sum(1 for t in stored if t not in answered and t not in rejected),
        "scans_in_database": total,
        "stored_directly": direct,
        "codes_first_checked": first_codes,
        "codes_with_two_first_checks_db": len(firsts),
        "codes_with_two_first_checks_db_list": [
            {"serial": r[0], "agent": r[1], "direct": r[2], "at": r[3].isoformat()} for r in detail
        ],
        "first_checks_answered": sum(observed_firsts.values()),
        "codes_told_first_twice": len(twice_observed),
        "codes_told_first_twice_list": dict(list(twice_observed.items())[:20]),
        "code_states_off": states_off,
    }


def dispatch_counts(engine, dispatches: list[tuple], arrivals: list) -> dict:
    """``arrivals``: the stand-in's (key, body, accepted) of every request it received."""
    accepted: dict[str, int] = {}
    conflicting = 0
    for _, scan_id, dispatch_id in dispatches:
        if accepted.setdefault(scan_id, dispatch_id) != dispatch_id:
            conflicting += 1
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.id, d.scan_id, e.idempotency_key, e.state FROM dispatches d"
                " LEFT JOIN outbox_events e ON e.dispatch_id = d.id"
            )
        ).all()
    in_db = {r[0]: r for r in rows}
    delivered = Counter(key for key, _, ok in arrivals if ok)
    scan_of_key = {}
    for key, body, ok in arrivals:
        if ok:
            try:
                scan_of_key[key] = json.loads(body).get("scan_id")
            except ValueError:
                scan_of_key[key] = None
    missing_in_db = [s for s, d in accepted.items() if d not in in_db or in_db[d][1] != s]
    without_event = [r[1] for r in rows if r[2] is None]
    not_delivered = [r[1] for r in rows if r[2] is not None and delivered[r[2]] == 0]
    wrong_body = [r[1] for r in rows if r[2] in scan_of_key and scan_of_key[r[2]] != r[1]]
    keys = {r[2] for r in rows if r[2]}
    twice = {k: n for k, n in delivered.items() if k in keys and n > 1}
    return {
        "accepted": len(accepted),
        "accepted_conflicting_ids": conflicting,
        "in_database": len(rows),
        "accepted_missing_in_database": len(missing_in_db),
        "seeded_before_the_run": sum(1 for r in rows if r[1].startswith(SEEDED)),
        "in_database_not_answered": sum(
            1 for r in rows if r[1] not in accepted and not r[1].startswith(SEEDED)
        ),
        "without_outbox_event": len(without_event),
        "delivered": sum(1 for k in keys if delivered[k]),
        "not_delivered": len(not_delivered),
        "not_delivered_scan_ids": not_delivered[:20],
        "delivered_more_than_once": len(twice),
        "extra_deliveries": sum(n - 1 for n in twice.values()),
        "body_scan_id_mismatches": len(wrong_body),
        "events_by_state": dict(Counter(r[3] for r in rows if r[3])),
        "order_system_requests": len(arrivals),
        "order_system_refused_unsigned": sum(1 for _, _, ok in arrivals if not ok),
    }


def counts(database_url: str, requests, dispatches, arrivals) -> dict:
    engine = create_engine(database_url)
    try:
        return {
            "scans": scan_counts(engine, requests),
            "dispatch": dispatch_counts(engine, dispatches, arrivals),
        }
    finally:
        engine.dispose()


def problems(c: dict) -> list[str]:
    """What does not add up, in words; empty when everything does."""
    s, d = c["scans"], c["dispatch"]
    found = []
    if s["answered_2xx"] == 0:
        found.append("no scan was answered 2xx")
    checks = (
        (s["missing"], "scans answered 2xx are not in the database"),
        (s["duplicated"], "scans answered 2xx are in the database more than once"),
        (s["verdict_mismatches"], "scans are stored with another verdict than answered"),
        (s["codes_with_two_first_checks_db"], "codes have two first checks in the database"),
        (s["codes_told_first_twice"], "codes were answered 'first check' twice"),
        (s["code_states_off"], "codes' scan_count differs from their counted scans"),
        (d["accepted_missing_in_database"], "accepted dispatches are not in the database"),
        (d["accepted_conflicting_ids"], "scan ids were answered with two dispatch ids"),
        (d["without_outbox_event"], "dispatches have no outbox event"),
        (d["not_delivered"], "dispatch events never reached the order system"),
        (d["body_scan_id_mismatches"], "delivered events name another scan id"),
        (d["events_by_state"].get("parked", 0), "outbox events are parked"),
        (d["events_by_state"].get("pending", 0), "outbox events are still pending"),
    )
    for n, words in checks:
        if n:
            found.append(f"{n} {words}")
    return found
