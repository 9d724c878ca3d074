"""``python -m load.report DIR...``: the README's Capacity tables from run folders.

Reads each folder's ``summary.json`` (written by ``load.run``) and prints Markdown:
the endpoints of the first run without a fault, one line per run, and one line per
fault run, in the order given. The figures are copied, never re-measured, so a
table always says which runs it came from (their folders, in the last line).
"""

import json
import sys
from pathlib import Path


def _n(value) -> str:
    return "–" if value is None else f"{value:,}"


def endpoints(s: dict) -> list[str]:
    rows = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | failed |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name, v in [*s["speed"]["endpoints"].items(), ("all", s["speed"]["all"])]:
        rows.append(
            f"| `{name}` | {_n(v['requests'])} | {v['rps']} | {v['p50_ms']} | {v['p95_ms']} "
            f"| {v['p99_ms']} | {v['failures']} |"
        )
    return rows


def runs(summaries: list[dict]) -> list[str]:
    rows = ["| run | users | gunicorn workers | req/s | busiest second | verify p50 / p95 / p99 ms"
            " | errors | degraded | gate |",
            "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | --- |"]  # fmt: skip
    for s in summaries:
        r, v = s["run"], s["speed"]["endpoints"].get("POST /api/v1/verify", s["speed"]["all"])
        name = f"{r['target']} {r['shape']}" + ("" if r["fault"] == "none" else f", {r['fault']}")
        rows.append(
            f"| {name} | {r['users']} | {r.get('gunicorn_workers', '–')} "
            f"| {s['speed']['all']['rps']} | {_n(s['peak_rps_1s'])} "
            f"| {v['p50_ms']} / {v['p95_ms']} / {v['p99_ms']} "
            f"| {100 * s['speed']['all']['error_rate']:.2f} % | {_n(s.get('degraded_answers'))} "
            f"| {'passed' if s['gate']['passed'] else 'FAILED'} |"
        )
    return rows


def faults(summaries: list[dict]) -> list[str]:
    rows = ["| fault (`--fault`) | down | requests in its window | failed | degraded "
            "| time to recover | backlogs normal after | counts |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
    for s in summaries:
        f = s.get("fault")
        if not f:
            continue
        rows.append(
            f"| `{f['kind']}` | {f['down_s']} s | {_n(f['requests_in_window'])} "
            f"| {f['failures_in_window']} ({100 * f['error_rate_in_window']:.2f} %) "
            f"| {_n(f['degraded_in_window'])} | {f['time_to_recover_s']} s "
            f"| {_n(f['backlog_recovered_s'])} s | {counts(s)} |"
        )
    return rows


def counts(s: dict) -> str:
    c, d = s["counts"]["scans"], s["counts"]["dispatch"]
    wrong = {
        "2xx scans missing": c["missing"],
        "scans stored twice": c["duplicated"],
        "codes with two first checks": c["codes_with_two_first_checks_db"],
        "codes told 'first check' twice": c["codes_told_first_twice"],
        "dispatches not delivered": d["not_delivered"],
    }
    bad = [f"{n} {what}" for what, n in wrong.items() if n]
    if bad:
        return "**" + "; ".join(bad) + "**"
    return (
        f"add up: {_n(c['answered_2xx'])} scans, {_n(d['delivered'])} events each delivered "
        f"once by key"
    )


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    summaries = [json.loads((Path(d) / "summary.json").read_text()) for d in argv]
    quiet = [s for s in summaries if not s.get("fault") and s["run"]["target"] == "zhenma"]
    out = []
    if quiet:
        out += [f"Endpoints ({quiet[0]['run']['folder']}):", "", *endpoints(quiet[0]), ""]
    out += ["Runs:", "", *runs(summaries), ""]
    if any(s.get("fault") for s in summaries):
        out += ["Faults:", "", *faults(summaries), ""]
    out.append("From: " + ", ".join(s["run"]["folder"] for s in summaries))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
