"""Render runs: volumes, manifest, data file, the same bytes every time, resuming after a crash."""

import csv
import dataclasses
import hashlib
import json
import re
import zlib

import pypdfium2 as pdfium
import pytest

from codegen.render import fonts, templates, volumes
from codegen.render.layout import MM
from tests.helpers import exactly
from zhenma.errors import Conflict, Invalid

FILES = ("render-manifest.json", "labels.csv")


def job(printed, name="a4-item-sheet", first=1, count=130, volume_size=50, **spec_changes):
    spec = dataclasses.replace(printed.spec, **spec_changes)
    return volumes.Job(templates.find(name), spec, first, count, volume_size)


def contents(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_rendering_again_gives_the_same_bytes(printed):
    again = printed.root / "again"
    printed.run(
        "batch", "render", "1", "--template", "a4-item-sheet", "--out", str(again),
        "--volume-size", "100", "--workers", "1",
    )  # fmt: skip
    assert contents(again) == contents(printed.outputs["a4-item-sheet"])
    # and into the same folder: the same manifest, so the same files
    before = contents(again)
    printed.run("batch", "render", "1", "--template", "a4-item-sheet", "--out", str(again),
                "--volume-size", "100")  # fmt: skip
    assert contents(again) == before


def test_the_manifest_gives_every_volume_its_hash_and_range(printed):
    out = printed.outputs["a4-item-sheet"]
    manifest = printed.manifest("a4-item-sheet")
    rows = printed.rows("a4-item-sheet")
    assert manifest["labels"] == {
        "first": 1, "last": 130, "count": 130, "per_page": 50, "per_volume": 100,
    }  # fmt: skip
    shape = [
        (v["file"], v["first"], v["last"], v["pages"], v["labels"]) for v in manifest["volumes"]
    ]
    assert shape == [
        ("a4-item-sheet-b1-001-100.pdf", 1, 100, 2, 100),
        ("a4-item-sheet-b1-101-130.pdf", 101, 130, 1, 30),
    ]  # fmt: skip
    for v in manifest["volumes"]:
        data = (out / v["file"]).read_bytes()
        assert v["sha256"] == hashlib.sha256(data).hexdigest() and v["bytes"] == len(data)
        mine = [r for r in rows if r["file"] == v["file"]]
        assert (v["first_serial"], v["last_serial"]) == (mine[0]["serial"], mine[-1]["serial"])
    data = (out / "labels.csv").read_bytes()
    assert manifest["data_file"] == {
        "file": "labels.csv",
        "columns": ["file", "page", "slot", "index", "serial", "qr", "carton", "carton_code"],
        "rows": 130,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    assert [int(r["index"]) for r in rows] == list(range(1, 131))
    assert manifest["template"]["sha256"] == templates.find("a4-item-sheet").sha256
    assert not (out / volumes.PARTIAL).exists()


def test_the_data_file_has_what_the_printer_needs(printed):
    hidden = printed.rows("hidden-code-sheet")
    assert list(hidden[0]) == [
        "file", "page", "slot", "index", "serial", "qr", "carton", "carton_code", "hidden_code",
    ]  # fmt: skip
    assert (hidden[27]["page"], hidden[27]["slot"]) == ("2", "1")
    cartons = printed.rows("carton-100x150")
    last = cartons[-1]
    assert (last["carton"], last["item_count"], last["first_item"], last["last_item"]) == (
        "6", "10", "121", "130",
    )  # fmt: skip
    assert last["gs1_128"] == f"(00){last['sscc']}" and last["qr"] == last["carton_code"]
    roll = printed.manifest("item-roll")
    assert roll["labels"]["first"] == 50 and roll["volumes"][0]["file"] == "item-roll-b1-50-61.pdf"
    carton_volume = printed.manifest("carton-100x150")["volumes"][0]
    assert carton_volume["first_serial"] == cartons[0]["first_serial"]
    assert carton_volume["last_carton_code"] == last["carton_code"]


def test_pdfs_are_print_ready(printed):
    """Fonts embedded (as subsets), black as pure K, trim and bleed boxes on one-label pages."""
    roll = printed.outputs["item-roll"] / printed.manifest("item-roll")["volumes"][0]["file"]
    data = roll.read_bytes()
    assert b"/FontFile2" in data and b"+WenQuanYiMicroHei" in data
    assert b"/Helvetica" not in data  # nothing left to a printer's font substitution
    pdf = pdfium.PdfDocument(roll)
    label = (8 * MM, 14 * MM, 48 * MM, 44 * MM)  # 40 x 30 mm at the margins
    bleed = (label[0] - MM, label[1] - MM, label[2] + MM, label[3] + MM)
    boxes = [(pdf[i].get_trimbox(), pdf[i].get_bleedbox()) for i in range(len(pdf))]
    pdf.close()
    for trim, bled in boxes:
        assert trim == pytest.approx(label, abs=0.01)
        assert bled == pytest.approx(bleed, abs=0.01)
    content = b"".join(streams(data))
    assert b"0 0 0 1 k" in content and b"1 1 1 1 K" in content  # K for ink, all four for marks
    assert not re.search(rb"[\d.] (rg|RG|g|G)\s", content)  # no RGB or grey anywhere


def streams(pdf: bytes) -> list[bytes]:
    """Every Flate-compressed stream of a PDF, decompressed (fonts included)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            out.append(zlib.decompress(match[1]))
        except zlib.error:
            continue
    return out


def test_one_worker_or_two_give_the_same_files(printed, tmp_path):
    volumes.render(job(printed), printed.secrets, tmp_path / "one", workers=1)
    volumes.render(job(printed), printed.secrets, tmp_path / "two", workers=2)
    assert contents(tmp_path / "one") == contents(tmp_path / "two")
    assert len(json.loads((tmp_path / "one" / "render-manifest.json").read_text())["volumes"]) == 3


def test_an_interrupted_render_finishes_with_the_same_bytes(printed, tmp_path, monkeypatch):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    volumes.render(job(printed), printed.secrets, clean)
    drawn = []
    real = volumes.render_volume

    def crash_on_second(j, secrets, volume, out_dir):
        if volume.number == 2 and not drawn.count("crash"):
            drawn.append("crash")
            raise KeyboardInterrupt
        drawn.append(volume.number)
        return real(j, secrets, volume, out_dir)

    monkeypatch.setattr(volumes, "render_volume", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        volumes.render(job(printed), printed.secrets, crashed)
    assert not (crashed / "render-manifest.json").exists()  # not complete: no manifest
    assert not list(crashed.glob("*.tmp"))
    volumes.render(job(printed), printed.secrets, crashed)
    assert drawn == [1, "crash", 2, 3]  # volume 1 was kept
    assert contents(crashed) == contents(clean)


def test_another_renders_folder_is_refused(printed, tmp_path):
    volumes.render(job(printed, count=10), printed.secrets, tmp_path)
    with pytest.raises(Conflict, match=exactly(
        f"{tmp_path} already holds batch 1 rendered with a4-item-sheet; use another folder"
    )):  # fmt: skip
        volumes.render(job(printed, "item-roll", count=2), printed.secrets, tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first": 131, "count": 1}, "batch 1 has 130 items: there is no label 131"),
        ({"first": 100, "count": 40}, "labels 100 to 139 run past the end of batch 1's 130 items"),
        (
            {"name": "carton-100x150", "first": 6, "count": 2},
            "labels 6 to 7 run past the end of batch 1's 6 cartons",
        ),
        (
            {"volume_size": 30},
            "a volume of 30 labels is less than one page of a4-item-sheet (50 labels)",
        ),
        (
            {"name": "carton-100x150", "count": 6, "company_prefix": None, "sscc_first": None},
            "batch 1 has no SSCCs (its product had no company prefix when the batch was made), "
            "and template carton-100x150 prints them",
        ),
        (
            {"product_name": "白酒 \U0001f377 500ml"},
            "the label font has no glyph for '\U0001f377' in the product name "
            "'白酒 \U0001f377 500ml'",
        ),
    ],
)
def test_what_cannot_be_rendered_is_refused_before_drawing(printed, tmp_path, kwargs, message):
    with pytest.raises(Invalid, match=exactly(message)):
        volumes.render(job(printed, **kwargs), printed.secrets, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_refusal_found_by_a_worker_reaches_the_caller(printed, tmp_path):
    # several volumes on two workers: the checks run in a worker process
    with pytest.raises(Invalid, match=exactly(
        "the label font has no glyph for '\U0001f377' in the product name '\U0001f377'"
    )):  # fmt: skip
        volumes.render(job(printed, product_name="\U0001f377"), printed.secrets, tmp_path, 2)
    assert list(tmp_path.iterdir()) == []


def test_the_manifest_says_what_the_bytes_depend_on(printed):
    software = printed.manifest("item-roll")["software"]
    assert set(software) == {"reportlab", "zxing-cpp", "font", "font_sha256"}
    assert software["font"] == "wqy-microhei.ttc" and software["zxing-cpp"].startswith("3.")


def test_without_a_cjk_font_the_render_says_what_to_install(printed, tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "CANDIDATES", (tmp_path / "none.ttc",))
    fonts.register.cache_clear()
    try:
        with pytest.raises(Invalid, match=exactly(
            "no CJK font for labels: install the Debian package fonts-wqy-microhei "
            f"(bash scripts/setup does); looked for {tmp_path / 'none.ttc'}"
        )):  # fmt: skip
            volumes.render(job(printed), printed.secrets, tmp_path / "out")
    finally:
        fonts.register.cache_clear()


def test_a_revoked_batch_is_not_rendered(printed):
    printed.run("batch", "create", "--gtin", "06901234567892", "--count", "5", "--out", "b2")
    printed.run("batch", "revoke", "2", "--reason", "key leaked")
    out = printed.run(
        "batch", "render", "2", "--template", "a4-item-sheet", "--out", "r2", check=False
    )
    assert out.returncode == 4
    assert out.stderr == (
        "error: batch 2 was revoked (key leaked); its labels would scan as revoked\n"
    )


def test_the_rows_are_in_print_order(printed):
    with open(printed.outputs["item-roll"] / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert [r[1:4] for r in rows[1:3]] == [["1", "1", "50"], ["2", "1", "51"]]
