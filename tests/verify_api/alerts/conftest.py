"""Fixtures of the alert tests: the dispatch tests' distributor chain, a test MaxMind
database, settings that use it, and the analyst (run in the test, not in a thread).

The chain (``tests/verify_api/dispatch/chain.py``)::

    HQ ─ ZD (总代, CN) ─┬─ GD (省代, CN-440000) ─ GZ (市代, CN-440100)
                        └─ SC (省代, CN-510000)
"""

import pytest

from alerts.analyst import Analyst, redis_flagger
from tests.places import geoip
from tests.verify_api.dispatch.chain import make_chain
from tests.verify_api.support import make_app, ready
from verify_api.redis_link import Keys
from zhenma import places


@pytest.fixture(scope="session")
def geoip_db(tmp_path_factory) -> str:
    return geoip.build(tmp_path_factory.mktemp("geoip") / "city.mmdb")


@pytest.fixture
def alert_settings(mode, settings, geoip_db, request):
    base = request.getfixturevalue("redis_settings") if mode == "redis" else settings
    return base.with_(geoip_db=geoip_db)


@pytest.fixture
def chain(db, settings, issued):
    return make_chain(db, settings, issued)


@pytest.fixture
def app(alert_settings, db, chain, mode):
    if mode == "redis":
        ready(alert_settings, db)
    application = make_app(alert_settings)
    yield application
    application.extensions["zhenma.verify"].close()


@pytest.fixture
def analyst(alert_settings, db, mode, redis_client):
    flag = (
        redis_flagger(redis_client, Keys(alert_settings.redis_prefix)) if mode == "redis" else None
    )
    return Analyst(alert_settings, db, places.resolver(alert_settings.geoip_db), flag)
