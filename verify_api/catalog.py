"""Batch and product facts for the hot path: in this process, then Redis, then the database.

Facts (GTIN, revocation, activated ranges, product name) are kept in memory for
``metadata_seconds`` and in Redis for ``redis_cache_seconds``; ``zhenma batch
activate`` drops the Redis copy, so a change reaches every web worker within the
in-memory time. Unknown batch numbers are remembered too, so forged serials
naming random batches cannot make every request a database query.

Batch secrets never leave the process: they are derived from the keyring on first
use and kept in a bounded LRU.
"""

import json
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property

from sqlalchemy import select

from keys import Keyring
from zhenma.codes import BatchSecrets, Gtin
from zhenma.db import Database
from zhenma.db.models import Activation, Batch, Product

from .redis_link import Keys, RedisError, RedisLink

_MISSING = object()


@dataclass(frozen=True)
class ProductInfo:
    gtin: str
    name: str
    image_url: str | None = None
    page_url: str | None = None


@dataclass(frozen=True)
class BatchInfo:
    id: int
    key_id: str
    item_count: int
    product: ProductInfo
    revoked: bool = False
    revoke_reason: str | None = None
    # Activated item ranges, sorted and merged: ((first, last), ...).
    active: tuple[tuple[int, int], ...] = ()

    @cached_property
    def gtin(self) -> Gtin:
        return Gtin(self.product.gtin)

    def is_active(self, index: int) -> bool:
        i = bisect_right(self.active, (index, float("inf"))) - 1
        return i >= 0 and self.active[i][0] <= index <= self.active[i][1]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> "BatchInfo":
        d = json.loads(text)
        d["product"] = ProductInfo(**d["product"])
        d["active"] = tuple(tuple(r) for r in d["active"])
        return cls(**d)


def merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return tuple((a, b) for a, b in merged)


class _TtlCache:
    """A bounded map whose entries expire; safe for gunicorn's threads."""

    def __init__(self, seconds: float, size: int = 10_000):
        self.seconds, self.size = seconds, size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return _MISSING
        return hit[1]

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.seconds, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def product_info(p: Product) -> ProductInfo:
    return ProductInfo(p.gtin, p.name, p.image_url, p.page_url)


def load_batch(db: Database, batch_id: int) -> BatchInfo | None:
    """A batch's facts straight from the database."""
    with db.session() as s:
        b = s.get(Batch, batch_id)
        if b is None:
            return None
        ranges = s.execute(
            select(Activation.first_index, Activation.last_index).where(
                Activation.batch_id == batch_id
            )
        ).all()
        return BatchInfo(
            id=b.id,
            key_id=b.key_id,
            item_count=b.item_count,
            product=product_info(b.product),
            revoked=b.revoked_at is not None,
            revoke_reason=b.revoke_reason,
            active=merge_ranges([(r[0], r[1]) for r in ranges]),
        )


def load_product(db: Database, gtin: str) -> ProductInfo | None:
    with db.session() as s:
        p = s.scalar(select(Product).where(Product.gtin == gtin))
        return product_info(p) if p else None


class Catalog:
    def __init__(
        self,
        db: Database,
        link: RedisLink | None,
        keys: Keys,
        keyring: Callable[[], Keyring],
        memory_seconds: float,
        redis_seconds: int,
    ):
        self.db, self.link, self.keys = db, link, keys
        self._keyring_factory = keyring
        self._keyring: Keyring | None = None
        self._batches = _TtlCache(memory_seconds)
        self._products = _TtlCache(memory_seconds)
        self._secrets: OrderedDict[tuple[str, int], BatchSecrets] = OrderedDict()
        self._lock = threading.Lock()
        self.redis_seconds = redis_seconds

    def batch(self, batch_id: int) -> BatchInfo | None:
        found = self._batches.get(batch_id)
        if found is _MISSING:
            found = self._through_redis(
                self.keys.batch(batch_id),
                lambda: load_batch(self.db, batch_id),
                BatchInfo.from_json,
                lambda info: info.to_json(),
            )
            self._batches.put(batch_id, found)
        return found

    def forget_batch(self, batch_id: int) -> None:
        """Drop every cached copy of a batch's facts (after HQ changed them)."""
        self._batches.put(batch_id, _MISSING)
        if self.link is not None and self.link.available():
            try:
                self.link.client.delete(self.keys.batch(batch_id))
            except RedisError as exc:
                self.link.failed(exc)

    def product(self, gtin: str) -> ProductInfo | None:
        found = self._products.get(gtin)
        if found is _MISSING:
            found = self._through_redis(
                self.keys.product(gtin),
                lambda: load_product(self.db, gtin),
                lambda text: ProductInfo(**json.loads(text)),
                lambda info: json.dumps(asdict(info), ensure_ascii=False),
            )
            self._products.put(gtin, found)
        return found

    def _through_redis(self, key, load, decode, encode):
        link = self.link
        if link is not None and link.available():
            try:
                raw = link.client.get(key)
                if raw is not None:
                    return None if raw == b"-" else decode(raw)
            except RedisError as exc:
                link.failed(exc)
        value = load()
        if link is not None and link.available():
            try:
                # "-" remembers "no such batch" as well, for a shorter time.
                ttl = self.redis_seconds if value is not None else max(1, self.redis_seconds // 6)
                link.client.set(key, encode(value) if value is not None else "-", ex=ttl)
            except RedisError as exc:
                link.failed(exc)
        return value

    def secrets(self, info: BatchInfo) -> BatchSecrets:
        key = (info.key_id, info.id)
        found = self._secrets.get(key)
        if found is None:
            with self._lock:
                if self._keyring is None:
                    self._keyring = self._keyring_factory()
                found = self._keyring.batch_secrets(info.key_id, info.id)
                self._secrets[key] = found
                while len(self._secrets) > 4096:
                    self._secrets.popitem(last=False)
        return found
