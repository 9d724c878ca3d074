"""GS1-128 barcodes (the SSCC on a carton label) as vector paths.

GS1-128 is Code 128 whose first symbol after the start character is FNC1: that FNC1
is what tells a reader the data are GS1 element strings (symbology identifier
``]C1``), so a warehouse scanner reports AI 00 and the SSCC instead of 20 bare digits.
reportlab's Code 128 encoder writes FNC1 for ``\\xf1`` and switches to code set C for
digit pairs; we take its bar pattern and draw the bars ourselves, in a coordinate
system where one module (the X dimension) is one unit, like the QR codes.

The quiet zone is ten modules on each side (GS1 General Specifications, 5.4.4.4).
"""

from reportlab.graphics.barcode.code128 import Code128

from zhenma.codes import Sscc

FNC1 = "\xf1"
_FNC1_VALUE = 102
QUIET_MODULES = 10


def element_string(ai: str, data: str) -> str:
    """What the barcode carries, as printed and as label software takes it: ``(00)0690…``."""
    return f"({ai}){data}"


def human_readable(ai: str, data: str) -> str:
    return f"({ai}) {data}"


def check_data(ai: str, data: str) -> str:
    """Refuse data that is not valid for its AI (only AI 00, the SSCC, is used)."""
    if ai == "00":
        return Sscc.parse(data).value
    raise ValueError(f"AI {ai} is not supported")


def bars(ai: str, data: str) -> tuple[int, list[tuple[int, int]]]:
    """The symbol's width in modules and its bars as (offset, width) in modules."""
    code = Code128(FNC1 + ai + data, quiet=0)
    code.validate()
    encoded = code.encode()
    if encoded[1] != _FNC1_VALUE:  # reportlab's encoder always does this; a reader relies on it
        raise AssertionError("GS1-128 needs FNC1 right after the start character")
    out = []
    x = 0
    for element in code.decompose():
        width = ord(element.lower()) - ord("a") + 1
        if element.isupper():
            out.append((x, width))
        x += width
    return x, out


def operators(ai: str, data: str, left: float, bottom: float, module: float, height: float) -> str:
    """PDF operators filling the bars in 100 % black; ``left``, ``bottom`` in points."""
    _, bar_list = bars(ai, data)
    head = f"q 0 0 0 1 k {module:.4f} 0 0 {height:.3f} {left:.3f} {bottom:.3f} cm\n"
    return head + "\n".join([f"{x} 0 {w} 1 re" for x, w in bar_list]) + "\nf Q"
