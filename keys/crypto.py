"""Crypto defaults, pinned here and only here.

* Keyring at rest: scrypt (RFC 7914; n=2^15, r=8, p=1, 16-byte salt, about 0.1 s and
  32 MiB per opening) stretches the password into 64 bytes: 32 for AES-256-GCM
  (96-bit random nonce, the file's header as associated data) and 32 for a
  password verifier, so a wrong password and a tampered file get different errors.
* Master secrets: 32 random bytes from the OS.
* Per-batch keys: HKDF-SHA256, 32 bytes, one ``info`` label per purpose so that a key
  used for one job (serial tags) says nothing about another (hidden codes).
"""

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
NONCE_BYTES = 12
SECRET_BYTES = 32
HKDF_SALT = b"zhenma batch keys v1"

# Purposes of derived keys; a new purpose gets a new label, never a reused one.
PURPOSE_ITEM_TAG = b"serial-tag"
PURPOSE_CARTON_TAG = b"carton-tag"
PURPOSE_HIDDEN = b"hidden-code"


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def stretch(password: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    """(encryption key, verifier key) from a password."""
    material = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(password.encode("utf-8"))
    return material[:32], material[32:]


def verifier(verifier_key: bytes) -> bytes:
    return hmac.digest(verifier_key, b"zhenma keyring password check", hashlib.sha256)[:16]


def seal(key: bytes, plaintext: bytes, header: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, header)


def unseal(key: bytes, nonce: bytes, ciphertext: bytes, header: bytes) -> bytes:
    return AESGCM(key).decrypt(nonce, ciphertext, header)


def hkdf(master: bytes, purpose: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=purpose + b"/" + context
    ).derive(master)
