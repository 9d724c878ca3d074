"""From scanned text to goods: an authenticated item or carton of an issued batch.

Devices send what they scanned: a serial, a carton code, or the Digital Link URL in
an item's QR. Each refusal has a machine word (``Refused.code``) a device can act
on and a sentence for a person. The signature check never fails open: without the
batch's keys a code is not accepted.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhenma.codes import BadSignature, BatchSecrets, Code, Kind, MalformedCode, TypoCode
from zhenma.codes import read as read_code
from zhenma.db.models import Activation, Batch, Product
from zhenma.errors import ZhenmaError

Secrets = Callable[[Batch], BatchSecrets]

ITEM, CARTON = "item", "carton"


class Refused(ZhenmaError):
    """A request refused for a reason its sender can act on; ``status`` for HTTP."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Goods:
    kind: str  # item or carton
    batch_id: int
    index: int
    code: str  # the serial or carton code, as printed

    @property
    def key(self) -> str:
        """What outbox events about these goods are ordered by."""
        return f"{self.kind[0]}:{self.batch_id}:{self.index}"

    @classmethod
    def item(cls, batch_id: int, index: int, code: str = "") -> "Goods":
        return cls(ITEM, batch_id, index, code)


def parse(text: object) -> tuple[Code, str | None]:
    """The code in ``text`` and the GTIN of its Digital Link, if it was one."""
    if not isinstance(text, str) or not text.strip():
        raise Refused("bad_request", "code must be a non-empty string", 400)
    if len(text) > 200:
        raise Refused("malformed", "a code or Digital Link has at most 200 characters", 400)
    try:
        scanned = read_code(text)
    except TypoCode as exc:
        raise Refused("typo", str(exc), 400) from None
    except MalformedCode as exc:
        raise Refused("malformed", str(exc), 400) from None
    return scanned.code, scanned.link.gtin.value if scanned.link else None


def identify(
    session: Session, text: object, secrets: Secrets, revoked_ok: bool = False
) -> tuple[Goods, Batch]:
    code, link_gtin = parse(text)
    batch = session.get(Batch, code.batch)
    noun = "carton code" if code.kind == Kind.CARTON else "serial"
    if batch is None:
        raise Refused("unknown_batch", f"no batch {code.batch} was ever issued: not our {noun}")
    try:
        code.verify(secrets(batch).tag_key(code.kind))
    except BadSignature as exc:
        raise Refused("counterfeit", f"counterfeit: {exc}") from None
    if link_gtin is not None and link_gtin != batch.product.gtin:
        raise Refused(
            "counterfeit", f"counterfeit: this serial was not issued for GTIN {link_gtin}"
        )
    limit = batch.carton_count if code.kind == Kind.CARTON else batch.item_count
    if code.index > limit:
        raise Refused("unknown_code", f"batch {batch.id} has no {noun} number {code.index}")
    if batch.revoked_at is not None and not revoked_ok:
        raise Refused("revoked", f"batch {batch.id} was revoked: {batch.revoke_reason}")
    kind = CARTON if code.kind == Kind.CARTON else ITEM
    return Goods(kind, batch.id, code.index, code.render()), batch


def code_of(batch: Batch, kind: str, index: int, secrets: Secrets) -> str:
    """The printed code of an item or carton of a batch, derived again."""
    k = Kind.CARTON if kind == CARTON else Kind.ITEM
    return Code.sign(secrets(batch).tag_key(k), k, batch.id, index).render()


def inactive(session: Session, batch_id: int, indexes: list[tuple[int, int]]) -> bool:
    """Whether any item in the ranges ``(first, last)`` of a batch is not activated."""
    ranges = sorted(
        session.execute(
            select(Activation.first_index, Activation.last_index).where(
                Activation.batch_id == batch_id
            )
        ).all()
    )
    for first, last in indexes:
        at = first
        for a, b in ranges:
            if a <= at <= b:
                at = b + 1
            if at > last:
                break
        if at <= last:
            return True
    return False


def lock_product(session: Session, product_id: int) -> None:
    """Serialise the changes to one product's goods (dispatch, packing) until commit.

    Custody is read, checked and then written; two devices moving the same carton
    at once must not both pass the check. Explicit packing never mixes products,
    so one lock per product covers items and cartons alike. PostgreSQL locks the
    product's row; SQLite has one writer, taken here by the first write of the
    transaction, before anything is read.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: rows that merely point at the product
    (the analyst's alerts, through their foreign key) take a key-share lock on it,
    which ``FOR UPDATE`` would wait for. Under load that made every dispatch wait
    for the analyst's batch transaction (p50 1.5 s against 35 ms; ``load/run.sh``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Product.id).where(Product.id == product_id).with_for_update(key_share=True)
        )
    else:
        session.execute(update(Product).where(Product.id == product_id).values(gtin=Product.gtin))
