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
* ZHENMA_REDIS_CLUSTER (off): ``1``/``true``/``yes``/``on`` when ZHENMA_REDIS_URL is
  a node of a Redis Cluster (a cluster-mode or managed cluster Redis); the prefix
  must then hold a hash tag, e.g. ``{zhenma}:``, so every key lands in one slot
  (``verify_api.redis_link.Keys`` says why).
* ZHENMA_REDIS_TIMEOUT (0.25): seconds a Redis call may take before the service
  answers degraded from the database.
* ZHENMA_REDIS_RETRY_SECONDS (1): after Redis failed, seconds before it is tried again.
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
* ZHENMA_WORKER_NICE (10): the niceness ``zhenma worker`` gives itself (0 to 19; 0
  leaves it as started): on a machine shared with the web workers, consumers'
  answers come first and the worker's backlogs (stream, analyst, outbox) wait
  through a peak.
* ZHENMA_IP_SALT (none): key of the salted IP hash; without it one is made and
  kept in {instance}/ip-salt.
* ZHENMA_PROXY_HOPS (0): reverse proxies in front of the app whose
  X-Forwarded-For is trusted.
* ZHENMA_DISPLAY_TZ (Asia/Shanghai): time zone of dates shown to consumers.

Distributors, dispatch scans and the order system (``distribution``, docs/dispatch.md):

* ZHENMA_DISTRIBUTOR_LEVELS (总代,省代,市代,区代,特约): the names of the levels of
  the distributor chain, from the top; a distributor's level is its position here.
* ZHENMA_ORDER_URL (none): where the worker POSTs every accepted dispatch; without
  it events wait in the outbox. ZHENMA_ORDER_SECRET (none): the HMAC-SHA256 key
  of the signature header, at least 32 characters; required with the URL.
* ZHENMA_ORDER_TIMEOUT (10): seconds a delivery may take (connect and answer).
* ZHENMA_OUTBOX_MAX_ATTEMPTS (12): deliveries tried before an event is parked.
* ZHENMA_OUTBOX_BACKOFF (2), ZHENMA_OUTBOX_BACKOFF_MAX (3600): the first retry
  waits about the first value, each next one twice as long (with jitter), capped.
* ZHENMA_OUTBOX_LEASE (60): seconds a worker owns an event it is delivering; a
  worker that died mid-delivery leaves it to another after this. Must exceed
  the timeout.
* ZHENMA_OUTBOX_POLL (1): seconds an idle worker waits before looking again.
* ZHENMA_DISPATCH_MAX_SCANS (1000): scans in one upload; ZHENMA_DISPATCH_MAX_BODY
  (1048576): bytes of an upload or a packing request.
* ZHENMA_CLOCK_SKEW (300): seconds a scan time may lie in the future (device clocks).

Places, alerts and HQ users (``zhenma.places``, ``alerts``, docs/alerts.md):

* ZHENMA_GEOIP_DB (none): path of a MaxMind-format City database (GeoLite2 City);
  without it scans without coordinates have no place.
* ZHENMA_CLONE_SPEED_KMH (900), ZHENMA_CLONE_MIN_KM (50): two located scans of one
  code further apart than this speed allows in the time between (and at least the
  distance apart) make a clone alert; ZHENMA_CLONE_MAX_CITIES (3): scans from more
  distinct cities do; ZHENMA_CLONE_MAX_SCANS (20): more counted scans do.
* ZHENMA_ANALYST_BATCH (200): scans the worker places and judges per transaction;
  ZHENMA_ANALYST_POLL (1): seconds an idle analyst waits before looking again.
* ZHENMA_HQ_SESSION_HOURS (8): how long an HQ login lasts.
* ZHENMA_HQ_LOGIN_TRIES (5), ZHENMA_HQ_LOGIN_CLIENT_TRIES (20),
  ZHENMA_HQ_LOGIN_LOCK_SECONDS (900): failed HQ logins allowed per user name and per
  client before further tries are refused for the lock time.
