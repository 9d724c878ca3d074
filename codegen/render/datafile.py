"""``labels.csv``: the data file for a printing house's own variable-data software.

One row per label, in print order, saying where the label is in the PDFs (file, page,
slot) and what is printed on it, so that a press's software (BarTender, PrintShop
Mail, Fiery FreeForm and the like) can print the same labels from its own layout.
Columns are fixed per kind of label and listed in ``docs/printing.md``; the hidden
code is only included when the template prints it, since only then does the printer
need it. Each worker writes the rows of its own volume; ``assemble`` joins them.
"""

import csv
import hashlib
import io
from pathlib import Path

from ..files import fsync_write
from . import gs1_128
from .model import Gs1Field, QrField, Template

NAME = "labels.csv"
ITEM_COLUMNS = ["file", "page", "slot", "index", "serial", "qr", "carton", "carton_code"]
CARTON_COLUMNS = [
    "file", "page", "slot", "carton", "carton_code", "qr", "sscc", "gs1_128",
    "item_count", "first_item", "last_item", "first_serial", "last_serial",
]  # fmt: skip


def prints_hidden_code(template: Template) -> bool:
    return template.uses("hidden_code") or template.uses("hidden_code_spaced")


def columns(template: Template) -> list[str]:
    if template.kind == "carton":
        return CARTON_COLUMNS
    return ITEM_COLUMNS + (["hidden_code"] if prints_hidden_code(template) else [])


def _first(template: Template, kind: type):
    return next((f for f in template.fields if isinstance(f, kind)), None)


class Rows:
    """The rows of one volume, collected page by page."""

    def __init__(self, template: Template, file: str):
        self.template, self.file = template, file
        qr = _first(template, QrField)
        self.qr = qr.value.format_map if qr else (lambda values: "")
        self.gs1 = _first(template, Gs1Field)
        self.hidden = prints_hidden_code(template)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")

    def add_page(self, page: int, labels: list[dict[str, str]]) -> None:
        for slot, v in enumerate(labels, 1):
            where = [self.file, page, slot]
            if self.template.kind == "item":
                row = [*where, v["index"], v["serial"], self.qr(v), v["carton"], v["carton_code"]]
                if self.hidden:
                    row.append(v["hidden_code"])
            else:
                ai, data = ("00", v["sscc"])
                if self.gs1 is not None:
                    ai, data = self.gs1.ai, self.gs1.value.format_map(v)
                row = [
                    *where, v["carton"], v["carton_code"], self.qr(v), v["sscc"],
                    gs1_128.element_string(ai, data) if data else "",
                    v["item_count"], v["first_item"], v["last_item"],
                    v["first_serial"], v["last_serial"],
                ]  # fmt: skip
            self.writer.writerow(row)

    def data(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8")


def assemble(target: Path, template: Template, parts: list[Path]) -> dict:
    """The header, then every volume's rows, into ``target`` (crash-safe); SHA-256 and size."""
    header = (",".join(columns(template)) + "\n").encode()
    digest = hashlib.sha256(header)
    size = len(header)

    def write(f):
        nonlocal size
        f.write(header)
        for part in parts:
            data = part.read_bytes()  # one volume's rows: a few megabytes at most
            digest.update(data)
            f.write(data)
            size += len(data)

    fsync_write(target, write)
    return {"sha256": digest.hexdigest(), "bytes": size}
