"""The fault window's arithmetic (``load.accounting.fault_window``) on hand-made ledgers."""

from load import accounting


def request(start: float, ms: float, ok: bool = True, note: str = "") -> tuple:
    """A ledger request as ``accounting.read_ledgers`` returns it."""
    return (start, ms, "verify: repeat", "POST /api/v1/verify", 200 if ok else 0, ok, "t",
            "genuine_checked_before", "S", note)  # fmt: skip


def test_requests_in_flight_when_the_fault_struck_belong_to_its_window():
    fault = {"kind": "gunicorn-worker", "start": 100.0, "end": 100.1}
    cut = request(99.95, 60, ok=False)  # sent before the kill, cut by it
    requests = [request(90.0 + i / 10, 5) for i in range(100)]  # 90.0 .. 99.9, all fine
    requests += [cut] + [request(100.2 + i / 10, 5) for i in range(200)]  # to 120.1
    window = accounting.fault_window(sorted(requests), fault, samples=[])
    assert window["failures_in_window"] == 1
    assert window["recovered"]
    lo, hi = window["window"]
    assert cut in accounting.in_window(requests, lo, hi)
    assert request(90.0, 5) not in accounting.in_window(requests, lo, hi)


def test_recovery_lasts_until_the_last_degraded_answer_in_a_run_of_them():
    fault = {"kind": "redis", "start": 100.0, "end": 105.0}
    requests = [request(100.0 + i / 10, 5, note="degraded:redis-unavailable") for i in range(80)]
    requests += [request(108.1 + i / 10, 5) for i in range(200)]
    window = accounting.fault_window(requests, fault, samples=[])
    assert window["time_to_recover_s"] == 7.9  # the last degraded answer ended at 107.905
    assert window["degraded_in_window"] == 80
    assert window["failures_in_window"] == 0


def test_recovery_waits_for_the_usual_speed_too():
    """After an outage the service catches up on its backlogs: answers without errors
    but slowly are not recovered yet."""
    fault = {"kind": "redis", "start": 100.0, "end": 105.0}
    requests = [request(100.0 + i / 10, 5, note="degraded:redis-unavailable") for i in range(50)]
    requests += [request(105.0 + i / 10, 300) for i in range(40)]  # 105.3 .. 109.2, slow
    requests += [request(109.0 + i / 10, 5) for i in range(150)]  # to 124.0, fast
    requests.sort()
    window = accounting.fault_window(requests, fault, samples=[], p99_bound_ms=200)
    # Counted in whole seconds from the part's return (105): the last slow answer
    # ended at 109.2, in the fifth; the five quiet ones start at 110.
    assert window["time_to_recover_s"] == 10.0
    assert window["recovered"]
    assert window["requests_in_window"] > 50 + 40
    unbounded = accounting.fault_window(requests, fault, samples=[])
    assert unbounded["time_to_recover_s"] == 5.0  # errors and degraded answers: none after 105


def test_a_service_still_slow_at_the_end_of_the_run_has_not_recovered():
    fault = {"kind": "postgres", "start": 100.0, "end": 100.5}
    requests = [request(100.0 + i / 10, 400) for i in range(100)]
    window = accounting.fault_window(requests, fault, samples=[], p99_bound_ms=200)
    assert not window["recovered"]


def test_the_analyst_backlog_is_its_largest_and_its_last_sample():
    samples = [{"t": 1, "unplaced": 5}, {"t": 2, "unplaced": None}, {"t": 3, "unplaced": 900},
               {"t": 4, "unplaced": 40}]  # fmt: skip
    assert accounting.analyst_backlog(samples) == {"max": 900, "at_end": 40}
    assert accounting.analyst_backlog([]) == {"max": None, "at_end": None}
