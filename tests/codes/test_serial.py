"""Serials and carton codes: round trip, typos, forgeries, exact messages."""

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import exactly
from zhenma.codes import BadSignature, Code, FastSigner, Kind, MalformedCode, TypoCode, alphabet
from zhenma.codes.serial import MAX_BATCH, MAX_INDEX

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))

batches = st.integers(1, MAX_BATCH)
indexes = st.integers(1, MAX_INDEX)
kinds = st.sampled_from(list(Kind))


@given(kinds, batches, indexes)
def test_round_trip(kind, batch, index):
    code = Code.sign(KEY, kind, batch, index)
    text = code.render()
    assert len(text) == 20 and alphabet.is_alphabet(text)
    parsed = Code.parse(text)
    assert parsed == code
    parsed.verify(KEY)
    assert Code.parse(text.lower()) == code  # people type lower case


@given(kinds, batches, indexes)
def test_fast_signer_matches_reference(kind, batch, index):
    start = max(1, min(index, MAX_INDEX - 3))
    fast = FastSigner(KEY, kind, batch).render_range(start, start + 3)
    assert fast == [Code.sign(KEY, kind, batch, i).render() for i in range(start, start + 3)]


@given(kinds, batches, indexes, st.data())
def test_every_single_substitution_is_a_typo(kind, batch, index, data):
    text = Code.sign(KEY, kind, batch, index).render()
    pos = data.draw(st.integers(0, 19))
    for char in alphabet.ALPHABET:
        if char != text[pos]:
            with pytest.raises(TypoCode):
                Code.parse(text[:pos] + char + text[pos + 1 :])


@given(kinds, batches, indexes)
def test_every_adjacent_swap_is_a_typo(kind, batch, index):
    text = Code.sign(KEY, kind, batch, index).render()
    for pos in range(19):
        if text[pos] != text[pos + 1]:
            swapped = text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
            with pytest.raises(TypoCode):
                Code.parse(swapped)


@given(batches, indexes, st.integers(0, (1 << 40) - 1))
def test_forged_tags_are_rejected(batch, index, tag):
    genuine = Code.sign(KEY, Kind.ITEM, batch, index)
    forged = Code(Kind.ITEM, batch, index, tag)
    if forged.tag == genuine.tag:
        return
    parsed = Code.parse(forged.render())  # well-formed: the check character is right
    with pytest.raises(BadSignature, match=exactly("this serial was not issued by us")):
        parsed.verify(KEY)


def test_a_code_signed_with_another_key_is_a_forgery():
    text = Code.sign(OTHER, Kind.CARTON, 7, 9).render()
    with pytest.raises(BadSignature, match=exactly("this carton code was not issued by us")):
        Code.parse(text).verify(KEY)


def test_kind_is_visible_in_the_first_character():
    assert Code.sign(KEY, Kind.ITEM, 1, 1).render()[0] == "3"
    assert Code.sign(KEY, Kind.CARTON, 1, 1).render()[0] == "B"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", MalformedCode, "a code has 20 characters, got 0"),
        ("3" * 21, MalformedCode, "a code has 20 characters, got 21"),
        (
            "3222322222310OI00000",
            MalformedCode,
            "a code uses only 23456789ABCDEFGHJKLMNPQRSTUVWXYZ; '01IO' cannot appear in it",
        ),
        (
            "32223222223UFLPSTMDZ",
            TypoCode,
            "this code does not add up (check character): check for a typo",
        ),
    ],
)
def test_malformed_codes_have_exact_messages(text, error, message):
    with pytest.raises(error) as info:
        Code.parse(text)
    assert str(info.value) == message


def test_expecting_a_kind_names_the_other():
    carton = Code.sign(KEY, Kind.CARTON, 1, 1).render()
    with pytest.raises(MalformedCode) as info:
        Code.parse(carton, expect=Kind.ITEM)
    assert str(info.value) == "this is a carton code, not a serial"


def test_unknown_format_version_is_malformed():
    payload = alphabet.ALPHABET[2] + "2" * 18  # header value 2: version 2 of items
    with pytest.raises(MalformedCode) as info:
        Code.parse(payload + alphabet.check_char(payload))
    assert str(info.value) == "unknown code format '4'"


def test_zero_batch_or_index_is_malformed():
    payload = "3" + "2" * 18
    with pytest.raises(MalformedCode) as info:
        Code.parse(payload + alphabet.check_char(payload))
    assert str(info.value) == "this code names batch 0, item 0: none is 0"


def test_signing_outside_the_layout_is_refused():
    with pytest.raises(ValueError, match=re.escape("batch number 1048576 outside")):
        Code.sign(KEY, Kind.ITEM, MAX_BATCH + 1, 1)
    with pytest.raises(ValueError, match=re.escape("index 0 outside")):
        Code.sign(KEY, Kind.ITEM, 1, 0)
    with pytest.raises(ValueError, match=re.escape("outside 1..1073741823")):
        FastSigner(KEY, Kind.ITEM, 1).render_range(0, 2)


def test_non_text_is_malformed():
    with pytest.raises(MalformedCode, match=re.escape("must be text")):
        Code.parse(b"32223222223UFLPSTMDY")  # type: ignore[arg-type]


def test_tags_are_unpredictable_across_keys():
    tags = {Code.sign(os.urandom(32), Kind.ITEM, 1, 1).tag for _ in range(50)}
    assert len(tags) == 50
