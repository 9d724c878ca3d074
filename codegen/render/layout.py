"""Drawing pages: where each label goes, its fields, crop marks and the slug.

What is the same on every label (the product name, captions, registration marks) is
drawn once a volume into a form XObject that each label places; crop marks likewise
once for all pages. Per label only the variable fields are written: QR and barcode
paths as literal operators, text through one text object per field and page.
All ink is 100 % black (K) so nothing depends on registering four colours, except
crop and registration marks, which are in registration colour (every separation).
"""

import zlib

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from . import fonts, gs1_128, qr
from .geometry import LINE, slug_serials
from .labels import STATIC
from .model import (
    Field,
    Gs1Field,
    QrField,
    RegistrationField,
    ScratchField,
    Template,
    TextField,
)

MM = 72 / 25.4  # points in a millimetre
ELLIPSIS = "…"
_STATIC_FORM = "label"
_MARKS_FORM = "marks"
_HAIRLINE = 0.25  # pt, for crop and registration marks


def fit_text(text: str, face: str, size: float, min_size: float, room: float) -> tuple[str, float]:
    """Shrink ``text`` down to ``min_size``, then shorten it with an ellipsis, to fit ``room``."""
    width = fonts.width_pt(text, face, size)
    if width <= room:
        return text, size
    size = max(min_size, size * room / width)
    while text and fonts.width_pt(text, face, size) > room:
        text = text[:-2] + ELLIPSIS if len(text) > 1 else ""
    return text, size


