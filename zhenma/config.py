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

The verification service (``verify_api``, docs/verify.md):

* ZHENMA_REDIS_PREFIX (zhenma:): prefix of every Redis key, so deployments (and
  tests) can share one Redis.
* ZHENMA_REDIS_TIMEOUT (0.25): seconds a Redis call may take before the service
  answers degraded from the database.
* ZHENMA_REDIS_RETRY_SECONDS (5): after Redis failed, seconds before it is tried again.
* ZHENMA_MAX_BODY (4096): largest request body in bytes (413 above).
* ZHENMA_SUSPECT_SCANS (20): a genuine code checked more often is "suspect".
* ZHENMA_SUSPECT_SPEED_KMH (900): located checks of one code further apart than
  this speed allows (and at least ZHENMA_SUSPECT_MIN_KM (50) apart) make it "suspect".
* ZHENMA_HIDDEN_CODE_TRIES (5), ZHENMA_HIDDEN_CLIENT_TRIES (20),
  ZHENMA_HIDDEN_LOCK_SECONDS (900): wrong hidden codes allowed per code and per
  client before further tries are refused for the lock time.
* ZHENMA_METADATA_SECONDS (10): how long a web worker keeps batch and product
  facts in memory; ZHENMA_REDIS_CACHE_SECONDS (60) how long Redis keeps them.
* ZHENMA_WORKER_BATCH (500): scans the writer stores per transaction.
* ZHENMA_WORKER_CLAIM_IDLE_MS (30000): a scan delivered to a writer that has not
  acknowledged it for this long is taken over by another writer.
* ZHENMA_IP_SALT (none): key of the salted IP hash; without it one is made and
  kept in {instance}/ip-salt.
* ZHENMA_PROXY_HOPS (0): reverse proxies in front of the app whose
  X-Forwarded-For is trusted.
* ZHENMA_DISPLAY_TZ (Asia/Shanghai): time zone of dates shown to consumers.
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


def _float(text: str) -> float:
    return float(text)


_SECRET = ("keyring_password", "ip_salt")


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    redis_url: str | None
    keyring_path: Path
    keyring_password: str | None
    verify_base: str
    workers: int
    redis_prefix: str = "zhenma:"
    redis_timeout: float = 0.25
    redis_retry_seconds: float = 5.0
    max_body: int = 4096
    suspect_scans: int = 20
    suspect_speed_kmh: float = 900.0
    suspect_min_km: float = 50.0
    hidden_code_tries: int = 5
    hidden_client_tries: int = 20
    hidden_lock_seconds: int = 900
    metadata_seconds: float = 10.0
    redis_cache_seconds: int = 60
    worker_batch: int = 500
    worker_claim_idle_ms: int = 30_000
    ip_salt: str | None = None
    proxy_hops: int = 0
    display_tz: str = "Asia/Shanghai"

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    def __repr__(self) -> str:  # the password never reaches a log through repr
        shown = ", ".join(
            f"{f.name}={'<set>' if f.name in _SECRET and getattr(self, f.name) else getattr(self, f.name)!r}"  # noqa: E501
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
        **_verify_settings(env),
    )


def _positive(name: str, value: float) -> float:
    if value <= 0:
        raise ConfigError(f"{name}={value}: must be positive")
    return value


def _verify_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The verification service's settings (names and meanings in the module docstring)."""
    d = Settings.__dataclass_fields__
    values: dict[str, Any] = {}
    for field_name, env_name, convert in (
        ("redis_prefix", "ZHENMA_REDIS_PREFIX", _str),
        ("redis_timeout", "ZHENMA_REDIS_TIMEOUT", _float),
        ("redis_retry_seconds", "ZHENMA_REDIS_RETRY_SECONDS", _float),
        ("max_body", "ZHENMA_MAX_BODY", _int),
        ("suspect_scans", "ZHENMA_SUSPECT_SCANS", _int),
        ("suspect_speed_kmh", "ZHENMA_SUSPECT_SPEED_KMH", _float),
        ("suspect_min_km", "ZHENMA_SUSPECT_MIN_KM", _float),
        ("hidden_code_tries", "ZHENMA_HIDDEN_CODE_TRIES", _int),
        ("hidden_client_tries", "ZHENMA_HIDDEN_CLIENT_TRIES", _int),
        ("hidden_lock_seconds", "ZHENMA_HIDDEN_LOCK_SECONDS", _int),
        ("metadata_seconds", "ZHENMA_METADATA_SECONDS", _float),
        ("redis_cache_seconds", "ZHENMA_REDIS_CACHE_SECONDS", _int),
        ("worker_batch", "ZHENMA_WORKER_BATCH", _int),
        ("worker_claim_idle_ms", "ZHENMA_WORKER_CLAIM_IDLE_MS", _int),
    ):
        value = _maybe(env, env_name, convert, d[field_name].default)
        if convert is not _str:
            _positive(env_name, value)
        values[field_name] = value
    values["ip_salt"] = _maybe(env, "ZHENMA_IP_SALT", _str, None)
    values["proxy_hops"] = _maybe(env, "ZHENMA_PROXY_HOPS", _int, 0)
    if values["proxy_hops"] < 0:
        raise ConfigError(f"ZHENMA_PROXY_HOPS={values['proxy_hops']}: must be 0 or more")
    values["display_tz"] = _maybe(env, "ZHENMA_DISPLAY_TZ", _str, "Asia/Shanghai")
    return values
