"""The commands of the distributor chain.

``zhenma distributor``, ``zhenma hq token``, ``zhenma outbox``, ``zhenma epcis``,
``zhenma custody``.
"""

import json
import sys
from pathlib import Path

import click

from zhenma.context import AppContext, pass_app

from . import custody, distributors, epcis, outbox
from .goods import ITEM, Refused, identify
from .times import parse


def _secrets(app: AppContext):
    cache: dict = {}

    def secrets(batch):
        key = (batch.key_id, batch.id)
        if key not in cache:
            cache[key] = app.keyring.batch_secrets(batch.key_id, batch.id)
        return cache[key]

    return secrets


def _owner(s, code: str):
    return None if code.upper() == distributors.HQ else distributors.get(s, code)


def _line(d: dict) -> str:
    parent = d["parent"] or "HQ"
    return (
        f"{d['code']:<12} {d['level_name']:<4} parent={parent:<10} "
        f"territory={','.join(d['territory'])}  {d['name']}"
    )


# -- distributors ----------------------------------------------------------------------


@click.group()
def distributor() -> None:
    """Distributors: the chain below HQ, territories, device tokens."""


@distributor.command("add")
@click.option("--code", required=True, help="How people, devices and the order system name it.")
@click.option("--name", required=True)
@click.option("--level", required=True, help="A level name (省代) or number (2).")
@click.option("--parent", help="The distributor above it; none: HQ supplies it.")
@click.option(
    "--region", "regions", multiple=True, required=True,
    help="A region of its territory (repeat): CN, CN-440000 (province), CN-440100 (city).",
)  # fmt: skip
@pass_app
def distributor_add(app: AppContext, code, name, level, parent, regions) -> None:
    """Add a distributor."""
    with app.db.session() as s:
        d = distributors.add(
            s, app.settings.distributor_levels, code, name, level, parent, list(regions)
        )
        click.echo(_line(distributors.describe(s, d, app.settings.distributor_levels)))


@distributor.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_app
def distributor_list(app: AppContext, as_json: bool) -> None:
    """List distributors, top levels first."""
    levels = app.settings.distributor_levels
    with app.db.session() as s:
        for d in distributors.all_(s):
            shown = distributors.describe(s, d, levels)
            click.echo(json.dumps(shown, ensure_ascii=False) if as_json else _line(shown))


@distributor.command("show")
@click.argument("code")
@pass_app
def distributor_show(app: AppContext, code: str) -> None:
    """A distributor, its children and its device tokens."""
    levels = app.settings.distributor_levels
    with app.db.session() as s:
        d = distributors.get(s, code)
        shown = distributors.describe(s, d, levels)
        children = [c.code for c in distributors.all_(s) if c.parent_id == d.id]
        click.echo(_line(shown))
        click.echo(f"children: {', '.join(children) or '-'}")
        for t in distributors.list_tokens(s, "device", d):
            click.echo(_token_line(distributors.describe_token(s, t)))


def _token_line(t: dict) -> str:
    state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
    role = f" role={t['role']}" if t["role"] else ""
    return (
        f"token {t['id']:<4} {t['prefix']}…  {state}  created {t['created_at']}{role}  {t['label']}"
    )


@distributor.group("token")
def distributor_token() -> None:
    """Device tokens of a distributor (or of HQ's warehouse: use HQ as the code)."""


@distributor_token.command("add")
@click.argument("code")
@click.option("--label", required=True, help="Which device holds it.")
@pass_app
def distributor_token_add(app: AppContext, code: str, label: str) -> None:
    """Make a device token; it is shown once, on stdout."""
    with app.db.session() as s:
        new = distributors.add_token(s, "device", label, _owner(s, code))
        click.echo(f"token {new.row.id} for {code}: store it now, it is not shown again", err=True)
    click.echo(new.token)


@distributor_token.command("list")
@click.argument("code")
@pass_app
def distributor_token_list(app: AppContext, code: str) -> None:
    with app.db.session() as s:
        for t in distributors.list_tokens(s, "device", _owner(s, code)):
            click.echo(_token_line(distributors.describe_token(s, t)))


@distributor_token.command("revoke")
@click.argument("token_id", type=int)
@pass_app
def distributor_token_revoke(app: AppContext, token_id: int) -> None:
    """Revoke a device token: the device's next request is refused."""
    with app.db.session() as s:
        distributors.revoke_token(s, token_id, "device")
    click.echo(f"token {token_id} revoked")


# -- HQ API tokens -----------------------------------------------------------------------


@click.group()
def hq() -> None:
    """HQ's access to the API."""


@hq.group("token")
def hq_token() -> None:
    """Tokens of HQ API clients: viewers read, admins also change."""


@hq_token.command("add")
@click.option("--role", required=True, type=click.Choice(distributors.ROLES))
@click.option("--label", required=True, help="Who or what holds it.")
@pass_app
def hq_token_add(app: AppContext, role: str, label: str) -> None:
    """Make an HQ API token; it is shown once, on stdout."""
    with app.db.session() as s:
        new = distributors.add_token(s, "hq", label, role=role)
        click.echo(f"HQ token {new.row.id} ({role}): store it now, it is not shown again", err=True)
    click.echo(new.token)


