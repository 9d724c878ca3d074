"""The keyring: encryption at rest, clear failures that overwrite nothing, rotation."""

import json
import os

import pytest

from keys import (
    DEV_PASSWORD,
    Keyring,
    KeyringCorrupt,
    KeyringExists,
    KeyringMissing,
    WrongPassword,
    derive_batch_secrets,
    open_for_use,
)
from zhenma.codes import Code, Kind

PASSWORD = "a long test password"


@pytest.fixture
def ring(tmp_path):
    return Keyring.create(tmp_path / "ring.zkr", PASSWORD)


def test_secrets_are_not_in_the_file(ring):
    raw = ring.path.read_bytes()
    secret = ring.keys[ring.current_id].secret
    assert secret not in raw
    import base64

    assert base64.b64encode(secret) not in raw
    assert oct(ring.path.stat().st_mode & 0o777) == "0o600"


def test_open_round_trip(ring):
    again = Keyring.open(ring.path, PASSWORD)
    assert again.current_id == ring.current_id
    assert again.keys[ring.current_id].secret == ring.keys[ring.current_id].secret
    assert not again.development


def test_wrong_password_is_told_as_such_and_changes_nothing(ring):
    before = ring.path.read_bytes()
    with pytest.raises(WrongPassword) as info:
        Keyring.open(ring.path, "not the password")
    assert str(info.value) == f"wrong password for keyring {ring.path} (ZHENMA_KEYRING_PASSWORD)"
    assert ring.path.read_bytes() == before


@pytest.mark.parametrize("keep", [0, 1, 40, 200, -30])
def test_truncated_keyring_is_corrupt(ring, keep):
    data = ring.path.read_bytes()
    ring.path.write_bytes(data[:keep])
    with pytest.raises(KeyringCorrupt) as info:
        Keyring.open(ring.path, PASSWORD)
    assert "truncated or corrupt" in str(info.value)


def test_tampered_ciphertext_fails_authentication(ring):
    doc = json.loads(ring.path.read_text())
    raw = bytearray(__import__("base64").b64decode(doc["ciphertext"]))
    raw[5] ^= 1
    doc["ciphertext"] = __import__("base64").b64encode(bytes(raw)).decode()
    ring.path.write_text(json.dumps(doc))
    with pytest.raises(KeyringCorrupt) as info:
        Keyring.open(ring.path, PASSWORD)
    assert str(info.value) == (
        f"keyring {ring.path} has been tampered with or damaged: it fails authentication"
    )


def test_tampered_header_fails_too(ring):
    doc = json.loads(ring.path.read_text())
    doc["version"] = 2
    ring.path.write_text(json.dumps(doc))
    with pytest.raises(KeyringCorrupt, match="has version 2"):
        Keyring.open(ring.path, PASSWORD)


def test_junk_and_missing_files(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(300))
    with pytest.raises(KeyringCorrupt):
        Keyring.open(junk, PASSWORD)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}')
    with pytest.raises(KeyringCorrupt, match="is not a Zhenma keyring"):
        Keyring.open(other, PASSWORD)
    with pytest.raises(KeyringMissing):
        Keyring.open(tmp_path / "nope", PASSWORD)


def test_create_refuses_to_overwrite(ring):
    before = ring.path.read_bytes()
    with pytest.raises(KeyringExists):
        Keyring.create(ring.path, PASSWORD)
    assert ring.path.read_bytes() == before
    assert [p.name for p in ring.path.parent.iterdir()] == [ring.path.name]  # no temp left


def test_rotation_keeps_old_batches_verifying(ring):
    old_id = ring.current_id
    serial = Code.sign(ring.batch_secrets(old_id, 9).item_tag, Kind.ITEM, 9, 1).render()
    new = ring.rotate(PASSWORD)
    reopened = Keyring.open(ring.path, PASSWORD)
    assert reopened.current_id == new.id != old_id
    assert set(reopened.keys) == {old_id, new.id}
    Code.parse(serial).verify(reopened.batch_secrets(old_id, 9).item_tag)


def test_derived_keys_differ_by_purpose_batch_and_master():
    a = derive_batch_secrets(b"m" * 32, 1)
    assert len({a.item_tag, a.carton_tag, a.hidden}) == 3
    assert derive_batch_secrets(b"m" * 32, 2).item_tag != a.item_tag
    assert derive_batch_secrets(b"n" * 32, 1).item_tag != a.item_tag
    assert derive_batch_secrets(b"m" * 32, 1) == a


def test_missing_master_key_is_named(ring):
    with pytest.raises(Exception, match="made with master key mk-gone, which this keyring lacks"):
        ring.batch_secrets("mk-gone", 3)


def test_development_keyring_is_created_loudly_only_without_password(tmp_path):
    said = []
    path = tmp_path / "dev.zkr"
    ring = open_for_use(path, None, warn=said.append)
    assert ring.development and "DEVELOPMENT keyring" in said[0]
    assert Keyring.open(path, DEV_PASSWORD).current_id == ring.current_id
    open_for_use(path, None, warn=said.append)
    assert "using the DEVELOPMENT keyring" in said[1]
    with pytest.raises(KeyringMissing, match="zhenma keys new"):
        open_for_use(tmp_path / "prod.zkr", PASSWORD, warn=said.append)
    assert not (tmp_path / "prod.zkr").exists()
