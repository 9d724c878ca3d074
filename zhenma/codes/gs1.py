"""GS1 identifiers Zhenma prints: GTIN-14 and SSCC-18, with their mod-10 check digits.

Only what the codes need: validation with exact messages and rendering. The
test-suite checks these against biip, an independent GS1 implementation.
"""

from dataclasses import dataclass

from ._exceptions import MalformedCode, TypoCode


def gs1_check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit of a digit string (weights 3, 1, 3, ... from the right)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        total += (ord(ch) - 48) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def _digits(text: str, what: str) -> str:
    if not text or not text.isascii() or not text.isdigit():
        raise MalformedCode(f"{what} must be digits only, got {text!r}")
    return text


def _checked(text: str, what: str, lengths: tuple[int, ...]) -> str:
    """``text`` stripped, if it has one of ``lengths`` digits and a right check digit."""
    text = _digits(text.strip(), what)
    if len(text) not in lengths:
        allowed = ", ".join(map(str, lengths[:-1])) + " or " if len(lengths) > 1 else ""
        raise MalformedCode(f"{what} must have {allowed}{lengths[-1]} digits, got {len(text)}")
    expected = gs1_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise TypoCode(
            f"{what} {text} has check digit {text[-1]}, expected {expected}: check for a typo"
        )
    return text


@dataclass(frozen=True)
class Gtin:
    """A GTIN, always held in its 14-digit form (GTIN-8/12/13 are left-padded with zeros)."""

    value: str

    @classmethod
    def parse(cls, text: str) -> "Gtin":
        return cls(_checked(text, "GTIN", (8, 12, 13, 14)).rjust(14, "0"))

    def render(self) -> str:
        return self.value


@dataclass(frozen=True)
class Sscc:
    """An SSCC-18: extension digit, company prefix, serial reference, check digit."""

    value: str

    @classmethod
    def parse(cls, text: str) -> "Sscc":
        return cls(_checked(text, "SSCC", (18,)))

    @classmethod
    def build(cls, company_prefix: str, serial_reference: int, extension: int = 0) -> "Sscc":
        """The SSCC for a serial reference under a GS1 company prefix (7 to 10 digits)."""
        _digits(company_prefix, "company prefix")
        if not 7 <= len(company_prefix) <= 10:
            raise MalformedCode(
                f"company prefix must have 7 to 10 digits, got {len(company_prefix)}"
            )
        width = 16 - len(company_prefix)
        if not 0 <= serial_reference < 10**width:
            raise MalformedCode(
                f"serial reference {serial_reference} does not fit in {width} digits"
                f" after company prefix {company_prefix}"
            )
        payload = f"{extension}{company_prefix}{serial_reference:0{width}d}"
        return cls(payload + str(gs1_check_digit(payload)))

    def render(self) -> str:
        return self.value

    def human_readable(self) -> str:
        """The line printed under a GS1-128 barcode: ``(00) 0 6901234 000000001 7``."""
        return f"(00) {self.value}"


def serial_capacity(company_prefix: str) -> int:
    """How many SSCC serial references a company prefix has (per extension digit)."""
    return 10 ** (16 - len(company_prefix))
