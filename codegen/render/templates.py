"""Label templates: data files in ``print_templates/`` (TOML, or JSON of the same shape).

This module reads a file into a ``model.Template`` and rejects what is not a
template (junk, a missing or misspelt key, a value of the wrong type) with a message
naming the key. Whether the labels fit the page and the codes are printable is
``geometry``'s job. ``docs/printing.md`` describes every key.
"""

import hashlib
import json
import tomllib
from pathlib import Path
from string import Formatter

import print_templates
from zhenma.errors import Invalid

from . import qr
from .labels import PLACEHOLDERS
from .model import (
    EC_LEVELS,
    KINDS,
    Field,
    Grid,
    Gs1Field,
    Marks,
    Page,
    QrField,
    RegistrationField,
    ScratchField,
    Slug,
    Template,
    TextField,
)

SHIPPED = Path(print_templates.__file__).resolve().parent
_MISSING = object()


class _Table:
    """One table of the file: typed reads that name the key when something is wrong."""

    def __init__(self, data: object, where: str, origin: str):
        if not isinstance(data, dict):
            raise Invalid(f"{origin}: {where} must be a table")
        self.data, self.origin = data, origin
        self.prefix = f"{where}." if where else ""
        self.read: set[str] = set()

    def _get(self, key: str, default, kind: str):
        self.read.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise Invalid(f"{self.origin}: {self.prefix}{key} is missing ({kind})")
        return default

    def _bad(self, key: str, kind: str, value: object) -> Invalid:
        return Invalid(f"{self.origin}: {self.prefix}{key} must be {kind}, not {value!r}")

    def number(self, key: str, default=_MISSING, minimum: float = 0.0) -> float:
        return self._number(key, default, minimum, f"a number ≥ {minimum:g}")

    def positive(self, key: str, default=_MISSING) -> float:
        value = self._number(key, default, 0.0, "a number > 0")
        if value <= 0:
            raise self._bad(key, "a number > 0", value)
        return value

    def _number(self, key: str, default, minimum: float, kind: str) -> float:
        value = self._get(key, default, kind)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self._bad(key, kind, value)
        return float(value)

    def integer(self, key: str, default=_MISSING, minimum: int = 1) -> int:
        kind = f"a whole number ≥ {minimum}"
        value = self._get(key, default, kind)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._bad(key, kind, value)
        return value

    def text(self, key: str, default=_MISSING, choices: tuple[str, ...] | None = None) -> str:
        kind = "one of " + ", ".join(choices) if choices else "text"
        value = self._get(key, default, kind)
        if not isinstance(value, str) or (choices and value not in choices) or not value:
            raise self._bad(key, kind, value)
        return value

    def flag(self, key: str, default=_MISSING) -> bool:
        value = self._get(key, default, "true or false")
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def table(self, key: str) -> "_Table":
        self.read.add(key)
        return _Table(self.data.get(key, {}), f"[{key}]", self.origin)

    def done(self) -> None:
        extra = sorted(set(self.data) - self.read)
        if extra:
            raise Invalid(f"{self.origin}: unknown key {self.prefix}{extra[0]}")


