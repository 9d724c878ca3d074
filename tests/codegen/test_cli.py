"""The generator's commands end to end, as HQ runs them, on SQLite and PostgreSQL."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import GTIN, PRODUCT_NAME

FILES = ("items.csv", "cartons.csv", "manifest.json")


def serials(path):
    with open(path / "items.csv", newline="") as f:
        return [row["serial"] for row in csv.DictReader(f)]


def test_product_add_verifies_the_gtin_and_keeps_chinese_names(runner):
    out = runner("product", "add", "--gtin", "6901234567892", "--name", "贵州茅台 53%vol")
    assert out.stdout.strip() == "product 06901234567892 贵州茅台 53%vol"
    bad = runner("product", "add", "--gtin", "6901234567893", "--name", "x", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "error: GTIN 6901234567893 has check digit 3, expected 2: check for a typo"
    )
    dup = runner("product", "add", "--gtin", "06901234567892", "--name", "y", check=False)
    assert dup.returncode == 4 and "already exists" in dup.stderr
    assert "Traceback" not in bad.stderr + dup.stderr
    listed = runner("product", "list").stdout
    assert "06901234567892  贵州茅台 53%vol  prefix=-" in listed


def test_create_export_list_show_revoke(runner, product, tmp_path):
    created = runner(
        "batch", "create", "--gtin", product, "--count", "2500", "--carton-size", "20",
        "--out", "b1",
    )  # fmt: skip
    assert created.stdout.strip() == "1"
    out = tmp_path / "b1"
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["batch"] == 1
    assert manifest["product"] == {"gtin": GTIN, "name": PRODUCT_NAME}
    assert manifest["counts"] == {"items": 2500, "cartons": 125, "carton_size": 20}
    assert manifest["key_id"].startswith("mk-")
    assert set(manifest["files"]) == {"items.csv", "cartons.csv"}

    runner("batch", "export", "1", "--out", "again", "--workers", "1")
    for name in FILES:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes()

    runner("batch", "create", "--gtin", product, "--count", "300", "--out", "b2")
    first, second = serials(out), serials(tmp_path / "b2")
    assert len(set(first)) == 2500 and not set(first) & set(second)

    listed = runner("batch", "list").stdout.splitlines()
    assert len(listed) == 2 and "complete" in listed[0] and "真码测试白酒" in listed[0]
    shown = json.loads(runner("batch", "show", "1").stdout)
    assert shown["item_count"] == 2500 and shown["status"] == "complete"
    assert shown["sscc_first"] == 0
    assert json.loads(runner("batch", "show", "2").stdout)["sscc_first"] == 125  # no overlap

    runner("batch", "revoke", "1", "--reason", "密钥泄露 key leaked")
    shown = json.loads(runner("batch", "show", "1").stdout)
    assert shown["revoke_reason"] == "密钥泄露 key leaked" and shown["revoked_at"]
    again = runner("batch", "revoke", "1", "--reason", "x", check=False)
    assert again.returncode == 4 and "already revoked" in again.stderr


def test_errors_are_one_line_with_exit_codes(runner, product):
    missing = runner("batch", "show", "99", check=False)
    assert (missing.returncode, missing.stderr.strip()) == (3, "error: no batch 99")
    unknown = runner("batch", "create", "--gtin", "96385074", "--count", "5", "--out", "x",
                     check=False)  # fmt: skip
    assert unknown.returncode == 3
    assert "no product with GTIN 00000096385074" in unknown.stderr
    zero = runner("batch", "create", "--gtin", product, "--count", "0", "--out", "x", check=False)
    assert zero.returncode == 2 and "Traceback" not in zero.stderr


def test_a_folder_holding_another_batch_is_refused(runner, product):
    runner("batch", "create", "--gtin", product, "--count", "10", "--out", "same")
    clash = runner("batch", "create", "--gtin", product, "--count", "11", "--out", "same",
                   check=False)  # fmt: skip
    assert clash.returncode == 4
    assert "already holds batch 1; use another folder" in clash.stderr


def test_wrong_keyring_password_is_a_clear_error(runner, product):
    runner("batch", "create", "--gtin", product, "--count", "10", "--out", "a")
    runner.env["ZHENMA_KEYRING_PASSWORD"] = "not the password"
    bad = runner("batch", "export", "1", "--out", "b", check=False)
    assert bad.returncode == 5
    assert bad.stderr.strip().startswith("error: wrong password for keyring")


def test_keys_new_list_rotate(runner, product):
    listed = runner("keys", "list")  # the `product` fixture created the keyring already
    assert "production keyring" in listed.stdout
    again = runner("keys", "new", check=False)
    assert again.returncode == 5 and "refusing to overwrite" in again.stderr
    runner("batch", "create", "--gtin", product, "--count", "10", "--out", "old")
    rotated = runner("keys", "rotate")
    assert "1 older key(s) kept" in rotated.stdout
    runner("batch", "create", "--gtin", product, "--count", "10", "--out", "new")
    old = json.loads(runner("batch", "show", "1").stdout)["key_id"]
    new = json.loads(runner("batch", "show", "2").stdout)["key_id"]
    assert old != new
    runner("batch", "export", "1", "--out", "old-again")  # the old key still derives
    assert (runner.cwd / "old" / "items.csv").read_bytes() == (
        runner.cwd / "old-again" / "items.csv"
    ).read_bytes()
    assert "secret" not in runner("keys", "list").stdout


def test_quick_start_without_any_configuration(tmp_path):
    """No variables at all: SQLite and a development keyring appear under ./instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHENMA_")}
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "zhenma", *a], env=env, cwd=tmp_path, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    run("product", "add", "--gtin", GTIN, "--name", "演示")
    made = run("batch", "create", "--gtin", GTIN, "--count", "100", "--out", "demo")
    assert "DEVELOPMENT keyring" in made.stderr
    assert (tmp_path / "instance" / "zhenma.db").exists()
    assert (tmp_path / "demo" / "manifest.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("database_url", "wait_for"),
    [
        ("sqlite", "batch row"),
        ("sqlite", "first chunk"),
        ("sqlite", "two chunks"),
        ("postgresql", "first chunk"),  # the database only finds the batch to resume
    ],
    indirect=["database_url"],
)
def test_killed_run_finishes_on_rerun_with_identical_bytes(runner, product, tmp_path, wait_for):
    args = ("batch", "create", "--gtin", product, "--count", "400000", "--carton-size", "24",
            "--out", "big", "--workers", "2")  # fmt: skip
    out = tmp_path / "big"
    work = out / ".zhenma-partial"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhenma", *args], env=runner.env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    needed = {"batch row": 0, "first chunk": 1, "two chunks": 2}[wait_for]
    while time.monotonic() < deadline:
        chunks = list(work.glob("done.*")) if work.exists() else []
        if work.exists() and len(chunks) >= needed:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker processes
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists(), "the run ended before it could be killed"
    finished = runner(*args)
    assert finished.stdout.strip() == "1"
    assert "resuming batch 1" in finished.stderr
    runner("batch", "export", "1", "--out", "reference")
    for name in FILES:
        assert (out / name).read_bytes() == (tmp_path / "reference" / name).read_bytes(), name
    assert json.loads(runner("batch", "show", "1").stdout)["status"] == "complete"
    assert runner("batch", "list").stdout.count("\n") == 1  # no second batch was made
