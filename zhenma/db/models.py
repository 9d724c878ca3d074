"""Database models: what must be stored, as opposed to what is derived.

A batch of ten million codes is one ``Batch`` row plus a key: serials, hidden codes
and carton codes are re-derived from it. Stored are facts: products, batches and
their state, SSCC number ranges, and packing (aggregation) records.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
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
