"""Key management: the encrypted keyring of master secrets and the keys derived from them.

* ``keys.keyring``: the keyring file (scrypt + AES-256-GCM), creation, opening, rotation.
* ``keys.derive``: per-batch, per-purpose keys (HKDF-SHA256), the only way code
  elsewhere gets key material.

Crypto parameters are pinned in ``keys.crypto`` and nowhere else.
"""

from .derive import derive_batch_secrets
from .keyring import (
    DEV_PASSWORD,
    Keyring,
    KeyringCorrupt,
    KeyringError,
    KeyringExists,
    KeyringMissing,
    WrongPassword,
    open_for_use,
)

__all__ = [
    "DEV_PASSWORD",
    "Keyring",
    "KeyringCorrupt",
    "KeyringError",
    "KeyringExists",
    "KeyringMissing",
    "WrongPassword",
    "derive_batch_secrets",
    "open_for_use",
]
