"""QR codes as vector paths: encoded by zxing-cpp, drawn as one path of module runs.

Why this shape (measured with ``bench/render.py``):
zxing-cpp encodes about 20 times faster than the pure-Python encoders, and
``tests/render/test_qr.py`` shows that ``qrcode``, given the segments and mask
zxing-cpp chose, rebuilds its symbols module for module. Drawing one rectangle per
horizontal run of dark modules, in a coordinate system scaled so that one module is
one unit, keeps every number in the path a small integer, and writing the operators
as one string skips reportlab's per-call overhead. A label's QR costs about 550
bytes compressed and stays sharp at any resolution.

Error correction: level Q (about 25 % of the symbol can be lost) by default. Labels
are scuffed in cartons and on shelves, a scratch-off pass can leave ink dust, and a
thermal print head with one dead element prints a white line through every symbol;
for our 63-character Digital Links Q costs one QR version over M (37 instead of 33
modules), that is, 11 % smaller modules in the same square. Level H would cost
another version for 5 % more recovery. A template may choose another level per field.
"""

import re
from functools import cache

import zxingcpp

QUIET_MODULES = 4  # ISO/IEC 18004's minimum quiet zone
_DARK = b"\x00"
_LIGHT = b"\xff"
_DARK_RUN = re.compile(_DARK + b"+")
_span = re.Match.span


def matrix(text: str, ec_level: str = "Q") -> tuple[int, bytes]:
    """The symbol's side in modules and its modules row by row, one byte each (0 = dark).

    zxing-cpp picks the smallest version and splits the text into byte, alphanumeric
    and numeric segments (a Digital Link's GTIN goes in numeric mode, its serial in
    alphanumeric), which keeps our URLs one version smaller than byte mode alone.
    """
    image = zxingcpp.create_barcode(text, zxingcpp.QRCode, ec_level=ec_level).to_image(
        add_quiet_zones=False
    )
    side = image.shape[0]
    return side, bytes(memoryview(image))


def version(side: int) -> int:
    return (side - 17) // 4


@cache
def _tables(side: int) -> tuple[list[str], list[str]]:
    """Operator pieces for symbols of ``side`` modules, made once; see ``operators``."""
    starts = [f"{col} {row} " for row in range(side) for col in range(side + 1)]
    lengths = [f"{n} 1 re" for n in range(side + 1)]
    return starts, lengths


def operators(side: int, modules: bytes, left: float, top: float, module: float) -> str:
    """PDF operators filling the dark modules in 100 % black (K): one path, a rectangle a run.

    ``left`` and ``top`` place the symbol's top-left corner (inside the quiet zone),
    ``module`` is a module's side; all in points. The transform makes a module one
    unit and flips the y axis, so a run is ``column row length 1 re`` in small integers.

    One path for the whole symbol, filled once: rectangles filled one by one (or row
    by row) leave hairline seams where they meet in anti-aliased viewers, and proofs
    are looked at on screens. Drawing rows at y = 0 with a move between them would
    compress a quarter better, but a move cannot appear inside a path.

    Speed: one regular-expression pass. Rows are joined with a light module between
    them, so no run wraps into the next row, and a run at position ``p`` of that
    buffer (column ``p % (side + 1)``, row ``p // (side + 1)``) costs two list look-ups.
    """
    starts, lengths = _tables(side)
    rows = _LIGHT.join([modules[i : i + side] for i in range(0, side * side, side)])
    body = "\n".join([starts[s] + lengths[e - s] for s, e in map(_span, _DARK_RUN.finditer(rows))])
    return f"q 0 0 0 1 k {module:.4f} 0 0 {-module:.4f} {left:.3f} {top:.3f} cm\n{body}\nf Q"
