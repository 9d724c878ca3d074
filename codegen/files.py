"""Writing a batch's files: streamed, parallel, crash-safe, reproducible.

``write_batch_files(spec, secrets, out_dir)`` writes::

    out_dir/items.csv      serial,hidden_code,url,carton
    out_dir/cartons.csv    carton,carton_code,sscc,item_count,first_item,last_item,
                           first_serial,last_serial
    out_dir/manifest.json  batch, product, counts, key id, created time, SHA-256 of each file

Every line of ``items.csv`` has the same length (serials, hidden codes, URLs and
carton codes are fixed-width), so item ``i`` sits at a known offset. Worker
processes each take a chunk of items and write it straight into place in
``out_dir/.zhenma-partial/items.csv``, fsync it, then drop a ``done.NNNNNN``
marker. A rerun after a crash rewrites only the chunks without a marker; a chunk
cut short by a kill has no marker, and rewriting it gives the same bytes.

The finished file is hashed and renamed into ``out_dir``; ``cartons.csv`` is
written under a temporary name and renamed too; ``manifest.json`` comes last. A
folder is complete exactly when its manifest exists, and a half-written file never
carries a final name. Nothing depends on the time of the run (the created time is
the batch's), so any run, interrupted or not, gives the same bytes.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from zhenma.codes import BatchSecrets

from .derive import BatchCodes, BatchSpec

FORMAT = "zhenma-batch/1"
ITEMS_HEADER = b"serial,hidden_code,url,carton\n"
CARTONS_HEADER = (
    "carton,carton_code,sscc,item_count,first_item,last_item,first_serial,last_serial\n"
)
PARTIAL = ".zhenma-partial"
CHUNK = 100_000
_HASH_BLOCK = 8 << 20


def manifest_path(out_dir: Path) -> Path:
    return Path(out_dir) / "manifest.json"


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads(manifest_path(out_dir).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # an unreadable manifest is as good as none: the files are redone


def fsync_write(path: Path, write: Callable) -> None:
    """Write a file through a temporary name, fsync it, rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _chunk_range(spec: BatchSpec, chunk: int, size: int) -> tuple[int, int]:
    start = chunk * size + 1
    return start, min(start + size, spec.item_count + 1)


def _write_chunk(spec: BatchSpec, secrets: BatchSecrets, work: Path, chunk: int, size: int) -> int:
    """Write one chunk of items into place; runs in a worker process. Returns its count."""
    start, stop = _chunk_range(spec, chunk, size)
    codes = BatchCodes(spec, secrets)
    data = codes.item_csv(start, stop).encode("ascii")
    line = codes.line_length
    if len(data) != line * (stop - start):  # the offsets below depend on it
        raise RuntimeError(f"items {start}..{stop - 1} are not {line} bytes a line")
    fd = os.open(work / "items.csv", os.O_WRONLY)
    try:
        os.pwrite(fd, data, len(ITEMS_HEADER) + (start - 1) * line)
        os.fsync(fd)
    finally:
        os.close(fd)
    (work / f"done.{chunk:06d}").touch()
    return stop - start


def _write_cartons(spec: BatchSpec, secrets: BatchSecrets, target: Path) -> dict:
    codes = BatchCodes(spec, secrets)
    digest = hashlib.sha256()
    size = 0

    def write(f):
        nonlocal size
        for block in _carton_blocks(codes, spec):
            data = block.encode("ascii")
            digest.update(data)
            size += len(data)
            f.write(data)

    fsync_write(target, write)
    return {"sha256": digest.hexdigest(), "bytes": size, "rows": spec.carton_count}


def _carton_blocks(codes: BatchCodes, spec: BatchSpec):
    yield CARTONS_HEADER
    step = 50_000
    for start in range(1, spec.carton_count + 1, step):
        stop = min(start + step, spec.carton_count + 1)
        yield "".join(
            f"{c.index},{c.code},{c.sscc or ''},{c.item_count},{c.item_first},{c.item_last},"
            f"{c.first_serial},{c.last_serial}\n"
            for c in codes.cartons(start, stop)
        )


def _hash_file(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _prepare_items(spec: BatchSpec, secrets: BatchSecrets, out_dir: Path, work: Path) -> None:
    partial, final = work / "items.csv", out_dir / "items.csv"
    if not partial.exists() and final.exists() and any(work.glob("done.*")):
        # the last run renamed the whole file into place, then died before the manifest
        os.replace(final, partial)
    if not partial.exists():
        for marker in work.glob("done.*"):
            marker.unlink()
        size = len(ITEMS_HEADER) + spec.item_count * BatchCodes(spec, secrets).line_length
        fsync_write(partial, lambda f: (f.write(ITEMS_HEADER), f.truncate(size)))


def write_batch_files(
    spec: BatchSpec,
    secrets: BatchSecrets,
    out_dir: Path,
    workers: int = 1,
    chunk_size: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write (or finish writing) a batch's files into ``out_dir``; returns the manifest."""
    progress = progress or (lambda n: None)
    out_dir = Path(out_dir)
    done = read_manifest(out_dir)
    if done is not None and done.get("batch") == spec.batch:
        progress(spec.item_count)
        return done
    work = out_dir / PARTIAL
    work.mkdir(parents=True, exist_ok=True)
    _prepare_items(spec, secrets, out_dir, work)
    chunks = -(-spec.item_count // chunk_size)
    missing = [c for c in range(chunks) if not (work / f"done.{c:06d}").exists()]
    ranges = [_chunk_range(spec, c, chunk_size) for c in missing]
    progress(spec.item_count - sum(stop - start for start, stop in ranges))
    cartons_path = out_dir / "cartons.csv"
    if workers > 1:
        # fork (Linux's default): workers start without re-importing anything.
        with ProcessPoolExecutor(workers) as pool:
            cartons_job = pool.submit(_write_cartons, spec, secrets, cartons_path)
            jobs = [pool.submit(_write_chunk, spec, secrets, work, c, chunk_size) for c in missing]
            for job in as_completed(jobs):
                progress(job.result())
            cartons = cartons_job.result()
    else:
        for c in missing:
            progress(_write_chunk(spec, secrets, work, c, chunk_size))
        cartons = _write_cartons(spec, secrets, cartons_path)

    items = _hash_file(work / "items.csv")
    items["rows"] = spec.item_count
    os.replace(work / "items.csv", out_dir / "items.csv")
    manifest = {
        "format": FORMAT,
        "batch": spec.batch,
        "product": {"gtin": spec.gtin, "name": spec.product_name},
        "counts": {
            "items": spec.item_count,
            "cartons": spec.carton_count,
            "carton_size": spec.carton_size,
        },
        "key_id": spec.key_id,
        "created": spec.created,
        "verify_base": spec.verify_base,
        "sscc": {"company_prefix": spec.company_prefix, "first_serial_reference": spec.sscc_first},
        "files": {"items.csv": items, "cartons.csv": cartons},
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    fsync_write(manifest_path(out_dir), lambda f: f.write(text.encode("utf-8")))
    shutil.rmtree(work, ignore_errors=True)
    return manifest
