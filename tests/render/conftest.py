"""A real batch, rendered once with every shipped template through the real CLI.

Rendering reads one batch row and nothing else from the database, and that read
(``codegen.batches``) is tested on SQLite and PostgreSQL by ``tests/codegen``; here
every database is SQLite, so that the slow part (drawing, rasterising, decoding)
runs once.
"""

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from codegen import batches
from codegen.derive import BatchSpec
from keys import Keyring
from tests.conftest import GTIN, TEST_PASSWORD, Runner, add_product
from zhenma import config
from zhenma.codes import BatchSecrets, Gtin
from zhenma.db import Database

ITEMS = 130  # five full cartons of 24 and one of 10; 2.6 A4 sheets
CARTON_SIZE = 24
# How each shipped template is rendered: the range and volume size exercise --from,
# --count and --volume-size, and leave a part-filled last page.
RENDERS = {
    "a4-item-sheet": ["--volume-size", "100"],
    "hidden-code-sheet": [],
    "item-roll": ["--from", "50", "--count", "12"],
    "carton-100x150": [],
}


@pytest.fixture
def database_url(tmp_path):
    yield f"sqlite:///{tmp_path}/zhenma.db"


def environment(root: Path) -> dict[str, str]:
    return {
        "ZHENMA_INSTANCE": str(root / "instance"),
        "ZHENMA_DATABASE_URL": f"sqlite:///{root}/zhenma.db",
        "ZHENMA_KEYRING": str(root / "instance" / "keyring.zkr"),
        "ZHENMA_KEYRING_PASSWORD": TEST_PASSWORD,
        "ZHENMA_VERIFY_BASE": "https://v.zhenma.test",
        "ZHENMA_WORKERS": "2",
    }


@dataclass
class Printed:
    root: Path
    run: Runner
    secrets: BatchSecrets
    spec: BatchSpec
    outputs: dict[str, Path] = field(default_factory=dict)

    def lookup(self, batch: int) -> tuple[Gtin, BatchSecrets] | None:
        """What ``zhenma.codes.authenticate`` asks for: the batch's GTIN and secrets."""
        return (Gtin.parse(GTIN), self.secrets) if batch == 1 else None

    def manifest(self, name: str) -> dict:
        return json.loads((self.outputs[name] / "render-manifest.json").read_text("utf-8"))

    def rows(self, name: str) -> list[dict[str, str]]:
        with open(self.outputs[name] / "labels.csv", newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def printed(tmp_path_factory) -> Printed:
    root = tmp_path_factory.mktemp("printed")
    run = Runner(environment(root), root)
    add_product(run)
    run(
        "batch", "create", "--gtin", GTIN, "--count", str(ITEMS),
        "--carton-size", str(CARTON_SIZE), "--out", "batch",
    )  # fmt: skip
    key_id = json.loads((root / "batch" / "manifest.json").read_text("utf-8"))["key_id"]
    ring = Keyring.open(root / "instance" / "keyring.zkr", TEST_PASSWORD)
    db = Database.from_settings(config.load(run.env))
    with db.session() as s:
        spec = batches.spec_of(batches.get_batch(s, 1))
    db.dispose()
    result = Printed(root, run, ring.batch_secrets(key_id, 1), spec)
    for name, extra in RENDERS.items():
        run("batch", "render", "1", "--template", name, "--out", f"out/{name}", *extra)
        result.outputs[name] = root / "out" / name
    return result
