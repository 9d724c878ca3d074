"""The keyring file: master secrets with key ids, encrypted at rest.

File layout (JSON, UTF-8)::

    {"format": "zhenma-keyring", "version": 1,
     "kdf": {"name": "scrypt", "n": ..., "r": ..., "p": ..., "salt": b64},
     "verifier": b64, "nonce": b64, "ciphertext": b64}

The ciphertext (AES-256-GCM, the header fields as associated data) holds
``{"current": id, "development": bool, "keys": [{"id", "secret", "created"}]}``.

Writes are atomic (a temporary file, fsync, then rename; ``create`` links it into
place so that it can never overwrite), so a crash leaves the old file or the new,
never a mix. Rotation adds a master key and makes it current; old keys stay, so
every older batch keeps verifying.
"""

import base64
import contextlib
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag

from zhenma.codes import BatchSecrets

from . import crypto
from .derive import derive_batch_secrets

FORMAT = "zhenma-keyring"
VERSION = 1
# The password of development keyrings: they exist for the quick start and tests,
# say so loudly whenever they are used, and must never sign real labels.
DEV_PASSWORD = "zhenma-development-only"  # noqa: S105


class KeyringError(Exception):
    """Base class of keyring failures; the message is for the operator."""


class KeyringMissing(KeyringError):
    pass


class KeyringExists(KeyringError):
    pass


class WrongPassword(KeyringError):
    pass


class KeyringCorrupt(KeyringError):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, path: Path) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise KeyringCorrupt(f"keyring {path} is corrupt: bad {what}") from None


@dataclass
class MasterKey:
    id: str
    secret: bytes = field(repr=False)
    created: str


@dataclass
class Keyring:
    path: Path
    keys: dict[str, MasterKey]
    current_id: str
    development: bool = False

    # -- reading ---------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, password: str) -> "Keyring":
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyringMissing(f"no keyring at {path}") from None
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {path}: {exc.strerror}") from None
        try:
            doc = json.loads(raw.decode("utf-8"))
            if doc.get("format") != FORMAT:
                raise KeyringCorrupt(f"{path} is not a Zhenma keyring")
            if doc.get("version") != VERSION:
                raise KeyringCorrupt(f"keyring {path} has version {doc.get('version')!r}")
            kdf = doc["kdf"]
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            salt = _unb64(kdf["salt"], "salt", path)
            verifier = _unb64(doc["verifier"], "verifier", path)
            nonce = _unb64(doc["nonce"], "nonce", path)
            ciphertext = _unb64(doc["ciphertext"], "ciphertext", path)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise KeyringCorrupt(
                f"keyring {path} is truncated or corrupt (not a complete keyring document)"
            ) from None
        if kdf.get("name") != "scrypt" or not (2**10 <= n <= 2**20 and r <= 32 and p <= 16):
            raise KeyringCorrupt(f"keyring {path} has unsupported key derivation settings")
        enc_key, ver_key = crypto.stretch(password, salt, n, r, p)
        if not secrets.compare_digest(crypto.verifier(ver_key), verifier):
            raise WrongPassword(f"wrong password for keyring {path} (ZHENMA_KEYRING_PASSWORD)")
        try:
            plain = crypto.unseal(enc_key, nonce, ciphertext, _header(doc))
        except InvalidTag:
            raise KeyringCorrupt(
                f"keyring {path} has been tampered with or damaged: it fails authentication"
            ) from None
        body = json.loads(plain)
        keys = {
            k["id"]: MasterKey(k["id"], base64.b64decode(k["secret"]), k["created"])
            for k in body["keys"]
        }
        return cls(path, keys, body["current"], bool(body.get("development")))

    # -- writing ---------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, password: str, development: bool = False) -> "Keyring":
        """A new keyring with one master key; refuses to replace an existing file."""
        path = Path(path)
        if not password:
            raise KeyringError("a keyring needs a password: set ZHENMA_KEYRING_PASSWORD")
        key = _new_key()
        ring = cls(path, {key.id: key}, key.id, development)
        ring._write(password, overwrite=False)
        return ring

    def rotate(self, password: str) -> MasterKey:
        """Add a master key and make it current for new batches."""
        key = _new_key()
        self.keys[key.id] = key
        previous, self.current_id = self.current_id, key.id
        try:
            self._write(password, overwrite=True)
        except BaseException:
            del self.keys[key.id]
            self.current_id = previous
            raise
        return key

    def _write(self, password: str, overwrite: bool) -> None:
        salt = os.urandom(crypto.SALT_BYTES)
        enc_key, ver_key = crypto.stretch(
            password, salt, crypto.SCRYPT_N, crypto.SCRYPT_R, crypto.SCRYPT_P
        )
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "kdf": {
                "name": "scrypt",
                "n": crypto.SCRYPT_N,
                "r": crypto.SCRYPT_R,
                "p": crypto.SCRYPT_P,
                "salt": _b64(salt),
            },
        }
        body = {
            "current": self.current_id,
            "development": self.development,
            "keys": [
                {"id": k.id, "secret": _b64(k.secret), "created": k.created}
                for k in self.keys.values()
            ],
        }
        nonce, ciphertext = crypto.seal(enc_key, json.dumps(body).encode(), _header(doc))
        doc.update(
            verifier=_b64(crypto.verifier(ver_key)),
            nonce=_b64(nonce),
            ciphertext=_b64(ciphertext),
        )
        _atomic_write(self.path, json.dumps(doc, indent=1).encode() + b"\n", overwrite)

    # -- use -------------------------------------------------------------------

    def batch_secrets(self, key_id: str, batch: int) -> BatchSecrets:
        try:
            master = self.keys[key_id]
        except KeyError:
            raise KeyringError(
                f"batch {batch} was made with master key {key_id}, which this keyring lacks"
            ) from None
        return derive_batch_secrets(master.secret, batch)


