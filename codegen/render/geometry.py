"""Does a template print? Sizes checked against the page, the label and the press.

``check(template, verify_base)`` raises ``Invalid`` at the first problem, naming the
field (or the part of the page) and the numbers, and otherwise returns a line per
code field saying how big its modules come out. The values measured are the
widest and longest each field can ever hold (``labels.worst_case``), so a template
that passes prints every batch; ``verify_base`` matters because it is part of the
URL in an item's QR.
"""

from itertools import combinations

from zhenma.errors import Invalid

from . import fonts, gs1_128, qr
from .labels import UNBOUNDED, worst_case
from .model import (
    Field,
    Gs1Field,
    QrField,
    ScratchField,
    Template,
    TextField,
)

PT = 25.4 / 72  # millimetres in a point
MIN_FONT_PT = 4.0  # below this, serials and hidden codes are no longer legible in print
SLUG_LINES = 2
LINE = 1.2  # line height, in ems
_EPS = 1e-6


def mm(value: float) -> str:
    return f"{round(value, 2):g} mm"


def slug_height_mm(template: Template) -> float:
    return SLUG_LINES * LINE * template.slug.font_pt * PT


def _fits_page(t: Template) -> None:
    p, g = t.page, t.label
    across = g.columns * g.width_mm + (g.columns - 1) * g.gutter_x_mm
    room = p.width_mm - p.margin_left_mm - p.margin_right_mm
    if across > room + _EPS:
        raise Invalid(
            f"{t.name}: {g.columns} labels of {mm(g.width_mm)} and {g.columns - 1} gutters of "
            f"{mm(g.gutter_x_mm)} need {mm(across)} across, but the page leaves {mm(room)} "
            f"between its margins ({mm(p.width_mm)} - {mm(p.margin_left_mm)} - "
            f"{mm(p.margin_right_mm)})"
        )
    down = g.rows * g.height_mm + (g.rows - 1) * g.gutter_y_mm
    room = p.height_mm - p.margin_top_mm - p.margin_bottom_mm
    if down > room + _EPS:
        raise Invalid(
            f"{t.name}: {g.rows} rows of labels {mm(g.height_mm)} high and {g.rows - 1} gutters "
            f"of {mm(g.gutter_y_mm)} need {mm(down)} down, but the page leaves {mm(room)} "
            f"between its margins ({mm(p.height_mm)} - {mm(p.margin_top_mm)} - "
            f"{mm(p.margin_bottom_mm)})"
        )


def _bleed_and_marks(t: Template) -> None:
    g, m = t.label, t.marks
    for count, gutter, between in (
        (g.columns, g.gutter_x_mm, "columns"),
        (g.rows, g.gutter_y_mm, "rows"),
    ):
        if count > 1 and gutter + _EPS < 2 * g.bleed_mm:
            raise Invalid(
                f"{t.name}: labels bleed {mm(g.bleed_mm)} into the {mm(gutter)} gutter between "
                f"{between}; it must be at least {mm(2 * g.bleed_mm)}, twice the bleed"
            )
    if m.crop and m.offset_mm + _EPS < g.bleed_mm:
        raise Invalid(
            f"{t.name}: crop marks start {mm(m.offset_mm)} from the cut, inside the "
            f"{mm(g.bleed_mm)} bleed; set marks.offset_mm to at least {mm(g.bleed_mm)}"
        )
    need = max(g.bleed_mm, m.extent_mm)
    for side in ("top", "bottom", "left", "right"):
        margin = getattr(t.page, f"margin_{side}_mm")
        if margin + _EPS < need:
            what = (
                f"crop marks need {mm(need)} (offset {mm(m.offset_mm)} + length {mm(m.length_mm)})"
                if m.crop
                else f"the bleed needs {mm(need)}"
            )
            raise Invalid(f"{t.name}: {what} outside the labels, the {side} margin is {mm(margin)}")


def _slug(t: Template, sample: dict[str, str]) -> None:
    room = t.page.margin_bottom_mm - max(t.label.bleed_mm, t.marks.extent_mm)
    top = t.slug.bottom_mm + slug_height_mm(t)
    if top > room + _EPS:
        below = "crop marks" if t.marks.crop else "the labels"
        raise Invalid(
            f"{t.name}: the slug ({SLUG_LINES} lines of {t.slug.font_pt:g} pt from "
            f"{mm(t.slug.bottom_mm)}) reaches {mm(top)} above the page's bottom edge, but "
            f"{below} begin {mm(room)} above it"
        )
    if t.slug.font_pt < MIN_FONT_PT:
        raise Invalid(f"{t.name}: the slug's {t.slug.font_pt:g} pt is below {MIN_FONT_PT:g} pt")
    line = slug_serials(sample["serial"], sample["serial"])
    width = fonts.width_pt(line, "mono", t.slug.font_pt) * PT
    if width > t.page.width_mm - 4 + _EPS:
        raise Invalid(
            f"{t.name}: the slug's serial range at {t.slug.font_pt:g} pt is {mm(width)} wide, "
            f"the page {mm(t.page.width_mm)} (less 2 mm each side)"
        )


def slug_serials(first: str, last: str) -> str:
    return f"{first} – {last}"


def _inside(t: Template, f: Field) -> None:
    x, y, w, h = f.box
    lw, lh = t.label.width_mm, t.label.height_mm
    if x + w > lw + _EPS:
        raise Invalid(
            f"{t.name}: field {f.name!r} reaches {mm(x + w)} across ({mm(x)} + {mm(w)}), "
            f"the label is {mm(lw)} wide"
        )
    if y + h > lh + _EPS:
        raise Invalid(
            f"{t.name}: field {f.name!r} reaches {mm(y + h)} down ({mm(y)} + {mm(h)}), "
            f"the label is {mm(lh)} high"
        )


