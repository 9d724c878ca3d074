"""Hidden anti-fake codes (暗码): 12 decimal digits under the scratch-off panel.

A hidden code is a pseudo-random function of (batch, index) under the batch's
hidden-code key, so it cannot be computed from the serial without that key.
The function is AES-256 (a PRP, used as a PRF: with at most 2^30 items per key the
distance from a random function is below 2^-67) over a 16-byte block holding a
domain label, the batch number and the index; the first 8 bytes of the output,
reduced mod 10^12, are the code (bias below 10^12 / 2^64 ~ 5e-8).

AES rather than HMAC because the generator derives a whole chunk in one C call:
counter mode over consecutive indexes *is* the block cipher applied to
consecutive blocks, so ``derive_range`` costs one ``update`` for 100,000 codes.
There is no check digit: a wrong hidden code is answered "counterfeit or
mistyped", and repeated wrong tries are throttled by the verification service.
"""

import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._exceptions import MalformedCode

DIGITS = 12
_MOD = 10**DIGITS


def _block(batch: int, index: int) -> bytes:
    return b"ZHHC" + batch.to_bytes(8, "big") + index.to_bytes(4, "big")


def derive_range(key: bytes, batch: int, start: int, stop: int) -> list[str]:
    """Hidden codes of indexes ``start`` to ``stop - 1``."""
    count = stop - start
    if count <= 0:
        return []
    encryptor = Cipher(algorithms.AES(key), modes.CTR(_block(batch, start))).encryptor()
    stream = encryptor.update(bytes(16 * count))
    return [f"{v % _MOD:012d}" for (v,) in struct.iter_unpack(">Q8x", stream)]


def derive(key: bytes, batch: int, index: int) -> str:
    return derive_range(key, batch, index, index + 1)[0]


def normalize(text: str) -> str:
    """Digits of a typed hidden code, spaces and dashes removed; MalformedCode otherwise."""
    if not isinstance(text, str):
        raise MalformedCode("a hidden code must be text")
    digits = text.replace(" ", "").replace("-", "")
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        raise MalformedCode(f"a hidden code has {DIGITS} digits")
    return digits


def matches(key: bytes, batch: int, index: int, typed: str) -> bool:
    """Whether ``typed`` is the item's hidden code, compared in constant time."""
    return hmac.compare_digest(derive(key, batch, index).encode(), normalize(typed).encode())
