"""A render run: labels cut into PDF volumes, drawn in parallel, with a manifest and a data file.

``render(job, secrets, out_dir)`` writes into ``out_dir``::

    <template>-b<batch>-<first>-<last>.pdf   volumes of at most ``volume_size`` labels, whole pages
    labels.csv                               a row per label, for variable-data software (datafile)
    render-manifest.json                     every file's SHA-256, pages and label/serial range

Each volume is drawn by a worker process page by page (codes are derived a page at a
time, so memory stays flat however large the run) and written through a temporary
name and a rename, with ``codegen.files``' helpers. A worker then records its volume's
result in ``.zhenma-render-partial/``; a rerun of the same job keeps the volumes that
have one and draws the rest. ``render-manifest.json`` is written last, so a folder is
complete exactly when it has one. Nothing depends on the time of the run (reportlab's
invariant mode fixes dates and the document id), so rendering again gives the same bytes.
"""

import hashlib
import io
import json
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from zhenma.codes import BatchSecrets
from zhenma.errors import Conflict, Invalid

from ..derive import BatchCodes, BatchSpec
from ..files import fsync_write
from . import datafile, fonts, geometry
from .labels import carton_values, item_values, static_values
from .layout import PageLayout, slug_lines
from .model import Template

FORMAT = "zhenma-render/1"
MANIFEST = "render-manifest.json"
PARTIAL = ".zhenma-render-partial"
VOLUME_SIZE = 10_000