def _header(doc: dict) -> bytes:
    return json.dumps({k: doc[k] for k in ("format", "version", "kdf")}, sort_keys=True).encode()


def _new_key() -> MasterKey:
    return MasterKey(
        id="mk-" + secrets.token_hex(4),
        secret=crypto.new_secret(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _atomic_write(path: Path, data: bytes, overwrite: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise KeyringExists(f"a keyring already exists at {path}; refusing to overwrite it")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path appeared meanwhile: never overwrites
            except FileExistsError:
                raise KeyringExists(
                    f"a keyring already exists at {path}; refusing to overwrite it"
                ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def open_for_use(path: Path, password: str | None, warn=None) -> Keyring:
    """The keyring commands use: open it, or create a development one where none exists.

    Without ``ZHENMA_KEYRING_PASSWORD`` and without a keyring file, a development
    keyring is created (with a fixed, public password) and ``warn`` is told loudly.
    With a password set and no file, nothing is created: production keyrings are
    made on purpose with ``zhenma keys new``.
    """
    warn = warn or (lambda text: print(text, file=sys.stderr))
    path = Path(path)
    if password is None and not path.exists():
        ring = Keyring.create(path, DEV_PASSWORD, development=True)
        warn(
            f"WARNING: created a DEVELOPMENT keyring at {path}. Its password is public: "
            "codes made with it prove nothing. For real labels set ZHENMA_KEYRING_PASSWORD "
            "and run `zhenma keys new`."
        )
        return ring
    if password is None:
        ring = Keyring.open(path, DEV_PASSWORD)
    else:
        try:
            ring = Keyring.open(path, password)
        except KeyringMissing:
            raise KeyringMissing(
                f"no keyring at {path}: create one with `zhenma keys new`"
            ) from None
    if ring.development:
        warn(f"WARNING: using the DEVELOPMENT keyring at {path}; not for real labels.")
    return ring
