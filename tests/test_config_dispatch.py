"""Settings of distributors, dispatch and the outbox: defaults, types, refusals."""

import pytest

from tests.helpers import exactly
from zhenma import config

SECRET = "s" * 32


def test_defaults_run_without_an_order_system():
    s = config.load({})
    assert s.distributor_levels == ("总代", "省代", "市代", "区代", "特约")
    assert s.order_url is None and s.outbox_max_attempts == 12
    assert s.outbox_lease > s.order_timeout


def test_levels_url_and_limits_come_from_the_environment():
    s = config.load({
        "ZHENMA_DISTRIBUTOR_LEVELS": "一级, 二级,三级",
        "ZHENMA_ORDER_URL": "https://orders.example/zhenma",
        "ZHENMA_ORDER_SECRET": SECRET,
        "ZHENMA_OUTBOX_MAX_ATTEMPTS": "5",
    })  # fmt: skip
    assert s.distributor_levels == ("一级", "二级", "三级")
    assert (s.order_url, s.outbox_max_attempts) == ("https://orders.example/zhenma", 5)
    assert "order_secret='<set>'" in repr(s) and SECRET not in repr(s)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZHENMA_ORDER_URL": "https://o.example"},
         "ZHENMA_ORDER_SECRET: at least 32 characters are needed with ZHENMA_ORDER_URL"),
        ({"ZHENMA_ORDER_URL": "https://o.example", "ZHENMA_ORDER_SECRET": "short"},
         "ZHENMA_ORDER_SECRET: at least 32 characters are needed with ZHENMA_ORDER_URL"),
        ({"ZHENMA_ORDER_URL": "ftp://o.example", "ZHENMA_ORDER_SECRET": SECRET},
         "ZHENMA_ORDER_URL='ftp://o.example': must start with https:// or http://"),
        ({"ZHENMA_ORDER_TIMEOUT": "60"},
         "ZHENMA_OUTBOX_LEASE=60 must exceed ZHENMA_ORDER_TIMEOUT=60: a delivery still running"
         " must not be taken over"),
        ({"ZHENMA_OUTBOX_MAX_ATTEMPTS": "0"}, "ZHENMA_OUTBOX_MAX_ATTEMPTS=0: must be positive"),
        ({"ZHENMA_OUTBOX_BACKOFF": "soon"},
         "ZHENMA_OUTBOX_BACKOFF='soon': could not convert string to float: 'soon'"),
        ({"ZHENMA_DISTRIBUTOR_LEVELS": "a,,b"},
         "ZHENMA_DISTRIBUTOR_LEVELS='a,,b': give distinct, non-empty level names separated by"
         " commas"),
        ({"ZHENMA_DISTRIBUTOR_LEVELS": "a,a"},
         "ZHENMA_DISTRIBUTOR_LEVELS='a,a': give distinct, non-empty level names separated by"
         " commas"),
    ],
)  # fmt: skip
def test_wrong_settings_are_refused_with_the_variable_named(env, message):
    with pytest.raises(config.ConfigError, match=exactly(message)):
        config.load(env)
