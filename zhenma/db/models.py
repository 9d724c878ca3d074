"""Database models: what must be stored, as opposed to what is derived.

A batch of ten million codes is one ``Batch`` row plus a key: serials, hidden codes
and carton codes are re-derived from it. Stored are facts: products, batches and
their state, SSCC number ranges, and packing (aggregation) records; activations
(which codes answer as live), consumer scans and each scanned code's running state.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names fixed by convention, so migrations name them the same on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company_prefix: Mapped[str | None] = mapped_column(String(10))
    image_url: Mapped[str | None] = mapped_column(String(500))
    # The brand's product page, offered by the resolver as link type gs1:pip.
    page_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    batches: Mapped[list["Batch"]] = relationship(back_populates="product")


class Batch(Base):
    """A run of codes. Its id is the batch number inside every serial it holds."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("item_count > 0", name="item_count_positive"),
        CheckConstraint("carton_size > 0", name="carton_size_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    item_count: Mapped[int] = mapped_column(BigInteger)
    carton_size: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(40))
    verify_base: Mapped[str] = mapped_column(String(200))
    # First SSCC serial reference of this batch's cartons, when the product has a prefix.
    sscc_first: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="generating")
    out_dir: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    product: Mapped[Product] = relationship(back_populates="batches")

    @property
    def carton_count(self) -> int:
        return -(-self.item_count // self.carton_size)


class Aggregation(Base):
    """A packing record: items ``item_first..item_last`` of a batch went into a carton range.

    The default packing (consecutive items, ``per_carton`` a carton) is one row for
    the whole batch; explicit packing from the line adds rows of its own.
    """

    __tablename__ = "aggregations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    carton_first: Mapped[int] = mapped_column(BigInteger)
    carton_last: Mapped[int] = mapped_column(BigInteger)
    item_first: Mapped[int] = mapped_column(BigInteger)
    item_last: Mapped[int] = mapped_column(BigInteger)
    per_carton: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="default")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Counter(Base):
    """Named counters handed out in ranges (SSCC serial references per company prefix)."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Activation(Base):
    """Items ``first_index..last_index`` of a batch answer as live from ``activated_at`` on.

    Until a batch has a row covering an item, its codes answer "not activated", so
    labels leaked from a print shop's waste prove nothing.
    """

    __tablename__ = "activations"
    __table_args__ = (CheckConstraint("first_index <= last_index", name="range_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    first_index: Mapped[int] = mapped_column(BigInteger)
    last_index: Mapped[int] = mapped_column(BigInteger)
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Scan(Base):
    """One consumer check of a code, as answered.

    ``stream_id`` is the Redis stream entry the scan travelled in (unique, so a
    redelivered entry is stored once); scans written directly to the database
    (no Redis, or Redis down) have none. The IP address is kept only truncated
    (/24, /48) and as a salted hash. The place columns are filled by the worker's
    analyst (``alerts.analyst``, issue 6): ``place_source`` empty means not yet.
    """

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint("stream_id"),
        # Made by the web worker for each scan: a scan whose Redis call timed out
        # after Redis ran it reaches the database twice (the stream, and the direct
        # fallback), and this key stores it once (``verify_api.scans``).
        Index("uq_scans_scan_key", "scan_key", unique=True),
        # Partial: only the few scans still to be added to Redis are in it, so the
        # stream's inserts (the many) do not pay for it.
        Index(
            "ix_scans_pending_sync",
            "id",
            postgresql_where=text("NOT redis_synced"),
            sqlite_where=text("NOT redis_synced"),
        ),
        # The same scans by code: during a resync a web worker adds one code's to Redis
        # before counting a scan of it there (``verify_api.scans.Recorder``).
        Index(
            "ix_scans_pending_sync_serial",
            "serial",
            postgresql_where=text("NOT redis_synced"),
            sqlite_where=text("NOT redis_synced"),
        ),
        # Scans the analyst (issue 6, ``alerts``) has not placed yet: few at any time.
        Index(
            "ix_scans_unplaced",
            "id",
            postgresql_where=text("place_source IS NULL"),
            sqlite_where=text("place_source IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stream_id: Mapped[str | None] = mapped_column(String(40))
    scan_key: Mapped[str | None] = mapped_column(String(24))
    serial: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[int | None] = mapped_column(Integer)
    item_index: Mapped[int | None] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(24))
    # Why, in a word: typo, bad_signature, hidden_code_wrong, too_often, far_apart.
    reason: Mapped[str | None] = mapped_column(String(24))
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_code_given: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_prefix: Mapped[str | None] = mapped_column(String(45))
    ip_hash: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    # Written directly to the database while Redis was configured but down: the
    # writer adds it to Redis's counters when Redis is back, then sets this.
    redis_synced: Mapped[bool] = mapped_column(Boolean, default=True)
    place_source: Mapped[str | None] = mapped_column(String(8))
    place_precision: Mapped[str | None] = mapped_column(String(12))
    place_region: Mapped[str | None] = mapped_column(String(16))
    place_name: Mapped[str | None] = mapped_column(String(120))


class CodeState(Base):
    """The running facts of one scanned serial: how often, since when, from where.

    With Redis these live in Redis first and reach this table through the writer;
    without Redis the verification service updates this row in the scan's
    transaction, and the primary key makes exactly one concurrent scan the first.
    """

    __tablename__ = "code_states"

    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer, index=True)
    item_index: Mapped[int] = mapped_column(BigInteger)
    scan_count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_scan_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_lat: Mapped[float | None] = mapped_column(Float)
    first_lng: Mapped[float | None] = mapped_column(Float)
    first_place: Mapped[str | None] = mapped_column(String(120))
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lng: Mapped[float | None] = mapped_column(Float)
    last_located_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspect_reason: Mapped[str | None] = mapped_column(String(20))


# -- distributors, packing, dispatch and the outbox (issue 5, ``distribution``) --------------


class Distributor(Base):
    """A trading partner in the chain below HQ: its level, its parent and its territory.

    ``code`` is how people, devices and the order system name it. ``level`` is a
    position in ``Settings.distributor_levels`` (1 is the top); a parent is always
    higher (a smaller level). No parent means HQ supplies it directly.
    """

    __tablename__ = "distributors"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("level >= 1", name="level_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    regions: Mapped[list["DistributorRegion"]] = relationship(
        order_by="DistributorRegion.region", cascade="all, delete-orphan"
    )


class DistributorRegion(Base):
    """One region of a distributor's territory (``zhenma.regions``: CN, CN-440000, ...)."""

    __tablename__ = "distributor_regions"

    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), primary_key=True)
    region: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 only: a device's (of a distributor, or of
    HQ's warehouse when ``distributor_id`` is empty) or an HQ API client's, with a role.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint("kind IN ('device', 'hq')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    role: Mapped[str | None] = mapped_column(String(16))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    # The first characters of the token, so people can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PackingOp(Base):
    """One packing-line action on a carton: items packed into it or taken out of it."""

    __tablename__ = "packing_ops"
    __table_args__ = (CheckConstraint("action IN ('pack', 'unpack')", name="action_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(8))
    carton_batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    carton_index: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(60))


class ExplicitCarton(Base):
    """A carton whose contents no longer follow the default packing: they are all in
    ``packings`` (its default items were written there when it first changed).
    """

    __tablename__ = "explicit_cartons"

    carton_batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    carton_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Packing(Base):
    """An item in a carton from ``packed_at`` until ``unpacked_at`` (open: still in it).

    Only items of explicit cartons have rows. The partial unique index keeps an item
    in one carton at a time, whatever requests race.
    """

    __tablename__ = "packings"
    __table_args__ = (
        Index("ix_packings_item", "batch_id", "item_index"),
        Index("ix_packings_carton", "carton_batch_id", "carton_index"),
        Index(
            "uq_packings_open_item",
            "batch_id",
            "item_index",
            unique=True,
            postgresql_where=text("unpacked_at IS NULL"),
            sqlite_where=text("unpacked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    item_index: Mapped[int] = mapped_column(BigInteger)
    carton_batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    carton_index: Mapped[int] = mapped_column(BigInteger)
    packed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unpacked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Empty for an item of the default packing written out when its carton changed.
    pack_op_id: Mapped[int | None] = mapped_column(ForeignKey("packing_ops.id"))
    unpack_op_id: Mapped[int | None] = mapped_column(ForeignKey("packing_ops.id"))


class Dispatch(Base):
    """One accepted dispatch scan (扫码出库): an item or a whole carton, sender to receiver.

    A carton is one row, never one per item: custody is resolved through packing.
    ``sender_scope`` (``hq`` or ``d<id>``) and the device's ``scan_id`` make a scan
    idempotent. An empty ``sender_id`` is HQ.
    """

    __tablename__ = "dispatches"
    __table_args__ = (
        UniqueConstraint("sender_scope", "scan_id"),
        Index("ix_dispatches_code", "batch_id", "code_index", "kind", "scanned_at"),
        CheckConstraint("kind IN ('item', 'carton')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sender_scope: Mapped[str] = mapped_column(String(16))
    scan_id: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    receiver_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    kind: Mapped[str] = mapped_column(String(8))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    code_index: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(20))
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxEvent(Base):
    """An event for the order system, written in the transaction of what it reports.

    ``state``: pending (to deliver; ``next_attempt_at`` says when), delivered, parked
    (gave up after the last attempt; HQ replays it). A worker delivering it holds a
    lease (``lease_owner`` until ``lease_until``).
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_outbox_events_state", "state", "next_attempt_at"),
        CheckConstraint("state IN ('pending', 'delivered', 'parked')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatches.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxKey(Base):
    """What an event is about (``i:<batch>:<index>`` an item, ``c:<batch>:<index>`` a
    carton): an event waits while an earlier one sharing a key is not delivered.
    """

    __tablename__ = "outbox_keys"
    __table_args__ = (Index("ix_outbox_keys_key", "key", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)


# -- HQ users, alerts (issue 6: ``verify_api.hq_users``, ``alerts``) ---------------------------


class HqUser(Base):
    """A person at HQ who logs in to the dashboard: a viewer reads, an admin also acts."""

    __tablename__ = "hq_users"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint("role IN ('viewer', 'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(8))
    # An argon2id PHC string (``$argon2id$v=19$m=...``): the parameters travel with it.
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HqSession(Base):
    """A logged-in browser: the cookie holds a random token, this row its SHA-256."""

    __tablename__ = "hq_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hq_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Alert(Base):
    """Something HQ should look at: a diverted item, a cloned code, unsold stock scanned.

    ``dedupe_key`` makes one alert per item and holder (diversion), per code (clone)
    or per item (unsold); later scans attach (``alert_scans``) and move ``last_seen_at``.
    The place and the chain facts are those of the scan that raised it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_alerts_kind_state", "kind", "state"),
        CheckConstraint("kind IN ('diversion', 'clone', 'unsold')", name="kind_known"),
        CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), default="open")
    dedupe_key: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(24))
    serial: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    item_index: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"), index=True)
    parent_distributor_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    territory: Mapped[str | None] = mapped_column(Text)  # the holder's regions, comma-separated
    region: Mapped[str | None] = mapped_column(String(16))
    # The province (CN-440000) or country (HK) of ``region``, for filters and counts.
    area: Mapped[str | None] = mapped_column(String(16), index=True)
    place_source: Mapped[str | None] = mapped_column(String(8))
    place_precision: Mapped[str | None] = mapped_column(String(12))
    detail: Mapped[str | None] = mapped_column(Text)
    scan_count: Mapped[int] = mapped_column(Integer, default=0)
    first_scan_id: Mapped[int] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class AlertScan(Base):
    """A scan attached to an alert, with where it was placed (for per-province counts)."""

    __tablename__ = "alert_scans"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    scan_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    area: Mapped[str | None] = mapped_column(String(16), index=True)
    region: Mapped[str | None] = mapped_column(String(16))
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
