"""Activating a batch's codes after printing, as a whole or by item ranges.

Ranges are stored as rows (``activations``) and merged when read; the cached copy
of the batch in Redis is dropped so web workers see the change within their
in-memory cache time (``ZHENMA_METADATA_SECONDS``).
"""

from sqlalchemy.orm import Session

from zhenma.config import Settings
from zhenma.db.models import Activation, Batch
from zhenma.errors import Invalid, NotFound


def activate(session: Session, batch_id: int, first: int | None, last: int | None) -> Activation:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}")
    if batch.revoked_at is not None:
        raise Invalid(
            f"batch {batch_id} is revoked ({batch.revoke_reason}); it cannot be activated"
        )
    first = 1 if first is None else first
    last = batch.item_count if last is None else last
    if not 1 <= first <= last <= batch.item_count:
        raise Invalid(
            f"batch {batch_id} has items 1 to {batch.item_count}; cannot activate {first} to {last}"
        )
    row = Activation(batch_id=batch_id, first_index=first, last_index=last)
    session.add(row)
    session.flush()
    return row


def forget_cached(settings: Settings, batch_id: int) -> bool:
    """Drop Redis's copy of the batch's facts; False when Redis was not reachable."""
    if not settings.redis_url:
        return True
    from .redis_link import Keys, RedisError, RedisLink

    link = RedisLink(
        settings.redis_url, timeout=2.0, retry_seconds=0, cluster=settings.redis_cluster
    )
    try:
        link.client.delete(Keys(settings.redis_prefix).batch(batch_id))
        return True
    except RedisError:
        return False
    finally:
        link.close()