class PageLayout:
    """A template's geometry in points, and the drawing of its pages."""

    def __init__(self, template: Template):
        self.t = t = template
        g = t.label
        self.size = (t.page.width_mm * MM, t.page.height_mm * MM)
        self.label_w, self.label_h = g.width_mm * MM, g.height_mm * MM
        # Each slot's top-left corner, row by row from the top of the page.
        self.slots = [
            (
                (t.page.margin_left_mm + col * (g.width_mm + g.gutter_x_mm)) * MM,
                self.size[1] - (t.page.margin_top_mm + row * (g.height_mm + g.gutter_y_mm)) * MM,
            )
            for row in range(g.rows)
            for col in range(g.columns)
        ]
        self.static = [f for f in t.fields if STATIC.issuperset(f.placeholders)]
        self.variable = [f for f in t.fields if f not in self.static]
        self.sans, self.mono = fonts.register()

    def boxes(self, canvas: Canvas) -> None:
        """Trim and bleed boxes, for one-label pages: label presses cut along the trim box."""
        if self.t.per_page != 1:
            return
        left, top = self.slots[0]
        bleed = self.t.label.bleed_mm * MM
        trim = (left, top - self.label_h, left + self.label_w, top)
        canvas.setTrimBox([round(v, 3) for v in trim])
        canvas.setBleedBox(
            [
                round(v, 3)
                for v in (trim[0] - bleed, trim[1] - bleed, trim[2] + bleed, trim[3] + bleed)
            ]
        )

    def define_forms(self, canvas: Canvas, static: dict[str, str]) -> None:
        """The forms each page uses: the label's fixed content, and the crop marks."""
        canvas.beginForm(_STATIC_FORM, 0, 0, self.label_w, self.label_h)
        for f in self.static:
            self._draw_static(canvas, f, static)
        canvas.endForm()
        canvas.beginForm(_MARKS_FORM, 0, 0, *self.size)
        if self.t.marks.crop:
            self._crop_marks(canvas)
        canvas.endForm()

    def _draw_static(self, canvas: Canvas, f: Field, values: dict[str, str]) -> None:
        top = self.label_h
        if isinstance(f, RegistrationField):
            self._registration(canvas, f, top)
        elif isinstance(f, TextField):
            text, size = self._fit(f, values)
            canvas.setFillColorCMYK(0, 0, 0, 1)
            canvas.setFont(fonts.font_name(f.face), size)
            canvas.drawString(self._text_x(f, text, size, 0), self._baseline(f, top, size), text)
        else:  # a code or scratch field with fixed content: drawn like a variable one
            self._draw_variable(canvas, f, values, 0, top)

    def _fit(self, f: TextField, values: dict[str, str]) -> tuple[str, float]:
        text = f.value.format_map(values)
        return fit_text(text, f.face, f.font_pt, f.min_font_pt, f.width_mm * MM)

    def _text_x(self, f: TextField, text: str, size: float, left: float) -> float:
        x = left + f.x_mm * MM
        if f.align == "left":
            return x
        spare = f.width_mm * MM - fonts.width_pt(text, f.face, size)
        return x + (spare / 2 if f.align == "center" else spare)

    def _baseline(self, f: TextField, top: float, size: float) -> float:
        return top - f.y_mm * MM - fonts.ASCENT * size

    def _registration(self, canvas: Canvas, f: RegistrationField, top: float) -> None:
        size = f.size_mm * MM
        cx, cy = f.x_mm * MM + size / 2, top - f.y_mm * MM - size / 2
        canvas.setStrokeColorCMYK(1, 1, 1, 1)
        canvas.setLineWidth(_HAIRLINE)
        canvas.circle(cx, cy, size * 0.3)
        canvas.line(cx - size / 2, cy, cx + size / 2, cy)
        canvas.line(cx, cy - size / 2, cx, cy + size / 2)

    def _crop_marks(self, canvas: Canvas) -> None:
        m = self.t.marks
        offset, length = m.offset_mm * MM, m.length_mm * MM
        xs = sorted({x for x, _ in self.slots} | {x + self.label_w for x, _ in self.slots})
        ys = sorted({y for _, y in self.slots} | {y - self.label_h for _, y in self.slots})
        left, right, top, bottom = xs[0], xs[-1], ys[-1], ys[0]
        canvas.setStrokeColorCMYK(1, 1, 1, 1)
        canvas.setLineWidth(_HAIRLINE)
        lines = []
        for x in xs:
            lines.append((x, top + offset, x, top + offset + length))
            lines.append((x, bottom - offset, x, bottom - offset - length))
        for y in ys:
            lines.append((left - offset, y, left - offset - length, y))
            lines.append((right + offset, y, right + offset + length, y))
        canvas.lines(lines)

    def _draw_variable(self, canvas: Canvas, f: Field, values, left: float, top: float) -> None:
        """A code field (QR, GS1-128) or a scratch field of the label at ``left``, ``top``."""
        if isinstance(f, QrField):
            side, modules = qr.matrix(f.value.format_map(values), f.ec_level)
            module = f.size_mm * MM / (side + 2 * f.quiet_modules)
            quiet = f.quiet_modules * module
            canvas.addLiteral(
                qr.operators(
                    side, modules, left + f.x_mm * MM + quiet, top - f.y_mm * MM - quiet, module
                )
            )
        elif isinstance(f, Gs1Field):
            self._gs1(canvas, f, values, left, top)
        elif isinstance(f, ScratchField):
            self._scratch(canvas, f, values, left, top)

    def _gs1(self, canvas: Canvas, f: Gs1Field, values, left: float, top: float) -> None:
        data = gs1_128.check_data(f.ai, f.value.format_map(values))
        width, _ = gs1_128.bars(f.ai, data)
        module = f.module_mm * MM
        x = left + f.x_mm * MM + (f.width_mm * MM - width * module) / 2
        bottom = top - (f.y_mm + f.bar_height_mm) * MM
        canvas.addLiteral(gs1_128.operators(f.ai, data, x, bottom, module, f.bar_height_mm * MM))
        if f.hri_pt:
            canvas.setFillColorCMYK(0, 0, 0, 1)
            canvas.setFont(self.sans, f.hri_pt)
            canvas.drawCentredString(
                left + (f.x_mm + f.width_mm / 2) * MM,
                bottom - (LINE - 1 + fonts.ASCENT) * f.hri_pt,
                gs1_128.human_readable(f.ai, data),
            )

    def _scratch(self, canvas: Canvas, f: ScratchField, values, left: float, top: float) -> None:
        size = f.font_pt
        text = f.value.format_map(values)
        canvas.setFillColorCMYK(0, 0, 0, 1)
        canvas.setFont(fonts.font_name(f.face), size)
        baseline = top - (f.y_mm + f.height_mm / 2) * MM - (fonts.ASCENT - 0.5) * size
        canvas.drawCentredString(left + (f.x_mm + f.width_mm / 2) * MM, baseline, text)

    def draw_page(self, canvas: Canvas, labels: list[dict[str, str]], slug: tuple[str, str]):
        """One page: ``labels`` fill the slots in order; ``slug`` is its two slug lines."""
        self.boxes(canvas)
        canvas.doForm(_MARKS_FORM)
        slots = self.slots[: len(labels)]
        for left, top in slots:
            canvas.addLiteral(f"q 1 0 0 1 {left:.3f} {top - self.label_h:.3f} cm")
            canvas.doForm(_STATIC_FORM)
            canvas.addLiteral("Q")
        for f in self.variable:
            if isinstance(f, TextField):
                self._texts(canvas, f, labels, slots)
                continue
            for values, (left, top) in zip(labels, slots, strict=True):
                self._draw_variable(canvas, f, values, left, top)
        self._slug(canvas, slug)
        canvas.showPage()
        _seal_last_page(canvas)

    def _texts(self, canvas: Canvas, f: TextField, labels, slots) -> None:
        """One field on every label of the page, in a single text object."""
        text_obj = canvas.beginText()
        text_obj.setFillColorCMYK(0, 0, 0, 1)
        name = fonts.font_name(f.face)
        current = None
        for values, (left, top) in zip(labels, slots, strict=True):
            text, size = self._fit(f, values)
            if size != current:
                text_obj.setFont(name, size)
                current = size
            text_obj.setTextOrigin(self._text_x(f, text, size, left), self._baseline(f, top, size))
            text_obj.textOut(text)
        canvas.drawText(text_obj)

    def _slug(self, canvas: Canvas, slug: tuple[str, str]) -> None:
        size = self.t.slug.font_pt
        room = self.size[0] - 4 * MM
        second = self.t.slug.bottom_mm * MM + (1 - fonts.ASCENT) * size
        first = second + LINE * size
        center = self.size[0] / 2
        canvas.setFillColorCMYK(0, 0, 0, 1)
        canvas.setFont(self.mono, size)
        canvas.drawCentredString(center, first, slug[0])
        text, fitted = fit_text(slug[1], "sans", size, 4.0, room)
        canvas.setFont(self.sans, fitted)
        canvas.drawCentredString(center, second, text)


def _seal_last_page(canvas: Canvas) -> None:
    """Compress the page just finished now, instead of when the whole volume is saved.

    reportlab keeps every page's operators as text until ``save``: 230 kB for an A4
    sheet of 50 QR codes, 46 MB for a volume of 10,000 labels. Compressed at once,
    the page weighs 29 kB. The stream and its /Filter are what reportlab itself writes
    (it only compresses streams whose dictionary names no filter yet).
    """
    page = canvas._doc.Pages.pages[-1]
    data = page.stream.encode("utf-8") if isinstance(page.stream, str) else page.stream
    flate = pdfdoc.PDFDictionary({"Filter": pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])})
    page.Contents = pdfdoc.PDFStream(flate, zlib.compress(data))
    page.stream = None


def slug_lines(first: str, last: str, where: str) -> tuple[str, str]:
    return slug_serials(first, last), where
