"""Redis settings: cluster mode is off by default, read as a yes/no, and needs a hash tag."""

import pytest

from tests.helpers import exactly
from zhenma import config


def test_cluster_mode_is_off_by_default_and_keeps_the_plain_prefix():
    s = config.load({})
    assert (s.redis_cluster, s.redis_prefix) == (False, "zhenma:")


@pytest.mark.parametrize(
    ("raw", "on"),
    [("1", True), ("Yes", True), ("on", True), ("0", False), ("false", False), ("off", False)],
)
def test_cluster_mode_reads_the_usual_yes_and_no(raw, on):
    s = config.load({"ZHENMA_REDIS_CLUSTER": raw, "ZHENMA_REDIS_PREFIX": "{zhenma}:"})
    assert s.redis_cluster is on


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZHENMA_REDIS_CLUSTER": "maybe"},
         "ZHENMA_REDIS_CLUSTER='maybe': give 1, true, yes, on or 0, false, no, off"),
        ({"ZHENMA_REDIS_CLUSTER": "1"},
         "ZHENMA_REDIS_PREFIX='zhenma:': with ZHENMA_REDIS_CLUSTER it must hold a hash tag,"
         " e.g. '{zhenma}:', so every key lands in one slot"),
        ({"ZHENMA_REDIS_CLUSTER": "1", "ZHENMA_REDIS_PREFIX": "{}zhenma:"},
         "ZHENMA_REDIS_PREFIX='{}zhenma:': with ZHENMA_REDIS_CLUSTER it must hold a hash tag,"
         " e.g. '{zhenma}:', so every key lands in one slot"),
    ],
)  # fmt: skip
def test_cluster_mode_refuses_a_prefix_without_a_hash_tag(env, message):
    with pytest.raises(config.ConfigError, match=exactly(message)):
        config.load(env)


@pytest.mark.parametrize(
    ("key", "tag"),
    [("{zhenma}:scans", "zhenma"), ("a{b}c{d}", "b"), ("zhenma:scans", None), ("{}{x}", None),
     ("x{y", None)],
)  # fmt: skip
def test_hash_tag_is_what_redis_cluster_hashes(key, tag):
    assert config.hash_tag(key) == tag
