"""Per-batch keys: HKDF of the batch's master secret, the batch number and a purpose."""

from zhenma.codes import BatchSecrets

from . import crypto


def derive_batch_secrets(master: bytes, batch: int) -> BatchSecrets:
    context = b"batch/" + str(batch).encode()
    return BatchSecrets(
        item_tag=crypto.hkdf(master, crypto.PURPOSE_ITEM_TAG, context),
        carton_tag=crypto.hkdf(master, crypto.PURPOSE_CARTON_TAG, context),
        hidden=crypto.hkdf(master, crypto.PURPOSE_HIDDEN, context),
    )
