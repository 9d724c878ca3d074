"""A run's timeline as an SVG chart: requests a second, failures, p99, and the fault's window.

    .venv/bin/python -m load.chart RUN_FOLDER [--out FILE]

Reads ``summary.json`` (``timeline``: one row per second, ``fault``: the window)
and writes ``chart.svg`` beside it; ``load.run`` calls ``write`` at the end of each
run. Plain SVG, no library: two panels sharing the time axis, throughput above
(answered and failed requests a second), p99 latency below on a log scale (it
spans milliseconds to seconds under overload).
"""

import argparse
import json
import math
from html import escape
from pathlib import Path

WIDTH, LEFT, RIGHT = 760, 64, 16
TOP_H, BOTTOM_H, GAP, MARGIN = 190, 120, 34, 44


def _nice(value: float) -> float:
    """A round number at or above ``value`` for an axis's top."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def svg(summary: dict) -> str:
    rows = summary.get("timeline") or []
    run = summary.get("run", {})
    seconds = max(len(rows), 1)
    plot_w = WIDTH - LEFT - RIGHT
    height = MARGIN + TOP_H + GAP + BOTTOM_H + 40

    def x(second: float) -> float:
        return LEFT + plot_w * second / seconds

    top = _nice(max((r["requests"] for r in rows), default=1))
    y0 = MARGIN + TOP_H

    def y_rate(v: float) -> float:
        return y0 - TOP_H * v / top

    p99s = [r["p99_ms"] for r in rows if r.get("p99_ms")]
    lo, hi = 1.0, _nice(max(p99s, default=10))
    b0 = MARGIN + TOP_H + GAP + BOTTOM_H

    def y_ms(v: float) -> float:
        v = min(max(v, lo), hi)
        return b0 - BOTTOM_H * math.log10(v / lo) / math.log10(hi / lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="16" font-size="13">{escape(_title(summary))}</text>',
    ]
    fault, origin = summary.get("fault"), summary.get("timeline_origin")
    if fault and fault.get("window") and origin is not None:
        a, b = (t - origin for t in fault["window"])  # absolute times; the timeline's are not
        parts.append(
            f'<rect x="{x(a):.1f}" y="{MARGIN}" width="{max(x(b) - x(a), 1):.1f}" '
            f'height="{TOP_H + GAP + BOTTOM_H}" fill="#f6d6d6"/>'
            f'<text x="{x(a) + 3:.1f}" y="{MARGIN + 12}" fill="#a33">fault window</text>'
        )
    # Axes and grid.
    for i in range(5):
        v = top * i / 4
        yy = y_rate(v)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{v:g}</text>'
        )
    for v in (1, 10, 100, 1000, 10000):
        if lo <= v <= hi:
            yy = y_ms(v)
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" '
                f'stroke="#ddd"/><text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
                f"{v:g} ms</text>"
            )
    step = _nice(seconds / 8)
    t = 0.0
    while t <= seconds:
        parts.append(
            f'<text x="{x(t):.1f}" y="{b0 + 16}" text-anchor="middle">{t:g} s</text>'
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{MARGIN}" y2="{b0}" stroke="#eee"/>'
        )
        t += step
    parts.append(
        f'<text x="{LEFT}" y="{MARGIN - 8}" fill="#1f5fa8">requests a second '
        f'(answered)</text><text x="{LEFT + 190}" y="{MARGIN - 8}" fill="#c62828">failed'
        f'</text><text x="{LEFT}" y="{y0 + GAP - 6}" fill="#6a3d9a">p99 latency of the '
        "second (log scale)</text>"
    )
    ok = " ".join(
        f"{x(r['s'] + 0.5):.1f},{y_rate(r['requests'] - r['failures']):.1f}" for r in rows
    )
    parts.append(f'<polyline points="{ok}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>')
    for r in rows:
        if r["failures"]:
            h = TOP_H * r["failures"] / top
            parts.append(
                f'<rect x="{x(r["s"]):.1f}" y="{y0 - h:.1f}" width="{max(x(1) - x(0), 1):.1f}" '
                f'height="{max(h, 1):.1f}" fill="#c62828"/>'
            )
    lat = " ".join(f"{x(r['s'] + 0.5):.1f},{y_ms(r['p99_ms']):.1f}" for r in rows if r["p99_ms"])
    parts.append(f'<polyline points="{lat}" fill="none" stroke="#6a3d9a" stroke-width="1.5"/>')
    parts.append(
        f'<text x="{WIDTH - RIGHT}" y="{height - 6}" text-anchor="end" fill="#666">'
        f"{escape(str(run.get('folder', '')))}</text></svg>"
    )
    return "\n".join(parts)


def _title(summary: dict) -> str:
    run = summary.get("run", {})
    every = summary.get("speed", {}).get("all", {})
    text = (
        f"{run.get('shape', '')} run, {run.get('users', '?')} users, fault {run.get('fault')}:"
        f" {every.get('rps', 0):.0f} req/s, p50 {every.get('p50_ms') or 0:.0f} ms,"
        f" p99 {every.get('p99_ms') or 0:.0f} ms, peak second {summary.get('peak_rps_1s', 0)}"
    )
    return text


def write(folder: Path) -> Path:
    summary = json.loads((folder / "summary.json").read_text())
    path = folder / "chart.svg"
    path.write_text(svg(summary))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    summary = json.loads((args.folder / "summary.json").read_text())
    out = args.out or args.folder / "chart.svg"
    out.write_text(svg(summary))
    print(out)


if __name__ == "__main__":
    main()
