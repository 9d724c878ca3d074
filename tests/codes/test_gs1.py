"""GTIN and SSCC, checked against biip (an independent GS1 implementation)."""

import random

import biip
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import exactly
from zhenma.codes import Gtin, MalformedCode, Sscc, TypoCode, gs1_check_digit


@given(st.integers(0, 10**13 - 1))
def test_gtin_check_digit_agrees_with_biip(payload):
    text = f"{payload:013d}"
    text += str(gs1_check_digit(text))
    assert Gtin.parse(text).value == biip.gtin.Gtin.parse(text).as_gtin_14()


def test_short_gtins_are_padded_to_14():
    assert Gtin.parse("6901234567892").value == "06901234567892"
    assert Gtin.parse("96385074").value == "00000096385074"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", MalformedCode, "GTIN must be digits only, got ''"),
        ("69012345678x2", MalformedCode, "GTIN must be digits only, got '69012345678x2'"),
        ("123456789", MalformedCode, "GTIN must have 8, 12, 13 or 14 digits, got 9"),
        (
            "6901234567893",
            TypoCode,
            "GTIN 6901234567893 has check digit 3, expected 2: check for a typo",
        ),
    ],
)
def test_bad_gtins_have_exact_messages(text, error, message):
    with pytest.raises(error) as info:
        Gtin.parse(text)
    assert str(info.value) == message


@given(st.sampled_from(["6901234", "69012345", "690123456", "6901234567"]), st.data())
def test_sscc_agrees_with_biip(prefix, data):
    ref = data.draw(st.integers(0, 10 ** (16 - len(prefix)) - 1))
    sscc = Sscc.build(prefix, ref)
    assert len(sscc.value) == 18
    assert biip.sscc.Sscc.parse(sscc.value).value == sscc.value
    assert Sscc.parse(sscc.value) == sscc
    assert sscc.human_readable() == f"(00) {sscc.value}"


def test_sscc_refuses_what_does_not_fit():
    with pytest.raises(MalformedCode) as info:
        Sscc.build("6901234", 10**9)
    assert str(info.value) == (
        "serial reference 1000000000 does not fit in 9 digits after company prefix 6901234"
    )
    with pytest.raises(
        MalformedCode, match=exactly("company prefix must have 7 to 10 digits, got 5")
    ):
        Sscc.build("69012", 1)


def test_sscc_typo_is_caught():
    good = Sscc.build("6901234", 42).value
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(TypoCode):
        Sscc.parse(bad)
    with pytest.raises(MalformedCode, match=exactly("SSCC must have 18 digits, got 17")):
        Sscc.parse(good[:-1])


def test_random_ssccs_parse_in_biip_as_sscc():
    rng = random.Random(4)
    for _ in range(100):
        value = Sscc.build("6901234", rng.randrange(10**9), extension=rng.randrange(10)).value
        assert biip.parse(value).sscc is not None
