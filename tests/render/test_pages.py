"""Proof that printed labels work: every page of every shipped template, rasterised at
300 dpi, read back with a real barcode reader and checked with the code core.

A page's codes are read twice: all at once from the whole page (every QR and
GS1-128 barcode decodes, and there are exactly as many as the page has labels), and
label by label, from the label's own square, next to the text printed on the same
label (the plain-text serial and the hidden code are the ones the QR stands for).
"""

import re
from collections import defaultdict

import pypdfium2 as pdfium
import pytest
import zxingcpp

from codegen.render import templates
from codegen.render.layout import PageLayout
from tests.render.conftest import RENDERS
from zhenma.codes import Code, Kind, Sscc, authenticate, hidden

DPI = 300
SCALE = DPI / 72
SERIAL = re.compile(r"\b[23456789A-HJ-NP-Z]{20}\b")
HIDDEN = re.compile(r"\b\d{4} \d{4} \d{4}\b")
NAME = "真码测试白酒 500ml"


def test_every_shipped_template_is_proved_here():
    assert sorted(RENDERS) == sorted(p.stem for p in templates.shipped())


def pages(printed, name):
    """(volume file, page number, page, rows of labels.csv on that page) for a render."""
    rows = defaultdict(list)
    for row in printed.rows(name):
        rows[row["file"], int(row["page"])].append(row)
    for volume in printed.manifest(name)["volumes"]:
        pdf = pdfium.PdfDocument(printed.outputs[name] / volume["file"])
        try:
            assert len(pdf) == volume["pages"]
            for number in range(1, len(pdf) + 1):
                yield volume["file"], number, pdf[number - 1], rows[volume["file"], number]
        finally:
            pdf.close()


def raster(page):
    return page.render(scale=SCALE, grayscale=True).to_pil()


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_every_code_on_every_page_decodes_and_verifies(printed, name):
    template = templates.find(name)
    labels = 0
    for _, number, page, rows in pages(printed, name):
        found = zxingcpp.read_barcodes(raster(page), formats=[zxingcpp.QRCode, zxingcpp.Code128])
        qrs = [r for r in found if r.format == zxingcpp.QRCode]
        bars = [r for r in found if r.format == zxingcpp.Code128]
        assert 1 <= len(rows) <= template.per_page
        assert len(qrs) == len(rows), f"page {number}"
        assert sorted(r.text for r in qrs) == sorted(row["qr"] for row in rows)
        by_qr = {row["qr"]: row for row in rows}
        for r in qrs:
            assert r.ec_level == "Q"  # what every shipped template asks for
            scanned = authenticate(r.text, printed.lookup)  # raises unless genuine
            row = by_qr[r.text]
            if template.kind == "item":
                assert scanned.code.kind == Kind.ITEM
                assert scanned.link.serial == row["serial"]
                assert scanned.code.index == int(row["index"])
            else:
                assert scanned.code.kind == Kind.CARTON
                assert scanned.code.index == int(row["carton"])
        if template.kind == "carton":
            assert len(bars) == len(rows)
            for r in bars:
                assert r.symbology_identifier == "]C1"  # FNC1 first: a GS1-128 symbol
                assert r.content_type == zxingcpp.ContentType.GS1
                assert r.text.startswith("(00)")
                assert Sscc.parse(r.text[4:]).value in {row["sscc"] for row in rows}
        else:
            assert bars == []
        labels += len(qrs)
    assert labels == printed.manifest(name)["labels"]["count"]


def label_boxes(page, layout: PageLayout, count: int):
    """(text on the label, its square of the raster) for the first ``count`` slots."""
    image = raster(page)
    text = page.get_textpage()
    height = page.get_height()
    for left, top in layout.slots[:count]:
        right, bottom = left + layout.label_w, top - layout.label_h
        crop = image.crop(
            (int(left * SCALE), int((height - top) * SCALE), int(right * SCALE) + 1,
             int((height - bottom) * SCALE) + 1)
        )  # fmt: skip
        yield text.get_text_bounded(left, bottom, right, top), crop


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_printed_text_on_each_label_matches_its_code(printed, name):
    template = templates.find(name)
    layout = PageLayout(template)
    hidden_key = printed.secrets.hidden
    prints_hidden = template.uses("hidden_code_spaced") or template.uses("hidden_code")
    for _, number, page, rows in pages(printed, name):
        codes = []
        for words, square in label_boxes(page, layout, len(rows)):
            symbol = zxingcpp.read_barcode(square, formats=[zxingcpp.QRCode])
            assert symbol is not None, f"page {number}: a label without a readable QR"
            scanned = authenticate(symbol.text, printed.lookup)
            code = scanned.code
            assert NAME in words
            if template.kind == "item":
                assert SERIAL.findall(words) == [scanned.link.serial]
                if prints_hidden:
                    (typed,) = HIDDEN.findall(words)
                    assert hidden.matches(hidden_key, code.batch, code.index, typed)
                codes.append(scanned.link.serial)
            else:
                first_item = (code.index - 1) * 24 + 1
                last_item = min(code.index * 24, 130)
                serials = [
                    Code.sign(printed.secrets.item_tag, Kind.ITEM, 1, i).render()
                    for i in (first_item, last_item)
                ]
                assert SERIAL.findall(words) == [symbol.text, *serials]
                assert f"数量 Qty {last_item - first_item + 1}" in words
                (row,) = rows
                assert f"(00) {row['sscc']}" in words
                codes.append(symbol.text)
        # the slug under the labels names the page's first and last code
        margin = template.page.margin_bottom_mm * 72 / 25.4
        slug = page.get_textpage().get_text_bounded(0, 0, page.get_width(), margin)
        assert f"{codes[0]} – {codes[-1]}" in slug
        assert f"batch 1 · {template.name}" in slug
