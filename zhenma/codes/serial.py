"""Serials (明码) and carton codes (箱码): one 20-character layout, two kinds.

Layout, in alphabet characters (5 bits each, see ``alphabet``)::

    position  0      1-4        5-10        11-18        19
              header batch no.  index       tag          check
              1 char 20 bits    30 bits     40 bits      Damm

* header: ``kind << 3 | version``; version 1 is the only one so far. An item serial
  starts with ``3`` and a carton code with ``B``.
* batch number: the batch's integer id (1 to 1,048,575); a serial is unique across
  all batches because no two batches share a number and no two items of a batch
  share an index.
* index: the item's (or carton's) number within the batch, from 1.
* tag: the first 40 bits of HMAC-SHA256 over (version, kind, batch, index) with the
  batch's per-purpose derived key. A forged serial for an existing batch and index
  passes with probability 2^-40 per guess.
* check: catches every single substitution and every adjacent swap, so a typo is
  reported as a typo (``TypoCode``), not as a forgery (``BadSignature``).
"""

import hashlib
import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from . import alphabet
from ._exceptions import BadSignature, MalformedCode, TypoCode

LENGTH = 20
VERSION = 1
TAG_BYTES = 5
MAX_BATCH = (1 << 20) - 1
MAX_INDEX = (1 << 30) - 1
_U32 = struct.Struct(">I")


class Kind(IntEnum):
    ITEM = 0
    CARTON = 1


_NOUN = {Kind.ITEM: "serial", Kind.CARTON: "carton code"}


def header_char(kind: Kind, version: int = VERSION) -> str:
    return alphabet.ALPHABET[(kind << 3) | version]


def tag_prefix(kind: Kind, batch: int, version: int = VERSION) -> bytes:
    """What the HMAC signs before the index: constant for one batch and kind."""
    return bytes((version, kind)) + batch.to_bytes(4, "big")


def compute_tag(key: bytes, kind: Kind, batch: int, index: int) -> int:
    digest = hmac.digest(key, tag_prefix(kind, batch) + index.to_bytes(4, "big"), "sha256")
    return int.from_bytes(digest[:TAG_BYTES], "big")


@dataclass(frozen=True)
class Code:
    """A parsed serial or carton code whose check character is right.

    ``parse`` says nothing about the signature: call ``verify`` with the batch's
    tag key (held by ``keys``) to know whether the code is genuine.
    """

    kind: Kind
    batch: int
    index: int
    tag: int
    version: int = VERSION

    @classmethod
    def parse(cls, text: str, expect: Kind | None = None) -> "Code":
        """Parse a code typed or scanned by a person; lower case is accepted."""
        noun = _NOUN.get(expect, "code")
        if not isinstance(text, str):
            raise MalformedCode(f"a {noun} must be text")
        text = text.strip().upper()
        if len(text) != LENGTH:
            raise MalformedCode(f"a {noun} has {LENGTH} characters, got {len(text)}")
        bad = sorted({c for c in text if c not in alphabet.ALPHABET})
        if bad:
            raise MalformedCode(
                f"a {noun} uses only {alphabet.ALPHABET}; {''.join(bad)!r} cannot appear in it"
            )
        header = alphabet.value_of(text[0])
        kind_bits, version = header >> 3, header & 7
        if alphabet.check_state(text) != 0:
            raise TypoCode(f"this {noun} does not add up (check character): check for a typo")
        if version != VERSION or kind_bits not in (Kind.ITEM, Kind.CARTON):
            raise MalformedCode(f"unknown code format {text[0]!r}")
        kind = Kind(kind_bits)
        if expect is not None and kind != expect:
            raise MalformedCode(f"this is a {_NOUN[kind]}, not a {_NOUN[expect]}")
        batch = alphabet.decode_int(text[1:5])
        index = alphabet.decode_int(text[5:11])
        if batch == 0 or index == 0:
            raise MalformedCode(f"this {noun} names batch {batch}, item {index}: none is 0")
        return cls(kind, batch, index, alphabet.decode_int(text[11:19]), version)

    def render(self) -> str:
        payload = (
            header_char(self.kind, self.version)
            + alphabet.encode_int(self.batch, 4)
            + alphabet.encode_int(self.index, 6)
            + alphabet.encode_int(self.tag, 8)
        )
        return payload + alphabet.check_char(payload)

    @classmethod
    def sign(cls, key: bytes, kind: Kind, batch: int, index: int) -> "Code":
        if not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"batch number {batch} outside 1..{MAX_BATCH}")
        if not 1 <= index <= MAX_INDEX:
            raise ValueError(f"index {index} outside 1..{MAX_INDEX}")
        return cls(kind, batch, index, compute_tag(key, kind, batch, index))

    def verify(self, key: bytes) -> None:
        """Raise ``BadSignature`` unless the tag was made with ``key`` (constant time)."""
        expected = compute_tag(key, self.kind, self.batch, self.index)
        if not hmac.compare_digest(
            expected.to_bytes(TAG_BYTES, "big"), self.tag.to_bytes(TAG_BYTES, "big")
        ):
            raise BadSignature(f"this {_NOUN[self.kind]} was not issued by us")


