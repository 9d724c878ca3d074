"""Templates that would not print are refused, naming the field (or page part) and the numbers."""

import pytest

from codegen.render import geometry, templates
from tests.helpers import exactly
from tests.render.test_templates import variant
from zhenma.errors import Invalid

BASE = "https://v.zhenma.test"


def check(path, base=BASE):
    return geometry.check(templates.load(path), base)


@pytest.mark.parametrize("path", templates.shipped(), ids=lambda p: p.stem)
def test_shipped_templates_print(path):
    notes = geometry.check(templates.load(path), "https://verify.zhenma.example")
    assert notes and all("module" in n for n in notes)


def test_the_notes_give_the_module_sizes():
    assert check(templates.SHIPPED / "carton-100x150.toml") == [
        "qr: QR version 2-Q, 33 modules with the quiet zone, module 1.212 mm",
        "sscc: GS1-128 (00), 176 modules with quiet zones, X 0.5 mm",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["label"].update(columns=6),
            "6 labels of 36 mm and 5 gutters of 2.5 mm need 228.5 mm across, but the page "
            "leaves 190 mm between its margins (210 mm - 10 mm - 10 mm)",
        ),
        (
            lambda d: d["label"].update(rows=11),
            "11 rows of labels 26 mm high and 10 gutters of 1.5 mm need 301 mm down, but the "
            "page leaves 273.5 mm between its margins (297 mm - 9.5 mm - 14 mm)",
        ),
        (
            lambda d: d["fields"][0].update(size_mm=10),
            "field 'qr': its QR (version 5-Q, 37 modules + 4 quiet on each side = 45) in 10 mm "
            "has modules of 0.222 mm, smaller than the printable 0.25 mm; make it at least "
            "11.25 mm",
        ),
        (
            lambda d: d["press"].update(min_module_mm=0.5),
            "field 'qr': its QR (version 5-Q, 37 modules + 4 quiet on each side = 45) in 19 mm "
            "has modules of 0.422 mm, smaller than the printable 0.5 mm; make it at least "
            "22.5 mm",
        ),
        (
            lambda d: d["fields"][0].update(x_mm=20),
            "field 'qr' reaches 39 mm across (20 mm + 19 mm), the label is 36 mm wide",
        ),
        (
            lambda d: d["fields"][2].update(y_mm=25),
            "field 'product' reaches 26.94 mm down (25 mm + 1.94 mm), the label is 26 mm high",
        ),
        (
            lambda d: d["fields"][1].update(width_mm=20, x_mm=8),
            "field 'serial': '{serial}' at 6 pt can be 25.4 mm wide, the field is 20 mm",
        ),
        (
            lambda d: d["fields"][1].update(font_pt=3),
            "field 'serial': 3 pt is below the legible 4 pt",
        ),
        (
            lambda d: d["fields"][2].update(min_font_pt=3),
            "field 'product': 3 pt is below the legible 4 pt",
        ),
        (
            lambda d: d["fields"][1].update(y_mm=18),
            "fields 'qr' (x 8.5-27.5, y 0.5-19.5 mm) and 'serial' (x 0.5-35.5, y 18-20.12 mm) "
            "overlap (a code's box includes its quiet zone)",
        ),
        (
            lambda d: d["label"].update(bleed_mm=2),
            "labels bleed 2 mm into the 2.5 mm gutter between columns; it must be at least "
            "4 mm, twice the bleed",
        ),
        (
            lambda d: d["marks"].update(length_mm=9),
            "crop marks need 11 mm (offset 2 mm + length 9 mm) outside the labels, the top "
            "margin is 9.5 mm",
        ),
        (
            lambda d: (d["label"].update(bleed_mm=0.7), d["marks"].update(offset_mm=0.5)),
            "crop marks start 0.5 mm from the cut, inside the 0.7 mm bleed; set "
            "marks.offset_mm to at least 0.7 mm",
        ),
        (
            lambda d: d["slug"].update(font_pt=9),
            "the slug (2 lines of 9 pt from 2 mm) reaches 9.62 mm above the page's bottom "
            "edge, but crop marks begin 8 mm above it",
        ),
    ],
)
def test_what_does_not_print_is_refused(tmp_path, change, message):
    with pytest.raises(Invalid, match=exactly(f"a4-item-sheet: {message}")):
        check(variant(tmp_path, change))


def test_a_longer_verify_base_can_make_the_qr_too_small(tmp_path):
    path = variant(tmp_path, lambda d: d["fields"][0].update(size_mm=12))
    assert check(path, "https://v.zhenma.test")  # version 5: 45 modules, 0.267 mm
    with pytest.raises(Invalid, match=exactly(
        "a4-item-sheet: field 'qr': its QR (version 7-Q, 45 modules + 4 quiet on each side "
        "= 53) in 12 mm has modules of 0.226 mm, smaller than the printable 0.25 mm; make it "
        "at least 13.25 mm"
    )):  # fmt: skip
        check(path, "https://verify.zhenma.example/anti-counterfeit")


def test_templates_check_on_the_command_line(runner, tmp_path):
    good = runner("templates", "check", str(templates.SHIPPED / "hidden-code-sheet.toml"))
    assert good.stdout.splitlines() == [
        f"{templates.SHIPPED / 'hidden-code-sheet.toml'}: hidden-code-sheet prints: "
        "27 item labels a page",
        "  qr: QR version 5-Q, 45 modules with the quiet zone, module 0.578 mm",
    ]
    bad = variant(tmp_path, lambda d: d["label"].update(columns=6))
    out = runner("templates", "check", str(bad), check=False)
    assert out.returncode == 1
    assert out.stderr == (
        "error: a4-item-sheet: 6 labels of 36 mm and 5 gutters of 2.5 mm need 228.5 mm "
        "across, but the page leaves 190 mm between its margins (210 mm - 10 mm - 10 mm)\n"
    )
    junk = tmp_path / "junk.toml"
    junk.write_text("]]]", "utf-8")
    out = runner("templates", "check", str(junk), check=False)
    assert out.returncode == 1
    assert out.stderr.startswith(f"error: {junk}: not a TOML template: ")
    assert "Traceback" not in out.stderr
    listed = runner("templates", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == [
        "a4-item-sheet", "carton-100x150", "hidden-code-sheet", "item-roll",
    ]  # fmt: skip
    assert listed[0].split()[1:4] == ["item", "50", "a"]