* ZHENMA_HQ_WEBHOOK_URL (none): where new alerts are POSTed (the outbox's delivery,
  signed like order events); ZHENMA_HQ_WEBHOOK_SECRET: its key, at least 32
  characters, required with the URL.
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


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("give 1, true, yes, on or 0, false, no, off")


def hash_tag(key: str) -> str | None:
    """The part of a key Redis Cluster hashes: between the first ``{`` and the next ``}``."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    return key[start + 1 : end] if end > start + 1 else None


_SECRET = ("keyring_password", "ip_salt", "order_secret", "hq_webhook_secret")


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
    redis_cluster: bool = False
    redis_timeout: float = 0.25
    redis_retry_seconds: float = 1.0
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
    worker_nice: int = 10
    ip_salt: str | None = None
    proxy_hops: int = 0
    display_tz: str = "Asia/Shanghai"
    distributor_levels: tuple[str, ...] = ("总代", "省代", "市代", "区代", "特约")
    order_url: str | None = None
    order_secret: str | None = None
    order_timeout: float = 10.0
    outbox_max_attempts: int = 12
    outbox_backoff: float = 2.0
    outbox_backoff_max: float = 3600.0
    outbox_lease: float = 60.0
    outbox_poll: float = 1.0
    dispatch_max_scans: int = 1000
    dispatch_max_body: int = 1_048_576
    clock_skew: int = 300
    geoip_db: str | None = None
    clone_speed_kmh: float = 900.0
    clone_min_km: float = 50.0
    clone_max_cities: int = 3
    clone_max_scans: int = 20
    analyst_batch: int = 200
    analyst_poll: float = 1.0
    hq_session_hours: float = 8.0
    hq_login_tries: int = 5
    hq_login_client_tries: int = 20
    hq_login_lock_seconds: int = 900
    hq_webhook_url: str | None = None
    hq_webhook_secret: str | None = None

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
        **_dispatch_settings(env),
        **_alert_settings(env),
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
    values["redis_cluster"] = _maybe(env, "ZHENMA_REDIS_CLUSTER", _bool, False)
    if values["redis_cluster"] and hash_tag(values["redis_prefix"]) is None:
        # Without a tag in the prefix one scan's keys would land in different slots,
        # and the cluster refuses the scan script (CROSSSLOT).
        raise ConfigError(
            f"ZHENMA_REDIS_PREFIX={values['redis_prefix']!r}: with ZHENMA_REDIS_CLUSTER it"
            " must hold a hash tag, e.g. '{zhenma}:', so every key lands in one slot"
        )
    values["ip_salt"] = _maybe(env, "ZHENMA_IP_SALT", _str, None)
    values["proxy_hops"] = _maybe(env, "ZHENMA_PROXY_HOPS", _int, 0)
    if values["proxy_hops"] < 0:
        raise ConfigError(f"ZHENMA_PROXY_HOPS={values['proxy_hops']}: must be 0 or more")
    values["display_tz"] = _maybe(env, "ZHENMA_DISPLAY_TZ", _str, "Asia/Shanghai")
    values["worker_nice"] = _maybe(env, "ZHENMA_WORKER_NICE", _int, 10)
    if not 0 <= values["worker_nice"] <= 19:
        raise ConfigError(f"ZHENMA_WORKER_NICE={values['worker_nice']}: must be 0 to 19")
    return values


def _levels(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise ValueError("give distinct, non-empty level names separated by commas")
    return names


def _dispatch_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings of distributors, dispatch and the outbox (names in the module docstring)."""
    d = Settings.__dataclass_fields__
    values: dict[str, Any] = {}
    for field_name, env_name, convert in (
        ("order_timeout", "ZHENMA_ORDER_TIMEOUT", _float),
        ("outbox_max_attempts", "ZHENMA_OUTBOX_MAX_ATTEMPTS", _int),
        ("outbox_backoff", "ZHENMA_OUTBOX_BACKOFF", _float),
        ("outbox_backoff_max", "ZHENMA_OUTBOX_BACKOFF_MAX", _float),
        ("outbox_lease", "ZHENMA_OUTBOX_LEASE", _float),
        ("outbox_poll", "ZHENMA_OUTBOX_POLL", _float),
        ("dispatch_max_scans", "ZHENMA_DISPATCH_MAX_SCANS", _int),
        ("dispatch_max_body", "ZHENMA_DISPATCH_MAX_BODY", _int),
        ("clock_skew", "ZHENMA_CLOCK_SKEW", _int),
    ):
        values[field_name] = _positive(
            env_name, _maybe(env, env_name, convert, d[field_name].default)
        )
    if values["outbox_lease"] <= values["order_timeout"]:
        raise ConfigError(
            f"ZHENMA_OUTBOX_LEASE={values['outbox_lease']:g} must exceed"
            f" ZHENMA_ORDER_TIMEOUT={values['order_timeout']:g}: a delivery still running"
            " must not be taken over"
        )
    values["distributor_levels"] = _maybe(
        env, "ZHENMA_DISTRIBUTOR_LEVELS", _levels, d["distributor_levels"].default
    )
    url = _maybe(env, "ZHENMA_ORDER_URL", _str, None)
    secret = _maybe(env, "ZHENMA_ORDER_SECRET", _str, None)
    if url is not None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"ZHENMA_ORDER_URL={url!r}: must start with https:// or http://")
        # Fail closed: the order system must be able to tell our events from forgeries.
        if secret is None or len(secret) < 32:
            raise ConfigError(
                "ZHENMA_ORDER_SECRET: at least 32 characters are needed with ZHENMA_ORDER_URL"
            )
    values["order_url"] = url
    values["order_secret"] = secret
    return values


