"""What a label template says, as frozen dataclasses: page, label grid, marks, slug, fields.

``templates`` reads them from files; ``geometry`` checks them; ``layout`` draws them.
Lengths are millimetres measured from the top-left corner of the page or the label;
font sizes are points.
"""

from dataclasses import dataclass
from string import Formatter

KINDS = ("item", "carton")
EC_LEVELS = ("L", "M", "Q", "H")


@dataclass(frozen=True)
class Page:
    width_mm: float
    height_mm: float
    margin_top_mm: float
    margin_bottom_mm: float
    margin_left_mm: float
    margin_right_mm: float


@dataclass(frozen=True)
class Grid:
    width_mm: float  # of one label, without bleed
    height_mm: float
    columns: int
    rows: int
    gutter_x_mm: float
    gutter_y_mm: float
    bleed_mm: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class Marks:
    crop: bool
    offset_mm: float  # from the cut line to where a crop mark starts
    length_mm: float

    @property
    def extent_mm(self) -> float:
        return self.offset_mm + self.length_mm if self.crop else 0.0


@dataclass(frozen=True)
class Slug:
    bottom_mm: float  # from the page's bottom edge to the bottom of the slug's two lines
    font_pt: float


@dataclass(frozen=True)
class Field:
    name: str
    x_mm: float
    y_mm: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Left, top, width, height in millimetres from the label's top-left corner."""
        raise NotImplementedError

    @property
    def placeholders(self) -> tuple[str, ...]:
        value: str = getattr(self, "value", "")
        return tuple(name for _, name, _, _ in Formatter().parse(value) if name)


@dataclass(frozen=True)
class QrField(Field):
    value: str
    size_mm: float  # quiet zone included
    ec_level: str
    quiet_modules: int

    @property
    def box(self):
        return self.x_mm, self.y_mm, self.size_mm, self.size_mm


@dataclass(frozen=True)
class TextField(Field):
    value: str
    width_mm: float
    font_pt: float
    min_font_pt: float  # names too long for the box shrink down to this, then get an ellipsis
    align: str
    face: str

    @property
    def box(self):
        return self.x_mm, self.y_mm, self.width_mm, self.font_pt * 25.4 / 72


@dataclass(frozen=True)
class Gs1Field(Field):
    """A GS1-128 barcode with its human-readable line underneath."""

    value: str
    ai: str
    width_mm: float  # quiet zones included
    bar_height_mm: float
    module_mm: float  # the X dimension: width of the narrowest bar
    hri_pt: float

    @property
    def box(self):
        return (
            self.x_mm,
            self.y_mm,
            self.width_mm,
            self.bar_height_mm + self.hri_pt * 1.2 / 72 * 25.4,
        )


@dataclass(frozen=True)
class ScratchField(Field):
    """The area a scratch-off panel covers, with the hidden code printed in its middle."""

    value: str
    width_mm: float
    height_mm: float
    font_pt: float
    face: str

    @property
    def box(self):
        return self.x_mm, self.y_mm, self.width_mm, self.height_mm


@dataclass(frozen=True)
class RegistrationField(Field):
    """A registration target (circle and cross) that the scratch-off pass is aligned to."""

    size_mm: float
    value: str = ""  # nothing variable

    @property
    def box(self):
        return self.x_mm, self.y_mm, self.size_mm, self.size_mm


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    kind: str
    page: Page
    label: Grid
    marks: Marks
    slug: Slug
    min_module_mm: float
    fields: tuple[Field, ...]
    source: str
    sha256: str

    @property
    def per_page(self) -> int:
        return self.label.per_page

    def uses(self, placeholder: str) -> bool:
        return any(placeholder in f.placeholders for f in self.fields)
