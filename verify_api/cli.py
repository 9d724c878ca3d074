"""``zhenma serve``, ``zhenma worker``, ``zhenma batch activate``, ``zhenma product page``."""

import contextlib
import logging
import os
import signal
import time

import click

from zhenma.context import AppContext, pass_app

from . import activation


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader (never in production).")
@pass_app
def serve(app: AppContext, host: str, port: int, debug: bool) -> None:
    """Run the verification service on Flask's development server (production: gunicorn)."""
    from . import create_app

    app.db  # noqa: B018  (opening it migrates, as for every command)
    create_app(app.settings).run(host=host, port=port, debug=debug, threaded=True)


@click.command("worker")
@click.option("--drain", is_flag=True, help="Exit once every scan is stored and judged.")
@click.option("--timeout", type=float, help="With --drain: give up after this many seconds.")
@pass_app
def worker(app: AppContext, drain: bool, timeout: float | None) -> None:
    """Store scans from the Redis stream in the database (with ZHENMA_REDIS_URL), place
    and judge them for alerts, deliver dispatch events to the order system (with
    ZHENMA_ORDER_URL) and alerts to HQ's webhook (with ZHENMA_HQ_WEBHOOK_URL)."""
    from alerts import worker as alert_worker
    from distribution import delivery

    from .redis_link import RedisLink, connect
    from .worker import Writer

    settings = app.settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    yield_cores(settings.worker_nice)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    outbox = delivery.start(settings, app.db)  # a thread; None without an order system
    if outbox:
        click.echo(f"worker: delivering dispatch events to {settings.order_url}", err=True)
    url, cluster = settings.redis_url, settings.redis_cluster
    flagger = connect(url, cluster=cluster) if url else None
    # Places, alerts, HQ's webhook: threads; with --drain, judged below once stored.
    side = [] if drain else alert_worker.start(settings, app.db, flagger)
    if settings.redis_url:
        link = RedisLink(url, timeout=5.0, retry_seconds=0, cluster=cluster)
        writer = Writer(settings, app.db, link)
        click.echo(f"worker {writer.consumer}: storing scans from {writer.keys.stream}", err=True)
        writer.run(lambda: bool(stopping), drain=drain, timeout=timeout)
        link.close()
    while (outbox or not settings.redis_url) and not stopping and not drain:
        time.sleep(0.2)
    if drain:
        analyst = alert_worker.analyst(settings, app.db, flagger)
        while analyst.step() and not stopping:
            pass
    for thread, stop in side:
        stop.set()
        thread.join(timeout=settings.order_timeout + 5)
    if outbox:
        outbox[1].set()
        outbox[0].join(timeout=settings.order_timeout + 5)


def yield_cores(nice: int) -> None:
    """Run at ``nice`` (never less nice than started): at saturation the web workers
    answer consumers first, and the worker catches up when the peak has passed.

    Measured with ``bench/verify.py`` (two cores, the worker beside gunicorn): the
    analyst judges every scan (270 us of CPU a scan at saturation, before its alerts
    were batched) and took those cores from the web workers. Its work tolerates
    minutes; an answer does not.
    """
    if nice and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            now = os.getpriority(os.PRIO_PROCESS, 0)
            os.setpriority(os.PRIO_PROCESS, 0, max(now, nice))


@click.command("activate")
@click.argument("batch_id", type=int)
@click.option("--from", "first", type=click.IntRange(min=1), help="First item index.")
@click.option("--to", "last", type=click.IntRange(min=1), help="Last item index.")
@pass_app
def batch_activate(app: AppContext, batch_id: int, first: int | None, last: int | None) -> None:
    """Activate a batch's codes (all, or items --from..--to) once their labels are printed."""
    with app.db.session() as s:
        row = activation.activate(s, batch_id, first, last)
        first, last = row.first_index, row.last_index
    settings = app.settings
    if not activation.forget_cached(settings, batch_id):
        click.secho(
            "warning: Redis unreachable; the service sees the activation when its cache expires",
            fg="yellow",
            err=True,
        )
    click.echo(f"activated batch {batch_id} items {first} to {last}")


@click.command("page")
@click.argument("gtin")
@click.argument("url", required=False)
@pass_app
def product_page(app: AppContext, gtin: str, url: str | None) -> None:
    """Set (or, without URL, clear) a product's page: the resolver's gs1:pip link."""
    from codegen.batches import get_product
    from zhenma.errors import Invalid

    if url is not None and not url.startswith(("https://", "http://")):
        raise Invalid("a product page URL starts with https://")
    with app.db.session() as s:
        product = get_product(s, gtin)
        product.page_url = url
    click.echo(f"product {gtin} page: {url or '(none)'}")


def register(cli: click.Group) -> None:
    from codegen.cli import batch, product

    cli.add_command(serve)
    cli.add_command(worker)
    from .hq_users_cli import hq_user

    cli.add_command(hq_user)
    batch.add_command(batch_activate)
    product.add_command(product_page)
