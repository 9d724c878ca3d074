"""``zhenma batch activate`` and ``zhenma product page``, through the real command line."""

import pytest

from verify_api.catalog import load_batch, load_product

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_activate_whole_batch_or_ranges(runner, product, db, tmp_path):
    runner("batch", "create", "--gtin", product, "--count", "50", "--out", str(tmp_path / "b"))
    assert load_batch(db, 1).active == ()
    out = runner("batch", "activate", "1", "--from", "11", "--to", "20").stdout
    assert out.strip() == "activated batch 1 items 11 to 20"
    runner("batch", "activate", "1", "--from", "21", "--to", "30")
    info = load_batch(db, 1)
    assert info.active == ((11, 30),)
    assert info.is_active(11) and info.is_active(30) and not info.is_active(31)
    runner("batch", "activate", "1")
    assert load_batch(db, 1).active == ((1, 50),)


def test_activate_refuses_bad_ranges_and_unknown_batches(runner, product, tmp_path):
    runner("batch", "create", "--gtin", product, "--count", "5", "--out", str(tmp_path / "b"))
    too_far = runner("batch", "activate", "1", "--from", "3", "--to", "9", check=False)
    assert too_far.returncode == 1
    assert "batch 1 has items 1 to 5; cannot activate 3 to 9" in too_far.stderr
    assert runner("batch", "activate", "7", check=False).returncode == 3


def test_product_page_sets_the_pip_link(runner, product, db):
    runner("product", "page", product, "https://brand.example/p")
    assert load_product(db, product).page_url == "https://brand.example/p"
    runner("product", "page", product)
    assert load_product(db, product).page_url is None
