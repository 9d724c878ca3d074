"""What a label says: the placeholder values of one item or carton label.

A template's fields name these values as ``{serial}``, ``{url}`` and so on. Item labels
(one per item) and carton labels (one per carton) have different sets. ``worst_case``
gives, for the checks in ``geometry``, the widest and longest value each placeholder
can take, so that a template that passes the check fits every batch.
"""

from zhenma.codes import Gtin
from zhenma.codes.digital_link import url_prefix
from zhenma.codes.hidden import DIGITS
from zhenma.codes.serial import LENGTH, MAX_BATCH, MAX_INDEX

from ..derive import BatchSpec, Carton, Item

# The same for every label of a batch: fields that use only these are drawn once a volume.
STATIC = frozenset({"gtin", "product_name", "batch"})
ITEM = (
    frozenset(
        {"index", "serial", "hidden_code", "hidden_code_spaced", "url", "carton", "carton_code"}
    )
    | STATIC
)
CARTON = (
    frozenset(
        {
            "carton",
            "carton_code",
            "sscc",
            "item_count",
            "first_item",
            "last_item",
            "first_serial",
            "last_serial",
        }
    )
    | STATIC
)
PLACEHOLDERS = {"item": ITEM, "carton": CARTON}
# Values whose length the code format does not bound: text fields shrink them to fit.
UNBOUNDED = frozenset({"product_name"})
MAX_NAME = 200  # codegen.batches.add_product's limit
MAX_CARTON_ITEMS = 100_000  # codegen.batches.create_batch's limit


def spaced(hidden_code: str) -> str:
    """``123456789012`` as ``1234 5678 9012``: easier to read off and type in."""
    return " ".join(hidden_code[i : i + 4] for i in range(0, len(hidden_code), 4))


def static_values(spec: BatchSpec) -> dict[str, str]:
    return {"gtin": spec.gtin, "product_name": spec.product_name, "batch": str(spec.batch)}


def item_values(item: Item, static: dict[str, str]) -> dict[str, str]:
    return {
        **static,
        "index": str(item.index),
        "serial": item.serial,
        "hidden_code": item.hidden_code,
        "hidden_code_spaced": spaced(item.hidden_code),
        "url": item.url,
        "carton": str(item.carton),
        "carton_code": item.carton_code,
    }


def carton_values(carton: Carton, sscc: str | None, static: dict[str, str]) -> dict[str, str]:
    return {
        **static,
        "carton": str(carton.index),
        "carton_code": carton.code,
        "sscc": sscc or "",
        "item_count": str(carton.item_count),
        "first_item": str(carton.item_first),
        "last_item": str(carton.item_last),
        "first_serial": carton.first_serial,
        "last_serial": carton.last_serial,
    }


def worst_case(verify_base: str) -> dict[str, str]:
    """The widest, longest value of every placeholder, for a batch verified at ``verify_base``.

    Serials and carton codes are written with ``W`` (the widest capital in proportional
    faces) after their fixed first character; letters also make the longest QR, as
    digits could go into the QR's denser numeric mode.
    """
    gtin = "0" * 13 + "8"
    serial = "3" + "W" * (LENGTH - 1)
    return {
        "gtin": gtin,
        "product_name": "真" * MAX_NAME,
        "batch": str(MAX_BATCH),
        "index": str(MAX_INDEX),
        "serial": serial,
        "hidden_code": "8" * DIGITS,
        "hidden_code_spaced": spaced("8" * DIGITS),
        "url": url_prefix(verify_base, Gtin(gtin)) + serial,
        "carton": str(MAX_INDEX),
        "carton_code": "B" + "W" * (LENGTH - 1),
        "sscc": "0" * 17 + "8",
        "item_count": str(MAX_CARTON_ITEMS),
        "first_item": str(MAX_INDEX),
        "last_item": str(MAX_INDEX),
        "first_serial": serial,
        "last_serial": serial,
    }