@hq_token.command("list")
@pass_app
def hq_token_list(app: AppContext) -> None:
    with app.db.session() as s:
        for t in distributors.list_tokens(s, "hq"):
            click.echo(_token_line(distributors.describe_token(s, t)))


@hq_token.command("revoke")
@click.argument("token_id", type=int)
@pass_app
def hq_token_revoke(app: AppContext, token_id: int) -> None:
    with app.db.session() as s:
        distributors.revoke_token(s, token_id, "hq")
    click.echo(f"HQ token {token_id} revoked")


# -- the outbox ------------------------------------------------------------------------


@click.group("outbox")
def outbox_group() -> None:
    """Events for the order system: pending, delivered, parked (dead letters)."""


@outbox_group.command("list")
@click.option("--state", type=click.Choice(outbox.STATES))
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_app
def outbox_list(app: AppContext, state: str | None, limit: int, as_json: bool) -> None:
    """Events, oldest first, and a count per state on stderr."""
    with app.db.session() as s:
        counts = outbox.counts(s)
        for e in outbox.listing(s, state, limit):
            shown = outbox.describe(e)
            if as_json:
                click.echo(json.dumps(shown, ensure_ascii=False))
                continue
            error = (
                f"  last error: {e.last_error}" if e.last_error and e.state != "delivered" else ""
            )
            click.echo(
                f"{e.id:<6} {e.state:<9} attempts={e.attempts:<3} dispatch={e.dispatch_id}"
                f"  key={e.idempotency_key}{error}"
            )
    click.echo("  ".join(f"{k}={v}" for k, v in counts.items()), err=True)


@outbox_group.command("replay")
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--parked", "all_parked", is_flag=True, help="Every parked event.")
@pass_app
def outbox_replay(app: AppContext, event_ids: tuple[int, ...], all_parked: bool) -> None:
    """Send parked events again (same body, same idempotency key), from attempt one."""
    if bool(event_ids) == all_parked:
        raise click.UsageError("give event ids, or --parked for every parked event")
    with app.db.session() as s:
        replayed = outbox.replay(s, None if all_parked else list(event_ids))
    click.echo(f"{len(replayed)} event(s) pending again: {' '.join(map(str, replayed)) or '-'}")


# -- EPCIS and custody -------------------------------------------------------------------


@click.group("epcis")
def epcis_group() -> None:
    """EPCIS 2.0 exports of packing and dispatch history."""


@epcis_group.command("export")
@click.option("--from", "start", help="Events at or after this ISO 8601 time (with offset).")
@click.option("--to", "end", help="Events before this time.")
@click.option("--batch", type=int, help="Only this batch's history.")
@click.option("--ids", type=click.Choice(epcis.ID_SCHEMES), default="dl", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@pass_app
def epcis_export(app: AppContext, start, end, batch, ids, out: Path | None) -> None:
    """Write an EPCIS 2.0 JSON-LD document."""
    start = parse(start, "--from") if start else None
    end = parse(end, "--to") if end else None
    with app.db.sessions() as s:
        chunks = epcis.export(s, app.settings, _secrets(app), start, end, batch, ids)
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            return
        partial = out.with_name(out.name + ".partial")
        with partial.open("w", encoding="utf-8") as f:
            f.writelines(chunks)
        partial.replace(out)  # a file under its name is always a whole document
    click.echo(f"wrote {out}", err=True)


@click.command("custody")
@click.argument("serial")
@pass_app
def custody_command(app: AppContext, serial: str) -> None:
    """An item's chain of custody: its cartons and every dispatch that moved it."""
    with app.db.session() as s:
        goods, batch = identify(s, serial, _secrets(app), revoked_ok=True)
        if goods.kind != ITEM:
            raise Refused("not_an_item", f"{goods.code} is a carton code, not a serial", 400)
        r = custody.report(s, app.settings.distributor_levels, goods, batch, _secrets(app))
    click.echo(f"{r['serial']}  {r['product']}  batch {r['batch']} item {r['index']}")
    for c in r["cartons"]:
        kind = "default" if c["default"] else "packed"
        click.echo(
            f"  in carton {c['carton']} ({kind}) {c['since'] or 'start'} .. {c['until'] or 'now'}"
        )
    for step in r["chain"]:
        click.echo(
            f"  {step['scanned_at']}  {step['from']['code']} -> {step['to']['code']}"
            f"  via {step['via']} {step['code']}  scan {step['scan_id']}"
        )
    holder = r["holder"]
    click.echo(f"held by {holder['code']} ({holder['level_name']}) {holder['name']}")


def register(cli: click.Group) -> None:
    for command in (distributor, hq, outbox_group, epcis_group, custody_command):
        cli.add_command(command)
