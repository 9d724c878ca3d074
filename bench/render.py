"""Benchmark of the label renderer against the obvious way, on the A4 item sheet, in one run.

    .venv/bin/python bench/render.py [--labels 10000] [--obvious 150] [--rounds 2]

Renders ``--labels`` labels of the shipped ``a4-item-sheet`` template with the
renderer (one process: deriving codes, encoding QR codes with zxing-cpp, drawing
vector paths, compressing, writing the PDF, the CSV and the manifest), then
``--obvious`` labels of the same layout the obvious way: reportlab's QR widget
(``reportlab.graphics.barcode.qr.QrCodeWidget``) drawn through ``renderPDF``, text
with ``drawString``. Prints labels per second and bytes per label for each, and
the ratio of the rates (target >= 30x, and <= 600 bytes a label for ours). Rounds
alternate the two and the best of each is kept, since the machine is shared and
noisy. The codes come from a made-up batch and key; no database is involved.
"""

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.pdfgen.canvas import Canvas

from codegen.derive import BatchCodes, BatchSpec
from codegen.render import fonts, templates, volumes
from codegen.render.layout import MM, PageLayout
from codegen.render.model import QrField, TextField
from keys import derive_batch_secrets

SPEC = BatchSpec(
    batch=7,
    gtin="06901234567892",
    product_name="真码测试白酒 500ml",
    item_count=1_000_000,
    carton_size=24,
    verify_base="https://v.zhenma.test",
    key_id="bench",
    created="2024-01-01T00:00:00+00:00",
)
SECRETS = derive_batch_secrets(b"\x07" * 32, SPEC.batch)
TEMPLATE = templates.find("a4-item-sheet")


def ours(labels: int, out: Path) -> tuple[float, float]:
    """Labels per second and bytes per label of the renderer, end to end on one process."""
    shutil.rmtree(out, ignore_errors=True)
    job = volumes.Job(TEMPLATE, SPEC, 1, labels, volume_size=labels)
    start = time.perf_counter()
    manifest = volumes.render(job, SECRETS, out, workers=1)
    seconds = time.perf_counter() - start
    size = sum(v["bytes"] for v in manifest["volumes"])
    return labels / seconds, size / labels


def obvious(labels: int, out: Path) -> tuple[float, float]:
    """The same layout with reportlab's QR widget, per label, as most code does it."""
    layout = PageLayout(TEMPLATE)
    qr_field = next(f for f in TEMPLATE.fields if isinstance(f, QrField))
    texts = [f for f in TEMPLATE.fields if isinstance(f, TextField)]
    codes = BatchCodes(SPEC, SECRETS)
    start = time.perf_counter()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=layout.size, invariant=1, pageCompression=1)
    size = qr_field.size_mm * MM
    for first in range(1, labels + 1, TEMPLATE.per_page):
        items = codes.items(first, min(first + TEMPLATE.per_page, labels + 1))
        for item, (left, top) in zip(items, layout.slots, strict=False):
            widget = QrCodeWidget(item.url, barLevel="Q", barBorder=qr_field.quiet_modules)
            x0, y0, x1, y1 = widget.getBounds()
            drawing = Drawing(
                size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0]
            )
            drawing.add(widget)
            renderPDF.draw(
                drawing, canvas, left + qr_field.x_mm * MM, top - (qr_field.y_mm * MM) - size
            )
            values = {"serial": item.serial, "product_name": SPEC.product_name}
            for f in texts:
                canvas.setFont(fonts.font_name(f.face), f.font_pt)
                canvas.drawCentredString(
                    left + (f.x_mm + f.width_mm / 2) * MM,
                    top - f.y_mm * MM - fonts.ASCENT * f.font_pt,
                    f.value.format_map(values),
                )
        canvas.showPage()
    canvas.save()
    data = buffer.getvalue()
    (out / "obvious.pdf").write_bytes(data)
    seconds = time.perf_counter() - start
    return labels / seconds, len(data) / labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--obvious", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    fonts.register()  # both ways use the same embedded CJK font; load it outside the timing
    best_ours = best_obvious = (0.0, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours(100, work / "warm")  # first-use costs (imports, caches) outside the timing
        for _ in range(args.rounds):
            best_ours = max(best_ours, ours(args.labels, work / "ours"))
            best_obvious = max(best_obvious, obvious(args.obvious, work))
    print(f"a4-item-sheet, {TEMPLATE.per_page} labels a page, one process, best of {args.rounds}")
    print(f"renderer:       {best_ours[0]:8.0f} labels/s  {best_ours[1]:6.0f} bytes/label"
          f"  ({args.labels} labels)")  # fmt: skip
    print(f"QrCodeWidget:   {best_obvious[0]:8.1f} labels/s  {best_obvious[1]:6.0f} bytes/label"
          f"  ({args.obvious} labels)")  # fmt: skip
    print(
        f"ratio:          {best_ours[0] / best_obvious[0]:8.1f}x  (target >= 30x; <= 600 B/label)"
    )


if __name__ == "__main__":
    main()
