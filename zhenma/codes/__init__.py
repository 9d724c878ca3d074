"""The code format: serials, hidden codes, carton codes, GS1 identifiers, Digital Links.

Plain Python, no framework, no database: the generator and the verification API
both call it. ``authenticate`` is the one entry point that turns scanned or typed
text into a verified code, telling apart the five outcomes of a check:
malformed (``MalformedCode``), typo (``TypoCode``), unknown batch
(``UnknownBatch``), forged (``BadSignature``) and genuine (a returned ``Scanned``).
"""

from collections.abc import Callable
from dataclasses import dataclass

from . import hidden
from ._exceptions import BadSignature, CodeError, MalformedCode, TypoCode, UnknownBatch
from .digital_link import DigitalLink
from .gs1 import Gtin, Sscc, gs1_check_digit
from .serial import Code, FastSigner, Kind

__all__ = [
    "BadSignature",
    "BatchSecrets",
    "Code",
    "CodeError",
    "DigitalLink",
    "FastSigner",
    "Gtin",
    "Kind",
    "MalformedCode",
    "Scanned",
    "Sscc",
    "TypoCode",
    "UnknownBatch",
    "authenticate",
    "gs1_check_digit",
    "hidden",
    "read",
]


@dataclass(frozen=True, repr=False)
class BatchSecrets:
    """A batch's derived keys, one per purpose (made by ``keys.derive_batch_secrets``)."""

    item_tag: bytes
    carton_tag: bytes
    hidden: bytes

    def tag_key(self, kind: Kind) -> bytes:
        return self.item_tag if kind == Kind.ITEM else self.carton_tag

    def __repr__(self) -> str:  # never print key material
        return "BatchSecrets(<redacted>)"


@dataclass(frozen=True)
class Scanned:
    code: Code
    link: DigitalLink | None = None


def read(text: str) -> Scanned:
    """Parse a serial, a carton code or a Digital Link URL; no signature check."""
    if not isinstance(text, str):
        raise MalformedCode("a code must be text")
    text = text.strip()
    if "/" in text:
        link = DigitalLink.parse(text)
        return Scanned(Code.parse(link.serial, expect=Kind.ITEM), link)
    return Scanned(Code.parse(text))


def authenticate(text: str, lookup: Callable[[int], tuple[Gtin, BatchSecrets] | None]) -> Scanned:
    """Parse ``text`` and check its signature with the keys ``lookup(batch)`` returns.

    ``lookup`` returns the batch's GTIN and secrets, or None for a batch that does
    not exist. A Digital Link whose GTIN is not the batch's is a forgery too.
    """
    scanned = read(text)
    found = lookup(scanned.code.batch)
    if found is None:
        raise UnknownBatch(f"no batch {scanned.code.batch} was ever issued")
    gtin, secrets = found
    scanned.code.verify(secrets.tag_key(scanned.code.kind))
    if scanned.link is not None and scanned.link.gtin != gtin:
        raise BadSignature(f"this serial was not issued for GTIN {scanned.link.gtin.value}")
    return scanned