def _qr(t: Template, f: QrField, sample: dict[str, str]) -> str:
    side, _ = qr.matrix(f.value.format_map(sample), f.ec_level)
    total = side + 2 * f.quiet_modules
    module = f.size_mm / total
    if module + _EPS < t.min_module_mm:
        raise Invalid(
            f"{t.name}: field {f.name!r}: its QR (version {qr.version(side)}-{f.ec_level}, "
            f"{side} modules + {f.quiet_modules} quiet on each side = {total}) in "
            f"{mm(f.size_mm)} has modules of {module:.3f} mm, smaller than the printable "
            f"{t.min_module_mm:g} mm; make it at least {mm(total * t.min_module_mm)}"
        )
    return (
        f"{f.name}: QR version {qr.version(side)}-{f.ec_level}, {total} modules with the quiet "
        f"zone, module {module:.3f} mm"
    )


def _gs1(t: Template, f: Gs1Field, sample: dict[str, str]) -> str:
    if f.module_mm + _EPS < t.min_module_mm:
        raise Invalid(
            f"{t.name}: field {f.name!r}: its bars are {f.module_mm:g} mm (the X dimension), "
            f"smaller than the printable {t.min_module_mm:g} mm"
        )
    data = f.value.format_map(sample)
    width, _ = gs1_128.bars(f.ai, data)
    total = width + 2 * gs1_128.QUIET_MODULES
    if total * f.module_mm > f.width_mm + _EPS:
        raise Invalid(
            f"{t.name}: field {f.name!r}: GS1-128 of ({f.ai}) is {width} modules + "
            f"{gs1_128.QUIET_MODULES} quiet on each side = {total} x {f.module_mm:g} mm = "
            f"{mm(total * f.module_mm)}, the field is {mm(f.width_mm)} wide"
        )
    if f.hri_pt:
        _text_width(t, f, gs1_128.human_readable(f.ai, data), "sans", f.hri_pt, f.width_mm)
    return f"{f.name}: GS1-128 ({f.ai}), {total} modules with quiet zones, X {f.module_mm:g} mm"


def _legible(t: Template, f: Field, size: float) -> None:
    if size < MIN_FONT_PT:
        raise Invalid(
            f"{t.name}: field {f.name!r}: {size:g} pt is below the legible {MIN_FONT_PT:g} pt"
        )


def _text_width(t: Template, f: Field, text: str, face: str, size: float, room: float) -> None:
    _legible(t, f, size)
    width = fonts.width_pt(text, face, size) * PT
    if width > room + _EPS:
        raise Invalid(
            f"{t.name}: field {f.name!r}: {f.value!r} at {size:g} pt can be {mm(width)} wide, "
            f"the field is {mm(room)}"
        )


def _text(t: Template, f: TextField, sample: dict[str, str]) -> None:
    if f.min_font_pt > f.font_pt:
        raise Invalid(
            f"{t.name}: field {f.name!r}: min_font_pt {f.min_font_pt:g} is above font_pt "
            f"{f.font_pt:g}"
        )
    _legible(t, f, f.min_font_pt)
    if not UNBOUNDED.intersection(f.placeholders):  # those shrink, then get an ellipsis
        _text_width(t, f, f.value.format_map(sample), f.face, f.font_pt, f.width_mm)


def _scratch(t: Template, f: ScratchField, sample: dict[str, str]) -> None:
    _text_width(t, f, f.value.format_map(sample), f.face, f.font_pt, f.width_mm)
    if f.font_pt * PT > f.height_mm + _EPS:
        raise Invalid(
            f"{t.name}: field {f.name!r}: {f.font_pt:g} pt text is {mm(f.font_pt * PT)} high, "
            f"the scratch area {mm(f.height_mm)}"
        )


def _overlaps(t: Template) -> None:
    for a, b in combinations(t.fields, 2):
        ax, ay, aw, ah = a.box
        bx, by, bw, bh = b.box
        if (
            ax + aw > bx + _EPS
            and bx + bw > ax + _EPS
            and ay + ah > by + _EPS
            and by + bh > ay + _EPS
        ):
            raise Invalid(
                f"{t.name}: fields {a.name!r} ({_span(a)}) and {b.name!r} ({_span(b)}) overlap"
                + (" (a code's box includes its quiet zone)" if _is_code(a) or _is_code(b) else "")
            )


def _is_code(f: Field) -> bool:
    return isinstance(f, QrField | Gs1Field)


def _span(f: Field) -> str:
    x, y, w, h = f.box
    return f"x {round(x, 2):g}-{round(x + w, 2):g}, y {round(y, 2):g}-{round(y + h, 2):g} mm"


def check(template: Template, verify_base: str) -> list[str]:
    """Raise ``Invalid`` unless ``template`` prints; returns a note per code field."""
    sample = worst_case(verify_base)
    _fits_page(template)
    _bleed_and_marks(template)
    _slug(template, sample)
    notes = []
    for f in template.fields:
        _inside(template, f)
        if isinstance(f, QrField):
            notes.append(_qr(template, f, sample))
        elif isinstance(f, Gs1Field):
            notes.append(_gs1(template, f, sample))
        elif isinstance(f, TextField):
            _text(template, f, sample)
        elif isinstance(f, ScratchField):
            _scratch(template, f, sample)
    _overlaps(template)
    return notes
