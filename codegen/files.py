"""Writing a batch's files: streamed, parallel, crash-safe, reproducible.

``write_batch_files(spec, secrets, out_dir)`` writes::

    out_dir/items.csv      serial,hidden_code,url,carton
    out_dir/cartons.csv    carton,carton_code,sscc,item_count,first_item,last_item,
                           first_serial,last_serial
    out_dir/manifest.json  batch, product, counts, key id, created time, SHA-256 of each file

How a crash loses nothing: items are cut into chunks; each chunk is written by a
worker process to ``out_dir/.zhenma-partial/items.NNNNNN.csv`` through a temporary
name and a rename, so a chunk file exists only when it is whole. A rerun keeps the
whole chunks and writes the missing ones. The final files are assembled under
temporary names and renamed into place, ``manifest.json`` last: a folder is
complete exactly when its manifest exists, and a half-written file never carries
a final name. Nothing in the output depends on the time of the run (the created
time is the batch's), so any run, interrupted or not, gives the same bytes.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from zhenma.codes import BatchSecrets

from .derive import BatchCodes, BatchSpec

FORMAT = "zhenma-batch/1"
ITEMS_HEADER = "serial,hidden_code,url,carton\n"
CARTONS_HEADER = (
    "carton,carton_code,sscc,item_count,first_item,last_item,first_serial,last_serial\n"
)
PARTIAL = ".zhenma-partial"
CHUNK = 100_000
_COPY_BLOCK = 8 << 20


def manifest_path(out_dir: Path) -> Path:
    return Path(out_dir) / "manifest.json"


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads(manifest_path(out_dir).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # an unreadable manifest is as good as none: the files are redone


def _fsync_write(path: Path, write: Callable) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _chunk_path(work: Path, chunk: int) -> Path:
    return work / f"items.{chunk:06d}.csv"


def _write_chunk(spec: BatchSpec, secrets: BatchSecrets, work: Path, chunk: int, size: int) -> int:
    """Write one chunk of items; runs in a worker process. Returns its item count."""
    start = chunk * size + 1
    stop = min(start + size, spec.item_count + 1)
    text = BatchCodes(spec, secrets).item_csv(start, stop)
    _fsync_write(_chunk_path(work, chunk), lambda f: f.write(text.encode("ascii")))
    return stop - start


def _assemble(target: Path, header: bytes, parts: list[Path]) -> dict:
    """Concatenate ``parts`` after ``header`` into ``target``; its SHA-256 and size."""
    digest = hashlib.sha256(header)
    size = len(header)

    def write(f):
        nonlocal size
        f.write(header)
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(_COPY_BLOCK):
                    digest.update(block)
                    f.write(block)
                    size += len(block)

    _fsync_write(target, write)
    return {"sha256": digest.hexdigest(), "bytes": size}


def write_batch_files(
    spec: BatchSpec,
    secrets: BatchSecrets,
    out_dir: Path,
    workers: int = 1,
    chunk_size: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write (or finish writing) a batch's files into ``out_dir``; returns the manifest."""
    out_dir = Path(out_dir)
    done = read_manifest(out_dir)
    if done is not None and done.get("batch") == spec.batch:
        if progress:
            progress(spec.item_count)
        return done
    work = out_dir / PARTIAL
    work.mkdir(parents=True, exist_ok=True)
    chunks = -(-spec.item_count // chunk_size)
    missing = [c for c in range(chunks) if not _chunk_path(work, c).exists()]
    if progress:
        progress(spec.item_count - sum(_chunk_len(spec, c, chunk_size) for c in missing))
    if workers > 1 and len(missing) > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_write_chunk, spec, secrets, work, c, chunk_size) for c in missing
            ]
            for future in futures:
                n = future.result()
                if progress:
                    progress(n)
    else:
        for c in missing:
            n = _write_chunk(spec, secrets, work, c, chunk_size)
            if progress:
                progress(n)

    files = {
        "items.csv": _assemble(
            out_dir / "items.csv",
            ITEMS_HEADER.encode(),
            [_chunk_path(work, c) for c in range(chunks)],
        )
    }
    files["items.csv"]["rows"] = spec.item_count
    cartons = _write_cartons(spec, secrets, out_dir / "cartons.csv")
    files["cartons.csv"] = cartons
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
        "files": files,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    _fsync_write(manifest_path(out_dir), lambda f: f.write(text.encode("utf-8")))
    shutil.rmtree(work, ignore_errors=True)
    return manifest


def _chunk_len(spec: BatchSpec, chunk: int, size: int) -> int:
    start = chunk * size + 1
    return min(start + size, spec.item_count + 1) - start


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

    _fsync_write(target, write)
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
