"""The Redis breaker (``verify_api.redis_link.RedisLink``): when Redis is left alone."""

import time

import redis

from verify_api.redis_link import SLOW_CALLS, RedisLink


def test_timeouts_open_the_breaker_only_in_a_row_and_a_failed_probe_reopens_it_at_once():
    link = RedisLink("redis://127.0.0.1:6379/0", timeout=0.2, retry_seconds=0.1)
    for _ in range(SLOW_CALLS - 1):  # a slow reply now and then is load, not an outage
        link.failed(redis.TimeoutError())
        assert link.available()
    link.succeeded()
    for _ in range(SLOW_CALLS - 1):  # a success in between: the count starts again
        link.failed(redis.TimeoutError())
        assert link.available()
    link.failed(redis.TimeoutError())
    assert not link.available()
    time.sleep(0.15)
    assert link.available()  # half-open: one call may probe
    link.failed(redis.TimeoutError())  # the probe was slow too: open again, no three more
    assert not link.available()
    time.sleep(0.15)
    link.succeeded()  # the probe went through: closed, a lone timeout is load again
    link.failed(redis.TimeoutError())
    assert link.available()
    link.failed(redis.ConnectionError())  # refused or reset: open at once
    assert not link.available()
    link.close()