class FastSigner:
    """Renders many codes of one batch and kind, for the generator's hot loop.

    Same output as ``Code.sign(...).render()``, several times faster:

    * HMAC (RFC 2104) is computed from two SHA-256 states keyed once, with the
      inner one already fed the constant prefix; each code copies both. Copying a
      hashlib state is much cheaper than ``hmac.digest`` (which keys OpenSSL anew
      on every call) or ``hmac.HMAC.copy`` (a Python-level wrapper); the tests
      check the result against the ``hmac`` module.
    * characters come from a table of 10-bit pairs;
    * the check character is the XOR of per-position contributions
      (``alphabet.position_table``).
    """

    def __init__(self, key: bytes, kind: Kind, batch: int):
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._inner.update(tag_prefix(kind, batch))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self.prefix = header_char(kind) + alphabet.encode_int(batch, 4)
        n = LENGTH - 1
        # The prefix's check state, carried through the characters after it.
        self._cpre = alphabet.carry(alphabet.check_state(self.prefix), n - len(self.prefix))
        self.pairs = [alphabet.encode_int(v, 2) for v in range(1024)]
        # index: chars 5-10 as three pairs; tag: chars 11-18 as four pairs.
        self._ci = [alphabet.position_table(p, n, 2) for p in (5, 7, 9)]
        self._ct = [alphabet.position_table(p, n, 2) for p in (11, 13, 15, 17)]

    def render(self, index: int) -> str:
        return self.render_many([index])[0]

    def render_range(self, start: int, stop: int) -> list[str]:
        """The codes of indexes ``start`` to ``stop - 1``."""
        if not 1 <= start <= stop <= MAX_INDEX + 1:
            raise ValueError(f"index range {start}..{stop - 1} outside 1..{MAX_INDEX}")
        return self._render(range(start, stop))

    def render_many(self, indexes: Iterable[int]) -> list[str]:
        indexes = list(indexes)
        if indexes and not (min(indexes) >= 1 and max(indexes) <= MAX_INDEX):
            raise ValueError(f"indexes outside 1..{MAX_INDEX}")
        return self._render(indexes)

    def _render(self, indexes: Iterable[int]) -> list[str]:
        pairs, alpha = self.pairs, alphabet.ALPHABET
        inner, outer, prefix, cpre = self._inner, self._outer, self.prefix, self._cpre
        ci0, ci1, ci2 = self._ci
        ct0, ct1, ct2, ct3 = self._ct
        from_bytes, pack = int.from_bytes, _U32.pack
        icopy, ocopy = inner.copy, outer.copy
        out = []
        append = out.append
        block = -1
        head, chead = "", 0
        for i in indexes:
            h = icopy()
            h.update(pack(i))
            o = ocopy()
            o.update(h.digest())
            t = from_bytes(o.digest()[:TAG_BYTES], "big")
            if i >> 10 != block:  # the first 9 characters change once per 1024 indexes
                block = i >> 10
                i0, i1 = block >> 10, block & 1023
                head = prefix + pairs[i0] + pairs[i1]
                chead = cpre ^ ci0[i0] ^ ci1[i1]
            i2 = i & 1023
            t0, t1, t2, t3 = t >> 30, (t >> 20) & 1023, (t >> 10) & 1023, t & 1023
            check = chead ^ ci2[i2] ^ ct0[t0] ^ ct1[t1] ^ ct2[t2] ^ ct3[t3]
            append(head + pairs[i2] + pairs[t0] + pairs[t1] + pairs[t2] + pairs[t3] + alpha[check])
        return out