def _parse_file(path: Path) -> tuple[dict, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Invalid(f"cannot read template {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise Invalid(f"{path}: not a {kind} template: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"{path}: a template is a table of keys")
    return data, raw


def _value(t: _Table, kind: str, default=_MISSING) -> str:
    value = t.text("value", default)
    try:
        parts = [(name, spec, conv) for _, name, spec, conv in Formatter().parse(value)]
    except ValueError as exc:
        raise Invalid(f"{t.origin}: {t.prefix}value {value!r}: {exc}") from None
    for name, spec, conv in parts:
        if name is None:
            continue
        if spec or conv or not name:
            raise Invalid(f"{t.origin}: {t.prefix}value: write placeholders as {{name}}, plainly")
        if name not in PLACEHOLDERS[kind]:
            known = ", ".join(sorted(PLACEHOLDERS[kind]))
            raise Invalid(
                f"{t.origin}: {t.prefix}value uses {{{name}}}, which {kind} labels do not "
                f"have (they have {known})"
            )
    return value


def _field(t: _Table, kind: str) -> Field:
    ftype = t.text("type", choices=("qr", "text", "gs1-128", "scratch", "registration"))
    common = {"name": t.text("name"), "x_mm": t.number("x_mm"), "y_mm": t.number("y_mm")}
    field: Field
    if ftype == "qr":
        field = QrField(
            **common,
            value=_value(t, kind),
            size_mm=t.positive("size_mm"),
            ec_level=t.text("ec_level", "Q", EC_LEVELS),
            quiet_modules=t.integer("quiet_modules", qr.QUIET_MODULES, minimum=qr.QUIET_MODULES),
        )
    elif ftype == "text":
        font = t.positive("font_pt")
        field = TextField(
            **common,
            value=_value(t, kind),
            width_mm=t.positive("width_mm"),
            font_pt=font,
            min_font_pt=t.positive("min_font_pt", font),
            align=t.text("align", "left", ("left", "center", "right")),
            face=t.text("face", "sans", ("sans", "mono")),
        )
    elif ftype == "gs1-128":
        field = Gs1Field(
            **common,
            value=_value(t, kind),
            ai=t.text("ai", "00", ("00",)),
            width_mm=t.positive("width_mm"),
            bar_height_mm=t.positive("bar_height_mm"),
            module_mm=t.positive("module_mm"),
            hri_pt=t.number("hri_pt", 0.0),
        )
    elif ftype == "scratch":
        field = ScratchField(
            **common,
            value=_value(t, kind),
            width_mm=t.positive("width_mm"),
            height_mm=t.positive("height_mm"),
            font_pt=t.positive("font_pt"),
            face=t.text("face", "mono", ("sans", "mono")),
        )
    else:
        field = RegistrationField(**common, size_mm=t.positive("size_mm"))
    t.done()
    return field


def load(path: Path) -> Template:
    """Read and structurally check one template file."""
    path = Path(path)
    data, raw = _parse_file(path)
    origin = str(path)
    top = _Table(data, "", origin)
    kind = top.text("kind", choices=KINDS)
    page_t, label_t, marks_t = top.table("page"), top.table("label"), top.table("marks")
    slug_t, press_t = top.table("slug"), top.table("press")
    page = Page(
        page_t.positive("width_mm"),
        page_t.positive("height_mm"),
        page_t.number("margin_top_mm"),
        page_t.number("margin_bottom_mm"),
        page_t.number("margin_left_mm"),
        page_t.number("margin_right_mm"),
    )
    label = Grid(
        label_t.positive("width_mm"),
        label_t.positive("height_mm"),
        label_t.integer("columns", 1),
        label_t.integer("rows", 1),
        label_t.number("gutter_x_mm", 0.0),
        label_t.number("gutter_y_mm", 0.0),
        label_t.number("bleed_mm", 0.0),
    )
    marks = Marks(
        marks_t.flag("crop", False),
        marks_t.number("offset_mm", 3.0),
        marks_t.positive("length_mm", 4.0),
    )
    slug = Slug(slug_t.number("bottom_mm"), slug_t.positive("font_pt"))
    min_module = press_t.positive("min_module_mm", 0.25)
    for table in (page_t, label_t, marks_t, slug_t, press_t):
        table.done()
    top.read.add("fields")
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise Invalid(f"{origin}: a template needs [[fields]], at least one")
    fields = tuple(
        _field(_Table(f, f"fields[{i + 1}]", origin), kind) for i, f in enumerate(raw_fields)
    )
    names = [f.name for f in fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise Invalid(f"{origin}: two fields are called {dupes[0]!r}")
    template = Template(
        name=top.text("name", path.stem),
        title=top.text("title", path.stem),
        kind=kind,
        page=page,
        label=label,
        marks=marks,
        slug=slug,
        min_module_mm=min_module,
        fields=fields,
        source=origin,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
    top.done()
    return template


def shipped() -> list[Path]:
    return sorted(p for p in SHIPPED.glob("*.toml"))


def find(name_or_path: str) -> Template:
    """A shipped template by name, or any template file by its path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".toml", ".json") or "/" in name_or_path:
        return load(candidate)
    path = SHIPPED / f"{name_or_path}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in shipped())
        raise Invalid(f"no template called {name_or_path!r} (shipped: {names})")
    return load(path)
