"""Benchmark of the batch generator against a bare HMAC loop measured in the same run.

    .venv/bin/python bench/codegen.py [--items 1000000] [--rounds 3] [--memory 10000000]

Prints, for the whole pipeline (derive, format, write the three files), codes per
second on one process and on two, the bare ``hmac.digest`` rate on one core, and
the two ratios the targets are about (one process >= 0.5x bare HMAC; two
processes >= 1.6x one). Rounds alternate the three measurements and the best of
each is kept, since the machine is shared and noisy. ``--memory N`` then runs the
real ``zhenma batch create`` for N items and prints its peak memory (the command
and, separately, its largest worker process).
"""

import argparse
import hmac
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codegen.derive import BatchSpec
from codegen.files import write_batch_files
from keys import derive_batch_secrets


def bare_hmac(n: int) -> float:
    key = os.urandom(32)
    digest = hmac.digest
    start = time.perf_counter()
    for i in range(n):
        digest(key, i.to_bytes(10, "big"), "sha256")
    return n / (time.perf_counter() - start)


def pipeline(items: int, workers: int, root: Path) -> float:
    spec = BatchSpec(
        batch=4242, gtin="06901234567892", product_name="基准", item_count=items,
        carton_size=24, verify_base="https://verify.zhenma.example", key_id="mk-bench",
        created="2026-01-01T00:00:00+00:00", company_prefix="6901234", sscc_first=0,
    )  # fmt: skip
    secrets = derive_batch_secrets(os.urandom(32), spec.batch)
    out = root / f"w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    write_batch_files(spec, secrets, out, workers=workers)
    rate = items / (time.perf_counter() - start)
    shutil.rmtree(out, ignore_errors=True)
    return rate


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages are split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(items: int, root: Path) -> None:
    """Run the real command for ``items`` codes; print time and the peak memory of its tree."""
    env = {
        **os.environ,
        "ZHENMA_INSTANCE": str(root / "instance"),
        "ZHENMA_KEYRING_PASSWORD": "",
        "ZHENMA_WORKERS": "2",
    }
    env.pop("ZHENMA_DATABASE_URL", None)
    env.pop("ZHENMA_KEYRING", None)
    zhenma = [sys.executable, "-m", "zhenma"]
    subprocess.run(
        [*zhenma, "product", "add", "--gtin", "06901234567892", "--name", "基准"],
        env=env, cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*zhenma, "batch", "create", "--gtin", "06901234567892", "--count", str(items),
         "--out", str(root / "mem")],
        env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peak_total = peak_one = 0
    while proc.poll() is None:
        sizes = [_pss_kb(p) for p in _tree(proc.pid)]
        peak_total, peak_one = max(peak_total, sum(sizes)), max(peak_one, max(sizes))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"batch create failed with exit code {proc.returncode}")
    size = sum(p.stat().st_size for p in (root / "mem").iterdir()) / 1e9
    print(
        f"zhenma batch create --count {items:,}: {elapsed:.1f} s, {items / elapsed:,.0f} codes/s, "
        f"{size:.2f} GB written; peak memory (PSS) of the command and its workers together: "
        f"{peak_total / 1024:.0f} MB, largest single process {peak_one / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", type=int, default=0, metavar="N")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="zhenma-bench-"))
    try:
        hm, one, two = [], [], []
        for r in range(args.rounds):
            hm.append(bare_hmac(500_000))
            one.append(pipeline(args.items, 1, root))
            two.append(pipeline(args.items, 2, root))
            print(
                f"round {r + 1}: bare hmac {hm[-1]:,.0f}/s, pipeline 1 proc {one[-1]:,.0f}/s "
                f"({one[-1] / hm[-1]:.2f}x), 2 procs {two[-1]:,.0f}/s ({two[-1] / one[-1]:.2f}x)",
                flush=True,
            )
        h, o, t = max(hm), max(one), max(two)
        # Two views of the same rounds: best against best, and the median of the ratios
        # taken within each round (the two sides of a round ran seconds apart).
        r1 = statistics.median(a / b for a, b in zip(one, hm, strict=True))
        r2 = statistics.median(a / b for a, b in zip(two, one, strict=True))
        print(f"\nbare hmac.digest, one core:       {h:>12,.0f} calls/s")
        print(f"pipeline, one process:            {o:>12,.0f} codes/s  ({o / h:.2f}x bare hmac, "
              f"median of rounds {r1:.2f}x)")  # fmt: skip
        print(f"pipeline, two processes:          {t:>12,.0f} codes/s  ({t / o:.2f}x one process, "
              f"median of rounds {r2:.2f}x)")  # fmt: skip
        verdict = {True: "met", False: "MISSED"}
        print(f"targets: >= 0.50x bare hmac -> {verdict[min(o / h, r1) >= 0.5]}; "
              f">= 1.60x one process -> {verdict[min(t / o, r2) >= 1.6]}")  # fmt: skip
        if args.memory:
            memory(args.memory, root)
        print(f"(cpu: {os.cpu_count()} cores; own maxrss "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