@dataclass(frozen=True)
class Job:
    template: Template
    spec: BatchSpec
    first: int  # the first label's item index (carton index for carton templates)
    count: int
    volume_size: int = VOLUME_SIZE

    @property
    def last(self) -> int:
        return self.first + self.count - 1

    @property
    def total(self) -> int:
        """How many labels the batch has for this template."""
        return self.spec.item_count if self.template.kind == "item" else self.spec.carton_count

    @property
    def per_volume(self) -> int:
        per_page = self.template.per_page
        return self.volume_size // per_page * per_page

    def fingerprint(self) -> str:
        doc = {
            "format": FORMAT,
            "template": [self.template.name, self.template.sha256],
            "spec": self.spec.to_dict(),
            "range": [self.first, self.count, self.volume_size],
            "software": software(),
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Volume:
    number: int
    first: int
    last: int
    name: str

    @property
    def labels(self) -> int:
        return self.last - self.first + 1


def prepare(job: Job) -> list[Volume]:
    """Check that ``job`` can be printed; its volumes."""
    t, spec = job.template, job.spec
    geometry.check(t, spec.verify_base)
    noun = "items" if t.kind == "item" else "cartons"
    if job.first < 1 or job.count < 1 or job.first > job.total:
        raise Invalid(f"batch {spec.batch} has {job.total} {noun}: there is no label {job.first}")
    if job.last > job.total:
        raise Invalid(
            f"labels {job.first} to {job.last} run past the end of batch {spec.batch}'s "
            f"{job.total} {noun}"
        )
    if job.per_volume == 0:
        raise Invalid(
            f"a volume of {job.volume_size} labels is less than one page of {t.name} "
            f"({t.per_page} labels)"
        )
    if t.uses("sscc") and spec.sscc_first is None:
        raise Invalid(
            f"batch {spec.batch} has no SSCCs (its product had no company prefix when the "
            f"batch was made), and template {t.name} prints them"
        )
    if t.uses("product_name"):
        fonts.require_glyphs(spec.product_name, "the product name")
    width = len(str(job.last))
    volumes = []
    for number, start in enumerate(range(job.first, job.last + 1, job.per_volume), 1):
        stop = min(start + job.per_volume, job.last + 1) - 1
        name = f"{t.name}-b{spec.batch}-{start:0{width}d}-{stop:0{width}d}.pdf"
        volumes.append(Volume(number, start, stop, name))
    return volumes


class _Volume:
    """Draws one volume; runs in a worker process."""

    def __init__(self, job: Job, secrets: BatchSecrets, volume: Volume, pages: int):
        self.job, self.volume, self.pages = job, volume, pages
        self.codes = BatchCodes(job.spec, secrets)
        self.static = static_values(job.spec)
        self.rows = datafile.Rows(job.template, volume.name)

    def labels(self, start: int, stop: int) -> tuple[list[dict[str, str]], str, str]:
        """Values of labels ``start`` to ``stop - 1``, and the page's first and last code."""
        if self.job.template.kind == "item":
            items = self.codes.items(start, stop)
            values = [item_values(i, self.static) for i in items]
            return values, items[0].serial, items[-1].serial
        cartons = self.codes.cartons(start, stop)
        values = [carton_values(c, self.codes.sscc(c.index), self.static) for c in cartons]
        return values, cartons[0].code, cartons[-1].code

    def draw(self) -> tuple[bytes, str, str]:
        t = self.job.template
        layout = PageLayout(t)
        out = io.BytesIO()
        canvas = Canvas(
            out,
            pagesize=layout.size,
            invariant=1,
            pageCompression=1,
            initialFontName=layout.sans,
            initialFontSize=6,
        )
        canvas.setTitle(self.volume.name)
        canvas.setCreator("Zhenma")
        canvas.setSubject(f"batch {self.job.spec.batch}, {t.title}")
        layout.define_forms(canvas, self.static)
        per_page = t.per_page
        first_code = last_code = ""
        for page, start in enumerate(range(self.volume.first, self.volume.last + 1, per_page), 1):
            stop = min(start + per_page, self.volume.last + 1)
            values, first, last = self.labels(start, stop)
            first_code = first_code or first
            last_code = last
            where = (
                f"batch {self.job.spec.batch} · {t.name} · volume {self.volume.number} · "
                f"page {page} of {self.pages}"
            )
            layout.draw_page(canvas, values, slug_lines(first, last, where))
            self.rows.add_page(page, values)
        canvas.save()
        return out.getvalue(), first_code, last_code


def render_volume(job: Job, secrets: BatchSecrets, volume: Volume, out_dir: Path) -> dict:
    """Draw and write one volume; returns its manifest entry. Runs in a worker process."""
    pages = -(-volume.labels // job.template.per_page)
    saved = rl_config.useA85
    rl_config.useA85 = 0  # ASCII85 makes compressed streams 25 % bigger, for 7-bit channels
    try:
        drawer = _Volume(job, secrets, volume, pages)
        pdf, first_code, last_code = drawer.draw()
    finally:
        rl_config.useA85 = saved
    fsync_write(out_dir / volume.name, lambda f: f.write(pdf))
    work = out_dir / PARTIAL
    fsync_write(_part(work, volume), lambda f: f.write(drawer.rows.data()))
    entry = {
        "file": volume.name,
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "bytes": len(pdf),
        "pages": pages,
        "labels": volume.labels,
        "first": volume.first,
        "last": volume.last,
    }
    if job.template.kind == "item":
        entry.update(first_serial=first_code, last_serial=last_code)
    else:
        codes = BatchCodes(job.spec, secrets)
        entry.update(
            first_carton_code=first_code,
            last_carton_code=last_code,
            first_serial=codes.cartons(volume.first, volume.first + 1)[0].first_serial,
            last_serial=codes.cartons(volume.last, volume.last + 1)[0].last_serial,
        )
    text = json.dumps(entry, sort_keys=True)
    fsync_write(_done(work, volume), lambda f: f.write(text.encode("utf-8")))
    return entry


def _part(work: Path, volume: Volume) -> Path:
    return work / f"{volume.number:06d}.csv"


def _done(work: Path, volume: Volume) -> Path:
    return work / f"{volume.number:06d}.json"


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # unreadable: as good as none, the render is redone


def _start(job: Job, out_dir: Path) -> Path:
    """Claim ``out_dir`` for ``job``: refuse another job's folder, keep this job's partial work."""
    existing = read_manifest(out_dir)
    if existing is not None:
        theirs = (existing.get("batch"), existing.get("template", {}).get("name"))
        if theirs != (job.spec.batch, job.template.name):
            raise Conflict(
                f"{out_dir} already holds batch {theirs[0]} rendered with {theirs[1]}; "
                "use another folder"
            )
        (out_dir / MANIFEST).unlink()  # not complete again until this run has finished
    work = out_dir / PARTIAL
    stamp = work / "job"
    if work.exists() and (not stamp.exists() or stamp.read_text() != job.fingerprint()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if not stamp.exists():
        fsync_write(stamp, lambda f: f.write(job.fingerprint().encode()))
    return work


def render(
    job: Job,
    secrets: BatchSecrets,
    out_dir: Path,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Render ``job`` into ``out_dir`` (finishing an interrupted run of it); the manifest."""
    out_dir = Path(out_dir)
    progress = progress or (lambda labels: None)
    processes = min(workers, -(-job.count // max(job.per_volume, 1)))
    if processes > 1:
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
            # The checks measure text, so they run where the fonts get loaded anyway: the
            # parent process never holds the fonts (some 40 MB) while the workers draw.
            volumes = pool.submit(prepare, job).result()
            work, entries = _resume(job, volumes, out_dir, progress)
            futures = {
                pool.submit(render_volume, job, secrets, v, out_dir): v
                for v in volumes
                if v.number not in entries
            }
            for future in as_completed(futures):
                entries[futures[future].number] = future.result()
                progress(futures[future].labels)
    else:
        volumes = prepare(job)
        work, entries = _resume(job, volumes, out_dir, progress)
        for v in volumes:
            if v.number not in entries:
                entries[v.number] = render_volume(job, secrets, v, out_dir)
                progress(v.labels)
    return _finish(job, volumes, entries, work, out_dir)


def software() -> dict[str, str]:
    """What the bytes depend on besides the batch and the template: the same versions
    and font give the same files; a difference here explains a different SHA-256."""
    font = fonts.font_file()
    return {
        "reportlab": version("reportlab"),
        "zxing-cpp": version("zxing-cpp"),
        "font": font.name,
        "font_sha256": hashlib.sha256(font.read_bytes()).hexdigest(),
    }


def _resume(job: Job, volumes: list[Volume], out_dir: Path, progress) -> tuple[Path, dict]:
    """Claim ``out_dir``; the manifest entries of volumes an earlier run of ``job`` finished."""
    work = _start(job, out_dir)
    entries = {}
    for v in volumes:
        if _done(work, v).exists() and (out_dir / v.name).exists():
            entries[v.number] = json.loads(_done(work, v).read_text("utf-8"))
            progress(v.labels)
    return work, entries


def _finish(job: Job, volumes: list[Volume], entries: dict, work: Path, out_dir: Path) -> dict:
    """The data file, then the manifest (last: the folder is complete once it exists)."""
    data = datafile.assemble(
        out_dir / datafile.NAME, job.template, [_part(work, v) for v in volumes]
    )
    manifest = {
        "format": FORMAT,
        "software": software(),
        "batch": job.spec.batch,
        "product": {"gtin": job.spec.gtin, "name": job.spec.product_name},
        "template": {
            "name": job.template.name,
            "title": job.template.title,
            "kind": job.template.kind,
            "sha256": job.template.sha256,
        },
        "labels": {
            "first": job.first,
            "last": job.last,
            "count": job.count,
            "per_page": job.template.per_page,
            "per_volume": job.per_volume,
        },
        "volumes": [entries[v.number] for v in volumes],
        "data_file": {
            "file": datafile.NAME,
            "columns": datafile.columns(job.template),
            "rows": job.count,
            **data,
        },
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    fsync_write(out_dir / MANIFEST, lambda f: f.write(text.encode("utf-8")))
    shutil.rmtree(work, ignore_errors=True)
    return manifest
