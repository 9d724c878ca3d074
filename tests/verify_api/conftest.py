"""Fixtures of the verification service's tests: an issued batch, apps with and without Redis.

Every test gets its own Redis key prefix (``ZHENMA_REDIS_PREFIX``) on the shared
Redis, and its keys are deleted afterwards, so tests never see each other's scans.
"""

import secrets

import pytest
import redis

from tests.verify_api.support import REDIS_URL, Issued, issue, make_app, ready
from zhenma.config import Settings


@pytest.fixture
def issued(db, keyring, settings) -> Issued:
    return issue(db, keyring, settings)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    value = f"zt:{secrets.token_hex(6)}:"
    yield value
    keys = list(redis_client.scan_iter(match=value + "*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def redis_settings(settings, prefix) -> Settings:
    """Settings with Redis, claim time short enough for tests."""
    return settings.with_(redis_url=REDIS_URL, redis_prefix=prefix, worker_claim_idle_ms=300)


@pytest.fixture(params=["redis", "database"])
def mode(request) -> str:
    return request.param


@pytest.fixture
def app(mode, settings, db, request):
    """The app, once with Redis (ready, as a running writer leaves it) and once on the database."""
    if mode == "redis":
        s = request.getfixturevalue("redis_settings")
        ready(s, db)
    else:
        s = settings
    application = make_app(s)
    yield application
    application.extensions["zhenma.verify"].close()


@pytest.fixture
def client(app):
    return app.test_client()
