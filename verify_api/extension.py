"""The service's parts for one app, made once in ``init_app`` and found through ``current_app``.

``verify_service`` is created unbound (module level) and attached to an app with
``init_app``, so tests can build many apps in one process, each with its settings.
"""

import logging

from flask import Flask, current_app

from keys import open_for_use
from zhenma.config import Settings
from zhenma.db import Database

from .catalog import Catalog
from .checks import Checker
from .client import load_salt
from .redis_link import Keys, RedisLink
from .scans import Recorder
from .throttle import LocalThrottle, RedisThrottle

log = logging.getLogger("zhenma.verify")


class Parts:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database.from_settings(settings)
        self.keys = Keys(settings.redis_prefix)
        self.link = (
            RedisLink(
                settings.redis_url,
                settings.redis_timeout,
                settings.redis_retry_seconds,
                cluster=settings.redis_cluster,
            )
            if settings.redis_url
            else None
        )
        self.catalog = Catalog(
            self.db,
            self.link,
            self.keys,
            lambda: open_for_use(
                settings.keyring_path, settings.keyring_password, warn=log.warning
            ),
            settings.metadata_seconds,
            settings.redis_cache_seconds,
        )
        self.recorder = Recorder(self.db, self.link, self.keys, settings)
        limits = (
            settings.hidden_code_tries,
            settings.hidden_client_tries,
            settings.hidden_lock_seconds,
        )
        self.throttle = self._throttle(limits)
        # Failed HQ logins, per user name and per client: the same mechanism and the
        # same fail-open choice (Argon2id still makes each guess cost the guesser).
        self.login_throttle = self._throttle(
            (
                settings.hq_login_tries,
                settings.hq_login_client_tries,
                settings.hq_login_lock_seconds,
            )
        )
        self.checker = Checker(self.catalog, self.recorder, self.throttle)
        self.ip_salt = load_salt(settings)

    def _throttle(self, limits: tuple[int, int, int]):
        return RedisThrottle(self.link, self.keys, *limits) if self.link else LocalThrottle(*limits)

    def close(self) -> None:
        if self.link is not None:
            self.recorder.redis.close()
            self.link.close()
        self.recorder.database.close()
        self.db.dispose()


class VerifyService:
    name = "zhenma.verify"

    def init_app(self, app: Flask, settings: Settings) -> None:
        app.extensions[self.name] = Parts(settings)

    @property
    def parts(self) -> Parts:
        return current_app.extensions[self.name]


verify_service = VerifyService()
