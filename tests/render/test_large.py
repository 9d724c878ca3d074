"""A large run: 100,000 labels, streamed volume by volume, on both cores, in bounded memory."""

import json
import os
import time
from pathlib import Path

import pytest

LABELS = 100_000
PEAK_MB = 300


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """Proportional set size (shared pages split between the processes that share them)
    and resident set size (shared pages counted in each) of ``pids`` together."""
    pss = rss = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
    return pss / 1024, rss / 1024


@pytest.mark.slow
def test_100000_labels_in_bounded_memory_on_both_cores(runner, product, tmp_path):
    runner("batch", "create", "--gtin", product, "--count", str(LABELS), "--out", "batch")
    start = time.monotonic()
    proc = runner.popen(
        "batch", "render", "1", "--template", "a4-item-sheet", "--out", "big", "--workers", "2"
    )
    peak = peak_rss = 0.0
    cpu: dict[int, float] = {}  # CPU seconds of each process below the command
    while proc.poll() is None:
        pids = tree(proc.pid)
        pss, rss = memory_mb(pids)
        peak, peak_rss = max(peak, pss), max(peak_rss, rss)
        for pid in pids[1:]:
            cpu[pid] = max(cpu.get(pid, 0.0), cpu_seconds(pid))
        time.sleep(0.2)
    wall = time.monotonic() - start
    _, err = proc.communicate()
    assert proc.returncode == 0, err

    manifest = json.loads((tmp_path / "big" / "render-manifest.json").read_text("utf-8"))
    assert manifest["labels"]["count"] == LABELS
    assert [v["labels"] for v in manifest["volumes"]] == [10_000] * 10
    assert sum(v["pages"] for v in manifest["volumes"]) == LABELS // 50
    assert peak < PEAK_MB, f"{peak:.0f} MB (PSS) at the peak, all processes together"
    # Both workers drew: each used a good share of the CPU (a third process, with next to
    # no CPU, is multiprocessing's resource tracker).
    busy = sorted(cpu.values(), reverse=True)[:2]
    assert len(busy) == 2 and busy[1] > 0.6 * busy[0], f"worker CPU seconds: {busy}"
    print(
        f"\n{LABELS} labels in {wall:.1f} s ({LABELS / wall:.0f}/s), peak {peak:.0f} MB PSS "
        f"({peak_rss:.0f} MB RSS), workers' CPU {busy[0]:.0f} s and {busy[1]:.0f} s"
    )
