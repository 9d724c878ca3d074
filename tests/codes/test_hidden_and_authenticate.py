"""Hidden codes, and authenticate(): the five outcomes of a check."""

import pytest

from tests.helpers import exactly
from zhenma.codes import (
    BadSignature,
    BatchSecrets,
    Code,
    Gtin,
    Kind,
    MalformedCode,
    TypoCode,
    UnknownBatch,
    authenticate,
    hidden,
)

SECRETS = BatchSecrets(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
GTIN = Gtin.parse("06901234567892")


def lookup(batch):
    return (GTIN, SECRETS) if batch == 5 else None


def test_hidden_codes_are_12_digits_and_depend_on_key_batch_index():
    codes = hidden.derive_range(SECRETS.hidden, 5, 1, 1001)
    assert all(len(c) == 12 and c.isdigit() for c in codes)
    assert len(set(codes)) == 1000
    assert codes[9] == hidden.derive(SECRETS.hidden, 5, 10)
    assert hidden.derive(SECRETS.hidden, 6, 10) != codes[9]
    assert hidden.derive(b"\x04" * 32, 5, 10) != codes[9]


def test_hidden_code_digits_are_uniform_enough():
    codes = hidden.derive_range(SECRETS.hidden, 5, 1, 20001)
    counts = [sum(c[0] == str(d) for c in codes) for d in range(10)]
    assert all(1700 < n < 2300 for n in counts), counts


def test_hidden_code_matching_tolerates_spaces_and_dashes():
    code = hidden.derive(SECRETS.hidden, 5, 3)
    assert hidden.matches(SECRETS.hidden, 5, 3, f"{code[:4]} {code[4:8]}-{code[8:]}")
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert not hidden.matches(SECRETS.hidden, 5, 3, wrong)
    with pytest.raises(MalformedCode, match=exactly("a hidden code has 12 digits")):
        hidden.normalize("12345")


def test_genuine_serial_and_link_and_carton():
    serial = Code.sign(SECRETS.item_tag, Kind.ITEM, 5, 8).render()
    assert authenticate(serial, lookup).code.index == 8
    link = authenticate(f"https://v.example/01/{GTIN.value}/21/{serial}", lookup)
    assert link.link is not None and link.code.batch == 5
    carton = Code.sign(SECRETS.carton_tag, Kind.CARTON, 5, 2).render()
    assert authenticate(carton, lookup).code.kind is Kind.CARTON


def test_outcomes_are_told_apart():
    serial = Code.sign(SECRETS.item_tag, Kind.ITEM, 5, 8).render()
    typo = serial[:3] + ("Z" if serial[3] != "Z" else "Y") + serial[4:]
    with pytest.raises(TypoCode):
        authenticate(typo, lookup)
    with pytest.raises(MalformedCode):
        authenticate("hello", lookup)
    other_batch = Code.sign(SECRETS.item_tag, Kind.ITEM, 6, 8).render()
    with pytest.raises(UnknownBatch, match=exactly("no batch 6 was ever issued")):
        authenticate(other_batch, lookup)
    forged = Code(Kind.ITEM, 5, 8, (Code.parse(serial).tag + 1) % (1 << 40)).render()
    with pytest.raises(BadSignature):
        authenticate(forged, lookup)
    # a carton key does not sign items
    crossed = Code.sign(SECRETS.carton_tag, Kind.ITEM, 5, 8).render()
    with pytest.raises(BadSignature):
        authenticate(crossed, lookup)


def test_a_genuine_serial_under_another_gtin_is_a_forgery():
    serial = Code.sign(SECRETS.item_tag, Kind.ITEM, 5, 8).render()
    with pytest.raises(
        BadSignature, match=exactly("this serial was not issued for GTIN 00000096385074")
    ):
        authenticate(f"https://v.example/01/96385074/21/{serial}", lookup)


def test_secrets_never_show_in_repr():
    assert "\\x01" not in repr(SECRETS) and repr(SECRETS) == "BatchSecrets(<redacted>)"
