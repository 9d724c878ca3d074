"""``zhenma product`` and ``zhenma batch``: what HQ runs to make codes."""

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from zhenma.context import AppContext, pass_app
from zhenma.errors import Conflict

from . import batches
from .files import read_manifest, write_batch_files
from .render.cli import render


@click.group()
def product() -> None:
    """Products (GTIN, name, company prefix)."""


@product.command("add")
@click.option("--gtin", required=True, help="GTIN-8/12/13/14, check digit included.")
@click.option("--name", required=True, help="Product name (Chinese is fine).")
@click.option("--company-prefix", help="GS1 company prefix (7-10 digits), for SSCCs on cartons.")
@click.option("--image-url", help="Product image shown on the verification page.")
@pass_app
def product_add(app: AppContext, gtin, name, company_prefix, image_url) -> None:
    """Register a product."""
    with app.db.session() as s:
        p = batches.add_product(s, gtin, name, company_prefix, image_url)
        click.echo(f"product {p.gtin} {p.name}")


@product.command("list")
@pass_app
def product_list(app: AppContext) -> None:
    from sqlalchemy import select

    from zhenma.db.models import Product

    with app.db.session() as s:
        for p in s.scalars(select(Product).order_by(Product.id)):
            click.echo(f"{p.gtin}  {p.name}  prefix={p.company_prefix or '-'}")


@click.group()
def batch() -> None:
    """Code batches: create, export, render, list, show, revoke."""


batch.add_command(render)


@contextmanager
def _progress(total: int):
    """A progress bar's ``update`` on a terminal; None when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label="codes", file=sys.stderr, show_pos=True) as bar:
        yield bar.update


def _write(app: AppContext, spec, out: Path, workers: int | None) -> dict:
    secrets = app.keyring.batch_secrets(spec.key_id, spec.batch)
    with _progress(spec.item_count) as update:
        return write_batch_files(
            spec, secrets, out, workers=workers or app.settings.workers, progress=update
        )


@batch.command("create")
@click.option("--gtin", required=True)
@click.option("--count", required=True, type=click.IntRange(min=1))
@click.option("--carton-size", default=24, show_default=True, type=click.IntRange(min=1))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), help="Processes (default: CPUs).")
@pass_app
def batch_create(app: AppContext, gtin, count, carton_size, out: Path, workers) -> None:
    """Create a batch and write its files; rerun the same command to finish an interrupted run."""
    out = out.absolute()
    with app.db.session() as s:
        prod = batches.get_product(s, gtin)
        existing = read_manifest(out)
        resumed = batches.find_resumable(s, prod, count, carton_size, out)
        if existing is not None and (resumed is None or existing.get("batch") != resumed.id):
            raise Conflict(f"{out} already holds batch {existing.get('batch')}; use another folder")
        if resumed is None:
            keyring = app.keyring
            resumed = batches.create_batch(
                s, prod, count, carton_size, keyring, app.settings.verify_base, out
            )
            click.echo(f"created batch {resumed.id}", err=True)
        else:
            click.echo(f"resuming batch {resumed.id}", err=True)
        spec = batches.spec_of(resumed)
    manifest = _write(app, spec, out, workers)
    with app.db.session() as s:
        batches.mark_complete(s, spec.batch)
    click.echo(spec.batch)
    click.echo(
        f"batch {spec.batch}: {manifest['counts']['items']} items, "
        f"{manifest['counts']['cartons']} cartons in {out}",
        err=True,
    )


@batch.command("export")
@click.argument("batch_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1))
@pass_app
def batch_export(app: AppContext, batch_id: int, out: Path, workers) -> None:
    """Re-derive a batch's files, byte-identical to those made at creation."""
    with app.db.session() as s:
        spec = batches.spec_of(batches.get_batch(s, batch_id))
    existing = read_manifest(out)
    if existing is not None and existing.get("batch") != batch_id:
        raise Conflict(f"{out} already holds batch {existing.get('batch')}; use another folder")
    _write(app, spec, out.absolute(), workers)
    click.echo(f"exported batch {batch_id} to {out}")


@batch.command("list")
@pass_app
def batch_list(app: AppContext) -> None:
    from sqlalchemy import select

    from zhenma.db.models import Batch

    with app.db.session() as s:
        for b in s.scalars(select(Batch).order_by(Batch.id)):
            state = "revoked" if b.revoked_at else b.status
            click.echo(
                f"{b.id:>6}  {b.product.gtin}  {b.item_count:>10} items  {state:<10}  "
                f"{b.product.name}"
            )


@batch.command("show")
@click.argument("batch_id", type=int)
@pass_app
def batch_show(app: AppContext, batch_id: int) -> None:
    with app.db.session() as s:
        b = batches.get_batch(s, batch_id)
        info = batches.spec_of(b).to_dict()
        info.update(
            status=b.status,
            cartons=b.carton_count,
            revoked_at=b.revoked_at.isoformat() if b.revoked_at else None,
            revoke_reason=b.revoke_reason,
            out_dir=b.out_dir,
        )
    click.echo(json.dumps(info, ensure_ascii=False, indent=2))


@batch.command("revoke")
@click.argument("batch_id", type=int)
@click.option("--reason", required=True, help="Shown to consumers who scan its codes.")
@pass_app
def batch_revoke(app: AppContext, batch_id: int, reason: str) -> None:
    """Revoke a batch (key leaked, recall): its codes answer 'revoked' from now on."""
    with app.db.session() as s:
        batches.revoke(s, batch_id, reason)
    click.echo(f"revoked batch {batch_id}")
