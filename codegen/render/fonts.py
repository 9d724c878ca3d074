"""Fonts for labels: one CJK TrueType collection, registered with reportlab, embedded as subsets.

WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``, installed by ``scripts/setup``) is
used because reportlab only embeds fonts with TrueType outlines: the Noto/Source Han
CJK fonts are CFF-flavoured OpenType and cannot be used without converting them.
The collection holds a proportional face (product names, captions) and a monospaced
one (serials and hidden codes: every character the same width, so a code's printed
width is known before its value is). reportlab embeds only the glyphs a document uses.

Every printed character must exist in the font: a missing glyph would print as an
empty box, so ``require_glyphs`` refuses such text before anything is drawn.
"""

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from zhenma.errors import Invalid

# Searched in order; the first that exists is used.
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),  # Fedora, Arch
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
SANS = "ZhenmaSans"
MONO = "ZhenmaMono"
# Subfont index of each face in the collection (micro hei and zen hei agree on the order).
_FACES = {SANS: 0, MONO: 1}
# A text box is one em high: the baseline sits this far below its top, descenders below.
ASCENT = 0.8


def font_file() -> Path:
    for path in CANDIDATES:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in CANDIDATES)
    raise Invalid(
        "no CJK font for labels: install the Debian package fonts-wqy-microhei "
        f"(bash scripts/setup does); looked for {looked}"
    )


@cache
def register() -> tuple[str, str]:
    """Register both faces with reportlab (once per process); returns (sans, mono) names."""
    path = font_file()
    for name, index in _FACES.items():
        try:
            pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=index))
        except (TTFError, OSError) as exc:
            raise Invalid(f"cannot use the label font {path}: {exc}") from None
    return SANS, MONO


def font_name(face: str) -> str:
    """The registered name of a template's face, ``"sans"`` or ``"mono"``."""
    sans, mono = register()
    return mono if face == "mono" else sans


def width_pt(text: str, face: str, size_pt: float) -> float:
    return pdfmetrics.stringWidth(text, font_name(face), size_pt)


def missing_glyphs(text: str) -> str:
    """The characters of ``text`` that the label font cannot print, in order, once each."""
    glyphs = pdfmetrics.getFont(font_name("sans")).face.charToGlyph
    seen = []
    for char in text:
        if ord(char) not in glyphs and char not in seen:
            seen.append(char)
    return "".join(seen)


def require_glyphs(text: str, what: str) -> None:
    missing = missing_glyphs(text)
    if missing:
        raise Invalid(f"the label font has no glyph for {missing!r} in {what} {text!r}")
