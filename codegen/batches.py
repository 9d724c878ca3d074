"""Products and batches in the database: register, create, resume, revoke, look up.

A batch row is committed before any file is written; the generator then finds it
again by its output folder, so rerunning an interrupted ``batch create`` finishes
that batch instead of starting another.
"""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from keys import Keyring
from zhenma.codes import Gtin, MalformedCode, Sscc
from zhenma.codes.gs1 import serial_capacity
from zhenma.codes.serial import MAX_BATCH, MAX_INDEX
from zhenma.db.models import Aggregation, Batch, Counter, Product
from zhenma.errors import Conflict, Invalid, NotFound

from .derive import BatchSpec


def parse_gtin(text: str) -> Gtin:
    try:
        return Gtin.parse(text)
    except MalformedCode as exc:
        raise Invalid(str(exc)) from None


def add_product(
    session: Session, gtin: str, name: str, company_prefix: str | None = None,
    image_url: str | None = None,
) -> Product:  # fmt: skip
    parsed = parse_gtin(gtin)
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("a product name has 1 to 200 characters")
    if company_prefix is not None:
        try:
            Sscc.build(company_prefix, 0)
        except MalformedCode as exc:
            raise Invalid(str(exc)) from None
    if session.scalar(select(Product).where(Product.gtin == parsed.value)):
        raise Conflict(f"a product with GTIN {parsed.value} already exists")
    product = Product(
        gtin=parsed.value, name=name, company_prefix=company_prefix, image_url=image_url
    )
    session.add(product)
    session.flush()
    return product


def get_product(session: Session, gtin: str) -> Product:
    parsed = parse_gtin(gtin)
    product = session.scalar(select(Product).where(Product.gtin == parsed.value))
    if product is None:
        raise NotFound(f"no product with GTIN {parsed.value}; add it with `zhenma product add`")
    return product


def get_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}")
    return batch


def find_resumable(
    session: Session, product: Product, count: int, carton_size: int, out_dir: Path
) -> Batch | None:
    """An unfinished batch with these parameters writing into ``out_dir``, if any."""
    return session.scalar(
        select(Batch)
        .where(
            Batch.status == "generating",
            Batch.out_dir == str(out_dir),
            Batch.product_id == product.id,
            Batch.item_count == count,
            Batch.carton_size == carton_size,
        )
        .order_by(Batch.id.desc())
    )


def _allocate(session: Session, name: str, amount: int) -> int:
    """Reserve ``amount`` numbers of counter ``name``; returns the first one.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) until
    commit, so two concurrent batches never get overlapping ranges.
    """
    new = session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + amount)
        .returning(Counter.value)
    ).scalar()
    if new is None:
        session.execute(insert(Counter).values(name=name, value=amount))
        return 0
    return new - amount


def create_batch(
    session: Session,
    product: Product,
    count: int,
    carton_size: int,
    keyring: Keyring,
    verify_base: str,
    out_dir: Path | None,
) -> Batch:
    if not 1 <= count <= MAX_INDEX:
        raise Invalid(f"a batch holds 1 to {MAX_INDEX} items, not {count}")
    if not 1 <= carton_size <= 100_000:
        raise Invalid(f"a carton holds 1 to 100000 items, not {carton_size}")
    cartons = -(-count // carton_size)
    sscc_first = None
    if product.company_prefix:
        sscc_first = _allocate(session, f"sscc:{product.company_prefix}", cartons)
        if sscc_first + cartons > serial_capacity(product.company_prefix):
            raise Conflict(f"company prefix {product.company_prefix} has no SSCCs left")
    batch = Batch(
        product=product,
        item_count=count,
        carton_size=carton_size,
        key_id=keyring.current_id,
        verify_base=verify_base,
        sscc_first=sscc_first,
        status="generating",
        out_dir=str(out_dir) if out_dir else None,
        created_at=datetime.now(UTC).replace(microsecond=0),
    )
    session.add(batch)
    session.flush()
    if batch.id > MAX_BATCH:
        raise Conflict(f"batch numbers are used up (at most {MAX_BATCH})")
    session.add(
        Aggregation(
            batch_id=batch.id,
            carton_first=1,
            carton_last=cartons,
            item_first=1,
            item_last=count,
            per_carton=carton_size,
            source="default",
        )
    )
    return batch


def spec_of(batch: Batch) -> BatchSpec:
    created = batch.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
        created = created.replace(tzinfo=UTC)
    return BatchSpec(
        batch=batch.id,
        gtin=batch.product.gtin,
        product_name=batch.product.name,
        item_count=batch.item_count,
        carton_size=batch.carton_size,
        verify_base=batch.verify_base,
        key_id=batch.key_id,
        created=created.isoformat(timespec="seconds"),
        company_prefix=batch.product.company_prefix if batch.sscc_first is not None else None,
        sscc_first=batch.sscc_first,
    )


def mark_complete(session: Session, batch_id: int) -> None:
    batch = get_batch(session, batch_id)
    if batch.status != "complete":
        batch.status = "complete"
        batch.completed_at = datetime.now(UTC)


def revoke(session: Session, batch_id: int, reason: str) -> Batch:
    reason = reason.strip()
    if not reason:
        raise Invalid("say why the batch is revoked (--reason)")
    batch = get_batch(session, batch_id)
    if batch.revoked_at is not None:
        raise Conflict(f"batch {batch_id} was already revoked: {batch.revoke_reason}")
    batch.revoked_at = datetime.now(UTC)
    batch.revoke_reason = reason
    return batch
