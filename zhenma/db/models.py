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
    (/24, /48) and as a salted hash. The place columns are filled by the place
    resolver (a later issue); they stay empty until then.
    """

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint("stream_id"),
        # Partial: only the few scans still to be added to Redis are in it, so the
        # stream's inserts (the many) do not pay for it.
        Index(
            "ix_scans_pending_sync",
            "id",
            postgresql_where=text("NOT redis_synced"),
            sqlite_where=text("NOT redis_synced"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stream_id: Mapped[str | None] = mapped_column(String(40))
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
