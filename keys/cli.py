"""``zhenma keys``: create the production keyring, list master keys, rotate."""

import click

from zhenma.context import AppContext, pass_app

from .keyring import Keyring, KeyringError


@click.group()
def keys() -> None:
    """The keyring of master secrets (password: ZHENMA_KEYRING_PASSWORD)."""


def _password(app: AppContext) -> str:
    password = app.settings.keyring_password
    if not password:
        raise KeyringError("set ZHENMA_KEYRING_PASSWORD to the keyring's password first")
    return password


@keys.command("new")
@pass_app
def keys_new(app: AppContext) -> None:
    """Create a production keyring with its first master key (never overwrites)."""
    password = _password(app)
    if len(password) < 12:
        raise KeyringError("a production keyring password has at least 12 characters")
    ring = Keyring.create(app.settings.keyring_path, password)
    click.echo(f"created keyring {ring.path} with master key {ring.current_id}")


@keys.command("list")
@pass_app
def keys_list(app: AppContext) -> None:
    """List master key ids (never the secrets)."""
    ring = app.keyring
    kind = "DEVELOPMENT" if ring.development else "production"
    click.echo(f"{ring.path} ({kind} keyring)")
    for key in ring.keys.values():
        mark = "*" if key.id == ring.current_id else " "
        click.echo(f"{mark} {key.id}  created {key.created}")


@keys.command("rotate")
@pass_app
def keys_rotate(app: AppContext) -> None:
    """Add a master key for new batches; older batches keep verifying with theirs."""
    ring = app.keyring
    key = ring.rotate(app.settings.keyring_password or _dev_password(ring))
    click.echo(f"new current master key {key.id}; {len(ring.keys) - 1} older key(s) kept")


def _dev_password(ring: Keyring) -> str:
    from .keyring import DEV_PASSWORD

    if not ring.development:
        raise KeyringError("set ZHENMA_KEYRING_PASSWORD to rotate this keyring")
    return DEV_PASSWORD
