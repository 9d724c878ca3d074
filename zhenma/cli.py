"""The ``zhenma`` command: a click group whose context object holds settings, database and keyring.

Each concern adds its own commands (``codegen.cli``, ``keys.cli``, ``verify_api.cli``);
this module owns what they share: the context, the error-to-exit-code mapping, and
``main``, which prints a one-line error instead of a traceback unless asked
(``--traceback`` or ``ZHENMA_TRACEBACK=1``).
"""

import os
import sys
import traceback
from enum import IntEnum

import click
from sqlalchemy.exc import SQLAlchemyError

from keys import KeyringError
from zhenma import config
from zhenma.codes import CodeError
from zhenma.context import AppContext, pass_app
from zhenma.errors import Conflict, NotFound, ZhenmaError


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    KEYRING = 5
    INTERRUPTED = 130


@click.group()
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="zhenma")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """Zhenma: one code per item, verified by consumers, followed through distributors."""
    if traceback:
        os.environ["ZHENMA_TRACEBACK"] = "1"
    ctx.obj = AppContext(config.load())


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: AppContext) -> None:
    """Migrate the database to the newest schema."""
    app.db  # noqa: B018  (opening it migrates)
    click.echo(f"database at revision {app.db.current_revision()}")


def _register() -> None:
    from codegen.cli import batch, product
    from codegen.render.cli import templates
    from distribution.cli import register as register_distribution
    from keys.cli import keys
    from verify_api.cli import register as register_verify

    for command in (product, batch, templates, keys):
        cli.add_command(command)
    register_verify(cli)
    register_distribution(cli)


_register()


def _exit_code(exc: BaseException) -> Exit:
    if isinstance(exc, NotFound):
        return Exit.NOT_FOUND
    if isinstance(exc, Conflict):
        return Exit.CONFLICT
    if isinstance(exc, KeyringError):
        return Exit.KEYRING
    return Exit.ERROR


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="zhenma", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return Exit.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return Exit.USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (ZhenmaError, KeyringError, CodeError, config.ConfigError) as exc:
        if os.environ.get("ZHENMA_TRACEBACK"):
            traceback.print_exc()
        click.secho(f"error: {exc}", fg="red", err=True)
        return _exit_code(exc)
    except SQLAlchemyError as exc:  # the database is down or refused: a line, no traceback
        if os.environ.get("ZHENMA_TRACEBACK"):
            traceback.print_exc()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        click.secho(f"error: the database failed: {reason}", fg="red", err=True)
        return Exit.ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return Exit.INTERRUPTED
    return Exit.OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
