"""The alert side of ``zhenma worker``: the analyst thread and the HQ webhook's delivery.

The webhook reuses the outbox and its deliverer (``distribution.delivery``): same
signature headers (keyed with ``ZHENMA_HQ_WEBHOOK_SECRET``), idempotency key,
retries with backoff, parking and replay; it takes only alert events.
"""

import threading

from distribution import delivery, outbox
from zhenma import places
from zhenma.config import Settings
from zhenma.db import Database

from .analyst import Analyst, redis_flagger


def _thread(target, name: str) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread, stop


def analyst(settings: Settings, db: Database, redis_client=None) -> Analyst:
    from verify_api.redis_link import Keys

    flag = redis_flagger(redis_client, Keys(settings.redis_prefix)) if redis_client else None
    return Analyst(settings, db, places.resolver(settings.geoip_db), flag)


def start(settings: Settings, db: Database, redis_client=None) -> list:
    """Start the analyst, and the webhook's deliverer when a webhook is configured."""
    threads = [_thread(analyst(settings, db, redis_client).run, "analyst")]
    if settings.hq_webhook_url:
        hook = delivery.HttpOrderSystem(
            settings.hq_webhook_url, settings.hq_webhook_secret, settings.order_timeout
        )
        deliverer = delivery.Deliverer(db, settings, hook, kinds=outbox.HQ_KINDS)
        threads.append(_thread(deliverer.run, "hq-webhook"))
    return threads
