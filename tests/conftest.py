"""Shared fixtures: settings on a temporary instance folder, real databases, a keyring.

PostgreSQL comes from ``ZHENMA_TEST_PG`` (default: the local server on 127.0.0.1,
user postgres, trust auth, as ``scripts/services`` leaves it); every test that asks
for a database gets a new, empty one, dropped afterwards. Redis comes from
``ZHENMA_TEST_REDIS`` (default redis://127.0.0.1:6379/0).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from keys import Keyring
from zhenma import config
from zhenma.db import Database

PG_SERVER = os.environ.get("ZHENMA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("ZHENMA_TEST_REDIS", "redis://127.0.0.1:6379/0")
TEST_PASSWORD = "correct horse battery staple"
GTIN = "06901234567892"
PRODUCT_NAME = "真码测试白酒 500ml"


@pytest.fixture(scope="session")
def pg_admin():
    engine = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _fresh_pg(pg_admin) -> tuple[str, callable]:
    name = f"zt_{secrets.token_hex(6)}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return f"{PG_SERVER}/{name}", drop


@pytest.fixture
def pg_url(pg_admin):
    url, drop = _fresh_pg(pg_admin)
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database, once SQLite and once PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/zhenma.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def env(tmp_path, database_url) -> dict[str, str]:
    """Environment variables for running Zhenma (in process or as a subprocess)."""
    return {
        "ZHENMA_INSTANCE": str(tmp_path / "instance"),
        "ZHENMA_DATABASE_URL": database_url,
        "ZHENMA_KEYRING": str(tmp_path / "instance" / "keyring.zkr"),
        "ZHENMA_KEYRING_PASSWORD": TEST_PASSWORD,
        "ZHENMA_VERIFY_BASE": "https://v.zhenma.test",
        "ZHENMA_WORKERS": "2",
    }


@pytest.fixture
def settings(env) -> config.Settings:
    return config.load(env)


@pytest.fixture
def keyring(settings) -> Keyring:
    return Keyring.create(settings.keyring_path, TEST_PASSWORD)


@pytest.fixture
def db(settings):
    database = Database.from_settings(settings)
    database.upgrade()
    yield database
    database.dispose()


class Runner:
    """Runs the real ``zhenma`` command in a subprocess with the test's environment."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env = {**os.environ, **env}
        self.cwd = cwd

    def __call__(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "zhenma", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=kwargs.pop("timeout", 300),
            **kwargs,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"zhenma {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "zhenma", *args],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def runner(env, tmp_path) -> Runner:
    return Runner(env, tmp_path)


def add_product(run) -> str:
    """A production keyring and the test product (with a company prefix), via the real CLI."""
    run("keys", "new")
    run("product", "add", "--gtin", GTIN, "--name", PRODUCT_NAME, "--company-prefix", "6901234")
    return GTIN


@pytest.fixture
def product(runner) -> str:
    return add_product(runner)
