"""``zhenma hq-user add|list|passwd``: the people who log in to HQ's dashboard.

The password is asked twice without echo, or read from ZHENMA_HQ_PASSWORD (for
scripts); it is never an argument, which other users could read from ``ps``.
"""

import click

from zhenma.context import AppContext, pass_app

from . import hq_users

_password = click.option(
    "--password",
    envvar="ZHENMA_HQ_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    show_envvar=True,
    help=f"At least {hq_users.MIN_PASSWORD} characters; asked when not in the environment.",
)


@click.group("hq-user")
def hq_user() -> None:
    """HQ users of the dashboard: viewers read alerts, admins also act on them."""


@hq_user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(hq_users.ROLES), default="viewer", show_default=True)
@click.option(
    "--name", "display_name", default="", help="How the user is shown (default: username)."
)
@_password
@pass_app
def add(app: AppContext, username: str, role: str, display_name: str, password: str) -> None:
    """Add an HQ user."""
    with app.db.session() as s:
        user = hq_users.add(s, username, password, role, display_name)
        click.echo(f"HQ user {user.username} ({user.role}) added")


@hq_user.command("list")
@pass_app
def list_(app: AppContext) -> None:
    """List HQ users."""
    with app.db.session() as s:
        for u in hq_users.all_(s):
            click.echo(f"{u.username}\t{u.role}\t{u.display_name}\t{u.created_at:%Y-%m-%d}")


@hq_user.command("passwd")
@click.argument("username")
@_password
@pass_app
def passwd(app: AppContext, username: str, password: str) -> None:
    """Set an HQ user's password; their sessions end."""
    with app.db.session() as s:
        hq_users.set_password(s, username, password)
    click.echo(f"password of {username} changed; their sessions have ended")
