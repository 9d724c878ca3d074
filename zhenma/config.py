"""Configuration, read in one place: environment variables, each with a type and a default.

Every part of Zhenma (CLI, generator, web app, worker) takes a ``Settings``; tests
build one from a dict. Defaults run out of the box: a SQLite file and a
development keyring under the instance folder, no Redis.

* ZHENMA_INSTANCE (./instance): folder for the embedded database and the dev keyring.
* ZHENMA_DATABASE_URL (sqlite:///{instance}/zhenma.db): a SQLAlchemy URL;
  ``postgresql+psycopg://user@host/db`` in production.
* ZHENMA_REDIS_URL (none): ``redis://host:port/db``; without it the service runs on
  the database alone.
* ZHENMA_KEYRING ({instance}/keyring.zkr): the encrypted keyring file.
* ZHENMA_KEYRING_PASSWORD (none): its password; without one only a development
  keyring can be used.
* ZHENMA_VERIFY_BASE (https://verify.zhenma.example): the https base printed in QR codes.
* ZHENMA_WORKERS (number of CPUs): processes the generator and renderer use.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is missing or has the wrong type."""


def _int(text: str) -> int:
    return int(text)


def _str(text: str) -> str:
    return text


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    redis_url: str | None
    keyring_path: Path
    keyring_password: str | None
    verify_base: str
    workers: int

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    def __repr__(self) -> str:  # the password never reaches a log through repr
        shown = ", ".join(
            f"{f.name}={'<set>' if f.name == 'keyring_password' and getattr(self, f.name) else getattr(self, f.name)!r}"  # noqa: E501
            for f in fields(self)
        )
        return f"Settings({shown})"


def _maybe(env: Mapping[str, str], name: str, convert: Callable[[str], Any], default: Any) -> Any:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    instance = Path(_maybe(env, "ZHENMA_INSTANCE", _str, "instance")).absolute()
    base = _maybe(env, "ZHENMA_VERIFY_BASE", _str, "https://verify.zhenma.example").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ConfigError(f"ZHENMA_VERIFY_BASE={base!r}: must start with https://")
    workers = _maybe(env, "ZHENMA_WORKERS", _int, os.cpu_count() or 1)
    if workers < 1:
        raise ConfigError(f"ZHENMA_WORKERS={workers}: must be at least 1")
    return Settings(
        instance_path=instance,
        database_url=_maybe(env, "ZHENMA_DATABASE_URL", _str, f"sqlite:///{instance}/zhenma.db"),
        redis_url=_maybe(env, "ZHENMA_REDIS_URL", _str, None),
        keyring_path=Path(_maybe(env, "ZHENMA_KEYRING", _str, str(instance / "keyring.zkr"))),
        keyring_password=_maybe(env, "ZHENMA_KEYRING_PASSWORD", _str, None),
        verify_base=base,
        workers=workers,
    )
