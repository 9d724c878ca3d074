"""The context object every ``zhenma`` command receives: settings, database, keyring.

Kept apart from ``zhenma.cli`` so that command modules can import it without
importing the command root (which imports them).
"""

from functools import cached_property

import click

from keys import Keyring, open_for_use
from zhenma import config
from zhenma.db import Database


class AppContext:
    """What commands share; everything is opened on first use only."""

    def __init__(self, settings: config.Settings):
        self.settings = settings

    @cached_property
    def db(self) -> Database:
        db = Database.from_settings(self.settings)
        db.upgrade()  # idempotent: the quick start needs no separate migration step
        return db

    @cached_property
    def keyring(self) -> Keyring:
        return open_for_use(
            self.settings.keyring_path,
            self.settings.keyring_password,
            warn=lambda text: click.secho(text, fg="yellow", bold=True, err=True),
        )


pass_app = click.make_pass_decorator(AppContext)
