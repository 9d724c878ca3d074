"""Redis and worker settings: cluster mode (off by default, a yes/no, a hash tag), niceness."""

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


def test_the_worker_yields_to_the_web_workers_by_default_and_the_niceness_is_bounded():
    assert config.load({}).worker_nice == 10
    assert config.load({"ZHENMA_WORKER_NICE": "0"}).worker_nice == 0
    for bad in ("20", "-1"):
        with pytest.raises(
            config.ConfigError, match=exactly(f"ZHENMA_WORKER_NICE={bad}: must be 0 to 19")
        ):
            config.load({"ZHENMA_WORKER_NICE": bad})