def _alert_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings of places, alerts and HQ users (names in the module docstring)."""
    d = Settings.__dataclass_fields__
    values: dict[str, Any] = {}
    for field_name, env_name, convert in (
        ("clone_speed_kmh", "ZHENMA_CLONE_SPEED_KMH", _float),
        ("clone_min_km", "ZHENMA_CLONE_MIN_KM", _float),
        ("clone_max_cities", "ZHENMA_CLONE_MAX_CITIES", _int),
        ("clone_max_scans", "ZHENMA_CLONE_MAX_SCANS", _int),
        ("analyst_batch", "ZHENMA_ANALYST_BATCH", _int),
        ("analyst_poll", "ZHENMA_ANALYST_POLL", _float),
        ("hq_session_hours", "ZHENMA_HQ_SESSION_HOURS", _float),
        ("hq_login_tries", "ZHENMA_HQ_LOGIN_TRIES", _int),
        ("hq_login_client_tries", "ZHENMA_HQ_LOGIN_CLIENT_TRIES", _int),
        ("hq_login_lock_seconds", "ZHENMA_HQ_LOGIN_LOCK_SECONDS", _int),
    ):
        values[field_name] = _positive(
            env_name, _maybe(env, env_name, convert, d[field_name].default)
        )
    values["geoip_db"] = _maybe(env, "ZHENMA_GEOIP_DB", _str, None)
    url = _maybe(env, "ZHENMA_HQ_WEBHOOK_URL", _str, None)
    secret = _maybe(env, "ZHENMA_HQ_WEBHOOK_SECRET", _str, None)
    if url is not None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"ZHENMA_HQ_WEBHOOK_URL={url!r}: must start with https:// or http://")
        # Fail closed, as for the order system: HQ must be able to tell our alerts from forgeries.
        if secret is None or len(secret) < 32:
            raise ConfigError(
                "ZHENMA_HQ_WEBHOOK_SECRET: at least 32 characters are needed with"
                " ZHENMA_HQ_WEBHOOK_URL"
            )
    values["hq_webhook_url"] = url
    values["hq_webhook_secret"] = secret
    return values
