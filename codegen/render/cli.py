"""``zhenma batch render`` and ``zhenma templates``: print-ready PDFs for a printing house."""

import sys
from contextlib import contextmanager
from pathlib import Path

import click

from zhenma.context import AppContext, pass_app
from zhenma.errors import Conflict

from .. import batches
from . import geometry
from . import templates as tpl
from .volumes import VOLUME_SIZE, Job
from .volumes import render as render_job


@contextmanager
def _progress(total: int):
    """A progress bar on a terminal; nothing when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label="labels", file=sys.stderr, show_pos=True) as bar:
        yield bar.update


@click.command("render")
@click.argument("batch_id", type=int)
@click.option(
    "--template", "template_name", required=True,
    help="A shipped template (see `zhenma templates list`) or a template file.",
)  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--from", "first", default=1, show_default=True, type=click.IntRange(min=1),
    help="First label: an item index, or a carton index for carton templates.",
)  # fmt: skip
@click.option("--count", type=click.IntRange(min=1), help="Labels to render [default: the rest].")
@click.option(
    "--volume-size", default=VOLUME_SIZE, show_default=True, type=click.IntRange(min=1),
    help="Most labels in one PDF (rounded down to whole pages).",
)  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), help="Processes (default: CPUs).")
@pass_app
def render(
    app: AppContext, batch_id: int, template_name: str, out: Path, first: int, count, volume_size,
    workers,
) -> None:  # fmt: skip
    """Write a batch's labels as PDF volumes, a data file and a manifest into OUT."""
    template = tpl.find(template_name)
    with app.db.session() as s:
        batch = batches.get_batch(s, batch_id)
        if batch.revoked_at is not None:
            raise Conflict(
                f"batch {batch_id} was revoked ({batch.revoke_reason}); its labels would scan "
                "as revoked"
            )
        spec = batches.spec_of(batch)
    total = spec.item_count if template.kind == "item" else spec.carton_count
    job = Job(template, spec, first, count or max(total - first + 1, 1), volume_size)
    secrets = app.keyring.batch_secrets(spec.key_id, spec.batch)
    with _progress(job.count) as progress:
        manifest = render_job(
            job, secrets, out.absolute(), workers or app.settings.workers, progress
        )
    pages = sum(v["pages"] for v in manifest["volumes"])
    click.echo(out)
    click.echo(
        f"batch {batch_id}: {job.count} labels on {pages} pages in "
        f"{len(manifest['volumes'])} volume(s), template {template.name}",
        err=True,
    )


@click.group()
def templates() -> None:
    """Label templates for `zhenma batch render`."""


@templates.command("list")
def templates_list() -> None:
    """The templates shipped in print_templates/."""
    for path in tpl.shipped():
        t = tpl.load(path)
        g = t.label
        click.echo(
            f"{t.name:<20} {t.kind:<7} {t.per_page:>3} a page  "
            f"{g.width_mm:g} x {g.height_mm:g} mm on {t.page.width_mm:g} x "
            f"{t.page.height_mm:g} mm  {t.title}"
        )


@templates.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def templates_check(app: AppContext, file: Path) -> None:
    """Check that a template file's labels fit the page and its codes are printable.

    QR sizes are worked out for URLs on this installation's ZHENMA_VERIFY_BASE.
    """
    t = tpl.load(file)
    notes = geometry.check(t, app.settings.verify_base)
    click.echo(f"{file}: {t.name} prints: {t.per_page} {t.kind} labels a page")
    for note in notes:
        click.echo(f"  {note}")
