"""The load stack end to end: real PostgreSQL, Redis, gunicorn, worker, order system and Locust.

Each test runs ``python -m load.run`` as a subprocess (Locust patches the standard
library with gevent: it never runs inside pytest) on a small batch, briefly, and
reads the run's ``summary.json``. They pin the machinery and the counts, not this
machine's speed: the p99 bound is loose, and Redis calls may take up to 2 s (on a
busy shared machine a call over the default 0.25 s sends a web worker to the
database for a while, and a code scanned in that gap may then be told "first
check" twice, a limit docs/verify.md documents; the load runs report it, these
tests are not about it).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_load(out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "ZHENMA_REDIS_TIMEOUT": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "load.run", "--out", str(out), "--items", "30000",
         "--pool", "1000", "--users", "12", "--p99-ms", "2000", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    summary_path = out / "summary.json"
    assert summary_path.exists(), f"no summary\n{result.stdout}\n{result.stderr}"
    return result, json.loads(summary_path.read_text())


def assert_counts_add_up(summary: dict) -> None:
    scans, dispatch = summary["counts"]["scans"], summary["counts"]["dispatch"]
    assert scans["answered_2xx"] > 100
    assert scans["stored_of_those"] == scans["answered_2xx"]
    assert scans["missing"] == scans["duplicated"] == scans["verdict_mismatches"] == 0
    assert scans["first_checks_answered"] > 0
    assert scans["codes_with_two_first_checks_db"] == scans["codes_told_first_twice"] == 0
    assert scans["code_states_off"] == 0
    assert scans["answered_400"] > 0 and scans["stored_of_400"] == scans["answered_400"]
    assert dispatch["accepted"] > 0
    assert dispatch["accepted_missing_in_database"] == dispatch["without_outbox_event"] == 0
    assert dispatch["not_delivered"] == 0
    assert dispatch["delivered"] == dispatch["in_database"] >= dispatch["accepted"]
    assert dispatch["events_by_state"] == {"delivered": dispatch["in_database"]}
    assert summary["drain"]["drained"]


@pytest.mark.slow
def test_a_short_steady_run_passes_its_gate_and_every_count_adds_up(tmp_path):
    result, summary = run_load(tmp_path / "run", "--time", "20s", "--shape", "steady")
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["gate"]["passed"] and summary["gate"]["problems"] == []
    assert_counts_add_up(summary)
    endpoints = summary["speed"]["endpoints"]
    for endpoint in ("POST /api/v1/verify", "POST /api/v1/dispatch", "GET /api/v1/alerts"):
        assert endpoints[endpoint]["requests"] > 0
        assert endpoints[endpoint]["p99_ms"] >= endpoints[endpoint]["p50_ms"] > 0
    assert summary["attack"]["throttled_429"] > 0  # the guesser was stopped, and not counted
    assert summary["locust"]["POST verify: repeat"]["requests"] > 0  # Locust's own CSV
    assert summary["cpu"]["locust"]["seconds"] > 0
    assert (tmp_path / "run" / "locust.html").exists()
    assert (tmp_path / "run" / "locust_stats_history.csv").exists()
    assert "gate (every request)" in result.stdout and "PASSED" in result.stdout
    lines = chart_lines(tmp_path / "run")
    assert len(lines) == 2  # throughput and p99, one point per second of the run
    assert all(len(line.get("points").split()) >= 15 for line in lines)


@pytest.mark.slow
def test_the_worker_killed_mid_run_loses_no_scan_and_no_dispatch(tmp_path):
    result, summary = run_load(tmp_path / "run", "--time", "20s", "--fault", "worker")
    assert_counts_add_up(summary)
    fault = summary["fault"]
    assert fault["kind"] == "worker" and fault["recovered"]
    assert fault["start"] < fault["end"]
    assert "fault worker" in result.stdout
    svg = (tmp_path / "run" / "chart.svg").read_text()
    assert "fault window" in svg and len(chart_lines(tmp_path / "run")) == 2


def chart_lines(folder: Path) -> list:
    """The polylines of the run's chart (``load.chart``), which must be well-formed SVG."""
    from xml.etree import ElementTree

    root = ElementTree.parse(folder / "chart.svg").getroot()  # noqa: S314  (our own file)
    return root.findall("{http://www.w3.org/2000/svg}polyline")
