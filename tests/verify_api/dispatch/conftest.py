"""Fixtures of the dispatch, packing and HQ API tests: a distributor chain with tokens.

The chain (levels 总代 → 省代 → 市代)::

    HQ ─ ZD (总代, CN) ─┬─ GD (省代, CN-440000) ─ GZ (市代, CN-440100)
                        └─ SC (省代, CN-510000)

with an HQ admin token, an HQ viewer token, a device token for each distributor
and one for HQ's warehouse, and the verification tests' batch (``issued``: 40
items, cartons of 10, activated). The app runs on the database alone: Redis plays
no part in dispatch.
"""

import pytest

from tests.verify_api.dispatch.chain import Chain, make_chain
from tests.verify_api.support import make_app


@pytest.fixture
def chain(db, settings, issued) -> Chain:
    return make_chain(db, settings, issued)


@pytest.fixture
def app(settings, db, chain):
    application = make_app(settings)
    yield application
    application.extensions["zhenma.verify"].close()


@pytest.fixture
def cli(env, monkeypatch, capsys):
    """The ``zhenma`` command run in this process (quicker than ``runner``'s subprocess)."""
    import zhenma.context
    from zhenma.cli import main
    from zhenma.db import Database

    opened: list[Database] = []

    class Tracked(Database):
        @classmethod
        def from_settings(cls, settings):
            opened.append(Database.from_settings(settings))
            return opened[-1]

    monkeypatch.setattr(zhenma.context, "Database", Tracked)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str, code: int = 0):
        try:
            returned = main(list(args))
        finally:
            while opened:  # a command's process would end here, closing its connections
                opened.pop().dispose()
        out = capsys.readouterr()
        assert returned == code, out.err
        return out

    return run
