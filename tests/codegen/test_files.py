"""Batch files: every line derives and verifies, chunks and cartons line up, output is stable."""

import csv
import hashlib
import json
import re
import shutil

import pytest

from codegen.derive import BatchCodes, BatchSpec
from codegen.files import ITEMS_HEADER, write_batch_files
from keys import derive_batch_secrets
from zhenma.codes import Code, Gtin, Kind, Sscc, authenticate, hidden

SECRETS = derive_batch_secrets(b"k" * 32, 41)
FILES = ("items.csv", "cartons.csv", "manifest.json")


def spec(count=1000, carton=24, **kw):
    base = dict(
        batch=41,
        gtin="06901234567892",
        product_name="测试产品",
        item_count=count,
        carton_size=carton,
        verify_base="https://v.zhenma.test",
        key_id="mk-test",
        created="2026-01-02T03:04:05+00:00",
        company_prefix="6901234",
        sscc_first=500,
    )
    base.update(kw)
    return BatchSpec(**base)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("count", "carton", "chunk"), [(1000, 24, 100), (997, 7, 64), (5, 10, 2)])
def test_every_row_verifies(tmp_path, count, carton, chunk):
    s = spec(count, carton)
    manifest = write_batch_files(s, SECRETS, tmp_path, workers=1, chunk_size=chunk)
    items = read_csv(tmp_path / "items.csv")
    cartons = read_csv(tmp_path / "cartons.csv")
    assert len(items) == count and len(cartons) == -(-count // carton)
    lookup = {41: (Gtin.parse(s.gtin), SECRETS)}.get
    for i, row in enumerate(items, 1):
        scanned = authenticate(row["url"], lookup)
        assert scanned.code.index == i and row["url"].endswith("/21/" + row["serial"])
        assert row["hidden_code"] == hidden.derive(SECRETS.hidden, 41, i)
        carton_code = Code.parse(row["carton"], expect=Kind.CARTON)
        carton_code.verify(SECRETS.carton_tag)
        assert carton_code.index == (i - 1) // carton + 1
    for n, row in enumerate(cartons, 1):
        first, last = int(row["first_item"]), int(row["last_item"])
        assert (first, last) == ((n - 1) * carton + 1, min(n * carton, count))
        assert int(row["item_count"]) == last - first + 1
        assert (row["first_serial"], row["last_serial"]) == (
            items[first - 1]["serial"],
            items[last - 1]["serial"],
        )
        assert Sscc.parse(row["sscc"]).value == Sscc.build("6901234", 500 + n - 1).value
    assert manifest == json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    for name in ("items.csv", "cartons.csv"):
        data = (tmp_path / name).read_bytes()
        assert manifest["files"][name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["files"][name]["bytes"] == len(data)
    assert not (tmp_path / ".zhenma-partial").exists()


def test_parallel_and_serial_runs_give_the_same_bytes(tmp_path):
    s = spec(5000, 12)
    write_batch_files(s, SECRETS, tmp_path / "one", workers=1, chunk_size=700)
    write_batch_files(s, SECRETS, tmp_path / "two", workers=2, chunk_size=300)
    for name in ("items.csv", "cartons.csv", "manifest.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_no_company_prefix_leaves_sscc_empty(tmp_path):
    write_batch_files(spec(30, 10, company_prefix=None, sscc_first=None), SECRETS, tmp_path)
    assert {row["sscc"] for row in read_csv(tmp_path / "cartons.csv")} == {""}


def test_resume_keeps_marked_chunks_and_rewrites_the_rest(tmp_path):
    s = spec(1000, 24)
    write_batch_files(s, SECRETS, tmp_path / "ref", chunk_size=100)
    reference = {n: (tmp_path / "ref" / n).read_bytes() for n in FILES}
    out = tmp_path / "run"
    work = out / ".zhenma-partial"
    work.mkdir(parents=True)
    # as a killed run leaves it: some chunks written and marked, one written without
    # its marker, one cut short, the rest zeros; cartons.csv half-written under its temp name
    items = bytearray(reference["items.csv"])
    line = len(BatchCodes(s, SECRETS).item_csv(1, 2))
    head = len(ITEMS_HEADER)
    for chunk in (0, 3, 4, 9):
        if chunk != 4:
            (work / f"done.{chunk:06d}").touch()
    for chunk in range(10):
        if chunk not in (0, 3, 4, 9):
            lo = head + chunk * 100 * line
            items[lo : lo + 100 * line] = bytes(100 * line)
    items[head + 5 * 100 * line : head + 5 * 100 * line + 7] = b"3222322"  # cut short
    (work / "items.csv").write_bytes(bytes(items))
    (out / "cartons.csv.tmp").write_text("carton,carton_co")
    write_batch_files(s, SECRETS, out, workers=2, chunk_size=100)
    assert {n: (out / n).read_bytes() for n in FILES} == reference
    assert not work.exists() and not (out / "cartons.csv.tmp").exists()


def test_resume_after_the_final_rename_but_before_the_manifest(tmp_path):
    s = spec(300, 24)
    write_batch_files(s, SECRETS, tmp_path / "ref", chunk_size=100)
    out = tmp_path / "run"
    (out / ".zhenma-partial").mkdir(parents=True)
    for chunk in range(3):
        (out / ".zhenma-partial" / f"done.{chunk:06d}").touch()
    shutil.copy(tmp_path / "ref" / "items.csv", out / "items.csv")
    write_batch_files(s, SECRETS, out, chunk_size=100)
    assert {n: (out / n).read_bytes() for n in FILES} == {
        n: (tmp_path / "ref" / n).read_bytes() for n in FILES
    }


def test_a_complete_folder_is_left_alone(tmp_path):
    s = spec(100, 10)
    first = write_batch_files(s, SECRETS, tmp_path, chunk_size=30)
    before = (tmp_path / "items.csv").stat().st_mtime_ns
    assert write_batch_files(s, SECRETS, tmp_path, chunk_size=30) == first
    assert (tmp_path / "items.csv").stat().st_mtime_ns == before


def test_item_rows_for_printing_match_the_file(tmp_path):
    s = spec(100, 8)
    write_batch_files(s, SECRETS, tmp_path)
    rows = read_csv(tmp_path / "items.csv")
    items = BatchCodes(s, SECRETS).items(5, 30)
    assert [(i.serial, i.hidden_code, i.url, i.carton_code) for i in items] == [
        (r["serial"], r["hidden_code"], r["url"], r["carton"]) for r in rows[4:29]
    ]
    assert BatchCodes(s, SECRETS).items(7, 7) == []
    with pytest.raises(ValueError, match=re.escape("outside 1..100")):
        BatchCodes(s, SECRETS).items(90, 102)
